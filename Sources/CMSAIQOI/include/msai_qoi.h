#ifndef MSAI_QOI_H
#define MSAI_QOI_H
#include <stddef.h>
#include <stdint.h>

// QOI, the lossless codec stream frames travel in (chosen by the codec study in make bench).

/// QOI of an RGB or RGBA (channels 3 or 4) image; *out is malloc'd, free it with msai_codec_free.
size_t msai_qoi_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **out);
/// Decodes QOI of exactly width x height x channels into `out` (width*height*channels bytes),
/// strictly: exactly that many pixels, then the end marker, then nothing. Returns 1 on success,
/// 0 if the data is not exactly such a QOI image.
int msai_qoi_decode(const uint8_t *in, size_t length, int width, int height, int channels, uint8_t *out);
void msai_codec_free(void *p);

#endif
