// C API over OpenCV 4.6 (cv::dnn, imgproc) for Swift. See include/msai_opencv.h.
// Nothing may throw across this boundary: every entry point catches everything.
#include "msai_opencv.h"

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <opencv2/videoio.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

struct msai_cascade {
    cv::CascadeClassifier classifier;
};

struct msai_video {
    cv::VideoCapture capture;
    int width = 0, height = 0;
    cv::Mat frame;
};

struct msai_video_writer {
    cv::VideoWriter writer;
    int width = 0, height = 0;
    cv::Mat frame;
};

struct msai_net {
    cv::dnn::Net net;
    std::vector<cv::Mat> outputs;  // float32, contiguous, from the last forward pass
    std::vector<std::string> names;
};

namespace {

void set_error(msai_cv_error *error, const char *format, ...) {
    if (error == nullptr) return;
    va_list args;
    va_start(args, format);
    std::vsnprintf(error->message, sizeof(error->message), format, args);
    va_end(args);
    error->message[sizeof(error->message) - 1] = '\0';
}

// The useful part of a cv::Exception (its `err`), falling back to what().
std::string cv_message(const cv::Exception &e) {
    std::string message = e.err.empty() ? std::string(e.what()) : e.err;
    if (!e.func.empty()) message += " (in " + e.func + ")";
    return message;
}

// Checks that `path` names a readable, non-empty regular file. On failure fills `error` as
// "<context>: <role> '<path>' <problem>" and returns false.
bool check_file(const char *context, const char *role, const char *path, msai_cv_error *error) {
    if (path == nullptr || path[0] == '\0') {
        set_error(error, "%s: no %s path given", context, role);
        return false;
    }
    struct stat st;
    if (::stat(path, &st) != 0) {
        int code = errno;
        set_error(error, "%s: %s '%s' %s", context, role, path,
                  code == ENOENT ? "does not exist" : std::strerror(code));
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        set_error(error, "%s: %s '%s' is not a regular file", context, role, path);
        return false;
    }
    std::FILE *file = std::fopen(path, "rb");
    if (file == nullptr) {
        int code = errno;
        set_error(error, "%s: %s '%s' is not readable: %s", context, role, path, std::strerror(code));
        return false;
    }
    std::fclose(file);
    if (st.st_size == 0) {
        set_error(error, "%s: %s '%s' is empty", context, role, path);
        return false;
    }
    return true;
}

// Wraps a freshly loaded net; fails if OpenCV produced an empty network.
msai_net *make_net(cv::dnn::Net &&net, const std::string &context, msai_cv_error *error) {
    if (net.empty()) {
        set_error(error, "%s: OpenCV produced an empty network", context.c_str());
        return nullptr;
    }
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    std::vector<std::string> names = net.getUnconnectedOutLayersNames();
    if (names.empty()) {
        set_error(error, "%s: network has no output layers", context.c_str());
        return nullptr;
    }
    msai_net *result = new msai_net();
    result->net = std::move(net);
    result->names = std::move(names);
    return result;
}

// OpenCV 4.6 reads darknet weights without checking for end of file, so a truncated or
// mismatched .weights file loads "successfully" with garbage parameters. Compare the number of
// parameters the loaded layers hold (yolo/Region layers only carry anchors from the cfg) with
// the number of floats in the file after its header (same header rule as OpenCV's reader).
bool check_darknet_weights(cv::dnn::Net &net, const char *cfg_path, const char *weights_path, msai_cv_error *error) {
    size_t needed = 0;
    for (const cv::String &name : net.getLayerNames()) {
        cv::Ptr<cv::dnn::Layer> layer = net.getLayer(net.getLayerId(name));
        if (layer.empty() || layer->type == "Region") continue;
        for (const cv::Mat &blob : layer->blobs) needed += blob.total();
    }
    std::FILE *file = std::fopen(weights_path, "rb");
    if (file == nullptr) {
        set_error(error, "cannot read darknet model: weights '%s' is not readable", weights_path);
        return false;
    }
    int32_t version[3] = {0, 0, 0};
    bool ok = std::fread(version, sizeof(int32_t), 3, file) == 3 && std::fseek(file, 0, SEEK_END) == 0;
    long size = ok ? std::ftell(file) : -1;
    std::fclose(file);
    long header = 12 + (((version[0] * 10 + version[1]) >= 2 && version[0] < 1000 && version[1] < 1000) ? 8 : 4);
    if (!ok || size < header) {
        set_error(error, "cannot read darknet model: weights '%s' is too short for a darknet header", weights_path);
        return false;
    }
    size_t present = (size_t)(size - header) / sizeof(float);
    if (present != needed || (size - header) % (long)sizeof(float) != 0) {
        set_error(error,
                  "cannot read darknet model: weights '%s' holds %zu parameters but cfg '%s' needs %zu "
                  "(truncated or mismatched file)",
                  weights_path, present, cfg_path, needed);
        return false;
    }
    return true;
}

template <typename R, typename Body>
R guarded(msai_cv_error *error, const char *context, R failure, Body body) {
    try {
        return body();
    } catch (const cv::Exception &e) {
        set_error(error, "%s: %s", context, cv_message(e).c_str());
    } catch (const std::bad_alloc &) {
        set_error(error, "%s: out of memory", context);
    } catch (const std::exception &e) {
        set_error(error, "%s: %s", context, e.what());
    } catch (...) {
        set_error(error, "%s: unknown C++ exception", context);
    }
    return failure;
}

}  // namespace

