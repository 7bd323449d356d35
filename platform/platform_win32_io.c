/*
 * platform_win32_io.c — platform.h's paths, whole files and network helpers on Windows. Paths are
 * UTF-8 in loopcast and UTF-16 at the API (the *W calls). Sockets: Winsock 2, which
 * libwebsockets starts (WSAStartup) when it creates its context; inet_pton/inet_ntop need
 * Windows Vista or later, as does GetFinalPathNameByHandleW.
 */
/* _WIN32_WINNT and WIN32_LEAN_AND_MEAN come from platform/CMakeLists.txt */
#include "platform.h"
#include "platform_internal.h"

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>
#include <shellapi.h>
#include <limits.h>
#include <stdio.h>
#include <malloc.h> /* _aligned_malloc */
#include <stdlib.h>
#include <string.h>

/* A malloc'd UTF-8 copy of a UTF-16 string; NULL without memory. */
static char *utf8_dup(const wchar_t *w)
{
    size_t cap = (wcslen(w) + 1) * 4; /* a UTF-16 unit never needs more than 3 bytes; 4 is ample */
    char *s = malloc(cap);
    if (s && lc_plat_utf8(w, s, cap)) {
        free(s);
        s = NULL;
    }
    return s;
}

/* ---- paths and whole files --------------------------------------------------------------- */

lc_path_kind lc_plat_path_kind(const char *path)
{
    wchar_t *w = path && *path ? lc_plat_wide(path) : NULL;
    DWORD a = w ? GetFileAttributesW(w) : INVALID_FILE_ATTRIBUTES;
    free(w);
    if (a == INVALID_FILE_ATTRIBUTES)
        return LC_PATH_NONE;
    if (a & FILE_ATTRIBUTE_DIRECTORY)
        return LC_PATH_DIR;
    return a & FILE_ATTRIBUTE_DEVICE ? LC_PATH_OTHER : LC_PATH_FILE;
}

int lc_plat_path_access(const char *path, int want, char *errbuf, size_t errlen)
{
    wchar_t *w = lc_plat_wide(path);
    int rc = 0;
    if (!w)
        return lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "not a valid UTF-8 path:", path,
                               ERROR_INVALID_NAME);
    DWORD a = GetFileAttributesW(w);
    if (a == INVALID_FILE_ATTRIBUTES) {
        rc = lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "GetFileAttributesW", path, GetLastError());
    } else if ((want & LC_PATH_WRITE) && !(a & FILE_ATTRIBUTE_DIRECTORY) &&
               (a & FILE_ATTRIBUTE_READONLY)) {
        rc = lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "read-only:", path, ERROR_ACCESS_DENIED);
    } else if (want & LC_PATH_READ) {
        /* Open it the way a reader will; a directory needs BACKUP_SEMANTICS to be opened at all */
        HANDLE h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                               NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
        if (h == INVALID_HANDLE_VALUE)
            rc = lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "CreateFileW", path, GetLastError());
        else
            CloseHandle(h);
    }
    free(w);
    return rc;
}

char *lc_plat_realpath(const char *path, char *errbuf, size_t errlen)
{
    wchar_t *w = lc_plat_wide(path), buf[32768];
    char *out = NULL;
    HANDLE h = INVALID_HANDLE_VALUE;
    if (!w) {
        lc_plat_win_err(errbuf, errlen, 0, "not a valid UTF-8 path:", path, ERROR_INVALID_NAME);
        goto fail;
    }
    /* Opening the file and asking its handle resolves symlinks and junctions, like realpath() */
    h = CreateFileW(w, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                    OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        lc_plat_win_err(errbuf, errlen, 0, "CreateFileW", path, GetLastError());
        goto fail;
    }
    DWORD n = GetFinalPathNameByHandleW(h, buf, (DWORD)(sizeof buf / sizeof buf[0]),
                                        FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    if (n == 0 || n >= sizeof buf / sizeof buf[0]) {
        lc_plat_win_err(errbuf, errlen, 0, "GetFinalPathNameByHandleW", path, GetLastError());
        goto fail;
    }
    const wchar_t *p = buf;
    if (!wcsncmp(p, L"\\\\?\\UNC\\", 8)) {
        p += 6; /* \\?\UNC\server\share → \\server\share */
        buf[6] = L'\\';
    } else if (!wcsncmp(p, L"\\\\?\\", 4)) {
        p += 4;
    }
    if (!(out = utf8_dup(p)))
        lc_plat_win_err(errbuf, errlen, 0, "WideCharToMultiByte", path, ERROR_NOT_ENOUGH_MEMORY);
fail:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    free(w);
    return out;
}

int lc_plat_read_file(const char *path, size_t max, char **data, size_t *len, char *errbuf,
                      size_t errlen)
{
    wchar_t *w = lc_plat_wide(path);
    HANDLE h = INVALID_HANDLE_VALUE;
    char *buf = NULL;
    int rc;
    LARGE_INTEGER size;
    if (!w)
        return lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "not a valid UTF-8 path:", path,
                               ERROR_INVALID_NAME);
    h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                    OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        /* a directory cannot be opened without BACKUP_SEMANTICS: "not a regular file" too */
        rc = e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND ||
                     (e == ERROR_ACCESS_DENIED && lc_plat_path_kind(path) == LC_PATH_DIR)
                 ? LC_ERR_NOT_FOUND
                 : lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "CreateFileW", path, e);
        goto fail;
    }
    if (GetFileType(h) != FILE_TYPE_DISK) {
        rc = LC_ERR_NOT_FOUND;
        goto fail;
    }
    if (!GetFileSizeEx(h, &size)) {
        rc = lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "GetFileSizeEx", path, GetLastError());
        goto fail;
    }
    if (size.QuadPart < 0 || (uint64_t)size.QuadPart > max || (uint64_t)size.QuadPart > UINT32_MAX) {
        rc = LC_ERR_LIMIT;
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "'%s' is larger than %zu bytes", path, max);
        goto fail;
    }
    size_t n = (size_t)size.QuadPart, got = 0;
    if (!(buf = malloc(n + 1))) {
        rc = LC_ERR_NOMEM;
        goto fail;
    }
    while (got < n) {
        DWORD r = 0;
        if (!ReadFile(h, buf + got, (DWORD)(n - got), &r, NULL) || r == 0) {
            rc = lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "ReadFile", path,
                                 r == 0 ? ERROR_HANDLE_EOF : GetLastError());
            goto fail;
        }
        got += r;
    }
    CloseHandle(h);
    free(w);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
