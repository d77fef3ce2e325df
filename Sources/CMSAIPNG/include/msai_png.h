// A small C API over libpng for Swift: lossless 8-bit PNG with text and private chunks.
// libpng reports errors by longjmp; these functions set up setjmp inside and turn every
// failure into a return code and a message, so Swift never sees a longjmp.
#ifndef MSAI_PNG_H
#define MSAI_PNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct msai_png_error {
    char message[512];
} msai_png_error;

/// One tEXt/iTXt entry (UTF-8 text, written as iTXt, uncompressed).
typedef struct msai_png_text {
    const char *keyword;
    const char *text;
} msai_png_text;

/// One private ancillary chunk (4-letter name, e.g. "mvHe") with binary data.
typedef struct msai_png_chunk {
    char name[5];
    const uint8_t *data;
    size_t length;
} msai_png_chunk;

/// Encodes 8-bit gray (channels 1) or RGB (channels 3) pixels, tight rows.
/// `compression_level` 0..9, `filters` a PNG_FILTER_* mask or -1 for libpng's default.
/// On success returns 0 and sets *out / *out_length to a malloc'd buffer the caller frees
/// with msai_png_free. On failure returns -1 and fills `error`.
int msai_png_encode(const uint8_t *pixels, int width, int height, int channels, int compression_level, int filters,
                    int strategy, const msai_png_text *texts, int text_count, const msai_png_chunk *chunks, int chunk_count,
                    uint8_t **out, size_t *out_length, msai_png_error *error);

/// A decoded PNG. Every pointer is malloc'd and released by msai_png_decoded_free.
typedef struct msai_png_decoded {
    int width, height, channels;  // channels is 1 (gray) or 3 (RGB)
    uint8_t *pixels;              // width * height * channels, tight rows
    int text_count;
    char **text_keywords;
    char **text_values;
    int chunk_count;
    char (*chunk_names)[5];
    uint8_t **chunk_data;
    size_t *chunk_lengths;
    int had_alpha;                // 1 if an alpha channel was present and dropped
} msai_png_decoded;

/// Decodes any PNG (palette, gray, gray+alpha, RGB, RGBA; 1..16 bits) into 8-bit gray or RGB.
/// 16-bit samples are reduced to 8 bits; alpha is dropped (and reported in had_alpha).
/// Private chunks whose names are listed in `keep_chunks` (a string of 4-letter names
/// concatenated, e.g. "mvHe", may be NULL) are returned. Returns 0, or -1 with `error`
/// filled (truncated data, bad CRC, not a PNG, zero size).
int msai_png_decode(const uint8_t *data, size_t length, const char *keep_chunks, msai_png_decoded *out,
                    msai_png_error *error);

/// Limits for a PNG from a peer (a masked frame): what input can make the decoder allocate is
/// bounded before it allocates, and what would be dropped or repaired is refused instead.
typedef struct msai_png_limits {
    size_t max_chunk_bytes;    // no ancillary chunk may be longer
    int max_ancillary_chunks;  // no more may be kept; one more is an error, not a silent drop
} msai_png_limits;

/// msai_png_decode under `limits`: libpng's benign errors and warnings are errors, and bytes
/// after IEND are refused. List the text chunk types ("iTXttEXtzTXt") in `keep_chunks` to have
/// text handed back raw, undecompressed, as chunks, for the caller to judge.
int msai_png_decode_limited(const uint8_t *data, size_t length, const char *keep_chunks, const msai_png_limits *limits,
                            msai_png_decoded *out, msai_png_error *error);
void msai_png_decoded_free(msai_png_decoded *decoded);
void msai_png_free(void *buffer);

#ifdef __cplusplus
}
#endif

#endif
