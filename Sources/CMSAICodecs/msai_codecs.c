#include "msai_codecs.h"
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#define QOI_IMPLEMENTATION
#define QOI_NO_STDIO
#include <qoi.h>

size_t msai_zstd_bound(size_t length) { return ZSTD_compressBound(length); }

size_t msai_zstd_compress(const uint8_t *in, size_t length, uint8_t *out, size_t capacity, int level) {
    size_t n = ZSTD_compress(out, capacity, in, length, level);
    return ZSTD_isError(n) ? 0 : n;
}

size_t msai_zstd_decompress(const uint8_t *in, size_t length, uint8_t *out, size_t capacity) {
    size_t n = ZSTD_decompress(out, capacity, in, length);
    return ZSTD_isError(n) ? 0 : n;
}

size_t msai_lz4_bound(size_t length) { return length > LZ4_MAX_INPUT_SIZE ? 0 : (size_t)LZ4_compressBound((int)length); }

size_t msai_lz4_compress(const uint8_t *in, size_t length, uint8_t *out, size_t capacity, int acceleration) {
    if (length > LZ4_MAX_INPUT_SIZE || capacity > 0x7fffffff) return 0;
    int n = LZ4_compress_fast((const char *)in, (char *)out, (int)length, (int)capacity, acceleration);
    return n > 0 ? (size_t)n : 0;
}

size_t msai_lz4_decompress(const uint8_t *in, size_t length, uint8_t *out, size_t capacity) {
    if (length > 0x7fffffff || capacity > 0x7fffffff) return 0;
    int n = LZ4_decompress_safe((const char *)in, (char *)out, (int)length, (int)capacity);
    return n >= 0 ? (size_t)n : 0;
}

size_t msai_qoi_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **out) {
    qoi_desc desc = {(unsigned)width, (unsigned)height, (unsigned char)channels, QOI_SRGB};
    int length = 0;
    *out = qoi_encode(pixels, &desc, &length);
    return *out ? (size_t)length : 0;
}

int msai_qoi_decode(const uint8_t *in, size_t length, int width, int height, int channels, uint8_t *out) {
    if (length > 0x7fffffff) return 0;
    qoi_desc desc;
    uint8_t *pixels = qoi_decode(in, (int)length, &desc, channels);
    if (!pixels) return 0;
    int ok = desc.width == (unsigned)width && desc.height == (unsigned)height && desc.channels == channels;
    if (ok) memcpy(out, pixels, (size_t)width * (size_t)height * (size_t)channels);
    free(pixels);
    return ok;
}

void msai_codec_free(void *p) { free(p); }
