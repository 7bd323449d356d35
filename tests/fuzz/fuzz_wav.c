/*
 * fuzz_wav.c — libFuzzer target for lc_wav_parse, the one parser in capture/ that reads bytes
 * from a file someone else wrote. The input is the start of a "file"; its claimed total size is
 * the input length, or (when the first byte is odd) much larger, so both "truncated file" and
 * "header longer than what we read" paths run. On success, the located samples that lie inside
 * the buffer are converted, so an offset/length the parser got wrong becomes an ASan report.
 */
#include "capture.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t file_size = size && (data[0] & 1) ? (uint64_t)size + 1000000u : size;
    lc_wav_info info;
    char err[200];
    if (lc_wav_parse(data, size, file_size, &info, err, sizeof err) != 0)
        return 0;
    if (!lc_format_valid(&info.format) || info.data_offset > file_size ||
        info.data_bytes > file_size - info.data_offset)
        abort();
    size_t frame = lc_sample_bytes(info.sample) * info.format.channels;
    if (info.data_offset < size) {
        uint64_t present = size - info.data_offset;
        if (present > info.data_bytes)
            present = info.data_bytes;
        size_t frames = (size_t)(present / frame);
        if (frames > 4096)
            frames = 4096;
        static float out[4096 * LC_MAX_CHANNELS];
        lc_pcm_to_float(info.sample, data + info.data_offset, out, frames * info.format.channels);
    }
    return 0;
}