fail:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    free(w);
    free(buf);
    return rc;
}

int lc_plat_rename(const char *from, const char *to, char *errbuf, size_t errlen)
{
    wchar_t *wf = lc_plat_wide(from), *wt = lc_plat_wide(to);
    int rc = 0;
    if (!wf || !wt)
        rc = lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "not a valid UTF-8 path:", wf ? to : from,
                             ERROR_INVALID_NAME);
    else if (!MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING))
        rc = lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "MoveFileExW", from, GetLastError());
    free(wf);
    free(wt);
    return rc;
}

int lc_plat_args_utf8(int *argc, char ***argv, char ***envp)
{
    int n = 0;
    wchar_t **wargv = CommandLineToArgvW(GetCommandLineW(), &n);
    wchar_t *wenv = GetEnvironmentStringsW();
    char **args = NULL, **env = NULL;
    size_t vars = 0;
    if (!wargv || !wenv)
        goto fail;
    for (const wchar_t *e = wenv; *e; e += wcslen(e) + 1)
        vars++;
    if (!(args = calloc((size_t)n + 1, sizeof *args)) || !(env = calloc(vars + 1, sizeof *env)))
        goto fail;
    for (int i = 0; i < n; i++)
        if (!(args[i] = utf8_dup(wargv[i])))
            goto fail;
    size_t k = 0;
    for (const wchar_t *e = wenv; *e; e += wcslen(e) + 1)
        if (*e != L'=' && !(env[k++] = utf8_dup(e))) /* "=C:=C:\dir": cmd.exe's drive cwds */
            goto fail;
    LocalFree(wargv);
    FreeEnvironmentStringsW(wenv);
    *argc = n;
    *argv = args;
    *envp = env;
    return 0;
fail:
    /* the strings already copied are lost: this runs once, at start-up, and then we exit */
    free(args);
    free(env);
    if (wargv)
        LocalFree(wargv);
    if (wenv)
        FreeEnvironmentStringsW(wenv);
    return LC_ERR_NOMEM;
}

const char *lc_plat_text(lc_plat_text_id id)
{
    switch (id) {
    case LC_TEXT_PRIVATE_FILE:
        return "readable by you, SYSTEM and Administrators only";
    case LC_TEXT_MAKE_PRIVATE:
        return "remove the other users in its Properties > Security, or delete it to have a "
               "private one made at the next start";
    case LC_TEXT_STATE_DIR:
        return "%LOCALAPPDATA%\\loopcast (a service: %ProgramData%\\loopcast)";
    case LC_TEXT_STOP:
        return "Ctrl+C, closing the window, logoff, shutdown or a service stop";
    case LC_TEXT_FIREWALL:
    default:
        return "Windows Firewall asks once whether loopcast may accept connections: allow it on "
               "Private networks (your home network) or phones cannot connect; a network set to "
               "Public blocks them (Settings > Network > Properties > Private)";
    }
}

/* ---- network ------------------------------------------------------------------------------ */


/* Adapters with their unicast addresses (GetAdaptersAddresses' documented pattern: 15 KB first,
 * grown once if the table changed between the calls). NULL on failure; free() it. */
