/// What the edge masks on each frame of a stream when detection runs only on some frames.
///
/// Detection on frame i gives areas; frames after i reuse them, each widened on every side at
/// once by `margin` of its larger side and then grown by `growth` of it per frame elapsed (at
/// least `minimumGrowth` pixels per frame), so a face that moves between detections stays
/// covered instead of flashing unmasked (the common complaint about deface-style tools). The
/// margin is there because a detector's box of one person jitters from frame to frame by about
/// a tenth of its size even when the person stands still: with growth alone (4 % a frame, msai
/// 2.0's carrier) only 72.7 % of the areas full detection finds on each frame of vtest.avi were
/// masked whole; with a margin of 15 %, growth of 8 %, one detection held and overlapping areas
/// merged, over 99 % (`make bench`, edge section; docs/STREAMING.md). A frame whose newest detection is older than `maximumAge`
/// (stream time), or that has no detection at all, is masked whole: the carrier fails closed.
public struct AreaCarrier: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Widening of a carried area, once, as a fraction of its larger side, on every side.
        public var margin: Double
        /// Growth per frame elapsed, as a fraction of the area's larger side, on every side.
        public var growth: Double
        /// Growth per frame elapsed in pixels at least, on every side.
        public var minimumGrowth: Int
        /// The oldest detection still trusted, in stream time.
        public var maximumAge: Duration
        /// How many detections before the newest are looked at for areas the newest lacks: an
        /// area that no newer area matches (intersection over union at least `sameObject`) is
        /// kept, grown for its own age. Detectors flicker (a person found on one detection and
        /// not the next), and people walk in between detections; keeping what vanished masks
        /// the first and, grown, much of the second.
        public var hold: Int
        /// The overlap (IoU) from which a newer area is taken for the same object, moved, so the
        /// older one is not held. Any overlap at all would not do: a missed person walking
        /// beside one who was found, or a face box touching a person's, would drop out.
        public var sameObject: Double

        public init(margin: Double = 0.15, growth: Double = 0.08, minimumGrowth: Int = 2, maximumAge: Duration = .seconds(1),
                    hold: Int = 1, sameObject: Double = 0.3) {
            self.hold = max(0, hold)
            self.sameObject = sameObject
            self.margin = margin
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
    /// at or before this frame, or nil) and, for `hold`, the detections before it (`earlier`,
    /// newest first), in a frame of `width` × `height`.
    public func decide(frame: Int, time: Duration, width: Int, height: Int, detection: Detected?, earlier: [Detected] = []) -> Decision {
        guard let detection else { return .wholeFrame(reason: "no detection yet") }
        guard detection.frame <= frame else { return .wholeFrame(reason: "the detection is of a later frame") }
        let age = time - detection.time
        guard age <= settings.maximumAge else {
            return .wholeFrame(reason: "the newest detection (frame \(detection.frame)) is \(milliseconds(age).rounded()) ms old, over the \(milliseconds(settings.maximumAge).rounded()) ms bound")
        }
        let whole = Rect(x: 0, y: 0, width: width, height: height)
        var kept = detection.areas
        var areas = detection.areas.compactMap { grow($0, frames: frame - detection.frame, within: whole) }
        // Held areas only add masking, so the age bound (which fails closed when detection
        // stalls) does not apply to them; the hold's count bounds how far back they go.
        for older in earlier.filter({ $0.frame < detection.frame }).prefix(settings.hold) {
            for area in older.areas where !kept.contains(where: { $0.iou(area) >= settings.sameObject }) {
                kept.append(area)
                if let grown = grow(area, frames: frame - older.frame, within: whole) { areas.append(grown) }
            }
        }
        // Carried or held areas overlap (a face inside its person, a held area beside the newest,
        // all of them grown): merged, no sample is masked twice and an ROI-only patch holds each
        // once. A detection's own frame with nothing held keeps the detection's areas as they are.
        let carried = frame > detection.frame || kept.count > detection.areas.count
        return .areas(carried ? Rect.mergingOverlaps(areas) : areas, detectedAt: detection.frame, age: frame - detection.frame)
    }

    /// `area` widened by the margin (once it is carried) and the growth for `frames` frames.
    private func grow(_ area: Rect, frames: Int, within whole: Rect) -> Rect? {
        let side = Double(max(area.width, area.height))
        let step = max(settings.minimumGrowth, Int((side * settings.growth).rounded(.up)))
        let once = frames > 0 ? Int((side * settings.margin).rounded(.up)) : 0
        let margin = min(once + step * frames, max(whole.width, whole.height))
        return Rect(x: area.x - margin, y: area.y - margin, width: area.width + 2 * margin, height: area.height + 2 * margin)
            .intersection(whole)
    }
}
