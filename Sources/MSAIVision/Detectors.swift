import Foundation
import MSAICore

/// Something that finds sensitive areas in a frame. Each detector loads its model once, at
/// construction, and reuses it for every frame; a broken model is an error then, not at the
/// first frame.
public protocol RegionDetector: AnyObject {
    var name: String { get }
    /// The privacy classes this detector can report.
    var classes: Set<PrivacyClass> { get }
    func detect(_ image: PixelBuffer) throws -> [Detection]
}

/// A YOLO (v3/v4, tiny or full) darknet model through cv::dnn::readNetFromDarknet,
/// with COCO classes mapped to privacy classes.
public final class YOLODetector: RegionDetector {
    public let name: String
    public let classes: Set<PrivacyClass> = [.person, .vehicle]
    private let network: Network
    private let labels: [String]
    public var inputSize: Int
    public var confidenceThreshold: Float
    public var nmsThreshold: Float

    /// COCO class name → privacy class. Everything else is not sensitive.
    public static let cocoPrivacyClasses: [String: PrivacyClass] = [
        "person": .person,
        "bicycle": .vehicle, "car": .vehicle, "motorbike": .vehicle, "motorcycle": .vehicle, "bus": .vehicle,
        "train": .vehicle, "truck": .vehicle, "boat": .vehicle,
    ]

    public init(store: ModelStore, model: String = "yolov3-tiny", inputSize: Int = 416,
                confidenceThreshold: Float = 0.25, nmsThreshold: Float = 0.45) throws {
        let pair = try store.darknetPair(model)
        labels = try store.classNames()
        network = try Network(.darknet(cfg: pair.cfg, weights: pair.weights), name: model)
        name = model
        self.inputSize = inputSize
        self.confidenceThreshold = confidenceThreshold
        self.nmsThreshold = nmsThreshold
    }

    public func detect(_ image: PixelBuffer) throws -> [Detection] {
        let placement = Network.Placement.stretch(width: inputSize, height: inputSize)
        var normalisation = Network.Normalisation()
        normalisation.scale = 1.0 / 255
        var boxes: [Rect] = [], scores: [Float] = [], found: [(Int, PrivacyClass)] = []
        try network.forward(image, placement: placement, normalisation: normalisation) { outputs in
            for output in outputs where output.shape.count == 2 && output.shape[1] > 5 {
                let stride = output.shape[1]
                for row in 0..<output.shape[0] {
                    let r = output.values[(row * stride)...]
                    var best = 0, bestScore: Float = 0
                    for c in 0..<(stride - 5) where r[r.startIndex + 5 + c] > bestScore {
                        bestScore = r[r.startIndex + 5 + c]
                        best = c
                    }
                    guard bestScore >= confidenceThreshold, best < labels.count,
                        let privacy = Self.cocoPrivacyClasses[labels[best]]
                    else { continue }
                    let cx = Double(r[r.startIndex]) * Double(placement.inputWidth)
                    let cy = Double(r[r.startIndex + 1]) * Double(placement.inputHeight)
                    let w = Double(r[r.startIndex + 2]) * Double(placement.inputWidth)
                    let h = Double(r[r.startIndex + 3]) * Double(placement.inputHeight)
                    let x0 = placement.imageX(cx - w / 2, imageWidth: image.width)
                    let y0 = placement.imageY(cy - h / 2, imageHeight: image.height)
                    let x1 = placement.imageX(cx + w / 2, imageWidth: image.width)
                    let y1 = placement.imageY(cy + h / 2, imageHeight: image.height)
                    boxes.append(Rect(x: Int(x0.rounded(.down)), y: Int(y0.rounded(.down)),
                                      width: Int((x1 - x0).rounded(.up)), height: Int((y1 - y0).rounded(.up))))
                    scores.append(bestScore)
                    found.append((best, privacy))
                }
            }
        }
        return try nonMaximumSuppression(boxes, scores: scores, scoreThreshold: confidenceThreshold, iouThreshold: nmsThreshold)
            .compactMap { i in
                Detection(rect: boxes[i], privacyClass: found[i].1, label: labels[found[i].0],
                          confidence: Double(scores[i]), detector: name).clamped(width: image.width, height: image.height)
            }
    }
}

