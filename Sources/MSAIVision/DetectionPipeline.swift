import Foundation
import MSAICore

/// The detectors a policy needs, loaded once, and the policy applied to what they find.
public final class DetectionPipeline {
    public let policy: PrivacyPolicy
    public let detectors: [RegionDetector]

    /// Loads every detector the policy's classes need. Throws at once, naming the file, when
    /// a model is missing or corrupt.
    public init(policy: PrivacyPolicy, store: ModelStore) throws {
        try policy.validate()
        self.policy = policy
        var detectors: [RegionDetector] = []
        if !policy.classes.isDisjoint(with: [.person, .vehicle]) {
            detectors.append(try YOLODetector(
                store: store, model: policy.yoloModel, inputSize: policy.yoloInputSize, letterbox: policy.yoloLetterbox,
                personThreshold: policy.personThreshold, vehicleThreshold: policy.vehicleThreshold, nmsThreshold: policy.nmsThreshold))
        }
        if !policy.classes.isDisjoint(with: [.face, .eyes, .head]) {
            for name in policy.faceDetectors {
                detectors.append(name == "yunet"
                    ? try YuNetFaceDetector(store: store, confidenceThreshold: policy.faceThreshold)
                    : try SSDFaceDetector(store: store, confidenceThreshold: policy.faceThreshold))
            }
        }
        if policy.classes.contains(.plate) {
            for name in policy.plateDetectors {
                detectors.append(name == "ssd"
                    ? try PlateSSDDetector(store: store, confidenceThreshold: policy.plateThreshold)
                    : try CascadeDetector.plate(name, store: store))
            }
        }
        self.detectors = detectors
    }

    /// Every detector's raw output on `image` (on a copy scaled by the policy's detect scale,
    /// boxes mapped back), merged across detectors of one class, with time per detector.
    public func detect(_ image: PixelBuffer) throws -> (detections: [Detection], milliseconds: [String: Double]) {
        let scale = policy.detectScale
        let input = scale < 1
            ? try image.resized(width: max(1, Int((Double(image.width) * scale).rounded())),
                                height: max(1, Int((Double(image.height) * scale).rounded())))
            : image
        var all: [Detection] = []
        var times: [String: Double] = [:]
        let hasYOLO = detectors.contains { $0 is YOLODetector }
        for detector in detectors {
            let start = ContinuousClock.now
            if let cascade = detector as? CascadeDetector, policy.plateCascadeScope == .vehicles, hasYOLO {
                // YOLO ran first (it is first in `detectors`): plates are looked for on its vehicles.
                all += try cascade.detect(input, within: all.filter { $0.privacyClass == .vehicle }.map { Self.grown($0.rect, by: 0.2) })
            } else if detector is CascadeDetector, policy.plateCascadeScope == .framesWithVehicles, hasYOLO,
                      !all.contains(where: { $0.privacyClass == .vehicle }) {
                // No vehicle on this frame: the cascade is not run.
            } else {
                all += try detector.detect(input)
            }
            let elapsed = ContinuousClock.now - start
            times[detector.name] = milliseconds(elapsed)
        }
        if scale < 1 {
            let sx = Double(image.width) / Double(input.width), sy = Double(image.height) / Double(input.height)
            all = all.compactMap { d in
                var m = d
                m.rect = rect(x0: Double(d.rect.x) * sx, y0: Double(d.rect.y) * sy,
                              x1: Double(d.rect.maxX) * sx, y1: Double(d.rect.maxY) * sy)
                m.landmarks = d.landmarks?.map { Point(x: $0.x * sx, y: $0.y * sy) }
                return m.clamped(width: image.width, height: image.height)
            }
        }
        return (mergeOverlapping(all), times)
    }
}

