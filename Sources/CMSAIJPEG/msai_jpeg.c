#include "msai_jpeg.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    msai_jpeg_error *error;
} error_manager;

static void on_error(j_common_ptr info) {
    error_manager *manager = (error_manager *)info->err;
    if (manager->error) (*info->err->format_message)(info, manager->error->message);
    longjmp(manager->jump, 1);
}

/// Warnings (a corrupt stream libjpeg would paper over) are errors here: what is masked must be
/// exactly what was read.
static void on_warning(j_common_ptr info, int level) {
    if (level < 0) on_error(info);
}

/// Progressive JPEGs may hold any number of scans, each a pass over the whole image: past 500
/// (libjpeg-turbo's own TJFLAG_LIMITSCANS bound) the file is refused rather than decoded.
static void limit_scans(j_common_ptr info) {
    j_decompress_ptr decompress = (j_decompress_ptr)info;
    if (info->is_decompressor && decompress->input_scan_number > 500) {
        error_manager *manager = (error_manager *)info->err;
        if (manager->error) snprintf(manager->error->message, sizeof manager->error->message, "more than 500 scans: refused");
        longjmp(manager->jump, 1);
    }
}

static void fail(msai_jpeg_error *error, const char *message) {
    if (error) snprintf(error->message, sizeof error->message, "%s", message);
}

void msai_jpeg_free(void *pointer) { free(pointer); }

/// What the coefficient path refuses, checked on the header before anything is allocated:
/// more than `max_pixels`, other than 8-bit samples, colour spaces other than grayscale and YCbCr.
static int check_source(j_decompress_ptr info, uint64_t max_pixels, msai_jpeg_error *error) {
    if ((uint64_t)info->image_width * info->image_height > max_pixels) {
        snprintf(error->message, sizeof error->message, "%ux%u is more pixels than allowed (%llu)", info->image_width,
                 info->image_height, (unsigned long long)max_pixels);
        return -1;
    }
    if (info->data_precision != 8) {
        snprintf(error->message, sizeof error->message, "%d-bit samples: only 8-bit JPEGs can be masked in the DCT domain",
                 info->data_precision);
        return -1;
    }
    if (info->num_components > MSAI_JPEG_MAX_COMPONENTS ||
        !((info->jpeg_color_space == JCS_GRAYSCALE && info->num_components == 1) ||
          (info->jpeg_color_space == JCS_YCbCr && info->num_components == 3))) {
        snprintf(error->message, sizeof error->message,
                 "colour space %d with %d components (CMYK or YCCK?): only grayscale and YCbCr JPEGs can be masked in the DCT domain",
                 (int)info->jpeg_color_space, info->num_components);
        return -1;
    }
    return 0;
}

/// The frame geometry (size, sampling, blocks, quantisation tables) of a source whose header is read.
/// With `require_tables`, every component's quantisation table must be known (it is once the
/// coefficients are read); a header alone may name one that a later scan defines: left zero.
static int describe(j_decompress_ptr source, msai_jpeg_coefficients *out, int require_tables, msai_jpeg_error *error) {
    out->width = (int)source->image_width;
    out->height = (int)source->image_height;
    out->components = source->num_components;
    out->color_space = source->jpeg_color_space == JCS_GRAYSCALE ? 1 : 3;
    out->data_precision = source->data_precision;
    out->progressive = source->progressive_mode;
    out->arithmetic = source->arith_code;
    out->restart_interval = source->restart_interval;
    out->max_h_samp = source->max_h_samp_factor;
    out->max_v_samp = source->max_v_samp_factor;
    for (int c = 0; c < source->num_components; c++) {
        jpeg_component_info *component = &source->comp_info[c];
        out->h_samp[c] = component->h_samp_factor;
        out->v_samp[c] = component->v_samp_factor;
        out->blocks_wide[c] = (int)component->width_in_blocks;
        out->blocks_high[c] = (int)component->height_in_blocks;
        // Latched at the start of the first scan; before it (a header only), the table it names.
        JQUANT_TBL *table = component->quant_table;
        if (!table && component->quant_tbl_no >= 0 && component->quant_tbl_no < NUM_QUANT_TBLS)
            table = source->quant_tbl_ptrs[component->quant_tbl_no];
        if (!table) {
            if (!require_tables) continue;
            fail(error, "a component has no quantisation table");
            return -1;
        }
        for (int k = 0; k < DCTSIZE2; k++) out->quant[c][k] = table->quantval[k];
    }
    return 0;
}

