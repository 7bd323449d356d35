/*
 * web_assets.h — the listener and admin pages, compiled into the binary so `loopcast` runs alone.
 * Built by web/CMakeLists.txt from every file under web/public/ and the pinned npm decoder (web/package-lock.json)
 * into the static library `lc_web`. The server serves these unless --web-root points elsewhere.
 */
#ifndef LC_WEB_ASSETS_H
#define LC_WEB_ASSETS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lc_web_asset {
    const char *path;          /* URL path, e.g. "/index.html", "/vendor/opus-decoder.min.js" */
    const char *mime;          /* e.g. "text/javascript; charset=utf-8", "application/wasm" */
    const unsigned char *data;
    size_t len;
} lc_web_asset;

/* The asset for a URL path ("/" maps to "/index.html", "/admin" to "/admin.html"); NULL if none. */
const lc_web_asset *lc_web_asset_find(const char *path);
size_t lc_web_asset_count(void);
const lc_web_asset *lc_web_asset_at(size_t i);
/* MIME type for a file name by its extension (also used for --web-root files). */
const char *lc_web_mime_for(const char *filename);

#ifdef __cplusplus
}
#endif
#endif
