import Foundation
import MSAICore

/// OpenCV's ResNet-10 SSD face detector (res10_300x300_ssd_iter_140000, Caffe).
public final class SSDFaceDetector: RegionDetector {
    public let name = "res10"
    public let classes: Set<PrivacyClass> = [.face]
    private let network: Network
    public var confidenceThreshold: Double

    public init(store: ModelStore, confidenceThreshold: Double = 0.5) throws {
        network = try Network(
            .caffe(
                prototxt: try store.file("res10_300x300_ssd_deploy.prototxt", expected: "the res10 face SSD's Caffe prototxt"),
                model: try store.file("res10_300x300_ssd_iter_140000.caffemodel", expected: "the res10 face SSD's Caffe weights")),
            name: "res10")
        self.confidenceThreshold = confidenceThreshold
    }

    public func detect(_ image: PixelBuffer) throws -> [Detection] {
        var normalisation = Network.Normalisation()
        normalisation.toBGR = true
        normalisation.mean = (104, 177, 123)
        let candidates = try network.forward(image, placement: .stretch(width: 300, height: 300), normalisation: normalisation) {
            decodeSSD($0, image: image, threshold: confidenceThreshold, privacyClass: .face, label: "face", detector: name)
        }
        return try suppress(candidates, scoreThreshold: confidenceThreshold, iouThreshold: 0.4)
    }
}

/// Decodes a Caffe SSD DetectionOutput (1 × 1 × N × 7: image, label, confidence, x1, y1, x2, y2 in 0...1).
func decodeSSD(_ outputs: [Network.Output], image: PixelBuffer, threshold: Double, privacyClass: PrivacyClass,
               label: String, detector: String) -> [Detection] {
    guard let output = outputs.first, output.shape.last == 7 else { return [] }
    var found: [Detection] = []
    for row in 0..<(output.values.count / 7) {
        let r = row * 7
        let confidence = Double(output.values[r + 2])
        guard confidence >= threshold else { continue }
        let x0 = Double(max(0, output.values[r + 3])) * Double(image.width), y0 = Double(max(0, output.values[r + 4])) * Double(image.height)
        let x1 = Double(min(1, output.values[r + 5])) * Double(image.width), y1 = Double(min(1, output.values[r + 6])) * Double(image.height)
        guard x1 > x0, y1 > y0 else { continue }
        if let d = Detection(rect: rect(x0: x0, y0: y0, x1: x1, y1: y1), privacyClass: privacyClass, label: label,
                             confidence: confidence, detector: detector).clamped(width: image.width, height: image.height) {
            found.append(d)
        }
    }
    return found
}

/// YuNet 2023mar (face_detection_yunet_2023mar.onnx) through cv::dnn::readNetFromONNX, with its
/// outputs decoded here: OpenCV 4.6's cv::FaceDetectorYN cannot load this file.
///
/// The network takes BGR pixels as they are (no scaling or mean) in a blob whose sides are
/// multiples of 32, and returns 12 outputs: cls, obj, bbox and kps at strides 8, 16 and 32.
/// For anchor (row r, column c) of stride s: score = √(cls · obj); centre = ((c, r) + bbox[0…1]) · s;
/// size = exp(bbox[2…3]) · s; landmark k = ((c, r) + kps[2k…2k+1]) · s, in the order right eye,
/// left eye, nose tip, right and left mouth corners. Faces then go through NMS (IoU 0.3).
public final class YuNetFaceDetector: RegionDetector {
    public let name = "yunet"
    public let classes: Set<PrivacyClass> = [.face]
    private let network: Network
    public var confidenceThreshold: Double
    /// The longer side the image is scaled to for inference (then padded to multiples of 32).
    public var inputLongSide: Int

    public init(store: ModelStore, confidenceThreshold: Double = 0.6, inputLongSide: Int = 640) throws {
        network = try Network(.onnx(try store.file("face_detection_yunet_2023mar.onnx", expected: "the YuNet 2023mar face detector (ONNX)")),
                              name: "yunet")
        self.confidenceThreshold = confidenceThreshold
        self.inputLongSide = inputLongSide
    }

    public func detect(_ image: PixelBuffer) throws -> [Detection] {
        let scale = min(1.0, Double(inputLongSide) / Double(max(image.width, image.height)))
        let rw = max(1, Int((Double(image.width) * scale).rounded())), rh = max(1, Int((Double(image.height) * scale).rounded()))
        let placement = Network.Placement(inputWidth: (rw + 31) / 32 * 32, inputHeight: (rh + 31) / 32 * 32,
                                          resizedWidth: rw, resizedHeight: rh, padX: 0, padY: 0)
        var normalisation = Network.Normalisation()
        normalisation.toBGR = true
        let back = { (v: Double, isX: Bool) -> Double in
            isX ? placement.imageX(v, imageWidth: image.width) : placement.imageY(v, imageHeight: image.height)
        }
        let candidates: [Detection] = try network.forward(image, placement: placement, normalisation: normalisation) { outputs in
            let byName = Dictionary(outputs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            var found: [Detection] = []
            for stride in [8, 16, 32] {
                guard let cls = byName["cls_\(stride)"], let obj = byName["obj_\(stride)"], let bbox = byName["bbox_\(stride)"],
                    let kps = byName["kps_\(stride)"]
                else {
                    throw MSAIError.model("yunet: the model lacks the outputs for stride \(stride) (cls/obj/bbox/kps_\(stride)); is it YuNet 2023mar?")
                }
                let columns = placement.inputWidth / stride, rows = placement.inputHeight / stride
                guard cls.values.count == rows * columns, bbox.values.count == 4 * rows * columns, kps.values.count == 10 * rows * columns
                else {
                    throw MSAIError.model("yunet: stride \(stride) outputs have \(cls.values.count) anchors, expected \(rows * columns)")
                }
                for r in 0..<rows {
                    for c in 0..<columns {
                        let i = r * columns + c
                        let score = (Double(min(max(cls.values[i], 0), 1)) * Double(min(max(obj.values[i], 0), 1))).squareRoot()
                        guard score >= confidenceThreshold else { continue }
                        let s = Double(stride)
                        let cx = (Double(c) + Double(bbox.values[4 * i])) * s, cy = (Double(r) + Double(bbox.values[4 * i + 1])) * s
                        let w = exp(Double(bbox.values[4 * i + 2])) * s, h = exp(Double(bbox.values[4 * i + 3])) * s
                        let marks = (0..<5).map { k in
                            Point(x: back((Double(c) + Double(kps.values[10 * i + 2 * k])) * s, true),
                                  y: back((Double(r) + Double(kps.values[10 * i + 2 * k + 1])) * s, false))
                        }
                        if let d = Detection(
                            rect: rect(x0: back(cx - w / 2, true), y0: back(cy - h / 2, false), x1: back(cx + w / 2, true), y1: back(cy + h / 2, false)),
                            privacyClass: .face, label: "face", confidence: score, detector: name, landmarks: marks
                        ).clamped(width: image.width, height: image.height) {
                            found.append(d)
                        }
                    }
                }
            }
            return found
        }
        return try suppress(candidates, scoreThreshold: confidenceThreshold, iouThreshold: 0.3)
    }
}
