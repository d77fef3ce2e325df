import Foundation
import MSAICore
import MSAIVision

/// What `msai detect` reports for one image: NAME.detections.json.
///
/// `detections` are the detectors' raw boxes; `areas` are what the policy would mask (after its
/// classes, eyes/head derivation, minimum size and padding); `outcome` is "areas", "nothing" or
/// "whole-frame" and `reason` says why.
public struct DetectionReport: Encodable {
    public let image: String
    public let width: Int
    public let height: Int
    public let outcome: String
    public let reason: String
    public let detections: [EvaluationReport.Region]
    public let areas: [EvaluationReport.Region]
    public let timingsMs: [String: Double]

    public init(image: String, pixels: PixelBuffer, decision: AreaDecision) {
        self.image = image
        width = pixels.width
        height = pixels.height
        outcome = decision.outcome.rawValue
        reason = decision.reason
        detections = decision.detections.map(EvaluationReport.Region.init)
        areas = decision.areas.map(EvaluationReport.Region.init)
        timingsMs = decision.milliseconds.mapValues { ($0 * 1000).rounded() / 1000 }
    }

    enum CodingKeys: String, CodingKey {
        case image, width, height, outcome, reason, detections, areas
        case timingsMs = "timings_ms"
    }

    public func json(pretty: Bool) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data()
    }
}
