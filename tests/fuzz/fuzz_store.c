/* libFuzzer: the sessions.json parser (a file an operator or a crash may have mangled). */
#include <stddef.h>
#include <stdint.h>

#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lc_session_info out[64];
    char err[200];
    (void)lc_sessions_parse_store((const char *)data, size, out, 64, err, sizeof err);
    return 0;
}
