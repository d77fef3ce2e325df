#ifndef MSAI_CODECS_H
#define MSAI_CODECS_H
#include <stddef.h>
#include <stdint.h>

// Candidate lossless frame codecs for video (issue 6's codec study): zstd and LZ4 on the raw
// samples, and QOI. Each returns the number of bytes written to `out` (at most `capacity`),
// or 0 on failure.

size_t msai_zstd_bound(size_t length);
size_t msai_zstd_compress(const uint8_t *in, size_t length, uint8_t *out, size_t capacity, int level);
size_t msai_zstd_decompress(const uint8_t *in, size_t length, uint8_t *out, size_t capacity);

size_t msai_lz4_bound(size_t length);
size_t msai_lz4_compress(const uint8_t *in, size_t length, uint8_t *out, size_t capacity, int acceleration);
size_t msai_lz4_decompress(const uint8_t *in, size_t length, uint8_t *out, size_t capacity);

/// QOI of an RGB or RGBA (channels 3 or 4) image; *out is malloc'd, free it with msai_codec_free.
size_t msai_qoi_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **out);
/// Decodes QOI of exactly width x height x channels into `out` (width*height*channels bytes);
/// returns 1 on success, 0 if the data is not such a QOI image.
int msai_qoi_decode(const uint8_t *in, size_t length, int width, int height, int channels, uint8_t *out);
void msai_codec_free(void *p);

#endif
