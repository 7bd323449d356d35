/*
 * web_assets.c — lookups in the asset table that cmake/embed.cmake generates from web/public/
 * and the pinned npm decoder (see web/CMakeLists.txt). The table is small (a dozen files) and
 * read once per HTTP request, so a linear scan is simpler than a hash and fast enough.
 * Everything here is read-only data: safe from any thread.
 */
#include "web_assets.h"

#include <string.h>
#include <strings.h>

#include "web_assets_table.h"

typedef struct {
    const char *ext;
    const char *type;
} lc_mime_entry;

static const lc_mime_entry lc_mimes[] = {
#define LC_MIME(ext, type) {ext, type},
#include "mime_types.def"
#undef LC_MIME
};

const char *lc_web_mime_for(const char *filename)
{
    if (!filename)
        return "application/octet-stream";
    /* Only the last path segment's extension counts ("/a.d/b" has none). */
    const char *slash = strrchr(filename, '/');
    const char *base = slash ? slash + 1 : filename;
    const char *dot = strrchr(base, '.');
    if (!dot)
        return "application/octet-stream";
    for (size_t i = 0; i < sizeof lc_mimes / sizeof lc_mimes[0]; i++)
        if (strcasecmp(dot, lc_mimes[i].ext) == 0)
            return lc_mimes[i].type;
    return "application/octet-stream";
}

size_t lc_web_asset_count(void)
{
    return lc_web_table_len_;
}

const lc_web_asset *lc_web_asset_at(size_t i)
{
    return i < lc_web_table_len_ ? &lc_web_table_[i] : NULL;
}

/* Exact match of table path against path[0..len). */
static const lc_web_asset *lc_find_exact(const char *path, size_t len)
{
    for (size_t i = 0; i < lc_web_table_len_; i++) {
        const char *p = lc_web_table_[i].path;
        if (strlen(p) == len && memcmp(p, path, len) == 0)
            return &lc_web_table_[i];
    }
    return NULL;
}

const lc_web_asset *lc_web_asset_find(const char *path)
{
    if (!path || path[0] != '/')
        return NULL;
    /* A query string or fragment is not part of the file name ("/?floor=40" is the page). */
    size_t len = strcspn(path, "?#");
    if (len == 1)
        return lc_find_exact("/index.html", 11);
    if (len == 6 && memcmp(path, "/admin", 6) == 0)
        return lc_find_exact("/admin.html", 11);
    /* No path ever contains "..": the table holds only what it holds, so there is nothing to
     * escape to; an unknown path is simply NULL. */
    return lc_find_exact(path, len);
}
