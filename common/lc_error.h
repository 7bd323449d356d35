/*
 * lc_error.h — loopcast's error codes, in a header that includes nothing, so the lowest layer
 * (platform/) can return them without depending on common.h (which itself sits on platform/).
 * Every function that can fail returns 0 (or a non-negative count) on success and a negative
 * LC_ERR_* on failure. lc_strerror() (common.c) names a code.
 */
#ifndef LC_ERROR_H
#define LC_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
    LC_OK = 0,
    LC_ERR_NOMEM = -1,        /* allocation failed */
    LC_ERR_INVALID = -2,      /* invalid argument */
    LC_ERR_URI = -3,          /* malformed source URI or option */
    LC_ERR_NO_BACKEND = -4,   /* no source backend by that name */
    LC_ERR_IO = -5,           /* read/write/open failed (see errno in the message) */
    LC_ERR_FORMAT = -6,       /* unsupported or malformed audio format / file */
    LC_ERR_DEVICE = -7,       /* audio device could not be opened or was lost */
    LC_ERR_STATE = -8,        /* call not valid in the object's current state */
    LC_ERR_CODEC = -9,        /* the Opus encoder or resampler reported an error */
    LC_ERR_EOF = -10,         /* end of input */
    LC_ERR_TIMEOUT = -11,     /* nothing arrived in time */
    LC_ERR_UNSUPPORTED = -12, /* not supported on this platform / build */
    LC_ERR_NOT_FOUND = -13,   /* no such object */
    LC_ERR_FULL = -14,        /* a bounded table or queue is full */
    LC_ERR_AGAIN = -15,       /* transient: try again later */
    LC_ERR_PARSE = -16,       /* malformed text (JSON, options) */
    LC_ERR_LIMIT = -17,       /* input exceeds a configured limit */
    LC_ERR_SYSTEM = -18,      /* an OS call failed for a reason not listed above */
};
#define LC_ERR_MIN_ (-18)

/* A static English description of an LC_ERR_* code; never NULL. */
const char *lc_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
