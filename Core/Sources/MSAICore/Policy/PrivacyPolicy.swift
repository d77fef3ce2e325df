import Foundation

/// What a deployment considers sensitive and how hard to look for it: the paper's step 1,
/// which lets each user choose (whole face or eyes only, plates or not) because rules differ
/// between countries. Loaded from a JSON file (`msai … --policy FILE`) and overridden by flags.
///
/// Every field is optional in the file; absent fields keep these defaults.
public struct PrivacyPolicy: Codable, Equatable, Sendable {
    /// The classes to mask.
    public var classes: Set<PrivacyClass> = [.face, .person, .plate]
    /// Margin added around every box, as a fraction of its width and height on each side.
    public var padding: Double = 0.1
    /// Boxes narrower or shorter than this many pixels (before padding) are dropped.
    public var minimumSize: Int = 6
    /// Detection runs on a copy scaled by this factor (0 < s ≤ 1); boxes are mapped back.
    public var detectScale: Double = 1.0
    /// The darknet model in Models/ for persons and vehicles (NAME.cfg + NAME.weights).
    /// yolov4-tiny at 608 is the default because it finds the most people on the labelled set
    /// (person recall 93.5 % vs 71.7 % for yolov3-tiny at 416; `make eval-detect`).
    public var yoloModel: String = "yolov4-tiny"
    /// YOLO input side in pixels (a multiple of 32).
    public var yoloInputSize: Int = 608
    /// YOLO: keep the aspect ratio and pad (true), or stretch to a square (darknet's default).
    public var yoloLetterbox: Bool = true
    public var personThreshold: Double = 0.25
    public var vehicleThreshold: Double = 0.25
    public var nmsThreshold: Double = 0.45
    /// Face detectors to run, merged: "yunet", "res10". YuNet also gives the eyes. YuNet alone
    /// by default: res10 found no labelled face YuNet missed, and no area YuNet's did not cover,
    /// at a fifth of the detection time (docs/DETECTION.md, "What a lever buys").
    public var faceDetectors: [String] = ["yunet"]
    public var faceThreshold: Double = 0.6
    /// Plate detectors to run, merged: "haar-russian", "haar-rus16", "ssd".
    public var plateDetectors: [String] = ["haar-russian", "ssd"]
    public var plateThreshold: Double = 0.5
    /// Where the Haar plate cascades look: over the whole frame on frames where YOLO found a
    /// vehicle (the default), always over the whole frame, or only inside the vehicles YOLO found
    /// (grown by a fifth). The default saves the cascade's 55 ms a 768x576 frame where there is
    /// no vehicle and gives the whole-frame scan's boxes where there is one: `make eval-detect`'s
    /// figures are the same as with `frame`. Inside vehicles also masked every plate, but its
    /// boxes come out a few pixels different and one plate fell under the recall's overlap
    /// threshold (docs/DETECTION.md, "What a lever buys"). What the default gives up: a plate
    /// on a vehicle YOLO does not see is left to the plate SSD, which always looks at the whole
    /// frame; without YOLO the cascades do too.
    public var plateCascadeScope: CascadeScope = .framesWithVehicles
    /// What to do when a detector cannot be loaded or fails on a frame.
    public var onDetectorFailure: FailureAction = .maskWholeFrame
    /// What to do with a frame in which nothing sensitive was found.
    public var onNoDetections: EmptyAction = .maskNothing

    public enum FailureAction: String, Codable, Sendable, CaseIterable {
        /// Fail closed: mask the whole frame (the default).
        case maskWholeFrame = "mask-whole-frame"
        /// Stop with an error: the frame is not masked, not sent, not written.
        case stop
    }

    public enum CascadeScope: String, Codable, Sendable, CaseIterable {
        /// Only inside the vehicles YOLO found (grown by a fifth).
        case vehicles
        /// Over the whole frame, but only on frames where YOLO found a vehicle: the whole-frame
        /// scan's boxes where there are vehicles, nothing spent where there are none.
        case framesWithVehicles = "frames-with-vehicles"
        /// Over the whole frame, always.
        case frame
    }

    public enum EmptyAction: String, Codable, Sendable, CaseIterable {
        case maskNothing = "mask-nothing"
        case maskWholeFrame = "mask-whole-frame"
    }

    public init() {}

