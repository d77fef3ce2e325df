import Foundation

/// What a sensitive area is, in privacy terms (what a policy chooses to mask).
public enum PrivacyClass: String, Codable, Sendable, CaseIterable, Comparable {
    case face, eyes, head, person, plate, vehicle

    public static func < (a: PrivacyClass, b: PrivacyClass) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Parses a comma-separated list such as "face,person"; names the bad entry.
    public static func parseList(_ text: String) throws -> [PrivacyClass] {
        try text.split(separator: ",").map { part in
            let name = part.trimmingCharacters(in: .whitespaces).lowercased()
            guard let value = PrivacyClass(rawValue: name) else {
                throw MSAIError.invalidArgument(
                    "unknown class '\(name)'; choose from \(PrivacyClass.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return value
        }
    }
}

/// A point in image coordinates (sub-pixel).
public struct Point: Codable, Equatable, Sendable {
    public var x: Double
    public var y: Double
    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// One sensitive area found in a frame (or given by hand).
public struct Detection: Codable, Equatable, Sendable {
    public var rect: Rect
    public var privacyClass: PrivacyClass
    /// The detector's own label (a COCO class name, "face", …), or "manual".
    public var label: String
    public var confidence: Double
    /// Which detector produced it ("yolov3-tiny", "res10-ssd", "manual").
    public var detector: String
    /// Facial landmarks when the detector gives them (YuNet): right eye, left eye, nose tip,
    /// right and left mouth corners, as image coordinates.
    public var landmarks: [Point]?

    public init(rect: Rect, privacyClass: PrivacyClass, label: String, confidence: Double, detector: String,
                landmarks: [Point]? = nil) {
        self.rect = rect
        self.privacyClass = privacyClass
        self.label = label
        self.confidence = confidence
        self.detector = detector
        self.landmarks = landmarks
    }

    /// The part of `rect` inside an image of the given size, or nil when none is.
    public func clamped(width: Int, height: Int) -> Detection? {
        guard !rect.isEmpty, let inside = rect.intersection(Rect(x: 0, y: 0, width: width, height: height)) else { return nil }
        var copy = self
        copy.rect = inside
        return copy
    }
}
