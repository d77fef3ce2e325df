import Foundation
import MSAICore
import MSAIImageIO
import MSAIVision

/// `msai batch`'s engine: evaluates the pending images of a run folder with `jobs` workers, each
/// with its own roles and detectors (OpenCV nets are not thread-safe), records each image's
/// previews and metrics (the metrics file marks it done) or its failure, and stops handing out
/// images once a role cannot be reached (they stay pending for the next run).
public struct BatchRunner: Sendable {
    public struct Totals: Sendable, Equatable {
        public var evaluated = 0
        public var failed = 0
        /// Not tried because a role could not be reached.
        public var untried = 0

        public init(evaluated: Int = 0, failed: Int = 0, untried: Int = 0) {
            self.evaluated = evaluated
            self.failed = failed
            self.untried = untried
        }
    }

    /// What a worker tells the caller after each image (for a progress line).
    public enum Step: Sendable {
        case evaluated(String)
        case failed(String, reason: String)
    }

    public let jobs: Int
    public let makeSelector: @Sendable () throws -> AreaSelector
    public let makeEvaluator: @Sendable () -> Evaluator

    public init(jobs: Int, makeSelector: @escaping @Sendable () throws -> AreaSelector, makeEvaluator: @escaping @Sendable () -> Evaluator) {
        self.jobs = max(1, jobs)
        self.makeSelector = makeSelector
        self.makeEvaluator = makeEvaluator
    }

    public func run(_ pending: [RunFolder.Item], into run: RunFolder, onStep: @escaping @Sendable (Step) async -> Void = { _ in })
        async throws -> Totals
    {
        let queue = WorkQueue(pending)
        var totals = try await withThrowingTaskGroup(of: Totals.self) { group in
            for _ in 0..<min(jobs, max(1, pending.count)) {
                group.addTask {
                    let selector = try makeSelector()
                    let evaluator = makeEvaluator()
                    var mine = Totals()
                    while let item = await queue.next() {
                        do {
                            try await Self.evaluate(item, selector: selector, evaluator: evaluator, into: run)
                            mine.evaluated += 1
                            await onStep(.evaluated(item.id))
                        } catch {
                            mine.failed += 1
                            let reason = (error as? MSAIError)?.description ?? "\(error)"
                            run.recordFailure(item, reason: reason)
                            await onStep(.failed(item.id, reason: reason))
                            // Nothing answers: every other image would fail the same way.
                            if case MSAIError.unreachable = error { await queue.stop() }
                        }
                    }
                    return mine
                }
            }
            var all = Totals()
            for try await part in group {
                all.evaluated += part.evaluated
                all.failed += part.failed
            }
            return all
        }
        totals.untried = await queue.stoppedWith
        return totals
    }

    static func evaluate(_ item: RunFolder.Item, selector: AreaSelector, evaluator: Evaluator, into run: RunFolder) async throws {
        var (image, jpeg) = try evaluator.input(item.path)
        if let size = item.resize {
            image = try image.resized(width: size.width, height: size.height)
            // A resized JPEG is what a camera of that size would send: encoded again.
            if jpeg != nil {
                jpeg = try JPEGCodec.encode(image, quality: 90)
                image = try JPEGCodec.decodeAsStored(jpeg!)
            }
        }
        let start = ContinuousClock.now
        let decision = try selector.select(image)
        let detectMs = milliseconds(ContinuousClock.now - start)
        let result = try await evaluator.evaluate(
            name: item.id, image: image, jpeg: jpeg, regions: decision.areas, detectMilliseconds: detectMs,
            decision: (decision.outcome.rawValue, decision.reason))
        // Previews first: the metrics file marks the image done.
        try run.recordPreviews(item, try Previews.make(
            original: image, masked: result.masked.scrambled, view: result.masked.maskedAreas, recovered: result.recovered))
        try run.record(item, report: result.report)
    }
}

/// Hands out the images one at a time to the workers.
actor WorkQueue {
    private var items: [RunFolder.Item]
    private(set) var stoppedWith = 0
    init(_ items: [RunFolder.Item]) { self.items = items.reversed() }
    func next() -> RunFolder.Item? { items.popLast() }
    /// Hands out nothing more; remembers how many were left.
    func stop() {
        stoppedWith += items.count
        items.removeAll()
    }
}