    enum CodingKeys: String, CodingKey {
        case classes, padding
        case minimumSize = "minimum_size"
        case detectScale = "detect_scale"
        case yoloModel = "yolo_model"
        case yoloInputSize = "yolo_input_size"
        case yoloLetterbox = "yolo_letterbox"
        case personThreshold = "person_threshold"
        case vehicleThreshold = "vehicle_threshold"
        case nmsThreshold = "nms_threshold"
        case faceDetectors = "face_detectors"
        case faceThreshold = "face_threshold"
        case plateDetectors = "plate_detectors"
        case plateThreshold = "plate_threshold"
        case plateCascadeScope = "plate_cascade_scope"
        case onDetectorFailure = "on_detector_failure"
        case onNoDetections = "on_no_detections"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PrivacyPolicy()
        classes = try c.decodeIfPresent(Set<PrivacyClass>.self, forKey: .classes) ?? d.classes
        padding = try c.decodeIfPresent(Double.self, forKey: .padding) ?? d.padding
        minimumSize = try c.decodeIfPresent(Int.self, forKey: .minimumSize) ?? d.minimumSize
        detectScale = try c.decodeIfPresent(Double.self, forKey: .detectScale) ?? d.detectScale
        yoloModel = try c.decodeIfPresent(String.self, forKey: .yoloModel) ?? d.yoloModel
        yoloInputSize = try c.decodeIfPresent(Int.self, forKey: .yoloInputSize) ?? d.yoloInputSize
        yoloLetterbox = try c.decodeIfPresent(Bool.self, forKey: .yoloLetterbox) ?? d.yoloLetterbox
        personThreshold = try c.decodeIfPresent(Double.self, forKey: .personThreshold) ?? d.personThreshold
        vehicleThreshold = try c.decodeIfPresent(Double.self, forKey: .vehicleThreshold) ?? d.vehicleThreshold
        nmsThreshold = try c.decodeIfPresent(Double.self, forKey: .nmsThreshold) ?? d.nmsThreshold
        faceDetectors = try c.decodeIfPresent([String].self, forKey: .faceDetectors) ?? d.faceDetectors
        faceThreshold = try c.decodeIfPresent(Double.self, forKey: .faceThreshold) ?? d.faceThreshold
        plateDetectors = try c.decodeIfPresent([String].self, forKey: .plateDetectors) ?? d.plateDetectors
        plateThreshold = try c.decodeIfPresent(Double.self, forKey: .plateThreshold) ?? d.plateThreshold
        plateCascadeScope = try c.decodeIfPresent(CascadeScope.self, forKey: .plateCascadeScope) ?? d.plateCascadeScope
        onDetectorFailure = try c.decodeIfPresent(FailureAction.self, forKey: .onDetectorFailure) ?? d.onDetectorFailure
        onNoDetections = try c.decodeIfPresent(EmptyAction.self, forKey: .onNoDetections) ?? d.onNoDetections
        let unknown = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
            .filter { CodingKeys(rawValue: $0) == nil }
        guard unknown.isEmpty else {
            throw MSAIError.invalidArgument(
                "policy has unknown field(s) \(unknown.sorted().joined(separator: ", ")); known: \(Self.fieldNames.joined(separator: ", "))")
        }
    }

    static let fieldNames = ["classes", "padding", "minimum_size", "detect_scale", "yolo_model", "yolo_input_size",
                             "yolo_letterbox", "person_threshold", "vehicle_threshold", "nms_threshold", "face_detectors",
                             "face_threshold", "plate_detectors", "plate_threshold", "plate_cascade_scope", "on_detector_failure",
                             "on_no_detections"]

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Throws a message naming the first field out of range.
    public func validate() throws {
        guard !classes.isEmpty else { throw MSAIError.invalidArgument("policy: classes is empty; nothing would be masked") }
        guard padding >= 0, padding <= 2 else { throw MSAIError.invalidArgument("policy: padding must lie in 0...2, got \(padding)") }
        guard (1...256).contains(minimumSize) else {
            throw MSAIError.invalidArgument("policy: minimum_size must lie in 1...256 (larger would drop real faces), got \(minimumSize)")
        }
        guard detectScale > 0, detectScale <= 1 else {
            throw MSAIError.invalidArgument("policy: detect_scale must lie in (0, 1], got \(detectScale)")
        }
        guard yoloInputSize >= 32, yoloInputSize % 32 == 0, yoloInputSize <= 1600 else {
            throw MSAIError.invalidArgument("policy: yolo_input_size must be a multiple of 32 in 32...1600, got \(yoloInputSize)")
        }
        for (name, value) in [("person_threshold", personThreshold), ("vehicle_threshold", vehicleThreshold),
                              ("nms_threshold", nmsThreshold), ("face_threshold", faceThreshold), ("plate_threshold", plateThreshold)]
        where !(value > 0 && value < 1) {
            throw MSAIError.invalidArgument("policy: \(name) must lie strictly between 0 and 1, got \(value)")
        }
        let knownFaces = ["yunet", "res10"], knownPlates = ["haar-russian", "haar-rus16", "ssd"]
        for name in faceDetectors where !knownFaces.contains(name) {
            throw MSAIError.invalidArgument("policy: unknown face detector '\(name)'; choose from \(knownFaces.joined(separator: ", "))")
        }
        for name in plateDetectors where !knownPlates.contains(name) {
            throw MSAIError.invalidArgument("policy: unknown plate detector '\(name)'; choose from \(knownPlates.joined(separator: ", "))")
        }
        if !classes.isDisjoint(with: [.face, .eyes, .head]) && faceDetectors.isEmpty {
            throw MSAIError.invalidArgument("policy: classes include face, eyes or head but face_detectors is empty")
        }
        if classes.contains(.plate) && plateDetectors.isEmpty {
            throw MSAIError.invalidArgument("policy: classes include plate but plate_detectors is empty")
        }
    }

