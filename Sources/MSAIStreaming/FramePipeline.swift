import Foundation
import MSAICore
import Synchronization
import MSAIRoles
import MSAIVision

/// One decoded frame of a stream: its number at the source, its time in the stream (from the
/// container's frame rate for files, from arrival for live sources), and its pixels.
public struct StreamFrame: Sendable {
    public let index: Int
    public let time: Duration
    public let pixels: PixelBuffer

    public init(index: Int, time: Duration, pixels: PixelBuffer) {
        self.index = index
        self.time = time
        self.pixels = pixels
    }
}

/// Where a stream's frames come from. `next()` is called by one task at a time; nil ends the
/// stream. A live source drops frames itself when the pipeline falls behind (before detection)
/// and counts them in `dropped`.
public protocol FrameSource: AnyObject, Sendable {
    func next() async throws -> StreamFrame?
    var dropped: Int { get async }
    /// Ends the stream: `next()` returns nil from now on (callable from any thread).
    func close()
    /// A live source cannot wait: when detection falls behind, scheduled detections are skipped
    /// (the frames reuse older areas, or go whole). A file can wait: every scheduled frame is detected.
    var isLive: Bool { get }
}

/// The edge's frame pipeline: decode → (motion gate) → detect every Nth frame → mask and
/// scramble → send, as concurrent stages joined by bounded queues.
///
/// Detection runs in its own stage, ahead of masking, on every `detectEvery`-th admitted frame.
/// The mask stage gives each frame the areas of the newest detection at or before it, grown
/// for the frames elapsed (`AreaCarrier`); it waits up to `detectionWait` for the frame's own
/// scheduled detection, and a frame whose newest detection is too old is masked whole. Every
/// frame leaves through `EdgeCamera.send` after `EdgeCamera.prepare`: a frame that cannot be
/// masked is counted as failed and never sent.
///
/// With `backgroundEvery` (ROI-only transmission), a full masked frame is sent first and then
/// every `backgroundEvery` frames; the frames between send only their masked areas as patch
/// frames (`EdgeCamera.preparePatches`) which the data center lays onto that background. A
/// frame masked whole, and the frame after any failed send, go as full frames again.
public final class FramePipeline: Sendable {
    public struct Settings: Sendable {
        public var detectEvery: Int
        public var carrier: AreaCarrier.Settings
        /// How long the mask stage waits for a frame's scheduled detection before it falls back
        /// to an older one (or to the whole frame).
        public var detectionWait: Duration
        /// Frames waiting between stages.
        public var queueDepth: Int
        /// Frame-difference motion trigger (seed 003); nil sends every frame.
        public var motion: MotionSettings?
        /// ROI-only transmission (seed 002): send a full frame every this many frames and only
        /// the masked areas of the frames between; nil sends every frame whole.
        public var backgroundEvery: Int?

        public init(detectEvery: Int = 1, carrier: AreaCarrier.Settings = .init(), detectionWait: Duration = .seconds(2),
                    queueDepth: Int = 3, motion: MotionSettings? = nil, backgroundEvery: Int? = nil) {
            self.detectEvery = max(1, detectEvery)
            self.carrier = carrier
            self.detectionWait = detectionWait
            self.queueDepth = max(1, queueDepth)
            self.motion = motion
            self.backgroundEvery = backgroundEvery.map { max(1, $0) }
        }
    }

    public struct MotionSettings: Sendable {
        public var detector: MotionDetector
        public var preRoll: Int
        public var postRoll: Int
        public var keyframeInterval: Int

        public init(detector: MotionDetector = MotionDetector(), preRoll: Int = 3, postRoll: Int = 5, keyframeInterval: Int = 50) {
            self.detector = detector
            self.preRoll = preRoll
            self.postRoll = postRoll
            self.keyframeInterval = keyframeInterval
        }
    }

    /// Finds the areas to mask in a frame (the policy's detectors, or fixed areas). Throwing
    /// counts as a failed detection: the frames relying on it fall back, then go whole.
    public typealias Detect = @Sendable (PixelBuffer) throws -> [Rect]

    /// What happened to one frame that reached the mask stage.
    public struct Outcome: Sendable {
        public let frame: StreamFrame
        /// The frame's number among the frames admitted (after drops and the motion gate).
        public let sequence: Int
        public let decision: AreaCarrier.Decision
        public let motionReason: String?
        /// What was sent (nil when the frame could not be masked).
        public let manifest: FrameManifest?
        public let receipt: FrameReceipt?
        public let error: String?
        /// The masked view of what was sent (unscrambled, the areas masked: what a viewer will
        /// see); nil when nothing was sent.
        public let maskedView: PixelBuffer?

