// A small C API over OpenCV 4.6 (cv::dnn and imgproc) for Swift.
// Every function catches cv::Exception and std::exception inside and reports
// failure through its return value and an msai_cv_error; nothing throws across
// this boundary, so a bad model file is an error value, never a process abort.
#ifndef MSAI_OPENCV_H
#define MSAI_OPENCV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Filled in when a call fails; `message` is NUL-terminated and names the problem.
typedef struct msai_cv_error {
    char message[512];
} msai_cv_error;

/// An owned cv::dnn::Net plus the outputs of its last forward pass.
typedef struct msai_net msai_net;

/// Loaders return NULL and fill `error` when the files are missing or malformed.
msai_net *msai_net_read_darknet(const char *cfg_path, const char *weights_path, msai_cv_error *error);
msai_net *msai_net_read_caffe(const char *prototxt_path, const char *model_path, msai_cv_error *error);
msai_net *msai_net_read_onnx(const char *onnx_path, msai_cv_error *error);
void msai_net_free(msai_net *net);

/// cv::setNumThreads; returns the previous value.
int msai_set_num_threads(int threads);

/// How to turn an interleaved 8-bit image into the network's input blob.
typedef struct msai_blob_params {
    int input_width, input_height;   // blob spatial size
    int resize_width, resize_height; // the image is resized to this (<= input size) ...
    int pad_x, pad_y;                // ... and placed at this offset; the rest is filled with pad_value
    double pad_value;
    int to_bgr;                      // 1: feed channels in BGR order (Caffe models); 0: RGB (darknet)
    double scale;                    // blob = ((pixel - mean) * scale) / std, per channel
    double mean[3];
    double std[3];                   // use 1,1,1 for none
} msai_blob_params;

/// Runs a forward pass over all unconnected output layers.
/// `pixels` is row-major interleaved RGB (channels 3) or gray (channels 1), `stride` bytes per row.
/// Returns the number of outputs, or -1 with `error` filled.
int msai_net_forward(msai_net *net, const uint8_t *pixels, int width, int height, int channels, size_t stride,
                     const msai_blob_params *params, msai_cv_error *error);

/// Shape and data of output `index` of the last forward pass (float32, contiguous).
/// Valid until the next msai_net_forward or msai_net_free.
int msai_net_output_ndims(const msai_net *net, int index);
int msai_net_output_dim(const msai_net *net, int index, int axis);
const float *msai_net_output_data(const msai_net *net, int index);
/// Name of output layer `index` (as in the model), valid while the net lives.
const char *msai_net_output_name(const msai_net *net, int index);

/// cv::dnn::NMSBoxes. boxes are [x, y, w, h] float quadruples. Writes kept indices to `kept`
/// (capacity `count`) and returns how many were kept, or -1 with `error` filled.
int msai_nms_boxes(const float *boxes, const float *scores, int count, float score_threshold,
                   float nms_threshold, int *kept, msai_cv_error *error);

/// cv::resize with INTER_AREA (shrinking) or INTER_LINEAR (growing), interleaved 8-bit, tight rows.
int msai_resize(const uint8_t *src, int src_width, int src_height, int channels, uint8_t *dst, int dst_width,
                int dst_height, msai_cv_error *error);

/// An owned cv::CascadeClassifier (Haar or LBP cascade from an XML file).
typedef struct msai_cascade msai_cascade;
msai_cascade *msai_cascade_load(const char *xml_path, msai_cv_error *error);
void msai_cascade_free(msai_cascade *cascade);

/// cv::CascadeClassifier::detectMultiScale on the image converted to gray and histogram-equalised.
/// Writes up to `capacity` boxes as [x, y, w, h] int quadruples to `boxes` and returns how many
/// were found (may exceed capacity; only `capacity` are written), or -1 with `error` filled.
int msai_cascade_detect(msai_cascade *cascade, const uint8_t *pixels, int width, int height, int channels, size_t stride,
                        double scale_factor, int min_neighbors, int min_width, int min_height, int *boxes, int *votes,
                        int capacity, msai_cv_error *error);

/// The size of the filled tag msai_draw_box draws for `label` on an image `image_width` wide.
void msai_label_size(const char *label, int image_width, int *width, int *height);

/// Draws a rectangle outline of colour (r, g, b) and, if `label` is not NULL, the label on a filled
/// tag with its top-left corner at (label_x, label_y) (cv::rectangle, cv::putText), in place on
/// interleaved RGB or gray pixels (tight rows). A thickness of 0 draws the label alone.
int msai_draw_box(uint8_t *pixels, int width, int height, int channels, int x, int y, int w, int h, uint8_t r,
                  uint8_t g, uint8_t b, int thickness, const char *label, int label_x, int label_y, msai_cv_error *error);

/// cv::GaussianBlur of the rectangle (x, y, w, h) in place, kernel side `ksize` (odd), on tight rows.
int msai_gaussian_blur(uint8_t *pixels, int width, int height, int channels, int x, int y, int w, int h, int ksize,
                       msai_cv_error *error);

/// An owned cv::VideoCapture over a file.
typedef struct msai_video msai_video;
/// Opens a video file; fills width, height and the frame count OpenCV reports (may be 0 if unknown).
msai_video *msai_video_open(const char *path, int *width, int *height, int *frame_count, double *fps,
                            msai_cv_error *error);
/// Reads the next frame as interleaved RGB into `rgb` (width * height * 3 bytes).
/// Returns 1 for a frame, 0 at the end of the video, -1 with `error` filled.
int msai_video_read(msai_video *video, uint8_t *rgb, msai_cv_error *error);
void msai_video_free(msai_video *video);

/// A Motion JPEG AVI being written (cv::VideoWriter); frames are interleaved RGB or gray, tight rows.
typedef struct msai_video_writer msai_video_writer;
msai_video_writer *msai_video_writer_open(const char *path, double fps, int width, int height, msai_cv_error *error);
int msai_video_writer_write(msai_video_writer *video, const uint8_t *pixels, int width, int height, int channels,
                            msai_cv_error *error);
/// Finishes the file and frees the writer.
void msai_video_writer_close(msai_video_writer *video);

#ifdef __cplusplus
}
#endif

#endif
