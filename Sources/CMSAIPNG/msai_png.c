// C API over libpng 1.6 for Swift. See include/msai_png.h.
//
// libpng reports errors by calling our error function, which records the message and
// longjmps back to the setjmp in encode_run / decode_run. All state that changes after
// setjmp lives in a context struct owned by the *calling* function (msai_png_encode /
// msai_png_decode), never in automatic variables of the function that called setjmp,
// so nothing is indeterminate after the longjmp and everything can be freed.
#include "msai_png.h"

#include <png.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 4))) static void set_message(char *buffer, size_t size, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(buffer, size, format, args);
    va_end(args);
    buffer[size - 1] = '\0';
}

__attribute__((format(printf, 2, 3))) static void report(msai_png_error *error, const char *format, ...) {
    if (error == NULL) return;
    va_list args;
    va_start(args, format);
    vsnprintf(error->message, sizeof(error->message), format, args);
    va_end(args);
    error->message[sizeof(error->message) - 1] = '\0';
}

// ---------------------------------------------------------------------------------------
// Shared error handling

typedef struct error_state {
    char message[512];
    char warning[512];  // first warning seen (encode treats any warning as a failure)
    int warned;
} error_state;

static void PNGCBAPI on_error(png_structp png, png_const_charp message) {
    error_state *state = (error_state *)png_get_error_ptr(png);
    if (state != NULL) set_message(state->message, sizeof(state->message), "%s", message ? message : "libpng error");
    png_longjmp(png, 1);
}

static void PNGCBAPI on_warning(png_structp png, png_const_charp message) {
    error_state *state = (error_state *)png_get_error_ptr(png);
    if (state != NULL && !state->warned) {
        state->warned = 1;
        set_message(state->warning, sizeof(state->warning), "%s", message ? message : "libpng warning");
    }
}

// ---------------------------------------------------------------------------------------
// Encode

typedef struct encode_context {
    error_state errors;  // must stay first: png error pointer
    png_structp png;
    png_infop info;
    uint8_t *buffer;
    size_t length, capacity;
    png_textp texts;  // array of text_count png_text (pointers borrowed from the caller)
} encode_context;

static void PNGCBAPI write_data(png_structp png, png_bytep data, png_size_t length) {
    encode_context *ctx = (encode_context *)png_get_io_ptr(png);
    if (length > (size_t)-1 - ctx->length) png_error(png, "PNG too large");
    size_t needed = ctx->length + length;
    if (needed > ctx->capacity) {
        size_t capacity = ctx->capacity ? ctx->capacity : 4096;
        while (capacity < needed) {
            if (capacity > (size_t)-1 / 2) {
                capacity = needed;
                break;
            }
            capacity *= 2;
        }
        uint8_t *grown = (uint8_t *)realloc(ctx->buffer, capacity);
        if (grown == NULL) png_error(png, "out of memory");
        ctx->buffer = grown;
        ctx->capacity = capacity;
    }
    memcpy(ctx->buffer + ctx->length, data, length);
    ctx->length = needed;
}

static void PNGCBAPI flush_data(png_structp png) { (void)png; }

// Keywords are limited to what png_check_keyword accepts unchanged (it silently rewrites
// others), restricted to printable ASCII so UTF-8 callers get back exactly what they wrote.
static int valid_keyword(const char *keyword) {
    size_t length = strlen(keyword);
    if (length < 1 || length > 79) return 0;
    if (keyword[0] == ' ' || keyword[length - 1] == ' ') return 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)keyword[i];
        if (c < 32 || c > 126) return 0;
        if (c == ' ' && keyword[i + 1] == ' ') return 0;
    }
    return 1;
}

static int is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static int is_lower(char c) { return c >= 'a' && c <= 'z'; }
static int is_upper(char c) { return c >= 'A' && c <= 'Z'; }

// Private (2nd letter lower case), ancillary (1st lower case), reserved bit clear (3rd upper case).
static int valid_private_chunk_name(const char *name) {
    for (int i = 0; i < 4; i++)
        if (!is_letter(name[i])) return 0;
    return name[4] == '\0' && is_lower(name[0]) && is_lower(name[1]) && is_upper(name[2]);
}

