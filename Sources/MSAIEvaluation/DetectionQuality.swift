import Foundation
import MSAICore

/// Ground truth in COCO form (Datasets/labels/instances.json): bbox = [x, y, w, h] in pixels,
/// iscrowd = 1 marks an ignore region. Video frames name the video and a `frame` index.
public struct GroundTruth: Decodable {
    public struct Image: Decodable {
        public let id: Int
        public let fileName: String
        public let frame: Int?
        public let width: Int
        public let height: Int
        enum CodingKeys: String, CodingKey {
            case id, frame, width, height
            case fileName = "file_name"
        }
    }
    public struct Category: Decodable {
        public let id: Int
        public let name: String
    }
    public struct Annotation: Decodable {
        public let imageID: Int
        public let categoryID: Int
        public let bbox: [Double]
        public let iscrowd: Int?
        enum CodingKeys: String, CodingKey {
            case bbox, iscrowd
            case imageID = "image_id"
            case categoryID = "category_id"
        }
    }

    public let images: [Image]
    public let categories: [Category]
    public let annotations: [Annotation]

    public static func load(_ path: String) throws -> GroundTruth {
        guard let data = FileManager.default.contents(atPath: path) else { throw MSAIError.io("\(path): no such labels file") }
        do {
            return try JSONDecoder().decode(GroundTruth.self, from: data)
        } catch {
            throw MSAIError.invalidArgument("\(path): not COCO labels: \(describe(error))")
        }
    }

    /// The labelled boxes of one image, by privacy class.
    public func boxes(of image: Image) -> [(cls: PrivacyClass, rect: Rect, ignore: Bool)] {
        let names = Dictionary(categories.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        return annotations.filter { $0.imageID == image.id && $0.bbox.count == 4 }.compactMap { a in
            guard let name = names[a.categoryID], let cls = PrivacyClass(rawValue: name) else { return nil }
            let b = a.bbox
            return (cls, Rect(x: Int(b[0].rounded()), y: Int(b[1].rounded()), width: Int(b[2].rounded()), height: Int(b[3].rounded())),
                    (a.iscrowd ?? 0) != 0)
        }
    }
}

/// Precision and recall at IoU ≥ 0.5, COCO-style: detections are matched greedily by confidence
/// to unmatched labels of their class; a detection that matches nothing but lies mostly inside an
/// ignore region counts neither way; unmatched labels are misses.
public struct DetectionScore: Equatable {
    public var truePositives = 0
    public var falsePositives = 0
    public var falseNegatives = 0
    public var labels: Int { truePositives + falseNegatives }
    public var precision: Double? { truePositives + falsePositives == 0 ? nil : Double(truePositives) / Double(truePositives + falsePositives) }
    public var recall: Double? { labels == 0 ? nil : Double(truePositives) / Double(labels) }

    public init() {}

    public static func += (a: inout DetectionScore, b: DetectionScore) {
        a.truePositives += b.truePositives
        a.falsePositives += b.falsePositives
        a.falseNegatives += b.falseNegatives
    }

    /// Scores one image's detections of one class; returns the score and the false positives.
    public static func score(detections: [Detection], labels: [(rect: Rect, ignore: Bool)], iou threshold: Double = 0.5)
        -> (score: DetectionScore, falsePositives: [Detection], misses: [Rect])
    {
        var score = DetectionScore()
        var matched = [Bool](repeating: false, count: labels.count)
        var falsePositives: [Detection] = []
        for d in detections.sorted(by: { $0.confidence > $1.confidence }) {
            var best = -1
            var bestIoU = threshold
            for (i, label) in labels.enumerated() where !label.ignore && !matched[i] {
                let iou = d.rect.iou(label.rect)
                if iou >= bestIoU { best = i; bestIoU = iou }
            }
            if best >= 0 {
                matched[best] = true
                score.truePositives += 1
            } else if labels.contains(where: { $0.ignore && (d.rect.intersection($0.rect)?.area ?? 0) * 2 >= d.rect.area }) {
                continue
            } else {
                score.falsePositives += 1
                falsePositives.append(d)
            }
        }
        let misses = labels.indices.filter { !labels[$0].ignore && !matched[$0] }.map { labels[$0].rect }
        score.falseNegatives = misses.count
        return (score, falsePositives, misses)
    }

    /// How many labels of a class the masked areas cover by at least `share` of their pixels: what
    /// privacy needs (a face inside a masked person box is protected even if no face box matched).
    public static func covered(labels: [Rect], by areas: [Rect], share: Double = 0.9, width: Int, height: Int) -> Int {
        labels.filter { label in
            guard let inside = label.intersection(Rect(x: 0, y: 0, width: width, height: height)), inside.area > 0 else { return false }
            var hit = 0
            for y in inside.y..<inside.maxY {
                for x in inside.x..<inside.maxX where areas.contains(where: { x >= $0.x && x < $0.maxX && y >= $0.y && y < $0.maxY }) {
                    hit += 1
                }
            }
            return Double(hit) >= share * Double(inside.area)
        }.count
    }
}