        /// What the data center recovers from this frame when it is sent: the frame itself, or
        /// for a patch frame its areas laid onto `background` (the pixels of the frame whose
        /// id the patch names).
        public func expectedRecovery(background: PixelBuffer?) throws -> PixelBuffer {
            guard let composition = manifest?.composition else { return frame.pixels }
            guard var expected = background else {
                throw MSAIError.unknownKey("patch frame \(frame.index) names background \(composition.base), which was not seen")
            }
            for piece in composition.pieces { try expected.copy(piece.frameRect, of: frame.pixels, to: piece.frameRect) }
            return expected
        }
    }

    /// The policy's detectors as the detect stage: the areas `AreaSelector.select` decides
    /// (the whole frame when it fails closed). OpenCV nets are not thread-safe; the detect stage
    /// calls this one frame at a time, which is what makes sharing the selector sound.
    public static func detecting(with selector: AreaSelector) -> Detect {
        let shared = SerialSelector(selector)
        return { try shared.selector.select($0).areas.map(\.rect) }
    }

    public let edge: EdgeCamera
    public let detect: Detect
    public let settings: Settings
    public let counters = StreamCounters()

    public init(edge: EdgeCamera, settings: Settings = Settings(), detect: @escaping Detect) {
        self.edge = edge
        self.settings = settings
        self.detect = detect
    }

    private struct Admitted: Sendable {
        let sequence: Int
        let frame: StreamFrame
        let motionReason: String?

        func outcome(_ decision: AreaCarrier.Decision, manifest: FrameManifest? = nil, receipt: FrameReceipt?, error: Error?,
                     maskedView: PixelBuffer? = nil) -> Outcome {
            Outcome(frame: frame, sequence: sequence, decision: decision, motionReason: motionReason, manifest: manifest, receipt: receipt,
                    error: error.map { ($0 as? MSAIError)?.description ?? "\($0)" }, maskedView: maskedView)
        }
    }

    private struct Prepared: Sendable {
        let admitted: Admitted
        let decision: AreaCarrier.Decision
        let masked: EdgeCamera.MaskedFrame
    }