static int encode_run(encode_context *ctx, const uint8_t *pixels, int width, int height, int channels,
                      int compression_level, int filters, int strategy, const msai_png_chunk *chunks,
                      int chunk_count, int text_count) {
    if (setjmp(png_jmpbuf(ctx->png))) return -1;

    png_set_benign_errors(ctx->png, 0);  // nothing may be silently dropped or altered on write
    png_set_write_fn(ctx->png, ctx, write_data, flush_data);
    png_set_IHDR(ctx->png, ctx->info, (png_uint_32)width, (png_uint_32)height, 8,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(ctx->png, compression_level);
    if (filters >= 0) png_set_filter(ctx->png, PNG_FILTER_TYPE_BASE, filters);
    if (strategy >= 0) png_set_compression_strategy(ctx->png, strategy);
    if (text_count > 0) png_set_text(ctx->png, ctx->info, ctx->texts, text_count);

    png_write_info(ctx->png, ctx->info);  // signature, IHDR, iTXt
    for (int i = 0; i < chunk_count; i++)  // private chunks, before IDAT
        png_write_chunk(ctx->png, (png_const_bytep)chunks[i].name, chunks[i].data, chunks[i].length);

    size_t row_bytes = (size_t)width * (size_t)channels;
    for (int y = 0; y < height; y++) png_write_row(ctx->png, pixels + (size_t)y * row_bytes);
    png_write_end(ctx->png, NULL);
    return 0;
}

int msai_png_encode(const uint8_t *pixels, int width, int height, int channels, int compression_level, int filters,
                    int strategy, const msai_png_text *texts, int text_count, const msai_png_chunk *chunks, int chunk_count,
                    uint8_t **out, size_t *out_length, msai_png_error *error) {
    if (out != NULL) *out = NULL;
    if (out_length != NULL) *out_length = 0;
    if (out == NULL || out_length == NULL || pixels == NULL) {
        report(error, "encode: null pixels or output pointer");
        return -1;
    }
    if (width <= 0 || height <= 0 || (channels != 1 && channels != 3)) {
        report(error, "encode: bad image %dx%d with %d channels (need 1 or 3)", width, height, channels);
        return -1;
    }
    if (compression_level < 0 || compression_level > 9) {
        report(error, "encode: compression level must be 0...9");
        return -1;
    }
    if (!(filters == -1 || (filters >= 0 && filters <= PNG_FILTER_VALUE_PAETH) ||
          (filters > 0 && (filters & ~PNG_ALL_FILTERS) == 0))) {
        report(error, "encode: filters must be -1, a PNG_FILTER_VALUE_* or a mask of PNG_FILTER_* bits");
        return -1;
    }
    if (strategy < -1 || strategy > 4) {
        report(error, "encode: strategy must be -1 (libpng's choice) or a zlib Z_* strategy 0...4");
        return -1;
    }
    if (text_count < 0 || chunk_count < 0 || (text_count > 0 && texts == NULL) || (chunk_count > 0 && chunks == NULL)) {
        report(error, "encode: bad text or chunk list");
        return -1;
    }
    for (int i = 0; i < text_count; i++) {
        if (texts[i].keyword == NULL || !valid_keyword(texts[i].keyword)) {
            report(error,
                   "encode: invalid text keyword '%.80s' (need 1-79 printable ASCII characters, no leading, "
                   "trailing or double spaces)",
                   texts[i].keyword ? texts[i].keyword : "(null)");
            return -1;
        }
    }
    for (int i = 0; i < chunk_count; i++) {
        if (!valid_private_chunk_name(chunks[i].name)) {
            report(error, "encode: invalid chunk name '%.4s' (need a private ancillary name like 'mvHe')",
                   chunks[i].name);
            return -1;
        }
        if (chunks[i].length > PNG_UINT_31_MAX || (chunks[i].length > 0 && chunks[i].data == NULL)) {
            report(error, "encode: chunk '%.4s' has no data or is too long", chunks[i].name);
            return -1;
        }
    }

    encode_context ctx;
    memset(&ctx, 0, sizeof ctx);
    if (text_count > 0) {
        ctx.texts = (png_textp)calloc((size_t)text_count, sizeof(png_text));
        if (ctx.texts == NULL) {
            report(error, "encode: out of memory");
            return -1;
        }
        for (int i = 0; i < text_count; i++) {
            ctx.texts[i].compression = PNG_ITXT_COMPRESSION_NONE;
            ctx.texts[i].key = (png_charp)texts[i].keyword;
            ctx.texts[i].text = (png_charp)(texts[i].text ? texts[i].text : "");
            ctx.texts[i].lang = NULL;
            ctx.texts[i].lang_key = NULL;
        }
    }
    ctx.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx.errors, on_error, on_warning);
    if (ctx.png != NULL) ctx.info = png_create_info_struct(ctx.png);
    if (ctx.png == NULL || ctx.info == NULL) {
        png_destroy_write_struct(ctx.png ? &ctx.png : NULL, ctx.info ? &ctx.info : NULL);
        free(ctx.texts);
        report(error, "encode: cannot create libpng write structures (out of memory)");
        return -1;
    }

    int result = encode_run(&ctx, pixels, width, height, channels, compression_level, filters, strategy, chunks, chunk_count,
                            text_count);
    png_destroy_write_struct(&ctx.png, &ctx.info);
    free(ctx.texts);
    if (result == 0 && ctx.errors.warned) {
        // A libpng warning on write means something was adjusted or left out: not lossless.
        free(ctx.buffer);
        report(error, "PNG encode failed: libpng warning: %s", ctx.errors.warning);
        return -1;
    }
    if (result != 0) {
        free(ctx.buffer);
        if (ctx.errors.warned)
            report(error, "PNG encode failed: %s (%s)", ctx.errors.message, ctx.errors.warning);
        else
            report(error, "PNG encode failed: %s", ctx.errors.message);
        return -1;
    }
    *out = ctx.buffer;
    *out_length = ctx.length;
    return 0;
}