int msai_jpeg_read_header(const uint8_t *data, size_t length, uint64_t max_pixels, msai_jpeg_coefficients *out,
                          msai_jpeg_error *error) {
    struct jpeg_decompress_struct source;
    error_manager errors;
    volatile int made = 0;
    int result = -1;
    memset(out, 0, sizeof *out);
    source.err = jpeg_std_error(&errors.base);
    errors.base.error_exit = on_error;
    errors.base.emit_message = on_warning;
    errors.error = error;
    if (setjmp(errors.jump)) goto done;
    jpeg_create_decompress(&source);
    made = 1;
    jpeg_mem_src(&source, data, (unsigned long)length);
    if (jpeg_read_header(&source, TRUE) != JPEG_HEADER_OK) {
        fail(error, "not a JPEG image");
        goto done;
    }
    if (check_source(&source, max_pixels, error) != 0) goto done;
    // width_in_blocks and height_in_blocks are set once the first scan's header is read.
    if (describe(&source, out, 0, error) != 0) goto done;
    result = 0;
done:
    if (made) jpeg_destroy_decompress(&source);
    return result;
}

int msai_jpeg_transcode(const uint8_t *data, size_t length, uint64_t max_pixels, int optimize, msai_jpeg_edit edit, void *context,
                        uint8_t **out, size_t *out_length, msai_jpeg_error *error) {
    struct jpeg_decompress_struct source;
    struct jpeg_compress_struct destination;
    error_manager source_errors, destination_errors;
    msai_jpeg_coefficients coefficients;
    unsigned char *buffer = NULL;
    unsigned long buffer_length = 0;
    volatile int source_made = 0, destination_made = 0;
    int result = -1;

    memset(&coefficients, 0, sizeof coefficients);
    *out = NULL;
    *out_length = 0;
    source.err = jpeg_std_error(&source_errors.base);
    source_errors.base.error_exit = on_error;
    source_errors.base.emit_message = on_warning;
    source_errors.error = error;
    destination.err = jpeg_std_error(&destination_errors.base);
    destination_errors.base.error_exit = on_error;
    destination_errors.error = error;

    if (setjmp(source_errors.jump) || setjmp(destination_errors.jump)) goto done;
    jpeg_create_decompress(&source);
    source_made = 1;
    struct jpeg_progress_mgr progress = {.progress_monitor = limit_scans};
    source.progress = &progress;
    jpeg_mem_src(&source, data, (unsigned long)length);
    if (jpeg_read_header(&source, TRUE) != JPEG_HEADER_OK) {
        fail(error, "not a JPEG image");
        goto done;
    }
    if (check_source(&source, max_pixels, error) != 0) goto done;
    jvirt_barray_ptr *arrays = jpeg_read_coefficients(&source);
    if (describe(&source, &coefficients, 1, error) != 0) goto done;
    for (int c = 0; c < source.num_components; c++) {
        jpeg_component_info *component = &source.comp_info[c];
        size_t blocks = (size_t)component->width_in_blocks * component->height_in_blocks;
        coefficients.coefficients[c] = malloc(blocks * DCTSIZE2 * sizeof(int16_t));
        if (!coefficients.coefficients[c]) {
            fail(error, "out of memory for the coefficients");
            goto done;
        }
        for (JDIMENSION row = 0; row < component->height_in_blocks; row++) {
            JBLOCKARRAY line = (*source.mem->access_virt_barray)((j_common_ptr)&source, arrays[c], row, 1, FALSE);
            memcpy(coefficients.coefficients[c] + (size_t)row * component->width_in_blocks * DCTSIZE2, line[0],
                   (size_t)component->width_in_blocks * DCTSIZE2 * sizeof(int16_t));
        }
    }

    if (edit && edit(&coefficients, context) != 0) {
        fail(error, "stopped by the caller");
        goto done;
    }

    for (int c = 0; c < source.num_components; c++) {
        jpeg_component_info *component = &source.comp_info[c];
        for (JDIMENSION row = 0; row < component->height_in_blocks; row++) {
            JBLOCKARRAY line = (*source.mem->access_virt_barray)((j_common_ptr)&source, arrays[c], row, 1, TRUE);
            memcpy(line[0], coefficients.coefficients[c] + (size_t)row * component->width_in_blocks * DCTSIZE2,
                   (size_t)component->width_in_blocks * DCTSIZE2 * sizeof(int16_t));
        }
    }

    jpeg_create_compress(&destination);
    destination_made = 1;
    jpeg_mem_dest(&destination, &buffer, &buffer_length);
    jpeg_copy_critical_parameters(&source, &destination);
    destination.optimize_coding = optimize ? TRUE : FALSE;
    destination.arith_code = FALSE;
    destination.restart_interval = 0;
    jpeg_write_coefficients(&destination, arrays);
    jpeg_finish_compress(&destination);
    jpeg_finish_decompress(&source);
    *out = malloc(buffer_length);
    if (!*out) {
        fail(error, "out of memory for the written JPEG");
        goto done;
    }
    memcpy(*out, buffer, buffer_length);
    *out_length = buffer_length;
    result = 0;

done:
    if (destination_made) jpeg_destroy_compress(&destination);
    if (source_made) jpeg_destroy_decompress(&source);
    free(buffer);
    for (int c = 0; c < MSAI_JPEG_MAX_COMPONENTS; c++) free(coefficients.coefficients[c]);
    return result;
}
