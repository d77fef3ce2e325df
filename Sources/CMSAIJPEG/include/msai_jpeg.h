// A small C API over libjpeg(-turbo)'s coefficient interface, for masking a JPEG in the DCT
// domain without decoding it to pixels: read a JPEG's quantised DCT coefficients, let the caller
// change them in place, and write a baseline JPEG with the same frame parameters (components,
// sampling, quantisation tables) and the changed coefficients (Huffman tables made for them).
// libjpeg reports errors by longjmp; setjmp is set up inside, so every failure becomes a return
// code and a message, and Swift never sees a longjmp.
#ifndef MSAI_JPEG_H
#define MSAI_JPEG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MSAI_JPEG_MAX_COMPONENTS 4

typedef struct msai_jpeg_error {
    char message[512];
} msai_jpeg_error;

/// A JPEG's coefficients as read, one contiguous array per component: block (bx, by) of
/// component c starts at coefficients[c] + (by * blocks_wide[c] + bx) * 64, in natural (row-major)
/// order, each the quantised value the entropy coder carries.
typedef struct msai_jpeg_coefficients {
    int width, height;
    int components;
    /// 1 grayscale, 3 YCbCr (libjpeg's J_COLOR_SPACE of the file).
    int color_space;
    int data_precision;
    int progressive;
    int arithmetic;
    int restart_interval;
    int max_h_samp, max_v_samp;
    int h_samp[MSAI_JPEG_MAX_COMPONENTS], v_samp[MSAI_JPEG_MAX_COMPONENTS];
    int blocks_wide[MSAI_JPEG_MAX_COMPONENTS], blocks_high[MSAI_JPEG_MAX_COMPONENTS];
    /// The component's quantisation table, natural order.
    uint16_t quant[MSAI_JPEG_MAX_COMPONENTS][64];
    int16_t *coefficients[MSAI_JPEG_MAX_COMPONENTS];
} msai_jpeg_coefficients;

/// Told the coefficients once they are read; changes them in place. Returns 0 to go on and
/// write, anything else to stop (the transcode then fails with "stopped by the caller").
typedef int (*msai_jpeg_edit)(msai_jpeg_coefficients *coefficients, void *context);

/// Reads the JPEG in `data`, refusing what the coefficient path cannot carry exactly (12-bit
/// samples, more than 4 components, colour spaces other than grayscale and YCbCr) and anything
/// with more than `max_pixels` pixels before allocating for it; calls `edit`; writes a baseline,
/// Huffman-coded JPEG (no restart markers) to a malloc'd buffer in `*out` (free with
/// msai_jpeg_free). With `optimize`, Huffman tables made for the new coefficients (a second pass
/// over them); without, the standard tables of the JPEG specification (Annex K), which code every
/// symbol an 8-bit baseline coefficient can need. Returns 0, or -1 with `error` set.
int msai_jpeg_transcode(const uint8_t *data, size_t length, uint64_t max_pixels, int optimize, msai_jpeg_edit edit, void *context,
                        uint8_t **out, size_t *out_length, msai_jpeg_error *error);

/// Reads only the header of the JPEG in `data`: its geometry into `out` (coefficient pointers
/// NULL; a quantisation table a later scan defines left zero), with the same refusals as
/// msai_jpeg_transcode. Returns 0, or -1 with `error` set.
int msai_jpeg_read_header(const uint8_t *data, size_t length, uint64_t max_pixels, msai_jpeg_coefficients *out,
                          msai_jpeg_error *error);

void msai_jpeg_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif
