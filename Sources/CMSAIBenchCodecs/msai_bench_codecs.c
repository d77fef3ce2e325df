#include "msai_bench_codecs.h"
#include <jxl/decode.h>
#include <jxl/encode.h>
#include <jxl/thread_parallel_runner.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

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

size_t msai_jxl_encode(const uint8_t *rgb, int width, int height, int effort, int threads, uint8_t **out) {
    *out = NULL;
    JxlEncoder *enc = JxlEncoderCreate(NULL);
    void *runner = JxlThreadParallelRunnerCreate(NULL, (size_t)threads);
    size_t result = 0, capacity = (size_t)width * height * 3 / 2 + 4096;
    uint8_t *buffer = NULL;
    if (!enc || !runner || JxlEncoderSetParallelRunner(enc, JxlThreadParallelRunner, runner) != JXL_ENC_SUCCESS) goto done;
    JxlBasicInfo info;
    JxlEncoderInitBasicInfo(&info);
    info.xsize = (uint32_t)width;
    info.ysize = (uint32_t)height;
    info.bits_per_sample = 8;
    info.num_color_channels = 3;
    info.uses_original_profile = JXL_TRUE;  // required for lossless
    if (JxlEncoderSetBasicInfo(enc, &info) != JXL_ENC_SUCCESS) goto done;
    JxlColorEncoding color;
    JxlColorEncodingSetToSRGB(&color, JXL_FALSE);
    if (JxlEncoderSetColorEncoding(enc, &color) != JXL_ENC_SUCCESS) goto done;
    JxlEncoderFrameSettings *settings = JxlEncoderFrameSettingsCreate(enc, NULL);
    if (JxlEncoderSetFrameLossless(settings, JXL_TRUE) != JXL_ENC_SUCCESS) goto done;
    if (JxlEncoderFrameSettingsSetOption(settings, JXL_ENC_FRAME_SETTING_EFFORT, effort) != JXL_ENC_SUCCESS) goto done;
    JxlPixelFormat format = {3, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0};
    if (JxlEncoderAddImageFrame(settings, &format, rgb, (size_t)width * height * 3) != JXL_ENC_SUCCESS) goto done;
    JxlEncoderCloseInput(enc);
    buffer = malloc(capacity);
    uint8_t *next = buffer;
    size_t avail = capacity;
    for (;;) {
        JxlEncoderStatus status = JxlEncoderProcessOutput(enc, &next, &avail);
        if (status == JXL_ENC_SUCCESS) break;
        if (status != JXL_ENC_NEED_MORE_OUTPUT) goto done;
        size_t used = (size_t)(next - buffer);
        capacity *= 2;
        uint8_t *grown = realloc(buffer, capacity);
        if (!grown) goto done;
        buffer = grown;
        next = buffer + used;
        avail = capacity - used;
    }
    result = (size_t)(next - buffer);
    *out = buffer;
    buffer = NULL;
done:
    free(buffer);
    if (runner) JxlThreadParallelRunnerDestroy(runner);
    if (enc) JxlEncoderDestroy(enc);
    return result;
}

int msai_jxl_decode(const uint8_t *in, size_t length, int width, int height, int threads, uint8_t *out) {
    JxlDecoder *dec = JxlDecoderCreate(NULL);
    void *runner = JxlThreadParallelRunnerCreate(NULL, (size_t)threads);
    int ok = 0;
    if (!dec || !runner || JxlDecoderSetParallelRunner(dec, JxlThreadParallelRunner, runner) != JXL_DEC_SUCCESS) goto done;
    if (JxlDecoderSubscribeEvents(dec, JXL_DEC_BASIC_INFO | JXL_DEC_FULL_IMAGE) != JXL_DEC_SUCCESS) goto done;
    JxlDecoderSetInput(dec, in, length);
    JxlDecoderCloseInput(dec);
    JxlPixelFormat format = {3, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0};
    for (;;) {
        JxlDecoderStatus status = JxlDecoderProcessInput(dec);
        if (status == JXL_DEC_BASIC_INFO) {
            JxlBasicInfo info;
            if (JxlDecoderGetBasicInfo(dec, &info) != JXL_DEC_SUCCESS || info.xsize != (uint32_t)width || info.ysize != (uint32_t)height) goto done;
        } else if (status == JXL_DEC_NEED_IMAGE_OUT_BUFFER) {
            if (JxlDecoderSetImageOutBuffer(dec, &format, out, (size_t)width * height * 3) != JXL_DEC_SUCCESS) goto done;
        } else if (status == JXL_DEC_FULL_IMAGE) {
            ok = 1;
        } else if (status == JXL_DEC_SUCCESS) {
            break;
        } else {
            ok = 0;
            goto done;
        }
    }
done:
    if (runner) JxlThreadParallelRunnerDestroy(runner);
    if (dec) JxlDecoderDestroy(dec);
    return ok;
}