extension DetectionPipeline {
    /// `rect` widened by `share` of its width and height on each side.
    static func grown(_ rect: Rect, by share: Double) -> Rect {
        let dx = Int((Double(rect.width) * share).rounded(.up)), dy = Int((Double(rect.height) * share).rounded(.up))
        return Rect(x: rect.x - dx, y: rect.y - dy, width: rect.width + 2 * dx, height: rect.height + 2 * dy)
    }
}

/// How the edge decides what to mask in each frame: by detection under a policy, by areas the
/// user gave, or, when detection is unavailable and the policy says so, the whole frame.
public enum AreaSelector {
    case detecting(DetectionPipeline)
    case manual([Rect])
    /// Detection could not start (the reason); every frame is masked whole.
    case failedClosed(String)

    /// Loads the pipeline; if that fails and the policy says fail closed, returns `.failedClosed`
    /// (the caller should warn with the reason); if the policy says stop, rethrows.
    public static func load(policy: PrivacyPolicy, models: () throws -> ModelStore) throws -> AreaSelector {
        do {
            return .detecting(try DetectionPipeline(policy: policy, store: try models()))
        } catch let error as MSAIError {
            if case .invalidArgument = error { throw error }  // a bad policy is the user's to fix, not a failure
            guard policy.onDetectorFailure == .maskWholeFrame else { throw error }
            return .failedClosed(error.description)
        }
    }

    /// What to mask in `image`, and why.
    public func select(_ image: PixelBuffer) throws -> AreaDecision {
        let whole = Detection(rect: image.bounds, privacyClass: .person, label: "whole frame", confidence: 1, detector: "policy")
        switch self {
        case .manual(let rects):
            for r in rects { try image.checkContains(r) }
            let areas = rects.map { Detection(rect: $0, privacyClass: .face, label: "manual", confidence: 1, detector: "manual") }
            return AreaDecision(detections: areas, areas: areas, outcome: .areas, reason: "areas given by hand", milliseconds: [:])
        case .failedClosed(let reason):
            return AreaDecision(detections: [], areas: [whole], outcome: .wholeFrame,
                                reason: "detector unavailable (\(reason)): masked whole, as the policy says", milliseconds: [:])
        case .detecting(let pipeline):
            let found: (detections: [Detection], milliseconds: [String: Double])
            do {
                found = try pipeline.detect(image)
            } catch let error as MSAIError {
                guard pipeline.policy.onDetectorFailure == .maskWholeFrame else { throw error }
                return AreaDecision(detections: [], areas: [whole], outcome: .wholeFrame,
                                    reason: "detection failed (\(error.description)): masked whole, as the policy says", milliseconds: [:])
            }
            let areas = PolicyApplication.areas(from: found.detections, policy: pipeline.policy, width: image.width, height: image.height)
            if !areas.isEmpty {
                return AreaDecision(detections: found.detections, areas: areas, outcome: .areas,
                                    reason: areas.count == 1 ? "1 sensitive area found" : "\(areas.count) sensitive areas found", milliseconds: found.milliseconds)
            }
            if pipeline.policy.onNoDetections == .maskWholeFrame {
                return AreaDecision(detections: found.detections, areas: [whole], outcome: .wholeFrame,
                                    reason: "nothing sensitive found: masked whole, as the policy says", milliseconds: found.milliseconds)
            }
            return AreaDecision(detections: found.detections, areas: [], outcome: .nothing,
                                reason: "nothing sensitive found: no area masked (the frame is still scrambled)", milliseconds: found.milliseconds)
        }
    }
}

/// The areas chosen for one frame.
public struct AreaDecision: Sendable {
    public enum Outcome: String, Codable, Sendable {
        case areas
        case nothing
        case wholeFrame = "whole-frame"
    }

    /// What the detectors reported (before the policy).
    public let detections: [Detection]
    /// What will be masked (after the policy: classes, eyes/head, minimum size, padding).
    public let areas: [Detection]
    public let outcome: Outcome
    public let reason: String
    /// Time per detector.
    public let milliseconds: [String: Double]
}