void msai_png_free(void *buffer) { free(buffer); }

// ---------------------------------------------------------------------------------------
// Decode

typedef struct decode_context {
    error_state errors;  // must stay first: png error pointer
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t length, position;
    png_bytep *rows;
    png_bytep keep_list;  // keep_count names, 5 bytes each (4 letters + NUL), as libpng wants
    const msai_png_limits *limits;  // NULL: lenient (files a user gives)
    msai_png_decoded result;
} decode_context;

static void PNGCBAPI read_data(png_structp png, png_bytep data, png_size_t length) {
    decode_context *ctx = (decode_context *)png_get_io_ptr(png);
    if (length > ctx->length - ctx->position) png_error(png, "truncated PNG data");
    memcpy(data, ctx->data + ctx->position, length);
    ctx->position += length;
}

static void *checked_malloc(png_structp png, size_t size) {
    void *p = malloc(size ? size : 1);
    if (p == NULL) png_error(png, "out of memory");
    return p;
}

// tEXt/zTXt text and all keywords are Latin-1 by the PNG spec; hand out UTF-8.
static char *latin1_to_utf8(png_structp png, const char *text) {
    if (text == NULL) text = "";
    size_t length = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) length += *p < 0x80 ? 1 : 2;
    char *result = (char *)checked_malloc(png, length + 1);
    char *q = result;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p < 0x80) {
            *q++ = (char)*p;
        } else {
            *q++ = (char)(0xC0 | (*p >> 6));
            *q++ = (char)(0x80 | (*p & 0x3F));
        }
    }
    *q = '\0';
    return result;
}

static char *copy_string(png_structp png, const char *text) {
    if (text == NULL) text = "";
    size_t length = strlen(text);
    char *result = (char *)checked_malloc(png, length + 1);
    memcpy(result, text, length + 1);
    return result;
}

