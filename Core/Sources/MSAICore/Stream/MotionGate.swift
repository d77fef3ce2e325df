/// Frame-difference motion detection, as seed 003's camera does it: each frame is reduced to
/// the mean luma of `cell` × `cell` cells, and a frame has motion when more than
/// `minimumChangedShare` of its cells changed by `threshold` or more since the previous frame.
/// Cells average away sensor noise and JPEG artefacts; the share ignores a flicker in one spot.
public struct MotionDetector: Sendable {
    public var cell: Int
    public var threshold: Int
    public var minimumChangedShare: Double
    private var previous: [Int32]?

    public init(cell: Int = 8, threshold: Int = 12, minimumChangedShare: Double = 0.002) {
        self.cell = max(1, cell)
        self.threshold = threshold
        self.minimumChangedShare = minimumChangedShare
    }

    /// The share of cells that changed since the previous frame (1 for the first frame, or
    /// when the size changes), and whether that counts as motion.
    public mutating func observe(_ frame: PixelBuffer) -> (changedShare: Double, motion: Bool) {
        let cells = Self.cellLuma(frame, cell: cell)
        defer { previous = cells }
        guard let previous, previous.count == cells.count, !cells.isEmpty else { return (1, true) }
        var changed = 0
        for i in 0..<cells.count where abs(cells[i] - previous[i]) >= Int32(threshold) { changed += 1 }
        let share = Double(changed) / Double(cells.count)
        return (share, share > minimumChangedShare)
    }

    /// Mean luma (BT.601 integer weights for RGB; the sample itself for grey) per whole cell.
    static func cellLuma(_ frame: PixelBuffer, cell: Int) -> [Int32] {
        let columns = frame.width / cell, rows = frame.height / cell, c = frame.channels
        guard columns > 0, rows > 0 else { return [] }
        var sums = [Int32](repeating: 0, count: columns * rows)
        frame.samples.withUnsafeBufferPointer { s in
            for y in 0..<(rows * cell) {
                let rowBase = y * frame.width * c, cellRow = (y / cell) * columns
                for x in 0..<(columns * cell) {
                    let p = rowBase + x * c
                    let luma = c >= 3 ? (77 * Int32(s[p]) + 150 * Int32(s[p + 1]) + 29 * Int32(s[p + 2])) >> 8 : Int32(s[p])
                    sums[cellRow + x / cell] += luma
                }
            }
        }
        let n = Int32(cell * cell)
        return sums.map { $0 / n }
    }
}

/// Decides which frames of a stream are sent when only motion matters (seed 003): frames with
/// motion, the `preRoll` frames before it and the `postRoll` frames after it, plus a keyframe
/// whenever `keyframeInterval` frames have passed without one being sent, so the data center
/// always holds a recent view. Frames not sent are dropped here, before detection and masking.
public struct MotionGate<Frame> {
    public enum Reason: String, Sendable {
        case motion, preRoll = "pre-roll", postRoll = "post-roll", keyframe
    }

    public let preRoll: Int
    public let postRoll: Int
    public let keyframeInterval: Int
    public private(set) var detector: MotionDetector
    private var held: [Frame] = []
    private var postRollLeft = 0
    private var sinceSent: Int

    public init(detector: MotionDetector = MotionDetector(), preRoll: Int = 3, postRoll: Int = 5, keyframeInterval: Int = 50) {
        self.detector = detector
        self.preRoll = max(0, preRoll)
        self.postRoll = max(0, postRoll)
        self.keyframeInterval = max(1, keyframeInterval)
        sinceSent = self.keyframeInterval  // the first frame is a keyframe
    }

    /// Takes the next frame; returns the frames to send now, oldest first, each with its reason.
    /// The first frame of a stream is a keyframe, not motion, though it has no predecessor.
    public mutating func admit(_ frame: Frame, pixels: PixelBuffer) -> [(Frame, Reason)] {
        let motion = detector.observe(pixels).motion && !isFirstObservation
        isFirstObservation = false
        var out: [(Frame, Reason)] = []
        if motion {
            out = held.map { ($0, .preRoll) } + [(frame, .motion)]
            held.removeAll()
            postRollLeft = postRoll
        } else if postRollLeft > 0 {
            postRollLeft -= 1
            out = [(frame, .postRoll)]
        } else if sinceSent + 1 >= keyframeInterval {
            held.removeAll()
            out = [(frame, .keyframe)]
        } else {
            held.append(frame)
            if held.count > preRoll { held.removeFirst(held.count - preRoll) }
        }
        sinceSent = out.isEmpty ? sinceSent + 1 : 0
        return out
    }

    private var isFirstObservation = true
}
