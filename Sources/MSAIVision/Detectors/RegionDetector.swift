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

/// Merges the same object found by two different detectors (same class, IoU above `iou`) into
/// one detection covering the union of both boxes, so no pixel either detector marked is lost;
/// the one with landmarks, else the more confident one, gives label and landmarks. Boxes from one
/// detector are left alone: it has run its own non-maximum suppression, and two overlapping people
/// are two people.
public func mergeOverlapping(_ detections: [Detection], iou: Double = 0.4) -> [Detection] {
    let ordered = detections.sorted {
        (($0.landmarks == nil ? 1 : 0), -$0.confidence) < (($1.landmarks == nil ? 1 : 0), -$1.confidence)
    }
    var kept: [Detection] = []
    for d in ordered {
        if let i = kept.firstIndex(where: { $0.privacyClass == d.privacyClass && $0.detector != d.detector && $0.rect.iou(d.rect) > iou }) {
            let a = kept[i].rect, b = d.rect
            kept[i].rect = Rect(x: min(a.x, b.x), y: min(a.y, b.y), width: max(a.maxX, b.maxX) - min(a.x, b.x),
                                height: max(a.maxY, b.maxY) - min(a.y, b.y))
        } else {
            kept.append(d)
        }
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
