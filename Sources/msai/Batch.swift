import ArgumentParser
import Foundation
import MSAICore
import MSAIEvaluation
import MSAIImageIO
import MSAIVision

struct Batch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate every image under folders, in parallel and resumably, into a run folder.",
        discussion: """
            Every JPEG and PNG under the folders (recursively) goes through the three roles in-process, as \\
            in `msai evaluate`; RUN/images/NAME.metrics.json holds each image's figures. Both cores are kept \\
            busy (--jobs). A second run into the same folder skips what is done and retries what failed; one \\
            image's failure is recorded in RUN/failures.jsonl and the batch goes on.

            Example:
              msai batch Datasets --out runs/x
            """)

    @Argument(help: "Folders (searched recursively) or image files.") var inputs: [String]
    @Option(name: .shortAndLong, help: "The run folder (created if missing; resumed if it exists).") var out: String
    @Option(help: "Membrane mode: gf251, hardened or vhe.") var mode = "gf251"
    @Option(help: "Block size of the scrambling.") var block = 8
    @Option(help: "Images evaluated at once (default: one per core).") var jobs = ProcessInfo.processInfo.activeProcessorCount
    @OptionGroup(title: "Privacy policy (what is detected and masked)") var policy: PolicyOptions

    func run() async throws {
        let run: RunFolder
        let pending: [RunFolder.Item]
        let total: Int
        let privacyPolicy: PrivacyPolicy
        let maskingMode: MaskingMode
        do {
            guard let m = MaskingMode(rawValue: mode) else { throw MSAIError.invalidArgument("--mode must be gf251, hardened or vhe, got '\(mode)'") }
            maskingMode = m
            guard jobs >= 1 else { throw MSAIError.invalidArgument("--jobs must be at least 1") }
            privacyPolicy = try policy.resolve()
            let items = try RunFolder.collect(inputs)
            run = try RunFolder.open(out, settings: RunFolder.Settings(mode: mode, block: block, policy: privacyPolicy))
            pending = items.filter { !run.isDone($0) }
            total = items.count
            let skipped = total - pending.count
            print("\(total) image(s) under \(inputs.joined(separator: ", ")); \(skipped) already done in \(out), \(pending.count) to go, \(min(jobs, max(1, pending.count))) at a time")
        } catch let error as MSAIError {
            printError(error.description)
            throw ExitCode(1)
        }
        if jobs > 1 { setInferenceThreads(1) }  // the workers share the cores instead
        let progress = Progress(total: pending.count, interactive: isatty(STDOUT_FILENO) != 0)
        let queue = WorkQueue(pending)
        let models = policy.models
        let blockSize = block
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for _ in 0..<min(jobs, max(1, pending.count)) {
                group.addTask {
                    // Each worker has its own roles and its own detectors (OpenCV nets are not thread-safe).
                    let selector = try AreaSelector.load(policy: privacyPolicy) { try ModelStore.locate(explicit: models) }
                    let evaluator = Evaluator(mode: maskingMode, blockSize: blockSize)
                    var done = 0, failed = 0
                    while let item = await queue.next() {
                        do {
                            let image = try ImageFile.read(item.path)
                            let start = ContinuousClock.now
                            let decision = try selector.select(image)
                            let detectMs = milliseconds(ContinuousClock.now - start)
                            let result = try await evaluator.evaluate(
                                name: item.id, image: image, regions: decision.areas, detectMilliseconds: detectMs,
                                decision: (decision.outcome.rawValue, decision.reason))
                            try run.record(item, report: result.report)
                            done += 1
                            await progress.step(item.id, ok: true)
                        } catch {
                            failed += 1
                            run.recordFailure(item, reason: (error as? MSAIError)?.description ?? "\(error)")
                            await progress.step(item.id, ok: false, reason: (error as? MSAIError)?.description ?? "\(error)")
                        }
                    }
                    return (done, failed)
                }
            }
            var totals = (0, 0)
            for try await (d, f) in group { totals.0 += d; totals.1 += f }
            return totals
        }
        await progress.finish()
        print("\(results.0) evaluated, \(results.1) failed, \(total - pending.count) skipped as done; results in \(out)/images/"
              + (results.1 > 0 ? ", failures in \(out)/failures.jsonl" : ""))
        if results.1 > 0 { throw ExitCode(1) }
    }
}

/// Hands out the images one at a time to the workers.
actor WorkQueue {
    private var items: [RunFolder.Item]
    init(_ items: [RunFolder.Item]) { self.items = items.reversed() }
    func next() -> RunFolder.Item? { items.popLast() }
}

/// A progress bar (done/total, rate, ETA) on a terminal; one plain line per image otherwise.
actor Progress {
    let total: Int
    let interactive: Bool
    private var done = 0
    private let start = ContinuousClock.now

    init(total: Int, interactive: Bool) {
        self.total = total
        self.interactive = interactive
    }

    func step(_ name: String, ok: Bool, reason: String? = nil) {
        done += 1
        let seconds = max(0.001, milliseconds(ContinuousClock.now - start) / 1000)
        let rate = Double(done) / seconds
        let eta = rate > 0 ? Double(total - done) / rate : 0
        if interactive {
            let width = 30, filled = total == 0 ? width : width * done / total
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            let line = String(format: "\r[%@] %d/%d  %.2f img/s  ETA %.0f s  ", bar, done, total, rate, eta)
            FileHandle.standardOutput.write(Data(line.utf8))
            if !ok { FileHandle.standardError.write(Data("\nmsai: error: \(name): \(reason ?? "failed")\n".utf8)) }
        } else {
            print("\(done)/\(total) \(ok ? "ok    " : "FAILED") \(name)" + (reason.map { ": \($0)" } ?? "")
                  + String(format: "  (%.2f img/s, ETA %.0f s)", rate, eta))
        }
    }

    func finish() {
        if interactive { print() }
    }
}
