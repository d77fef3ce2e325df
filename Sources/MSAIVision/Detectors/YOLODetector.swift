import Foundation
import MSAICore

/// A YOLO darknet model (v3/v4, tiny or full: any NAME.cfg + NAME.weights pair in Models/)
/// through cv::dnn::readNetFromDarknet, with COCO classes mapped to privacy classes.
public final class YOLODetector: RegionDetector {
    public let name: String
    public let classes: Set<PrivacyClass> = [.person, .vehicle]
    private let network: Network
    private let labels: [String]
    public var inputSize: Int
    public var letterbox: Bool
    public var personThreshold: Double
    public var vehicleThreshold: Double
    public var nmsThreshold: Double
    /// With `letterbox`: pad the shorter side only to the next multiple of 32 (true), or to a
    /// square (false: msai 2.0's letterbox, kept for the bench to compare them).
    public var tight = true

    /// COCO class name → privacy class. Everything else is not sensitive.
    public static let cocoPrivacyClasses: [String: PrivacyClass] = [
        "person": .person,
        "bicycle": .vehicle, "car": .vehicle, "motorbike": .vehicle, "motorcycle": .vehicle, "bus": .vehicle,
        "train": .vehicle, "truck": .vehicle, "boat": .vehicle,
    ]

    public init(store: ModelStore, model: String = "yolov3-tiny", inputSize: Int = 416, letterbox: Bool = true,
                personThreshold: Double = 0.25, vehicleThreshold: Double = 0.25, nmsThreshold: Double = 0.45) throws {
        let pair = try store.darknetPair(model)
        labels = try store.classNames()
        network = try Network(.darknet(cfg: pair.cfg, weights: pair.weights), name: model)
        name = model
        self.inputSize = inputSize
        self.letterbox = letterbox
        self.personThreshold = personThreshold
        self.vehicleThreshold = vehicleThreshold
        self.nmsThreshold = nmsThreshold
    }

    public func detect(_ image: PixelBuffer) throws -> [Detection] {
        let placement = !letterbox ? Network.Placement.stretch(width: inputSize, height: inputSize)
            : tight ? Network.Placement.tightLetterbox(imageWidth: image.width, imageHeight: image.height, size: inputSize, multiple: 32)
            : Network.Placement.letterbox(imageWidth: image.width, imageHeight: image.height, width: inputSize, height: inputSize)
        var normalisation = Network.Normalisation()
        normalisation.scale = 1.0 / 255
        normalisation.padValue = 127.5
        let floor = min(personThreshold, vehicleThreshold)
        var candidates: [Detection] = []
        try network.forward(image, placement: placement, normalisation: normalisation) { outputs in
            // Each output row: cx, cy, w, h (fractions of the blob), objectness, then one score per
            // class (OpenCV already multiplies them by objectness).
            for output in outputs where output.shape.count == 2 && output.shape[1] > 5 {
                let stride = output.shape[1]
                for row in 0..<output.shape[0] {
                    let base = row * stride
                    var best = 0
                    var bestScore: Float = 0
                    for c in 0..<(stride - 5) where output.values[base + 5 + c] > bestScore {
                        bestScore = output.values[base + 5 + c]
                        best = c
                    }
                    guard Double(bestScore) >= floor, best < labels.count, let privacy = Self.cocoPrivacyClasses[labels[best]]
                    else { continue }
                    guard Double(bestScore) >= (privacy == .person ? personThreshold : vehicleThreshold) else { continue }
                    let cx = Double(output.values[base]) * Double(placement.inputWidth)
                    let cy = Double(output.values[base + 1]) * Double(placement.inputHeight)
                    let w = Double(output.values[base + 2]) * Double(placement.inputWidth)
                    let h = Double(output.values[base + 3]) * Double(placement.inputHeight)
                    candidates.append(Detection(
                        rect: rect(x0: placement.imageX(cx - w / 2, imageWidth: image.width),
                                   y0: placement.imageY(cy - h / 2, imageHeight: image.height),
                                   x1: placement.imageX(cx + w / 2, imageWidth: image.width),
                                   y1: placement.imageY(cy + h / 2, imageHeight: image.height)),
                        privacyClass: privacy, label: labels[best], confidence: Double(bestScore), detector: name))
                }
            }
        }
        return try suppress(candidates, scoreThreshold: floor, iouThreshold: nmsThreshold)
            .compactMap { $0.clamped(width: image.width, height: image.height) }
    }
}
