/// The detections of a stream by admitted-frame number, and who is waiting for which: the state
/// of the edge's detection board, as a value. The board (an actor in MSAIStreaming) only carries
/// out what this decides: it resumes the waiters `settle` and `expire` name, and nothing else.
///
/// Each scheduled frame is *settled* exactly once: with its detection, or with nil when the
/// detector failed or the frame was dropped before detection. A mask stage that needs frame n's
/// detection waits until n is settled or its deadline passes, whichever comes first; a waiter
/// is woken once, by the first of the two.
public struct DetectionLedger: Sendable {
    /// A mask stage waiting for a detection, as the board numbers them.
    public typealias Waiter = Int

    private var detections: [Int: AreaCarrier.Detected] = [:]
    private var settled: Set<Int> = []
    private var waiting: [Int: [Waiter]] = [:]

    public init() {}

    /// What a mask stage asking for frame `sequence`'s detection must do.
    public enum WaitDecision: Sendable, Equatable {
        /// It is settled: go on at once.
        case ready
        /// Wait; the waiter is woken by `settle(sequence)` or by its own deadline (`expire`).
        case wait
    }

    /// Registers `waiter` for frame `sequence`'s detection, unless it is settled already.
    public mutating func wait(_ waiter: Waiter, for sequence: Int) -> WaitDecision {
        guard !settled.contains(sequence) else { return .ready }
        waiting[sequence, default: []].append(waiter)
        return .wait
    }

    /// Records frame `sequence`'s detection (nil: failed, or never run). Returns the waiters to
    /// wake. A second settle of the same frame changes nothing and wakes nobody.
    public mutating func settle(_ sequence: Int, with detection: AreaCarrier.Detected?) -> [Waiter] {
        guard settled.insert(sequence).inserted else { return [] }
        if let detection { detections[sequence] = detection }
        return waiting.removeValue(forKey: sequence) ?? []
    }

    /// `waiter`'s deadline passed. Returns true when it was still waiting (wake it now), false
    /// when the detection already woke it.
    public mutating func expire(_ waiter: Waiter, for sequence: Int) -> Bool {
        guard let index = waiting[sequence]?.firstIndex(of: waiter) else { return false }
        waiting[sequence]!.remove(at: index)
        if waiting[sequence]!.isEmpty { waiting[sequence] = nil }
        return true
    }

    /// The newest detection of a frame at or before `sequence`, which the carrier grows.
    public func newest(atOrBefore sequence: Int) -> AreaCarrier.Detected? { recent(atOrBefore: sequence, count: 1).first }

    /// The `count` newest detections at or before `sequence`, newest first (the carrier's hold).
    public func recent(atOrBefore sequence: Int, count: Int) -> [AreaCarrier.Detected] {
        Array(detections.filter { $0.key <= sequence }.sorted { $0.key > $1.key }.prefix(count).map(\.value))
    }

    /// Drops what frames before `sequence` left, keeping the newest detection among them as the
    /// fallback for the frames that still need one. Bounds the ledger on an endless stream.
    /// (Nobody waits for a frame before `sequence` any more: the mask stage goes in order.)
    public mutating func forget(before sequence: Int) {
        settled = settled.filter { $0 >= sequence }
        guard let keep = detections.keys.filter({ $0 < sequence }).max() else { return }
        for key in detections.keys where key < keep { detections[key] = nil }
    }

    /// How many frames the ledger remembers (settled or detected): bounded by `forget`.
    public var remembered: Int { settled.union(detections.keys).count }
    /// How many waiters are waiting.
    public var waiters: Int { waiting.values.reduce(0) { $0 + $1.count } }
}

/// Which admitted frames are detected, and which detection a frame waits for: every
/// `detectEvery`-th admitted frame, counted from the first.
public struct DetectionSchedule: Sendable, Equatable {
    public let detectEvery: Int

    public init(detectEvery: Int) { self.detectEvery = max(1, detectEvery) }

    /// Whether admitted frame `sequence` goes to the detector.
    public func isDetected(_ sequence: Int) -> Bool { sequence % detectEvery == 0 }

    /// The scheduled detection frame `sequence` waits for: its own, or the last one before it.
    public func detection(for sequence: Int) -> Int { sequence - sequence % detectEvery }

    /// Once frame `sequence` is masked, what the ledger may forget: everything before the
    /// detection scheduled before this frame's own (kept as the fallback if its own fails), and
    /// before the `hold` scheduled before that (which the carrier looks at for vanished areas).
    public func forgettable(after sequence: Int, hold: Int = 0) -> Int { detection(for: sequence) - (1 + max(0, hold)) * detectEvery }
}

/// Which frames of an ROI-only stream go whole (the *background*, a full masked frame the data
/// center keeps) and which go as patches of their masked areas laid onto it, as a value.
///
/// A full frame is due at the start, `every` frames after the last background, after a frame
/// masked whole (its areas are the frame), and after any failed send of the background or of a
/// patch onto it (the data center may not hold it). A newer background set meanwhile stays.
public struct BackgroundPolicy: Sendable, Equatable {
    public let every: Int
    private var current: (id: String, sequence: Int)?

    public init(every: Int) { self.every = max(1, every) }

    /// How frame `sequence` is to be sent.
    public enum Plan: Sendable, Equatable {
        /// Whole, as a full masked frame (it becomes the background once prepared).
        case full
        /// Only its masked areas, laid onto background `base`.
        case patch(onto: String)
    }

    /// The plan for frame `sequence`; a frame masked whole always goes full.
    public func plan(for sequence: Int, maskedWhole: Bool) -> Plan {
        guard !maskedWhole, let current, sequence - current.sequence < every else { return .full }
        return .patch(onto: current.id)
    }

    /// A full frame with τ id `id` was prepared for frame `sequence`: patches go onto it next.
    public mutating func preparedFull(_ id: String, sequence: Int) { current = (id, sequence) }

    /// Sending the frame whose background (its own τ id for a full frame, its base for a patch)
    /// is `base` failed: if that is still the background, the next frame goes full.
    public mutating func sendFailed(background base: String) {
        if current?.id == base { current = nil }
    }

    /// The background patches go onto now, if any.
    public var background: String? { current?.id }

    public static func == (a: Self, b: Self) -> Bool {
        a.every == b.every && a.current?.id == b.current?.id && a.current?.sequence == b.current?.sequence
    }
}
