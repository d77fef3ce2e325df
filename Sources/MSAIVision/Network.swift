import CMSAIOpenCV
import Foundation
import MSAICore

/// An OpenCV DNN network, loaded once and reused for every frame. Not thread-safe: each
/// detector owns its network and is used from one thread at a time.
final class Network {
    private let handle: OpaquePointer
    let name: String

    enum Format {
        case darknet(cfg: String, weights: String)
        case caffe(prototxt: String, model: String)
        case onnx(String)
    }

    init(_ format: Format, name: String) throws {
        var error = msai_cv_error()
        let loaded: OpaquePointer?
        switch format {
        case .darknet(let cfg, let weights): loaded = msai_net_read_darknet(cfg, weights, &error)
        case .caffe(let prototxt, let model): loaded = msai_net_read_caffe(prototxt, model, &error)
        case .onnx(let path): loaded = msai_net_read_onnx(path, &error)
        }
        guard let loaded else { throw MSAIError.model("\(name): \(Network.message(&error))") }
        self.handle = loaded
        self.name = name
    }

    deinit { msai_net_free(handle) }

    /// How the image was placed in the blob, to map boxes back.
    struct Placement {
        let inputWidth: Int, inputHeight: Int
        let resizedWidth: Int, resizedHeight: Int
        let padX: Int, padY: Int
        /// Image x of a point at blob x.
        func imageX(_ blobX: Double, imageWidth: Int) -> Double {
            (blobX - Double(padX)) * Double(imageWidth) / Double(resizedWidth)
        }
        func imageY(_ blobY: Double, imageHeight: Int) -> Double {
            (blobY - Double(padY)) * Double(imageHeight) / Double(resizedHeight)
        }

        static func stretch(width: Int, height: Int) -> Placement {
            Placement(inputWidth: width, inputHeight: height, resizedWidth: width, resizedHeight: height, padX: 0, padY: 0)
        }

        /// Keeps the aspect ratio: the longer side becomes `size`, the shorter one is padded only
        /// up to the next multiple of `multiple` (a darknet net takes any multiple of its stride).
        /// A 768x576 frame at 608 becomes 608x480 instead of 608x608: the same pixels of the
        /// image reach the net, with a fifth less padding to compute on (two fifths at 16:9).
        static func tightLetterbox(imageWidth: Int, imageHeight: Int, size: Int, multiple: Int) -> Placement {
            let scale = Double(size) / Double(max(imageWidth, imageHeight))
            func padded(_ side: Int) -> Int {
                let scaled = max(1, Int((Double(side) * scale).rounded()))
                return min(size, (scaled + multiple - 1) / multiple * multiple)
            }
            return letterbox(imageWidth: imageWidth, imageHeight: imageHeight, width: padded(imageWidth), height: padded(imageHeight))
        }

        /// Keeps the aspect ratio and centres the image, padding the rest.
        static func letterbox(imageWidth: Int, imageHeight: Int, width: Int, height: Int) -> Placement {
            let scale = min(Double(width) / Double(imageWidth), Double(height) / Double(imageHeight))
            let rw = max(1, Int((Double(imageWidth) * scale).rounded())), rh = max(1, Int((Double(imageHeight) * scale).rounded()))
            return Placement(inputWidth: width, inputHeight: height, resizedWidth: rw, resizedHeight: rh,
                             padX: (width - rw) / 2, padY: (height - rh) / 2)
        }
    }

    struct Normalisation {
        var toBGR = false
        var scale = 1.0
        var mean: (Double, Double, Double) = (0, 0, 0)
        var std: (Double, Double, Double) = (1, 1, 1)
        var padValue = 0.0
    }

    struct Output {
        let name: String
        let shape: [Int]
        let values: UnsafeBufferPointer<Float>
    }

    /// Runs the network on `image` and hands its outputs to `body` (valid only inside it).
    func forward<T>(_ image: PixelBuffer, placement: Placement, normalisation: Normalisation,
                    _ body: ([Output]) throws -> T) throws -> T {
        var params = msai_blob_params()
        params.input_width = Int32(placement.inputWidth)
        params.input_height = Int32(placement.inputHeight)
        params.resize_width = Int32(placement.resizedWidth)
        params.resize_height = Int32(placement.resizedHeight)
        params.pad_x = Int32(placement.padX)
        params.pad_y = Int32(placement.padY)
        params.pad_value = normalisation.padValue
        params.to_bgr = normalisation.toBGR ? 1 : 0
        params.scale = normalisation.scale
        params.mean = normalisation.mean
        params.std = normalisation.std
        var error = msai_cv_error()
        let count = image.samples.withUnsafeBufferPointer {
            msai_net_forward(handle, $0.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels),
                             image.width * image.channels, &params, &error)
        }
        guard count >= 0 else { throw MSAIError.model("\(name): inference failed: \(Network.message(&error))") }
        var outputs: [Output] = []
        for i in 0..<count {
            let dims = (0..<Int(msai_net_output_ndims(handle, i))).map { Int(msai_net_output_dim(handle, i, Int32($0))) }
            let total = dims.reduce(1, *)
            outputs.append(Output(
                name: String(cString: msai_net_output_name(handle, i)), shape: dims,
                values: UnsafeBufferPointer(start: msai_net_output_data(handle, i), count: total)))
        }
        return try body(outputs)
    }

    static func message(_ error: inout msai_cv_error) -> String {
        withUnsafeBytes(of: &error.message) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }
}

/// OpenCV's worker thread count for inference (cv::setNumThreads); returns the previous one.
@discardableResult
public func setInferenceThreads(_ count: Int) -> Int { Int(msai_set_num_threads(Int32(count))) }

/// Non-maximum suppression through cv::dnn::NMSBoxes: the indices of the boxes kept.
func nonMaximumSuppression(_ boxes: [Rect], scores: [Float], scoreThreshold: Float, iouThreshold: Float) throws -> [Int] {
    guard !boxes.isEmpty else { return [] }
    let flat = boxes.flatMap { [Float($0.x), Float($0.y), Float($0.width), Float($0.height)] }
    var kept = [Int32](repeating: 0, count: boxes.count)
    var error = msai_cv_error()
    let n = msai_nms_boxes(flat, scores, Int32(boxes.count), scoreThreshold, iouThreshold, &kept, &error)
    guard n >= 0 else { throw MSAIError.model("non-maximum suppression failed: \(Network.message(&error))") }
    return kept.prefix(Int(n)).map(Int.init)
}
