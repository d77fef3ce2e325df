#ifndef MSAI_BENCH_CODECS_H
#define MSAI_BENCH_CODECS_H
#include <stddef.h>
#include <stdint.h>

// The other candidates of issue 6's codec study (make bench only): zstd and LZ4 on the raw
// samples, and JPEG XL lossless. Each returns the number of bytes written (at most
// `capacity`), or 0 on failure.

size_t msai_zstd_bound(size_t length);
size_t msai_zstd_compress(const uint8_t *in, size_t length, uint8_t *out, size_t capacity, int level);
size_t msai_zstd_decompress(const uint8_t *in, size_t length, uint8_t *out, size_t capacity);

size_t msai_lz4_bound(size_t length);
size_t msai_lz4_compress(const uint8_t *in, size_t length, uint8_t *out, size_t capacity, int acceleration);
size_t msai_lz4_decompress(const uint8_t *in, size_t length, uint8_t *out, size_t capacity);

/// Lossless JPEG XL of an RGB image at `effort` (1 fastest ... 9) on `threads` threads;
/// *out is malloc'd, free it with free().
size_t msai_jxl_encode(const uint8_t *rgb, int width, int height, int effort, int threads, uint8_t **out);
/// Decodes JPEG XL to RGB into `out` (width*height*3 bytes); returns 1 on success.
int msai_jxl_decode(const uint8_t *in, size_t length, int width, int height, int threads, uint8_t *out);

#endif