extern "C" {

msai_net *msai_net_read_darknet(const char *cfg_path, const char *weights_path, msai_cv_error *error) {
    const char *context = "cannot read darknet model";
    try {
        if (!check_file(context, "cfg", cfg_path, error)) return nullptr;
        if (!check_file(context, "weights", weights_path, error)) return nullptr;
        std::string full = std::string(context) + ": cfg '" + cfg_path + "', weights '" + weights_path + "'";
        try {
            cv::dnn::Net net = cv::dnn::readNetFromDarknet(std::string(cfg_path), std::string(weights_path));
            if (!net.empty() && !check_darknet_weights(net, cfg_path, weights_path, error)) return nullptr;
            return make_net(std::move(net), full, error);
        } catch (const cv::Exception &e) {
            set_error(error, "%s: %s", full.c_str(), cv_message(e).c_str());
        } catch (const std::exception &e) {
            set_error(error, "%s: %s", full.c_str(), e.what());
        }
    } catch (const std::exception &e) {
        set_error(error, "%s: %s", context, e.what());
    } catch (...) {
        set_error(error, "%s: unknown C++ exception", context);
    }
    return nullptr;
}

msai_net *msai_net_read_caffe(const char *prototxt_path, const char *model_path, msai_cv_error *error) {
    const char *context = "cannot read caffe model";
    try {
        if (!check_file(context, "prototxt", prototxt_path, error)) return nullptr;
        if (!check_file(context, "caffemodel", model_path, error)) return nullptr;
        std::string full =
            std::string(context) + ": prototxt '" + prototxt_path + "', caffemodel '" + model_path + "'";
        try {
            cv::dnn::Net net = cv::dnn::readNetFromCaffe(std::string(prototxt_path), std::string(model_path));
            return make_net(std::move(net), full, error);
        } catch (const cv::Exception &e) {
            set_error(error, "%s: %s", full.c_str(), cv_message(e).c_str());
        } catch (const std::exception &e) {
            set_error(error, "%s: %s", full.c_str(), e.what());
        }
    } catch (const std::exception &e) {
        set_error(error, "%s: %s", context, e.what());
    } catch (...) {
        set_error(error, "%s: unknown C++ exception", context);
    }
    return nullptr;
}

msai_net *msai_net_read_onnx(const char *onnx_path, msai_cv_error *error) {
    const char *context = "cannot read onnx model";
    try {
        if (!check_file(context, "model", onnx_path, error)) return nullptr;
        std::string full = std::string(context) + ": model '" + onnx_path + "'";
        try {
            cv::dnn::Net net = cv::dnn::readNetFromONNX(std::string(onnx_path));
            return make_net(std::move(net), full, error);
        } catch (const cv::Exception &e) {
            set_error(error, "%s: %s", full.c_str(), cv_message(e).c_str());
        } catch (const std::exception &e) {
            set_error(error, "%s: %s", full.c_str(), e.what());
        }
    } catch (const std::exception &e) {
        set_error(error, "%s: %s", context, e.what());
    } catch (...) {
        set_error(error, "%s: unknown C++ exception", context);
    }
    return nullptr;
}

void msai_net_free(msai_net *net) {
    try {
        delete net;
    } catch (...) {
    }
}

// OpenCV logs its own copy of every failure to stderr; the bridge already returns the message,
// and the command line prints it once, so OpenCV's log is silenced when the library loads.
static const int msai_silence_opencv_log = [] {
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    return 0;
}();

int msai_set_num_threads(int threads) {
    try {
        int previous = cv::getNumThreads();
        cv::setNumThreads(threads);
        return previous;
    } catch (...) {
        return -1;
    }
}

int msai_net_forward(msai_net *net, const uint8_t *pixels, int width, int height, int channels, size_t stride,
                     const msai_blob_params *params, msai_cv_error *error) {
    if (net == nullptr) {
        set_error(error, "forward: no network");
        return -1;
    }
    net->outputs.clear();
    auto run = [&]() -> int {
        if (pixels == nullptr || params == nullptr) {
            set_error(error, "forward: no pixels or parameters");
            return -1;
        }
        if (width <= 0 || height <= 0 || (channels != 1 && channels != 3)) {
            set_error(error, "forward: bad image %dx%d with %d channels (need 1 or 3)", width, height, channels);
            return -1;
        }
        if (stride < (size_t)width * (size_t)channels) {
            set_error(error, "forward: stride %zu is smaller than a row (%d bytes)", stride, width * channels);
            return -1;
        }
        const msai_blob_params &p = *params;
        if (p.input_width <= 0 || p.input_height <= 0 || p.resize_width <= 0 || p.resize_height <= 0 ||
            p.pad_x < 0 || p.pad_y < 0 || p.pad_x > p.input_width - p.resize_width ||
            p.pad_y > p.input_height - p.resize_height) {
            set_error(error,
                      "forward: bad geometry: input %dx%d, resize %dx%d at (%d, %d) must fit inside the input",
                      p.input_width, p.input_height, p.resize_width, p.resize_height, p.pad_x, p.pad_y);
            return -1;
        }
        for (int c = 0; c < 3; c++) {
            if (p.std[c] == 0.0 || !std::isfinite(p.std[c]) || !std::isfinite(p.mean[c])) {
                set_error(error, "forward: std[%d] must be finite and non-zero (mean finite)", c);
                return -1;
            }
        }
        if (!std::isfinite(p.scale) || !std::isfinite(p.pad_value)) {
            set_error(error, "forward: scale and pad_value must be finite");
            return -1;
        }

        // No copy: wrap the caller's pixels.
        cv::Mat source(height, width, CV_8UC(channels), const_cast<uint8_t *>(pixels), stride);
        cv::Mat color;
        if (channels == 1) {
            cv::cvtColor(source, color, cv::COLOR_GRAY2RGB);  // same result in either order
        } else if (p.to_bgr) {
            cv::cvtColor(source, color, cv::COLOR_RGB2BGR);
        } else {
            color = source;
        }

        cv::Mat resized;
        if (p.resize_width == width && p.resize_height == height) {
            resized = color;
        } else {
            cv::resize(color, resized, cv::Size(p.resize_width, p.resize_height), 0, 0, cv::INTER_LINEAR);
        }

        // Float canvas, so any pad value survives exactly.
        cv::Mat canvas(p.input_height, p.input_width, CV_32FC3, cv::Scalar::all(p.pad_value));
        resized.convertTo(canvas(cv::Rect(p.pad_x, p.pad_y, p.resize_width, p.resize_height)), CV_32F);

        cv::Mat blob = cv::dnn::blobFromImage(canvas, 1.0, cv::Size(), cv::Scalar(), false, false, CV_32F);
        CV_Assert(blob.dims == 4 && blob.size[1] == 3 && blob.isContinuous());
        for (int c = 0; c < 3; c++) {
            cv::Mat plane(p.input_height, p.input_width, CV_32F, blob.ptr<float>(0, c));
            double alpha = p.scale / p.std[c];
            double beta = -p.mean[c] * p.scale / p.std[c];
            if (alpha != 1.0 || beta != 0.0) plane.convertTo(plane, CV_32F, alpha, beta);
        }

        net->net.setInput(blob);
        std::vector<cv::Mat> outs;
        net->net.forward(outs, net->names);
        for (cv::Mat &out : outs) {
            if (out.depth() != CV_32F) out.convertTo(out, CV_32F);
            if (!out.isContinuous()) out = out.clone();
        }
        net->outputs = std::move(outs);
        return (int)net->outputs.size();
    };
    int result = guarded(error, "forward", -1, run);
    if (result < 0) net->outputs.clear();
    return result;
}

int msai_net_output_ndims(const msai_net *net, int index) {
    if (net == nullptr || index < 0 || (size_t)index >= net->outputs.size()) return -1;
    return net->outputs[(size_t)index].dims;
}

int msai_net_output_dim(const msai_net *net, int index, int axis) {
    if (net == nullptr || index < 0 || (size_t)index >= net->outputs.size()) return -1;
    const cv::Mat &m = net->outputs[(size_t)index];
    if (axis < 0 || axis >= m.dims) return -1;
    return m.size[axis];
}

const float *msai_net_output_data(const msai_net *net, int index) {
    if (net == nullptr || index < 0 || (size_t)index >= net->outputs.size()) return nullptr;
    const cv::Mat &m = net->outputs[(size_t)index];
    if (m.empty()) return nullptr;
    return m.ptr<float>();
}

const char *msai_net_output_name(const msai_net *net, int index) {
    if (net == nullptr || index < 0 || (size_t)index >= net->names.size()) return nullptr;
    return net->names[(size_t)index].c_str();
}

int msai_nms_boxes(const float *boxes, const float *scores, int count, float score_threshold, float nms_threshold,
                   int *kept, msai_cv_error *error) {
    return guarded(error, "NMSBoxes", -1, [&]() -> int {
        if (count < 0) {
            set_error(error, "NMSBoxes: negative count %d", count);
            return -1;
        }
        if (count == 0) return 0;
        if (boxes == nullptr || scores == nullptr || kept == nullptr) {
            set_error(error, "NMSBoxes: null boxes, scores or kept");
            return -1;
        }
        std::vector<cv::Rect2d> rects((size_t)count);
        std::vector<float> confidences(scores, scores + count);
        for (int i = 0; i < count; i++) {
            const float *b = boxes + 4 * (size_t)i;
            rects[(size_t)i] = cv::Rect2d(b[0], b[1], b[2], b[3]);
        }
        std::vector<int> indices;
        cv::dnn::NMSBoxes(rects, confidences, score_threshold, nms_threshold, indices);
        int n = 0;
        for (int index : indices) {
            if (n >= count) break;
            kept[n++] = index;
        }
        return n;
    });
}

int msai_resize(const uint8_t *src, int src_width, int src_height, int channels, uint8_t *dst, int dst_width,
                int dst_height, msai_cv_error *error) {
    return guarded(error, "resize", -1, [&]() -> int {
        if (src == nullptr || dst == nullptr) {
            set_error(error, "resize: null buffer");
            return -1;
        }
        if (src_width <= 0 || src_height <= 0 || dst_width <= 0 || dst_height <= 0 || channels < 1 ||
            channels > 4) {
            set_error(error, "resize: bad sizes %dx%d -> %dx%d or channels %d", src_width, src_height, dst_width,
                      dst_height, channels);
            return -1;
        }
        cv::Mat source(src_height, src_width, CV_8UC(channels), const_cast<uint8_t *>(src));
        cv::Mat target(dst_height, dst_width, CV_8UC(channels), dst);
        bool shrinking = dst_width <= src_width && dst_height <= src_height;
        cv::resize(source, target, target.size(), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
        if (target.data != dst) {
            // cv::resize reallocated (should not happen with a matching size and type): copy back.
            cv::Mat wrapped(dst_height, dst_width, CV_8UC(channels), dst);
            target.copyTo(wrapped);
        }
        return 0;
    });
}

msai_cascade *msai_cascade_load(const char *xml_path, msai_cv_error *error) {
    const char *context = "cannot read cascade";
    std::string full = std::string(context) + ": xml '" + (xml_path ? xml_path : "") + "'";
    return guarded(error, full.c_str(), (msai_cascade *)nullptr, [&]() -> msai_cascade * {
        if (!check_file(context, "xml", xml_path, error)) return nullptr;
        msai_cascade *cascade = new msai_cascade();
        if (!cascade->classifier.load(std::string(xml_path)) || cascade->classifier.empty()) {
            delete cascade;
            set_error(error, "%s: xml '%s' is not an OpenCV cascade classifier", context, xml_path);
            return nullptr;
        }
        return cascade;
    });
}

void msai_cascade_free(msai_cascade *cascade) { delete cascade; }

int msai_cascade_detect(msai_cascade *cascade, const uint8_t *pixels, int width, int height, int channels, size_t stride,
                        double scale_factor, int min_neighbors, int min_width, int min_height, int *boxes, int *votes,
                        int capacity, msai_cv_error *error) {
    return guarded(error, "cascade detection", -1, [&]() -> int {
        if (cascade == nullptr || pixels == nullptr || width <= 0 || height <= 0 || (channels != 1 && channels != 3)) {
            set_error(error, "cascade detection: bad arguments (%dx%d, %d channels)", width, height, channels);
            return -1;
        }
        cv::Mat image(height, width, channels == 1 ? CV_8UC1 : CV_8UC3, const_cast<uint8_t *>(pixels), stride);
        cv::Mat gray;
        if (channels == 3) {
            cv::cvtColor(image, gray, cv::COLOR_RGB2GRAY);
        } else {
            gray = image.clone();
        }
        cv::equalizeHist(gray, gray);
        std::vector<cv::Rect> found;
        // numDetections: how many raw windows were merged into each box, the cascade's only
        // measure of how sure it is.
        std::vector<int> merged;
        cascade->classifier.detectMultiScale(gray, found, merged, scale_factor, min_neighbors, 0,
                                             cv::Size(std::max(1, min_width), std::max(1, min_height)));
        for (size_t i = 0; i < found.size() && (int)i < capacity; i++) {
            boxes[4 * i] = found[i].x;
            boxes[4 * i + 1] = found[i].y;
            boxes[4 * i + 2] = found[i].width;
            boxes[4 * i + 3] = found[i].height;
            if (votes != nullptr) votes[i] = i < merged.size() ? merged[i] : 0;
        }
        return (int)found.size();
    });
}

msai_video *msai_video_open(const char *path, int *width, int *height, int *frame_count, double *fps,
                            msai_cv_error *error) {
    const char *context = "cannot open video";
    return guarded(error, context, (msai_video *)nullptr, [&]() -> msai_video * {
        if (!check_file(context, "file", path, error)) return nullptr;
        msai_video *video = new msai_video();
        if (!video->capture.open(std::string(path)) || !video->capture.isOpened()) {
            delete video;
            set_error(error, "%s: '%s' is not a video OpenCV can decode", context, path);
            return nullptr;
        }
        video->width = (int)video->capture.get(cv::CAP_PROP_FRAME_WIDTH);
        video->height = (int)video->capture.get(cv::CAP_PROP_FRAME_HEIGHT);
        if (video->width <= 0 || video->height <= 0) {
            delete video;
            set_error(error, "%s: '%s' reports no frame size", context, path);
            return nullptr;
        }
        if (width) *width = video->width;
        if (height) *height = video->height;
        if (frame_count) *frame_count = std::max(0, (int)video->capture.get(cv::CAP_PROP_FRAME_COUNT));
        if (fps) *fps = video->capture.get(cv::CAP_PROP_FPS);
        return video;
    });
}

int msai_video_read(msai_video *video, uint8_t *rgb, msai_cv_error *error) {
    return guarded(error, "video read", -1, [&]() -> int {
        if (video == nullptr || rgb == nullptr) {
            set_error(error, "video read: null argument");
            return -1;
        }
        if (!video->capture.read(video->frame) || video->frame.empty()) return 0;
        if (video->frame.cols != video->width || video->frame.rows != video->height) {
            set_error(error, "video read: frame is %dx%d but the video said %dx%d", video->frame.cols,
                      video->frame.rows, video->width, video->height);
            return -1;
        }
        cv::Mat target(video->height, video->width, CV_8UC3, rgb);
        if (video->frame.channels() == 1) {
            cv::cvtColor(video->frame, target, cv::COLOR_GRAY2RGB);
        } else {
            cv::cvtColor(video->frame, target, cv::COLOR_BGR2RGB);
        }
        return 1;
    });
}

void msai_video_free(msai_video *video) { delete video; }

msai_video_writer *msai_video_writer_open(const char *path, double fps, int width, int height, msai_cv_error *error) {
    const char *context = "cannot write video";
    return guarded(error, context, (msai_video_writer *)nullptr, [&]() -> msai_video_writer * {
        if (path == nullptr || width <= 0 || height <= 0 || !(fps > 0)) {
            set_error(error, "%s: bad arguments (%dx%d at %.2f frames/s)", context, width, height, fps);
            return nullptr;
        }
        msai_video_writer *video = new msai_video_writer();
        video->width = width;
        video->height = height;
        // Motion JPEG in AVI: every OpenCV build writes it, and every player reads it.
        if (!video->writer.open(std::string(path), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps, cv::Size(width, height), true) ||
            !video->writer.isOpened()) {
            delete video;
            set_error(error, "%s: OpenCV cannot open '%s' for a Motion JPEG AVI", context, path);
            return nullptr;
        }
        return video;
    });
}

int msai_video_writer_write(msai_video_writer *video, const uint8_t *pixels, int width, int height, int channels,
                            msai_cv_error *error) {
    return guarded(error, "video write", -1, [&]() -> int {
        if (video == nullptr || pixels == nullptr || width != video->width || height != video->height ||
            (channels != 1 && channels != 3)) {
            set_error(error, "video write: a %dx%d frame with %d channels for a %dx%d video", width, height, channels,
                      video ? video->width : 0, video ? video->height : 0);
            return -1;
        }
        cv::Mat source(height, width, channels == 1 ? CV_8UC1 : CV_8UC3, const_cast<uint8_t *>(pixels));
        cv::cvtColor(source, video->frame, channels == 1 ? cv::COLOR_GRAY2BGR : cv::COLOR_RGB2BGR);
        video->writer.write(video->frame);
        return 0;
    });
}

void msai_video_writer_close(msai_video_writer *video) {
    if (video == nullptr) return;
    try {
        video->writer.release();
    } catch (...) {
    }
    delete video;
}

int msai_gaussian_blur(uint8_t *pixels, int width, int height, int channels, int x, int y, int w, int h, int ksize,
                       msai_cv_error *error) {
    return guarded(error, "blur", -1, [&]() -> int {
        if (pixels == nullptr || width <= 0 || height <= 0 || (channels != 1 && channels != 3) || ksize < 1 || ksize % 2 == 0 ||
            x < 0 || y < 0 || w <= 0 || h <= 0 || x > width - w || y > height - h) {
            set_error(error, "blur: bad arguments");
            return -1;
        }
        cv::Mat image(height, width, channels == 1 ? CV_8UC1 : CV_8UC3, pixels);
        cv::Mat area = image(cv::Rect(x, y, w, h));
        cv::GaussianBlur(area, area, cv::Size(ksize, ksize), 0);
        return 0;
    });
}

static double label_scale(int width) { return std::max(0.4, std::min(1.0, width / 1600.0)); }

void msai_label_size(const char *label, int image_width, int *width, int *height) {
    int baseline = 0;
    cv::Size text = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, label_scale(image_width), 1, &baseline);
    *width = text.width + 4;
    *height = text.height + baseline + 2;
}

int msai_draw_box(uint8_t *pixels, int width, int height, int channels, int x, int y, int w, int h, uint8_t r,
                  uint8_t g, uint8_t b, int thickness, const char *label, int label_x, int label_y, msai_cv_error *error) {
    return guarded(error, "drawing", -1, [&]() -> int {
        if (pixels == nullptr || width <= 0 || height <= 0 || (channels != 1 && channels != 3)) {
            set_error(error, "drawing: bad image %dx%d with %d channels", width, height, channels);
            return -1;
        }
        cv::Mat image(height, width, channels == 1 ? CV_8UC1 : CV_8UC3, pixels);
        cv::Scalar colour = channels == 1 ? cv::Scalar((r + g + b) / 3) : cv::Scalar(r, g, b);
        if (thickness > 0) cv::rectangle(image, cv::Rect(x, y, w, h), colour, thickness);
        if (label != nullptr && label[0] != '\0') {
            int baseline = 0;
            double scale = label_scale(width);
            cv::Size text = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline);
            cv::rectangle(image, cv::Rect(label_x, label_y, text.width + 4, text.height + baseline + 2), colour, cv::FILLED);
            cv::Scalar ink = (r * 299 + g * 587 + b * 114) / 1000 > 128 ? cv::Scalar::all(0) : cv::Scalar::all(255);
            cv::putText(image, label, cv::Point(label_x + 2, label_y + text.height + 1), cv::FONT_HERSHEY_SIMPLEX, scale, ink, 1,
                        cv::LINE_AA);
        }
        return 0;
    });
}

}  // extern "C"