    /// Reads a policy file (JSON); names the file and the problem.
    public static func load(_ path: String) throws -> PrivacyPolicy {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MSAIError.io("\(path): policy file does not exist or cannot be read")
        }
        do {
            let policy = try JSONDecoder().decode(PrivacyPolicy.self, from: data)
            try policy.validate()
            return policy
        } catch let error as MSAIError {
            throw MSAIError.invalidArgument("\(path): \(error.description)")
        } catch {
            throw MSAIError.invalidArgument("\(path): not a valid policy: \(describe(error))")
        }
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// Turns raw detections into the areas to mask, as the policy says: derives eyes and heads
/// from faces, keeps the chosen classes, drops boxes below the minimum size, pads and clamps.
public enum PolicyApplication {
    /// The eyes of a face: a band around both eyes from the landmarks when there are any, else
    /// from the usual face geometry (eyes at about 38 % of the face's height). Lies inside the face box.
    public static func eyes(of face: Detection) -> Detection {
        let r = face.rect
        var box: Rect
        if let marks = face.landmarks, marks.count >= 2, marks.allSatisfy({ $0.x.isFinite && $0.y.isFinite && abs($0.x) < 1e7 && abs($0.y) < 1e7 }) {
            let (a, b) = (marks[0], marks[1])
            let spread = max(abs(a.x - b.x), Double(r.width) * 0.2)
            let x0 = min(a.x, b.x) - spread * 0.45, x1 = max(a.x, b.x) + spread * 0.45
            let yc = (a.y + b.y) / 2, half = max(Double(r.height) * 0.1, spread * 0.3)
            box = Rect(x: Int(x0.rounded(.down)), y: Int((yc - half).rounded(.down)),
                       width: Int((x1 - x0).rounded(.up)), height: Int((2 * half).rounded(.up)))
        } else {
            box = Rect(x: r.x + r.width / 8, y: r.y + r.height * 22 / 100, width: r.width * 3 / 4, height: r.height * 3 / 10)
        }
        // Landmarks that miss the face fall back to the geometric band.
        box = box.intersection(r) ?? Rect(x: r.x + r.width / 8, y: r.y + r.height * 22 / 100, width: max(1, r.width * 3 / 4),
                                          height: max(1, r.height * 3 / 10))
        return Detection(rect: box, privacyClass: .eyes, label: "eyes", confidence: face.confidence, detector: face.detector,
                         landmarks: face.landmarks.map { Array($0.prefix(2)) })
    }

    /// The head around a face: the face box grown by 30 % on each side and 60 % upwards, for hair.
    public static func head(of face: Detection) -> Detection {
        let r = face.rect
        let dx = r.width * 3 / 10, up = r.height * 6 / 10, down = r.height / 10
        return Detection(rect: Rect(x: r.x - dx, y: r.y - up, width: r.width + 2 * dx, height: r.height + up + down),
                         privacyClass: .head, label: "head", confidence: face.confidence, detector: face.detector)
    }

    /// The areas to mask in a width × height frame, in a deterministic order (by class, then position).
    public static func areas(from detections: [Detection], policy: PrivacyPolicy, width: Int, height: Int) -> [Detection] {
        var derived: [Detection] = []
        for d in detections {
            if d.privacyClass == .face {
                if policy.classes.contains(.face) { derived.append(d) }
                if policy.classes.contains(.eyes) { derived.append(eyes(of: d)) }
                if policy.classes.contains(.head) { derived.append(head(of: d)) }
            } else if policy.classes.contains(d.privacyClass) {
                derived.append(d)
            }
        }
        return derived
            .filter { $0.rect.width >= policy.minimumSize && $0.rect.height >= policy.minimumSize }
            .compactMap { d -> Detection? in
                var padded = d
                let px = Int((Double(d.rect.width) * policy.padding).rounded()), py = Int((Double(d.rect.height) * policy.padding).rounded())
                padded.rect = Rect(x: d.rect.x - px, y: d.rect.y - py, width: d.rect.width + 2 * px, height: d.rect.height + 2 * py)
                return padded.clamped(width: width, height: height)
            }
            .sorted { ($0.privacyClass, $0.rect.y, $0.rect.x) < ($1.privacyClass, $1.rect.y, $1.rect.x) }
    }
}
