/*
 * fuzz_control.c — lc_control_parse on arbitrary bytes: never crashes, leaks or reads out of
 * bounds, and its result is self-consistent (a parsed `set` is in range, a refusal has a code).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lc_control_msg m;
    char err[128];
    int rc = lc_control_parse((const char *)data, size, &m, err, sizeof err);
    if (rc == 0) {
        if (m.type == LC_CONTROL_SET) {
            if (m.has_volume && (m.volume < 0 || m.volume > 100))
                abort();
            if (m.has_name && strlen(m.name) > LC_CONTROL_NAME_MAX)
                abort();
            const lc_session_patch *p = &m.patch; /* a set changes at least one field */
            if (!p->has_volume && !p->has_muted && !p->has_name && !p->has_latency_trim &&
                !p->has_stream && !p->has_group)
                abort();
            if (p->has_stream && !lc_session_stream_name_valid(p->stream))
                abort();
        } else if (m.type != LC_CONTROL_PING && m.type != LC_CONTROL_STATS) {
            abort();
        }
        if (m.type == LC_CONTROL_PING) {
            char num[40];
            lc_control_format_number(num, sizeof num, m.t);
        }
    } else {
        if (!lc_control_error_code(rc) || strlen(err) >= sizeof err || !err[0])
            abort();
        if (size > LC_CONTROL_MAX && rc != LC_ERR_LIMIT)
            abort();
    }
    return 0;
}
