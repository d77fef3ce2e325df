import Foundation
import MSAICore
import Synchronization
import MSAIRoles
import MSAIVision

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
        /// What was sent, for its masked view; nil when nothing was sent.
        let sent: EdgeCamera.MaskedFrame?

        /// The masked view of what was sent (unscrambled, the areas masked: what a viewer will
        /// see), made when asked for (a JPEG frame is decoded for it); nil when nothing was sent.
        public var maskedView: PixelBuffer? { get throws { try sent?.maskedAreas } }

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
    /// In the `jpeg` mode, the edge for frames that did not come as JPEGs (a video file's); else `edge`.
    public let pixelEdge: EdgeCamera
    public let detect: Detect
    public let settings: Settings
    public let counters = StreamCounters()

    /// In the `jpeg` mode a frame that came as a JPEG (`StreamFrame.jpeg`) is masked in the DCT
    /// domain by `edge`; any other frame by `pixelEdge`. ROI-only patches are pixel mosaics, so
    /// they do not go with the `jpeg` mode.
    public init(edge: EdgeCamera, pixelEdge: EdgeCamera? = nil, settings: Settings = Settings(), detect: @escaping Detect) throws {
        guard edge.mode != .jpeg || settings.backgroundEvery == nil else {
            throw MSAIError.invalidArgument("ROI-only transmission sends pixel patches; it does not go with the jpeg mode")
        }
        self.edge = edge
        self.pixelEdge = pixelEdge ?? edge
        self.settings = settings
        self.detect = detect
    }

    private struct Admitted: Sendable {
        let sequence: Int
        let frame: StreamFrame
        let motionReason: String?

        func outcome(_ decision: AreaCarrier.Decision, manifest: FrameManifest? = nil, receipt: FrameReceipt?, error: Error?,
                     sent: EdgeCamera.MaskedFrame? = nil) -> Outcome {
            Outcome(frame: frame, sequence: sequence, decision: decision, motionReason: motionReason, manifest: manifest, receipt: receipt,
                    error: error.map { ($0 as? MSAIError)?.description ?? "\($0)" }, sent: sent)
        }
    }

    private struct Prepared: Sendable {
        let admitted: Admitted
        let decision: AreaCarrier.Decision
        let masked: EdgeCamera.MaskedFrame
    }

    /// What the four stages of one run share: the queues between them, the detection board and
    /// the ROI-only background. Each stage is a method below; `run` starts them and waits.
    private struct Stages<C: Clock>: Sendable where C.Duration == Duration {
        let toDetect: StageQueue<Admitted>
        let toMask: StageQueue<Admitted>
        let toSend: StageQueue<Prepared>
        let board: DetectionBoard<C>
        let background: Locked<BackgroundPolicy>?

        func finishAll() async {
            await toDetect.finish()
            await toMask.finish()
            await toSend.finish()
        }
    }

    /// Runs the stream to its end; `onFrame` hears of every frame that reached the mask stage,
    /// sent or not, in order. Returns the final counts.
    public func run(_ source: FrameSource, limit: Int? = nil, onFrame: @escaping @Sendable (Outcome) async -> Void = { _ in })
        async throws -> StreamCounters.Snapshot
    {
        try await run(source, limit: limit, clock: ContinuousClock(), onFrame: onFrame)
    }

    /// The same, with the detection deadlines on `clock`.
    func run<C: Clock>(_ source: FrameSource, limit: Int? = nil, clock: C, onFrame: @escaping @Sendable (Outcome) async -> Void)
        async throws -> StreamCounters.Snapshot where C.Duration == Duration
    {
        let stages = Stages(
            toDetect: StageQueue<Admitted>(capacity: 2, whenFull: source.isLive ? .dropOldest : .wait),
            toMask: StageQueue<Admitted>(capacity: settings.queueDepth, whenFull: .wait),
            toSend: StageQueue<Prepared>(capacity: settings.queueDepth, whenFull: .wait),
            board: DetectionBoard(clock: clock),
            background: settings.backgroundEvery.map { Locked(BackgroundPolicy(every: $0)) })
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await self.admit(from: source, limit: limit, stages)
                    } catch {
                        await stages.toDetect.finish()
                        await stages.toMask.finish()
                        throw error
                    }
                    await stages.toDetect.finish()
                    await stages.toMask.finish()
                }
                group.addTask { await self.detectStage(stages) }
                group.addTask { await self.maskStage(stages, onFrame: onFrame) }
                group.addTask { await self.sendStage(stages, onFrame: onFrame) }
                try await group.waitForAll()
            }
        } catch {
            // A source that fails ends the stream; nothing half-masked is sent.
            await stages.finishAll()
            throw error
        }
        return await counters.snapshot()
    }

    /// Admit: pull frames (at most `limit`), apply the motion gate, schedule detection, queue for
    /// masking. A live source's detection queue drops its oldest frame when full; that frame's
    /// detection is settled as never run, so nobody waits for it.
    private func admit<C>(from source: FrameSource, limit: Int?, _ stages: Stages<C>) async throws {
        let schedule = DetectionSchedule(detectEvery: settings.detectEvery)
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
                if schedule.isDetected(sequence), let pushedOut = await stages.toDetect.push(item) {
                    await stages.board.settle(pushedOut.sequence, with: nil)
                }
                await stages.toMask.push(item)
                sequence += 1
            }
        }
        await counters.received(dropped: await source.dropped, final: true)
    }

    /// Detect: the scheduled frames, one at a time, ahead of the mask stage. OpenCV blocks for
    /// hundreds of milliseconds, so it runs on a thread of its own, not on one of the few threads
    /// Swift's cooperative pool has for the other stages. A failed detection is not lost: its
    /// frames fall back (then go whole), and the reason is kept for the summary.
    private func detectStage<C>(_ stages: Stages<C>) async {
        let detectionQueue = DispatchQueue(label: "msai.detection", qos: .userInitiated)
        while let item = await stages.toDetect.pop() {
            let start = ContinuousClock.now
            let pixels = item.frame.pixels
            let result = await withCheckedContinuation { continuation in
                detectionQueue.async { [detect] in continuation.resume(returning: Result { try detect(pixels) }) }
            }
            let detected: AreaCarrier.Detected?
            switch result {
            case .success(let areas): detected = AreaCarrier.Detected(frame: item.sequence, time: item.frame.time, areas: areas)
            case .failure(let error):
                detected = nil
                await counters.detectionFailed(because: error)
            }
            await counters.detected(ok: detected != nil, milliseconds: milliseconds(ContinuousClock.now - start))
            await stages.board.settle(item.sequence, with: detected)
        }
    }

    /// Mask and scramble: the carried areas of the newest detection, or the whole frame when it
    /// is too old (`AreaCarrier.decide`); a full frame or a patch as the background policy plans.
    private func maskStage<C>(_ stages: Stages<C>, onFrame: @Sendable (Outcome) async -> Void) async {
        let schedule = DetectionSchedule(detectEvery: settings.detectEvery)
        let carrier = AreaCarrier(settings: settings.carrier)
        while let item = await stages.toMask.pop() {
            await stages.board.wait(for: schedule.detection(for: item.sequence), upTo: settings.detectionWait)
            let frame = item.frame
            let recent = await stages.board.recent(atOrBefore: item.sequence, count: 1 + settings.carrier.hold)
            let decision = carrier.decide(frame: item.sequence, time: frame.time, width: frame.pixels.width,
                                          height: frame.pixels.height, detection: recent.first, earlier: Array(recent.dropFirst()))
            let areas: [Rect]
            switch decision {
            case .areas(let carried, _, _): areas = carried
            case .wholeFrame: areas = [frame.pixels.bounds]
            }
            do {
                let plan = stages.background?.withLock { $0.plan(for: item.sequence, maskedWhole: decision.isWholeFrame) } ?? .full
                let masked: EdgeCamera.MaskedFrame
                switch plan {
                case .patch(let base):
                    masked = try await edge.preparePatches(frame.pixels, areas: areas, background: base)
                case .full:
                    if edge.mode == .jpeg, let jpeg = frame.jpeg {
                        masked = try await edge.prepareJPEG(jpeg, areas: areas)
                    } else {
                        masked = try await pixelEdge.prepare(frame.pixels, areas: areas)
                    }
                    stages.background?.withLock { $0.preparedFull(masked.manifest.tauID, sequence: item.sequence) }
                }
                await counters.masked(whole: decision.isWholeFrame)
                await stages.toSend.push(Prepared(admitted: item, decision: decision, masked: masked))
            } catch {
                await counters.failed()
                await onFrame(item.outcome(decision, receipt: nil, error: error))
            }
            await stages.board.forget(before: schedule.forgettable(after: item.sequence, hold: settings.carrier.hold))
        }
        await stages.toSend.finish()
    }

    /// Send: the edge's single egress. When a background, or a patch onto it, fails, the next
    /// frame starts a new background: patches onto one the data center may not hold would be
    /// refused.
    private func sendStage<C>(_ stages: Stages<C>, onFrame: @Sendable (Outcome) async -> Void) async {
        while let prepared = await stages.toSend.pop() {
            let item = prepared.admitted, manifest = prepared.masked.manifest
            do {
                let receipt = try await edge.send(prepared.masked)
                await counters.sent(patch: manifest.composition != nil, bytes: prepared.masked.sealed.count)
                await onFrame(item.outcome(prepared.decision, manifest: manifest, receipt: receipt, error: nil,
                                           sent: prepared.masked))
            } catch {
                stages.background?.withLock { $0.sendFailed(background: manifest.composition?.base ?? manifest.tauID) }
                await counters.failed()
                await onFrame(item.outcome(prepared.decision, manifest: manifest, receipt: nil, error: error))
            }
        }
    }
}

/// An `AreaSelector` used by the detect stage only, one call at a time.
private final class SerialSelector: @unchecked Sendable {
    let selector: AreaSelector
    init(_ selector: AreaSelector) { self.selector = selector }
}

/// A value the stages share behind a lock (a `Mutex` cannot be copied into a struct of them).
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) throws -> R) rethrows -> R { try mutex.withLock { try body(&$0) } }
}