static IP_ADAPTER_ADDRESSES *adapters(ULONG family)
{
    ULONG size = 15000, flags = GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST |
                                GAA_FLAG_SKIP_DNS_SERVER;
    for (int tries = 0; tries < 3; tries++) {
        IP_ADAPTER_ADDRESSES *a = malloc(size);
        if (!a)
            return NULL;
        ULONG r = GetAdaptersAddresses(family, flags, NULL, a, &size);
        if (r == NO_ERROR)
            return a;
        free(a);
        if (r != ERROR_BUFFER_OVERFLOW)
            return NULL;
    }
    return NULL;
}

bool lc_plat_if_exists(const char *name)
{
    /* --bind takes an adapter's friendly name ("Ethernet", "Wi-Fi") or its internal name */
    IP_ADAPTER_ADDRESSES *all = adapters(AF_UNSPEC);
    bool found = false;
    for (IP_ADAPTER_ADDRESSES *a = all; a && !found; a = a->Next) {
        char fn[256];
        found = !strcmp(a->AdapterName, name) ||
                (!lc_plat_utf8(a->FriendlyName, fn, sizeof fn) && !strcmp(fn, name));
    }
    free(all);
    return found;
}

int lc_plat_if_find(const char *bind, int family, const uint8_t want[16], unsigned *index,
                    bool *loopback)
{
    IP_ADAPTER_ADDRESSES *all = adapters(AF_UNSPEC);
    if (!all)
        return LC_ERR_SYSTEM;
    int rc = LC_ERR_NOT_FOUND;
    for (IP_ADAPTER_ADDRESSES *a = all; a && rc; a = a->Next) {
        char fn[256];
        bool match = false;
        if (!family)
            match = !strcmp(a->AdapterName, bind) ||
                    (!lc_plat_utf8(a->FriendlyName, fn, sizeof fn) && !strcmp(fn, bind));
        for (IP_ADAPTER_UNICAST_ADDRESS *u = a->FirstUnicastAddress; u && family && !match;
             u = u->Next) {
            const struct sockaddr *sa = u->Address.lpSockaddr;
            if (sa->sa_family == AF_INET && family == 4)
                match = !memcmp(&((const struct sockaddr_in *)(const void *)sa)->sin_addr, want, 4);
            else if (sa->sa_family == AF_INET6 && family == 6)
                match = !memcmp(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, want,
                                16);
        }
        if (match) {
            *index = (unsigned)(family == 6 ? a->Ipv6IfIndex : a->IfIndex);
            *loopback = a->IfType == IF_TYPE_SOFTWARE_LOOPBACK;
            rc = 0;
        }
    }
    free(all);
    return rc;
}

int lc_plat_ipv4_addrs(lc_addr_fn fn, void *user)
{
    IP_ADAPTER_ADDRESSES *all = adapters(AF_INET);
    if (!all)
        return LC_ERR_SYSTEM;
    for (IP_ADAPTER_ADDRESSES *a = all; a; a = a->Next) {
        char name[256], host[LC_PLAT_IP_STRLEN];
        if (a->OperStatus != IfOperStatusUp || lc_plat_utf8(a->FriendlyName, name, sizeof name))
            continue;
        for (IP_ADAPTER_UNICAST_ADDRESS *u = a->FirstUnicastAddress; u; u = u->Next) {
            const struct sockaddr_in *sin = (const void *)u->Address.lpSockaddr;
            if (sin->sin_family == AF_INET)
                fn(user, lc_plat_ip_format(4, (const uint8_t *)&sin->sin_addr, host, sizeof host),
                   name);
        }
    }
    free(all);
    return 0;
}

void lc_plat_socket_sndbuf(intptr_t sock, int bytes)
{
    (void)setsockopt((SOCKET)sock, SOL_SOCKET, SO_SNDBUF, (const char *)&bytes, sizeof bytes);
}

void lc_plat_socket_close(intptr_t sock) { (void)closesocket((SOCKET)sock); }

int lc_plat_fd_limit(unsigned want, unsigned *now)
{
    (void)want; /* sockets are handles, limited only by memory; lws's table is sized by us */
    *now = UINT_MAX;
    return 0;
}

void *lc_plat_aligned_alloc(size_t align, size_t size)
{
    return _aligned_malloc(size, align);
}

void lc_plat_aligned_free(void *p)
{
    _aligned_free(p);
}

int lc_plat_hostname(char *out, size_t cap)
{
    wchar_t w[256];
    DWORD n = (DWORD)(sizeof w / sizeof w[0]);
    if (!cap)
        return LC_ERR_LIMIT;
    out[0] = '\0';
    if (!GetComputerNameExW(ComputerNameDnsHostname, w, &n) || lc_plat_utf8(w, out, cap)) {
        out[0] = '\0';
        return LC_ERR_SYSTEM;
    }
    return 0;
}