    /// Runs the stream to its end; `onFrame` hears of every frame that reached the mask stage,
    /// sent or not, in order. Returns the final counts.
    public func run(_ source: FrameSource, limit: Int? = nil, onFrame: @escaping @Sendable (Outcome) async -> Void = { _ in })
        async throws -> StreamCounters.Snapshot
    {
        let depth = settings.queueDepth
        let toDetect = StageQueue<Admitted>(capacity: 2, whenFull: source.isLive ? .dropOldest : .wait)
        let toMask = StageQueue<Admitted>(capacity: depth, whenFull: .wait)
        let toSend = StageQueue<Prepared>(capacity: depth, whenFull: .wait)
        let board = DetectionBoard()
        let background = BackgroundFrame()
        let counters = self.counters
        let settings = self.settings

        try await withThrowingTaskGroup(of: Void.self) { group in
            // Admit: pull frames (at most `limit`), apply the motion gate, schedule detection, queue for masking.
            @Sendable func admit() async throws {
                var gate = settings.motion.map {
                    MotionGate<StreamFrame>(detector: $0.detector, preRoll: $0.preRoll, postRoll: $0.postRoll, keyframeInterval: $0.keyframeInterval)
                }
                var sequence = 0, read = 0
                while limit.map({ read < $0 }) ?? true, let frame = try await source.next() {
                    read += 1
                    await counters.received(dropped: await source.dropped)
                    let admitted: [(StreamFrame, String?)]
                    if gate != nil {
                        admitted = gate!.admit(frame, pixels: frame.pixels).map { ($0.0, $0.1.rawValue) }
                        if admitted.isEmpty { await counters.skippedStill() }
                    } else {
                        admitted = [(frame, nil)]
                    }
                    for (frame, reason) in admitted {
                        let item = Admitted(sequence: sequence, frame: frame, motionReason: reason)
                        if sequence % settings.detectEvery == 0, let pushedOut = await toDetect.push(item) {
                            await board.settle(pushedOut.sequence, with: nil)  // dropped before detection
                        }
                        await toMask.push(item)
                        sequence += 1
                    }
                }
                await counters.received(dropped: await source.dropped, final: true)
            }
            group.addTask {
                do {
                    try await admit()
                } catch {
                    await toDetect.finish()
                    await toMask.finish()
                    throw error
                }
                await toDetect.finish()
                await toMask.finish()
            }
            // Detect: the scheduled frames, one at a time, ahead of the mask stage. OpenCV blocks
            // for hundreds of milliseconds, so it runs on a thread of its own, not on one of the
            // few threads Swift's cooperative pool has for the other stages.
            group.addTask { [detect] in
                let detectionQueue = DispatchQueue(label: "msai.detection", qos: .userInitiated)
                while let item = await toDetect.pop() {
                    let start = ContinuousClock.now
                    let pixels = item.frame.pixels
                    let result = await withCheckedContinuation { continuation in
                        detectionQueue.async { continuation.resume(returning: Result { try detect(pixels) }) }
                    }
                    // A failed detection is not lost: its frames fall back (then go whole), and
                    // the reason is kept for the summary.
                    let areas = try? result.get()
                    if case .failure(let error) = result { await counters.detectionFailed(because: error) }
                    await counters.detected(ok: areas != nil, milliseconds: milliseconds(ContinuousClock.now - start))
                    await board.settle(item.sequence, with: areas.map {
                        AreaCarrier.Detected(frame: item.sequence, time: item.frame.time, areas: $0)
                    })
                }
            }
            // Mask and scramble: the carried areas, or the whole frame.
            group.addTask { [edge, settings] in
                let carrier = AreaCarrier(settings: settings.carrier)
                while let item = await toMask.pop() {
                    let scheduled = item.sequence - item.sequence % settings.detectEvery
                    await board.wait(for: scheduled, upTo: settings.detectionWait)
                    let frame = item.frame
                    let decision = carrier.decide(frame: item.sequence, time: frame.time, width: frame.pixels.width,
                                                  height: frame.pixels.height, detection: await board.newest(atOrBefore: item.sequence))
                    let areas: [Rect]
                    switch decision {
                    case .areas(let carried, _, _): areas = carried
                    case .wholeFrame: areas = [frame.pixels.bounds]
                    }
                    do {
                        let masked: EdgeCamera.MaskedFrame
                        if let every = settings.backgroundEvery, !decision.isWholeFrame,
                            let base = background.current(for: item.sequence, every: every)
                        {
                            masked = try await edge.preparePatches(frame.pixels, areas: areas, background: base)
                        } else {
                            masked = try await edge.prepare(frame.pixels, areas: areas)
                            if settings.backgroundEvery != nil { background.set(masked.manifest.tauID, sequence: item.sequence) }
                        }
                        await counters.masked(whole: decision.isWholeFrame)
                        await toSend.push(Prepared(admitted: item, decision: decision, masked: masked))
                    } catch {
                        await counters.failed()
                        await onFrame(item.outcome(decision, receipt: nil, error: error))
                    }
                    await board.forget(before: scheduled - settings.detectEvery)
                }
                await toSend.finish()
            }
            // Send: the edge's single egress.
            group.addTask { [edge] in
                while let prepared = await toSend.pop() {
                    let item = prepared.admitted
                    do {
                        let receipt = try await edge.send(prepared.masked)
                        await counters.sent(patch: prepared.masked.manifest.composition != nil, bytes: prepared.masked.sealed.count)
                        await onFrame(item.outcome(prepared.decision, manifest: prepared.masked.manifest, receipt: receipt, error: nil,
                                                   maskedView: prepared.masked.maskedAreas))
                    } catch {
                        // When a background, or a patch onto it, fails, the next frame starts a new
                        // background: patches onto one the data center may not hold would be refused.
                        // A newer background set meanwhile stays.
                        let manifest = prepared.masked.manifest
                        background.clear(ifItIs: manifest.composition?.base ?? manifest.tauID)
                        await counters.failed()
                        await onFrame(item.outcome(prepared.decision, manifest: prepared.masked.manifest, receipt: nil, error: error))
                    }
                }
            }
            do {
                try await group.waitForAll()
            } catch {
                // A source that fails ends the stream; nothing half-masked is sent.
                await toDetect.finish()
                await toMask.finish()
                await toSend.finish()
                throw error
            }
        }
        return await counters.snapshot()
    }
}

/// An `AreaSelector` used by the detect stage only, one call at a time.
private final class SerialSelector: @unchecked Sendable {
    let selector: AreaSelector
    init(_ selector: AreaSelector) { self.selector = selector }
}

/// The background frame patch frames are laid onto: set by the mask stage when it prepares a
/// full frame, cleared by the send stage when a send fails.
private final class BackgroundFrame: Sendable {
    private let state = Mutex<(id: String, sequence: Int)?>(nil)

    /// The background for frame `sequence`, or nil when a new full frame is due.
    func current(for sequence: Int, every: Int) -> String? {
        state.withLock { $0.flatMap { sequence - $0.sequence < every ? $0.id : nil } }
    }
    func set(_ id: String, sequence: Int) { state.withLock { $0 = (id, sequence) } }
    func clear(ifItIs id: String) { state.withLock { if $0?.id == id { $0 = nil } } }
}

