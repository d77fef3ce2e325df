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

/// `msai edge --areas-log FILE`: one JSON line per frame that reached the mask stage, saying what
/// was masked on it (the areas, or the whole frame), which detection the areas came from and how
/// many frames old it was, and whether the frame was sent. It stays on the camera: it holds where
/// people were, which the data center learns only from the sealed frame. `make bench` reads it to
/// measure the stream's coverage against detection on every frame at full settings.
public actor MaskedAreasLog {
    /// One line of the log.
    public struct Entry: Codable, Sendable, Equatable {
        /// The frame's number in the source, and among the frames admitted (after drops and the
        /// motion gate: `detected_at` counts in the same numbering).
        public let frame: Int
        public let sequence: Int
        /// The areas masked, as x, y, width, height; the whole frame's bounds when masked whole.
        public let areas: [[Int]]
        public let whole: Bool
        /// The frame whose detection gave the areas, and how many frames before this one it was.
        public let detectedAt: Int?
        public let age: Int?
        public let sent: Bool
        public let error: String?

        enum CodingKeys: String, CodingKey {
            case frame, sequence, areas, whole, sent, error
            case detectedAt = "detected_at"
            case age
        }

        public var rects: [Rect] { areas.compactMap { $0.count == 4 ? Rect(x: $0[0], y: $0[1], width: $0[2], height: $0[3]) : nil } }
    }

    private let handle: FileHandle
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    /// Creates (or empties) the file at `path`.
    public init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw MSAIError.io("cannot write the areas log \(path)")
        }
        self.handle = handle
    }

    public func record(_ outcome: FramePipeline.Outcome) throws {
        let entry: Entry
        switch outcome.decision {
        case .areas(let areas, let detectedAt, let age):
            entry = Entry(frame: outcome.frame.index, sequence: outcome.sequence, areas: areas.map { [$0.x, $0.y, $0.width, $0.height] }, whole: false,
                          detectedAt: detectedAt, age: age, sent: outcome.receipt != nil, error: outcome.error)
        case .wholeFrame:
            let b = outcome.frame.pixels.bounds
            entry = Entry(frame: outcome.frame.index, sequence: outcome.sequence, areas: [[b.x, b.y, b.width, b.height]], whole: true,
                          detectedAt: nil, age: nil, sent: outcome.receipt != nil, error: outcome.error)
        }
        try handle.write(contentsOf: try encoder.encode(entry) + Data("\n".utf8))
    }

    public func close() throws { try handle.close() }

    /// The entries of a log file, in order.
    public static func read(_ path: String) throws -> [Entry] {
        let decoder = JSONDecoder()
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").enumerated().map { number, line in
            do { return try decoder.decode(Entry.self, from: Data(line.utf8)) } catch {
                throw MSAIError.invalidArgument("\(path) line \(number + 1): not an areas-log entry (\(error))")
            }
        }
    }
}
