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

// libqoi's decoder pads a short stream with its last pixel, ignores whatever follows the last
// pixel, and mallocs a copy of the image; a frame from a peer needs none of that. This is the
// decoding loop of the QOI specification (qoi.h's op codes and hash), read strictly: exactly
// width*height pixels, written straight into `out`, then the end marker and nothing after.
int msai_qoi_decode(const uint8_t *in, size_t length, int width, int height, int channels, uint8_t *out) {
    static const uint8_t end_marker[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    if (in == NULL || out == NULL || width <= 0 || height <= 0 || (channels != 3 && channels != 4)) return 0;
    if (length < QOI_HEADER_SIZE + sizeof end_marker) return 0;
    uint32_t magic = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
    uint32_t w = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 | in[7];
    uint32_t h = (uint32_t)in[8] << 24 | (uint32_t)in[9] << 16 | (uint32_t)in[10] << 8 | in[11];
    if (magic != QOI_MAGIC || w != (uint32_t)width || h != (uint32_t)height || in[12] != channels) return 0;
    size_t pixel_count = (size_t)width * (size_t)height;
    size_t p = QOI_HEADER_SIZE, chunks_end = length - sizeof end_marker;
    qoi_rgba_t index[64];
    memset(index, 0, sizeof index);
    qoi_rgba_t px;
    px.rgba.r = 0; px.rgba.g = 0; px.rgba.b = 0; px.rgba.a = 255;
    size_t written = 0;
    while (written < pixel_count) {
        if (p >= chunks_end) return 0;  // the stream ends before the image does
        size_t run = 1;
        int b1 = in[p++];
        if (b1 == QOI_OP_RGB) {
            if (chunks_end - p < 3) return 0;
            px.rgba.r = in[p++]; px.rgba.g = in[p++]; px.rgba.b = in[p++];
        } else if (b1 == QOI_OP_RGBA) {
            if (chunks_end - p < 4) return 0;
            px.rgba.r = in[p++]; px.rgba.g = in[p++]; px.rgba.b = in[p++]; px.rgba.a = in[p++];
        } else if ((b1 & QOI_MASK_2) == QOI_OP_INDEX) {
            px = index[b1];
        } else if ((b1 & QOI_MASK_2) == QOI_OP_DIFF) {
            px.rgba.r += ((b1 >> 4) & 0x03) - 2;
            px.rgba.g += ((b1 >> 2) & 0x03) - 2;
            px.rgba.b += (b1 & 0x03) - 2;
        } else if ((b1 & QOI_MASK_2) == QOI_OP_LUMA) {
            if (chunks_end - p < 1) return 0;
            int b2 = in[p++];
            int vg = (b1 & 0x3f) - 32;
            px.rgba.r += vg - 8 + ((b2 >> 4) & 0x0f);
            px.rgba.g += vg;
            px.rgba.b += vg - 8 + (b2 & 0x0f);
        } else {  // QOI_OP_RUN
            run = (size_t)(b1 & 0x3f) + 1;
            if (run > pixel_count - written) return 0;  // a run past the last pixel
        }
        index[QOI_COLOR_HASH(px) % 64] = px;
        for (size_t i = 0; i < run; i++, written++) {
            uint8_t *o = out + written * (size_t)channels;
            o[0] = px.rgba.r; o[1] = px.rgba.g; o[2] = px.rgba.b;
            if (channels == 4) o[3] = px.rgba.a;
        }
    }
    // The last pixel must be followed by the end marker, and the marker by nothing.
    if (p != chunks_end || memcmp(in + chunks_end, end_marker, sizeof end_marker) != 0) return 0;
    return 1;
}

void msai_codec_free(void *p) { free(p); }
