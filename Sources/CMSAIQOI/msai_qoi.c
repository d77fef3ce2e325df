#include "msai_qoi.h"
#include <stdlib.h>
#include <string.h>
#define QOI_IMPLEMENTATION
#define QOI_NO_STDIO
#include <qoi.h>

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