/// Completed detections by admitted-frame number, shared by the detect and mask stages. A mask
/// stage waiting for a detection is woken by it (or by its deadline), not by polling.
actor DetectionBoard {
    private var detections: [Int: AreaCarrier.Detected] = [:]
    private var settled: Set<Int> = []
    private var waiters: [Int: [(id: Int, continuation: CheckedContinuation<Void, Never>)]] = [:]
    private var nextWaiter = 0

    /// Records the detection of frame `sequence` (nil: it failed or was never run) and wakes
    /// whoever waits for it.
    func settle(_ sequence: Int, with detection: AreaCarrier.Detected?) {
        settled.insert(sequence)
        if let detection { detections[sequence] = detection }
        for waiter in waiters.removeValue(forKey: sequence) ?? [] { waiter.continuation.resume() }
    }

    /// Returns once frame `sequence`'s detection is settled, or after `limit` on `clock`.
    func wait<C: Clock>(for sequence: Int, upTo limit: C.Duration, clock: C) async where C.Duration == Duration {
        guard !settled.contains(sequence) else { return }
        nextWaiter += 1
        let id = nextWaiter
        let timer = Task { [weak self] in
            try? await clock.sleep(for: limit)
            await self?.expire(sequence, id)
        }
        await withCheckedContinuation { continuation in waiters[sequence, default: []].append((id, continuation)) }
        timer.cancel()
    }

    func wait(for sequence: Int, upTo limit: Duration) async { await wait(for: sequence, upTo: limit, clock: ContinuousClock()) }

    private func expire(_ sequence: Int, _ id: Int) {
        guard let index = waiters[sequence]?.firstIndex(where: { $0.id == id }) else { return }
        waiters[sequence]!.remove(at: index).continuation.resume()
        if waiters[sequence]!.isEmpty { waiters[sequence] = nil }
    }

    func newest(atOrBefore sequence: Int) -> AreaCarrier.Detected? {
        detections.filter { $0.key <= sequence }.max { $0.key < $1.key }?.value
    }

    /// Drops detections older than `sequence`, keeping the newest of them as a fallback.
    func forget(before sequence: Int) {
        guard let keep = detections.keys.filter({ $0 < sequence }).max() else { return }
        for key in detections.keys where key < keep { detections[key] = nil }
        settled = settled.filter { $0 >= keep }
    }
}

/// The stream's figures, for the status line and the final summary.
public actor StreamCounters {
    public struct Snapshot: Sendable, Equatable {
        public var received = 0
        /// Dropped by a live source before detection, the pipeline being behind.
        public var dropped = 0
        /// Not sent because the motion gate found nothing moving.
        public var still = 0
        public var detections = 0
        public var detectionsFailed = 0
        /// Why the last detection that failed did.
        public var lastDetectionError: String?
        public var detectionMilliseconds = 0.0
        public var maskedAreas = 0
        public var maskedWhole = 0
        public var sent = 0
        /// Of those sent, patch frames (ROI-only transmission).
        public var sentPatches = 0
        public var bytesSent = 0
        public var failed = 0
        public init() {}
    }

    private var now = Snapshot()
    public init() {}

    func received(dropped: Int, final: Bool = false) {
        if !final { now.received += 1 }
        now.dropped = dropped
    }
    func skippedStill() { now.still += 1 }
    func detected(ok: Bool, milliseconds: Double) {
        if ok { now.detections += 1 } else { now.detectionsFailed += 1 }
        now.detectionMilliseconds += milliseconds
    }
    func detectionFailed(because error: Error) { now.lastDetectionError = (error as? MSAIError)?.description ?? "\(error)" }
    func masked(whole: Bool) { if whole { now.maskedWhole += 1 } else { now.maskedAreas += 1 } }
    func sent(patch: Bool, bytes: Int) {
        now.sent += 1
        now.bytesSent += bytes
        if patch { now.sentPatches += 1 }
    }
    func failed() { now.failed += 1 }

    public func snapshot() -> Snapshot { now }
}

extension StreamCounters.Snapshot {
    /// The edge's status line: rates in and out, then what happened to the frames so far.
    public func statusLine(inRate: Double, outRate: Double) -> String {
        String(format: "in %.1f fps, out %.1f fps | ", inRate, outRate)
            + "received \(received), masked \(maskedAreas + maskedWhole) (whole \(maskedWhole)), dropped \(dropped)"
            + (still > 0 ? ", still \(still)" : "") + ", sent \(sent)" + (sentPatches > 0 ? " (\(sentPatches) areas only)" : "")
            + (failed > 0 ? ", FAILED \(failed)" : "")
    }
}
