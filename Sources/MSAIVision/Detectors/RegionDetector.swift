import Foundation
import MSAICore

/// Something that finds sensitive areas in a frame. Each detector loads its model once, at
/// construction (a missing or corrupt file is an error then, naming the file, not a crash at the
/// first frame), and reuses it for every frame. Not thread-safe: use each from one thread.
public protocol RegionDetector: AnyObject {
    /// A stable name ("yolov3-tiny", "yunet", "res10", "haar-russian", "plate-ssd").
    var name: String { get }
    /// The privacy classes this detector can report.
    var classes: Set<PrivacyClass> { get }
    /// Raw detections in image coordinates, before the policy's padding and filtering.
    func detect(_ image: PixelBuffer) throws -> [Detection]
}

/// Greedy suppression across detectors of one class: keeps the detection with landmarks, then
/// the more confident one, and drops others overlapping it by more than `iou`.
public func mergeOverlapping(_ detections: [Detection], iou: Double = 0.4) -> [Detection] {
    let ordered = detections.sorted {
        (($0.landmarks == nil ? 1 : 0), -$0.confidence) < (($1.landmarks == nil ? 1 : 0), -$1.confidence)
    }
    var kept: [Detection] = []
    for d in ordered where !kept.contains(where: { $0.privacyClass == d.privacyClass && $0.rect.iou(d.rect) > iou }) {
        kept.append(d)
    }
    return kept
}

/// Rect from corner coordinates (floating point), rounded outwards. Non-finite or absurd values
/// (a model can emit NaN) give an empty rectangle, which clamping then drops.
func rect(x0: Double, y0: Double, x1: Double, y1: Double) -> Rect {
    let limit = Double(Rect.coordinateLimit)
    guard [x0, y0, x1, y1].allSatisfy({ $0.isFinite && abs($0) < limit }) else { return Rect(x: 0, y: 0, width: 0, height: 0) }
    let left = Int(x0.rounded(.down)), top = Int(y0.rounded(.down))
    return Rect(x: left, y: top, width: max(1, Int(x1.rounded(.up)) - left), height: max(1, Int(y1.rounded(.up)) - top))
}

/// Runs cv::dnn::NMSBoxes per privacy class and returns the survivors.
func suppress(_ candidates: [Detection], scoreThreshold: Double, iouThreshold: Double) throws -> [Detection] {
    var kept: [Detection] = []
    for cls in Set(candidates.map(\.privacyClass)).sorted() {
        let group = candidates.filter { $0.privacyClass == cls }
        let indices = try nonMaximumSuppression(
            group.map(\.rect), scores: group.map { Float($0.confidence) }, scoreThreshold: Float(scoreThreshold),
            iouThreshold: Float(iouThreshold))
        kept += indices.map { group[$0] }
    }
    return kept
}