/// OpenCV's ResNet-10 SSD face detector (res10_300x300_ssd_iter_140000, Caffe).
public final class SSDFaceDetector: RegionDetector {
    public let name = "res10-ssd"
    public let classes: Set<PrivacyClass> = [.face]
    private let network: Network
    public var confidenceThreshold: Float

    public init(store: ModelStore, confidenceThreshold: Float = 0.5) throws {
        network = try Network(
            .caffe(
                prototxt: try store.file("res10_300x300_ssd_deploy.prototxt", expected: "the res10 face SSD's Caffe prototxt"),
                model: try store.file("res10_300x300_ssd_iter_140000.caffemodel", expected: "the res10 face SSD's Caffe weights")),
            name: "res10-ssd")
        self.confidenceThreshold = confidenceThreshold
    }

    public func detect(_ image: PixelBuffer) throws -> [Detection] {
        var normalisation = Network.Normalisation()
        normalisation.toBGR = true
        normalisation.mean = (104, 177, 123)
        var boxes: [Rect] = [], scores: [Float] = []
        try network.forward(image, placement: .stretch(width: 300, height: 300), normalisation: normalisation) { outputs in
            // One output of shape 1×1×N×7: [image, label, confidence, x1, y1, x2, y2], corners in 0...1.
            guard let output = outputs.first, output.shape.last == 7 else { return }
            for row in 0..<(output.values.count / 7) {
                let r = Array(output.values[(row * 7)..<(row * 7 + 7)])
                guard r[2] >= confidenceThreshold else { continue }
                let x0 = Double(max(0, r[3])) * Double(image.width), y0 = Double(max(0, r[4])) * Double(image.height)
                let x1 = Double(min(1, r[5])) * Double(image.width), y1 = Double(min(1, r[6])) * Double(image.height)
                guard x1 > x0, y1 > y0 else { continue }
                boxes.append(Rect(x: Int(x0), y: Int(y0), width: Int((x1 - x0).rounded(.up)), height: Int((y1 - y0).rounded(.up))))
                scores.append(r[2])
            }
        }
        return try nonMaximumSuppression(boxes, scores: scores, scoreThreshold: confidenceThreshold, iouThreshold: 0.4)
            .compactMap { i in
                Detection(rect: boxes[i], privacyClass: .face, label: "face", confidence: Double(scores[i]), detector: name)
                    .clamped(width: image.width, height: image.height)
            }
    }
}

/// The detectors a run uses, filtered to the privacy classes it masks.
public final class DetectionPipeline {
    public let detectors: [RegionDetector]
    public let classes: Set<PrivacyClass>

    public init(detectors: [RegionDetector], classes: Set<PrivacyClass>) {
        self.detectors = detectors
        self.classes = classes
    }

    /// Loads the detectors needed for `classes`: YOLO `model` for person/vehicle, the res10
    /// SSD for faces. Throws at once if a model file is missing or corrupt.
    public static func standard(store: ModelStore, classes: Set<PrivacyClass>, yoloModel: String = "yolov3-tiny")
        throws -> DetectionPipeline
    {
        var detectors: [RegionDetector] = []
        if !classes.isDisjoint(with: [.person, .vehicle]) { detectors.append(try YOLODetector(store: store, model: yoloModel)) }
        if classes.contains(.face) { detectors.append(try SSDFaceDetector(store: store)) }
        let unsupported = classes.subtracting(detectors.reduce(into: Set<PrivacyClass>()) { $0.formUnion($1.classes) })
        guard unsupported.isEmpty else {
            throw MSAIError.invalidArgument(
                "no detector for class \(unsupported.sorted().map(\.rawValue).joined(separator: ", ")) yet; give such areas with --region")
        }
        return DetectionPipeline(detectors: detectors, classes: classes)
    }

    public func detect(_ image: PixelBuffer) throws -> [Detection] {
        try detectors.flatMap { try $0.detect(image) }.filter { classes.contains($0.privacyClass) }
    }
}