static int decode_run(decode_context *ctx, int keep_count) {
    if (setjmp(png_jmpbuf(ctx->png))) return -1;

    png_set_read_fn(ctx->png, ctx, read_data);
    png_set_sig_bytes(ctx->png, 8);
    ctx->position = 8;
    // Altered metadata must not be silently dropped: CRC errors in ancillary chunks are errors too.
    png_set_crc_action(ctx->png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    if (ctx->limits != NULL) {
        // A peer's PNG: nothing repaired or dropped quietly, nothing larger than the limits.
        png_set_benign_errors(ctx->png, 0);
        png_set_chunk_malloc_max(ctx->png, (png_alloc_size_t)ctx->limits->max_chunk_bytes);
        // One more than allowed is kept, so that going over is seen (and refused) below rather
        // than dropped by libpng with a warning.
        png_set_chunk_cache_max(ctx->png, (png_uint_32)ctx->limits->max_ancillary_chunks + 1);
    } else {
        // A chunk can never be longer than the input, so allow that much (libpng drops larger ones).
        size_t limit = ctx->length + 1024;
        if (limit < PNG_USER_CHUNK_MALLOC_MAX) limit = PNG_USER_CHUNK_MALLOC_MAX;
        png_set_chunk_malloc_max(ctx->png, (png_alloc_size_t)limit);
        png_set_chunk_cache_max(ctx->png, 0);  // unlimited: never drop text or kept chunks
    }
    if (keep_count > 0)
        png_set_keep_unknown_chunks(ctx->png, PNG_HANDLE_CHUNK_ALWAYS, ctx->keep_list, keep_count);

    png_read_info(ctx->png, ctx->info);
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(ctx->png, ctx->info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    if (width == 0 || height == 0) png_error(ctx->png, "image has zero width or height");
    if (width > 0x7fffffffu || height > 0x7fffffffu) png_error(ctx->png, "image too large");

    int has_trns = png_get_valid(ctx->png, ctx->info, PNG_INFO_tRNS) != 0;
    ctx->result.had_alpha = (color_type & PNG_COLOR_MASK_ALPHA) != 0 || has_trns;

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(ctx->png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(ctx->png);
    if (bit_depth == 16) png_set_strip_16(ctx->png);
    // tRNS is never turned into alpha; a real alpha channel (or palette transparency) is stripped.
    png_set_strip_alpha(ctx->png);
    png_set_interlace_handling(ctx->png);
    png_read_update_info(ctx->png, ctx->info);

    int channels = png_get_channels(ctx->png, ctx->info);
    int depth = png_get_bit_depth(ctx->png, ctx->info);
    if ((channels != 1 && channels != 3) || depth != 8) {
        char message[128];
        snprintf(message, sizeof message, "unsupported PNG layout after conversion: %d channels, %d bits", channels,
                 depth);
        png_error(ctx->png, message);
    }
    size_t row_bytes = (size_t)width * (size_t)channels;
    if (png_get_rowbytes(ctx->png, ctx->info) != row_bytes) png_error(ctx->png, "unexpected row size");
    if ((size_t)height > ((size_t)-1) / row_bytes) png_error(ctx->png, "image too large");

    ctx->result.width = (int)width;
    ctx->result.height = (int)height;
    ctx->result.channels = channels;
    ctx->result.pixels = (uint8_t *)checked_malloc(ctx->png, row_bytes * (size_t)height);
    ctx->rows = (png_bytep *)checked_malloc(ctx->png, sizeof(png_bytep) * (size_t)height);
    for (png_uint_32 y = 0; y < height; y++) ctx->rows[y] = ctx->result.pixels + (size_t)y * row_bytes;
    png_read_image(ctx->png, ctx->rows);
    png_read_end(ctx->png, ctx->info);  // texts and kept chunks after IDAT land in the same info
    if (ctx->limits != NULL) {
        if (ctx->position != ctx->length) png_error(ctx->png, "bytes after IEND");
        if (ctx->errors.warned) png_error(ctx->png, ctx->errors.warning);
        png_unknown_chunkp kept = NULL;
        png_textp kept_texts = NULL;
        int count = png_get_unknown_chunks(ctx->png, ctx->info, &kept) + png_get_text(ctx->png, ctx->info, &kept_texts, NULL);
        if (count > ctx->limits->max_ancillary_chunks) png_error(ctx->png, "too many ancillary chunks");
    }

    png_textp texts = NULL;
    int text_count = png_get_text(ctx->png, ctx->info, &texts, NULL);
    if (text_count > 0) {
        ctx->result.text_keywords = (char **)checked_malloc(ctx->png, sizeof(char *) * (size_t)text_count);
        memset(ctx->result.text_keywords, 0, sizeof(char *) * (size_t)text_count);
        ctx->result.text_values = (char **)checked_malloc(ctx->png, sizeof(char *) * (size_t)text_count);
        memset(ctx->result.text_values, 0, sizeof(char *) * (size_t)text_count);
        ctx->result.text_count = text_count;
        for (int i = 0; i < text_count; i++) {
            ctx->result.text_keywords[i] = latin1_to_utf8(ctx->png, texts[i].key);
            if (texts[i].compression == PNG_ITXT_COMPRESSION_NONE || texts[i].compression == PNG_ITXT_COMPRESSION_zTXt)
                ctx->result.text_values[i] = copy_string(ctx->png, texts[i].text);  // iTXt: UTF-8 already
            else
                ctx->result.text_values[i] = latin1_to_utf8(ctx->png, texts[i].text);
        }
    }

    png_unknown_chunkp unknowns = NULL;
    int unknown_count = png_get_unknown_chunks(ctx->png, ctx->info, &unknowns);
    if (unknown_count > 0) {
        ctx->result.chunk_names = (char(*)[5])checked_malloc(ctx->png, sizeof(char[5]) * (size_t)unknown_count);
        ctx->result.chunk_data = (uint8_t **)checked_malloc(ctx->png, sizeof(uint8_t *) * (size_t)unknown_count);
        memset(ctx->result.chunk_data, 0, sizeof(uint8_t *) * (size_t)unknown_count);
        ctx->result.chunk_lengths = (size_t *)checked_malloc(ctx->png, sizeof(size_t) * (size_t)unknown_count);
        memset(ctx->result.chunk_lengths, 0, sizeof(size_t) * (size_t)unknown_count);
        ctx->result.chunk_count = unknown_count;
        for (int i = 0; i < unknown_count; i++) {
            memcpy(ctx->result.chunk_names[i], unknowns[i].name, 4);
            ctx->result.chunk_names[i][4] = '\0';
            ctx->result.chunk_data[i] = (uint8_t *)checked_malloc(ctx->png, unknowns[i].size);
            if (unknowns[i].size > 0) memcpy(ctx->result.chunk_data[i], unknowns[i].data, unknowns[i].size);
            ctx->result.chunk_lengths[i] = unknowns[i].size;
        }
    }
    return 0;
}

int msai_png_decode(const uint8_t *data, size_t length, const char *keep_chunks, msai_png_decoded *out,
                    msai_png_error *error) {
    return msai_png_decode_limited(data, length, keep_chunks, NULL, out, error);
}

int msai_png_decode_limited(const uint8_t *data, size_t length, const char *keep_chunks, const msai_png_limits *limits,
                            msai_png_decoded *out, msai_png_error *error) {
    if (out == NULL) {
        report(error, "decode: null output");
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (data == NULL && length > 0) {
        report(error, "decode: null data");
        return -1;
    }
    if (length < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        report(error, "not a PNG file");
        return -1;
    }
    int keep_count = 0;
    if (keep_chunks != NULL) {
        size_t keep_length = strlen(keep_chunks);
        if (keep_length % 4 != 0 || keep_length / 4 > 1000) {
            report(error, "decode: keep_chunks must be concatenated 4-letter chunk names");
            return -1;
        }
        keep_count = (int)(keep_length / 4);
        for (int i = 0; i < keep_count; i++) {
            const char *name = keep_chunks + 4 * i;
            if (!is_letter(name[0]) || !is_letter(name[1]) || !is_letter(name[2]) || !is_letter(name[3]) ||
                !is_lower(name[0])) {
                report(error, "decode: '%.4s' in keep_chunks is not an ancillary chunk name", name);
                return -1;
            }
        }
    }

    decode_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.data = data;
    ctx.length = length;
    ctx.limits = limits;
    if (keep_count > 0) {
        ctx.keep_list = (png_bytep)calloc((size_t)keep_count, 5);
        if (ctx.keep_list == NULL) {
            report(error, "decode: out of memory");
            return -1;
        }
        for (int i = 0; i < keep_count; i++) memcpy(ctx.keep_list + 5 * i, keep_chunks + 4 * i, 4);
    }
    ctx.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx.errors, on_error, on_warning);
    if (ctx.png != NULL) ctx.info = png_create_info_struct(ctx.png);
    if (ctx.png == NULL || ctx.info == NULL) {
        png_destroy_read_struct(ctx.png ? &ctx.png : NULL, ctx.info ? &ctx.info : NULL, NULL);
        free(ctx.keep_list);
        report(error, "decode: cannot create libpng read structures (out of memory)");
        return -1;
    }

    int result = decode_run(&ctx, keep_count);
    png_destroy_read_struct(&ctx.png, &ctx.info, NULL);
    free(ctx.rows);
    free(ctx.keep_list);
    if (result != 0) {
        msai_png_decoded_free(&ctx.result);
        if (ctx.errors.warned)
            report(error, "PNG decode failed: %s (%s)", ctx.errors.message, ctx.errors.warning);
        else
            report(error, "PNG decode failed: %s", ctx.errors.message);
        return -1;
    }
    *out = ctx.result;
    return 0;
}

void msai_png_decoded_free(msai_png_decoded *decoded) {
    if (decoded == NULL) return;
    free(decoded->pixels);
    for (int i = 0; i < decoded->text_count; i++) {
        if (decoded->text_keywords) free(decoded->text_keywords[i]);
        if (decoded->text_values) free(decoded->text_values[i]);
    }
    free(decoded->text_keywords);
    free(decoded->text_values);
    for (int i = 0; i < decoded->chunk_count; i++)
        if (decoded->chunk_data) free(decoded->chunk_data[i]);
    free(decoded->chunk_names);
    free(decoded->chunk_data);
    free(decoded->chunk_lengths);
    memset(decoded, 0, sizeof *decoded);
}
