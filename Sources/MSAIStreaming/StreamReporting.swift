import Foundation
import MSAICore
import MSAIVision
import Synchronization

/// The edge's status line, on a schedule: every `interval` on `clock`, the rates in and out since
/// the previous line and the counts so far, until the task is cancelled. Tests drive it with a
/// clock they move by hand.
public enum StreamStatus {
    public static func report<C: Clock>(_ counters: StreamCounters, every interval: Duration, clock: C,
                                        emit: @Sendable (String) -> Void) async where C.Duration == Duration {
        var previous = StreamCounters.Snapshot(), previousTime = clock.now
        while !Task.isCancelled {
            do { try await clock.sleep(for: interval) } catch { return }
            let now = await counters.snapshot(), time = clock.now
            emit(now.statusLine(since: previous, over: previousTime.duration(to: time)))
            (previous, previousTime) = (now, time)
        }
    }
}

extension StreamCounters.Snapshot {
    /// The status line with the rates since `earlier`, `elapsed` ago (frames in: received and
    /// dropped; frames out: sent).
    public func statusLine(since earlier: Self, over elapsed: Duration) -> String {
        let seconds = max(0.001, milliseconds(elapsed) / 1000)
        return statusLine(inRate: Double(received + dropped - earlier.received - earlier.dropped) / seconds,
                          outRate: Double(sent - earlier.sent) / seconds)
    }
}

/// Checks, frame by frame, that what the data center recovers is what the edge read: the frame
/// itself, or for a patch frame its areas laid onto the newest full frame sent (`msai edge --verify`).
public actor StreamVerifier {
    private var verified = 0
    private var mismatched: [Int] = []
    /// The newest full frame sent, which patch frames are composed onto.
    private var newestFull: (id: String, pixels: PixelBuffer)?

    public init() {}

    /// `recovered` is what the data center returned for `outcome`'s receipt.
    public func check(_ outcome: FramePipeline.Outcome, recovered: PixelBuffer) {
        let base = outcome.manifest?.composition?.base
        let background = newestFull.flatMap { $0.id == base ? $0.pixels : nil }
        let expected = try? outcome.expectedRecovery(background: background)
        record(expected == recovered, frame: outcome.frame.index)
        if let receipt = outcome.receipt, outcome.manifest?.composition == nil { newestFull = (receipt.frameID, outcome.frame.pixels) }
    }

    /// The recovered frame could not be had.
    public func couldNotRecover(_ outcome: FramePipeline.Outcome) { record(false, frame: outcome.frame.index) }

    private func record(_ identical: Bool, frame: Int) { if identical { verified += 1 } else { mismatched.append(frame) } }

    /// Frames verified bit-exact, and the source numbers of those that were not.
    public var totals: (verified: Int, mismatched: [Int]) { (verified, mismatched) }
}

/// `msai edge --preview` on a stream: the masked view of every frame sent, as a video for people
/// to look at. Frames come from the pipeline's send stage one at a time; a frame the preview
/// cannot take (a size change) is left out of it, `report`ed once, and never stops the stream.
public final class PreviewVideo: Sendable {
    public let path: String
    public let framesPerSecond: Double
    private let report: @Sendable (String) -> Void
    private struct State {
        var writer: VideoWriter?
        var problem: String?
    }
    private let state = Mutex(State())

    public init(path: String, framesPerSecond: Double, report: @escaping @Sendable (String) -> Void) {
        self.path = path
        self.framesPerSecond = framesPerSecond
        self.report = report
    }

    public func append(_ view: PixelBuffer) {
        let problem: String? = state.withLock { state in
            guard state.problem == nil else { return nil }
            do {
                if state.writer == nil {
                    state.writer = try VideoWriter(path: path, framesPerSecond: framesPerSecond, width: view.width, height: view.height)
                }
                try state.writer?.write(view)
                return nil
            } catch {
                state.problem = (error as? MSAIError)?.description ?? "\(error)"
                return state.problem
            }
        }
        if let problem { report("preview: \(problem); the stream goes on without it") }
    }

    /// Closes the file; says where it is.
    public func finish() -> String? {
        state.withLock { state in
            guard let writer = state.writer else { return nil }
            writer.finish()
            return "wrote the masked view of the \(writer.framesWritten) frame(s) sent to \(path)"
        }
    }
}
