import CMSAIOpenCV
import Foundation
import MSAICore

/// An OpenCV cascade classifier (Haar) from Models/, for plates (or faces).
public final class CascadeDetector: RegionDetector {
    public let name: String
    public let classes: Set<PrivacyClass>
    private let handle: OpaquePointer
    private let privacyClass: PrivacyClass
    public var scaleFactor = 1.1
    public var minNeighbors = 4
    public var minimumSize: (width: Int, height: Int)

    /// `file` is the cascade's XML in Models/.
    public init(store: ModelStore, name: String, file: String, privacyClass: PrivacyClass,
                minimumSize: (width: Int, height: Int) = (36, 12)) throws {
        let path = try store.file(file, expected: "an OpenCV Haar cascade (XML)")
        var error = msai_cv_error()
        guard let loaded = msai_cascade_load(path, &error) else { throw MSAIError.model("\(name): \(Network.message(&error))") }
        handle = loaded
        self.name = name
        self.privacyClass = privacyClass
        self.classes = [privacyClass]
        self.minimumSize = minimumSize
    }

    deinit { msai_cascade_free(handle) }

    /// A cascade gives no probability, only how many raw windows agreed on a box (at least
    /// `minNeighbors`). The score n / (n + minNeighbors) orders boxes by that agreement: 0.5 at
    /// the least a box needs, towards 1 as more agree. It is not a probability and the plate
    /// threshold does not apply to it.
    static func score(votes: Int, minNeighbors: Int) -> Double {
        let n = max(votes, 0)
        return Double(n) / Double(n + max(1, minNeighbors))
    }

    /// The cascades this project ships for plates, by policy name.
    public static func plate(_ policyName: String, store: ModelStore) throws -> CascadeDetector {
        switch policyName {
        case "haar-rus16":
            return try CascadeDetector(store: store, name: policyName, file: "haarcascade_licence_plate_rus_16stages.xml", privacyClass: .plate)
        default:
            return try CascadeDetector(store: store, name: "haar-russian", file: "haarcascade_russian_plate_number.xml", privacyClass: .plate)
        }
    }

    public func detect(_ image: PixelBuffer) throws -> [Detection] {
        try detect(image, within: [image.bounds])
    }

    /// The cascade run on each of `regions` of `image` (in place: no copy, the frame's row
    /// stride is passed), boxes in frame coordinates. Overlapping regions are merged first, so
    /// no window is scanned twice.
    public func detect(_ image: PixelBuffer, within regions: [Rect]) throws -> [Detection] {
        var found: [Detection] = []
        for region in Rect.mergingOverlaps(regions.compactMap { $0.intersection(image.bounds) })
        where region.width >= minimumSize.width && region.height >= minimumSize.height {
            found += try scan(image, region)
        }
        return found
    }

    private func scan(_ image: PixelBuffer, _ region: Rect) throws -> [Detection] {
        let capacity = 256
        var boxes = [Int32](repeating: 0, count: 4 * capacity)
        var votes = [Int32](repeating: 0, count: capacity)
        var error = msai_cv_error()
        let stride = image.width * image.channels
        let found = image.samples.withUnsafeBufferPointer {
            msai_cascade_detect(handle, $0.baseAddress! + region.y * stride + region.x * image.channels, Int32(region.width),
                                Int32(region.height), Int32(image.channels), stride, scaleFactor, Int32(minNeighbors),
                                Int32(minimumSize.width), Int32(minimumSize.height), &boxes, &votes, Int32(capacity), &error)
        }
        guard found >= 0 else { throw MSAIError.model("\(name): detection failed: \(Network.message(&error))") }
        return (0..<min(Int(found), capacity)).compactMap { i in
            Detection(rect: Rect(x: region.x + Int(boxes[4 * i]), y: region.y + Int(boxes[4 * i + 1]),
                                 width: Int(boxes[4 * i + 2]), height: Int(boxes[4 * i + 3])),
                      privacyClass: privacyClass, label: privacyClass.rawValue, confidence: Self.score(votes: Int(votes[i]), minNeighbors: minNeighbors),
                      detector: name)
                .clamped(width: image.width, height: image.height)
        }
    }
}

/// HyperLPR's MobileNet SSD plate detector (mininet_ssd_v1, Caffe), trained on Chinese plates.
/// It takes RGB with ImageNet normalisation, (x/255 − mean) / std, at the image's own size
/// (here scaled so the longer side is at most `inputLongSide`).
public final class PlateSSDDetector: RegionDetector {
    public let name = "plate-ssd"
    public let classes: Set<PrivacyClass> = [.plate]
    private let network: Network
    public var confidenceThreshold: Double
    public var inputLongSide: Int

    public init(store: ModelStore, confidenceThreshold: Double = 0.5, inputLongSide: Int = 640) throws {
        network = try Network(
            .caffe(prototxt: try store.file("mininet_ssd_v1.prototxt", expected: "the plate SSD's Caffe prototxt"),
                   model: try store.file("mininet_ssd_v1.caffemodel", expected: "the plate SSD's Caffe weights")),
            name: "plate-ssd")
        self.confidenceThreshold = confidenceThreshold
        self.inputLongSide = inputLongSide
    }

    public func detect(_ image: PixelBuffer) throws -> [Detection] {
        let scale = min(1.0, Double(inputLongSide) / Double(max(image.width, image.height)))
        let w = max(32, Int((Double(image.width) * scale).rounded())), h = max(32, Int((Double(image.height) * scale).rounded()))
        var normalisation = Network.Normalisation()
        normalisation.scale = 1.0 / 255
        normalisation.mean = (0.485 * 255, 0.456 * 255, 0.406 * 255)
        normalisation.std = (0.229, 0.224, 0.225)
        let candidates = try network.forward(image, placement: .stretch(width: w, height: h), normalisation: normalisation) {
            decodeSSD($0, image: image, threshold: confidenceThreshold, privacyClass: .plate, label: "plate", detector: name)
        }
        return try suppress(candidates, scoreThreshold: confidenceThreshold, iouThreshold: 0.4)
    }
}
