import ArgumentParser
import Foundation
import MSAICore
import MSAIEvaluation
import MSAIImageIO
import MSAINetwork
import MSAIRoles
import MSAIVision

struct Batch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate every image under folders, in parallel and resumably, into a run folder.",
        discussion: """
            Every JPEG and PNG under the folders (recursively) goes through the three roles, as in \
            `msai evaluate`; RUN/images/NAME.metrics.json holds each image's figures. Each image is also \
            evaluated resized to the paper's 256x256 (NAME@256x256; --paper-size none skips it), for the \
            report's reproduction of the paper's Tables 2 and 3. Both cores are kept busy (--jobs). A second \
            run into the same folder skips what is done and retries what failed; one image's failure is \
            recorded in RUN/failures.jsonl and the batch goes on.

            The roles run in this process unless --cloud and --datacenter name running ones (`msai up`); \
            then the tokens come from --config (the edge token for masking, a recoverer token to recover each \
            frame back for the metrics, audited with the reason "msai batch").

            For the paper's own tables use --mode gf251: the default mode, hardened, is not the paper's map.

            Examples:
              msai batch Datasets --out runs/x
              msai report runs/x
              msai batch Datasets --mode gf251 --out runs/paper
              msai report runs/x runs/paper
            """)

    @Argument(help: "Folders (searched recursively) or image files.") var inputs: [String]
    @Option(name: .shortAndLong, help: "The run folder (created if missing; resumed if it exists).") var out: String
    @Option(help: MaskingMode.help) var mode: MaskingMode = .standard
    @Option(parsing: .unconditional, help: "Block size of the scrambling.") var block = 8
    @Option(name: .customLong("jobs"), parsing: .unconditional, help: "Images evaluated at once (default: one per core).") var jobsOption: Int?
    private var jobs: Int { jobsOption ?? ProcessInfo.processInfo.activeProcessorCount }
    @Option(help: "Also evaluate every image resized to WxH (the paper used 256x256); 'none' to skip.") var paperSize = "256x256"
    @Option(help: "A running cloud's URL (with --datacenter): use the roles over the network.") var cloud: String?
    @Option(help: "A running data center's URL (with --cloud).") var datacenter: String?
    @OptionGroup var config: ConfigOptions
    @Option(parsing: .unconditional, help: "Seconds each call to a running role may take.") var deadline = 10
    @OptionGroup(title: "Privacy policy (what is detected and masked)") var policy: PolicyOptions

    func validate() throws {
        guard (1...BlockLayout.maximumBlockSize).contains(block) else {
            throw ValidationError("--block: block size must lie in 1...\(BlockLayout.maximumBlockSize), got \(block)")
        }
        guard deadline >= 1 else { throw ValidationError("--deadline must be at least 1 second, got \(deadline)") }
        guard jobsOption.map({ $0 >= 1 }) ?? true else { throw ValidationError("--jobs must be at least 1") }
    }

    func run() async throws {
        let run: RunFolder
        let pending: [RunFolder.Item]
        let total: Int
        let privacyPolicy: PrivacyPolicy
        let makeEvaluator: @Sendable () -> Evaluator
        do {
            let m = mode
            privacyPolicy = try policy.resolveForResearch()
            // A detector that cannot load is named now, once, rather than by every worker.
            if privacyPolicy.onDetectorFailure == .stop {
                _ = try AreaSelector.load(policy: privacyPolicy) { try ModelStore.locate(explicit: policy.models) }
            }
            let paper = paperSize.lowercased() == "none" ? nil : try RunFolder.Size(parsing: paperSize, option: "--paper-size")
            makeEvaluator = try evaluatorFactory(mode: m)
            let found = try RunFolder.collect(inputs)
            let items = found + (paper.map { size in found.map { $0.resized(to: size) } } ?? [])
            run = try RunFolder.open(out, settings: RunFolder.Settings(mode: mode.rawValue, block: block, policy: privacyPolicy,
                                                                        paperSize: paper?.description))
            pending = items.filter { !run.isDone($0) }
            total = items.count
            let skipped = total - pending.count
            print("\(found.count) image(s) under \(inputs.joined(separator: ", "))"
                  + (paper.map { ", each also at \($0) (\(total) evaluations)" } ?? "") + (cloud.map { ", through the roles at \($0) and \(datacenter ?? "")" } ?? "")
                  + "; \(skipped) already done in \(out), \(pending.count) to go, \(min(jobs, max(1, pending.count))) at a time")
        } catch let error as MSAIError {
            throw fail(error)
        }
        if jobs > 1 { setInferenceThreads(1) }  // the workers share the cores instead
        let progress = Progress(total: pending.count, interactive: isatty(STDOUT_FILENO) != 0)
        let models = policy.models
        let runner = BatchRunner(jobs: jobs, makeSelector: { try AreaSelector.load(policy: privacyPolicy) { try ModelStore.locate(explicit: models) } },
                                 makeEvaluator: makeEvaluator)
        let totals = try await runner.run(pending, into: run) { step in
            switch step {
            case .evaluated(let id): await progress.step(id, ok: true)
            case .failed(let id, let reason): await progress.step(id, ok: false, reason: reason)
            }
        }
        let results = (totals.evaluated, totals.failed)
        await progress.finish()
        let untried = totals.untried
        print("\(results.0) evaluated, \(results.1) failed, \(total - pending.count) skipped as done; results in \(out)/images/"
              + (results.1 > 0 ? ", failures in \(out)/failures.jsonl" : ""))
        if untried > 0 {
            print("stopped: the other \(untried) image(s) were not tried, since a role cannot be reached; run the same command again once it can")
        }
        if untried > 0 { throw ExitStatus.unreachable }
        if results.1 > 0 { throw ExitStatus.partial }
        print("next: msai report \(out)")
    }
}

extension Batch {
    /// In-process roles by default; with --cloud and --datacenter, clients of running ones, the
    /// originals recovered back with a recoverer token (audited with the reason "msai batch").
    func evaluatorFactory(mode: MaskingMode) throws -> @Sendable () -> Evaluator {
        let blockSize = block
        guard cloud != nil || datacenter != nil else {
            return { Evaluator(mode: mode, blockSize: blockSize) }
        }
        guard let cloudURL = cloud, let dataCenterURL = datacenter else {
            throw MSAIError.invalidArgument("--cloud and --datacenter go together: give both URLs, or neither for in-process roles")
        }
        let c = try config.load()
        let (edgeToken, identity) = try c.edgeCredential(for: [cloudURL, dataCenterURL], configPath: config.path)
        guard let readerToken = c.recovererTokens.first, !readerToken.isEmpty else {
            throw MSAIError.invalidArgument("\(config.path): no recoverer token (recoverer_tokens or MSAI_RECOVERER_TOKEN): the batch recovers each frame back")
        }
        let cloudCA = try c.transport(cloudURL, role: "cloud", setting: "--cloud")
        let dataCenterCA = try c.transport(dataCenterURL, role: "data center", setting: "--datacenter")
        let retry = RetryPolicy(deadline: .seconds(deadline), attempts: 3)
        return {
            let dataCenter = HTTPDataCenterClient(url: dataCenterURL, token: edgeToken, retry: retry, setting: "--datacenter",
                                                  caFile: dataCenterCA, identity: identity)
            let reader = HTTPReaderClient(url: dataCenterURL, token: readerToken, retry: retry, setting: "--datacenter", caFile: dataCenterCA)
            let cloud = HTTPCloudClient(url: cloudURL, edgeToken: edgeToken, retry: retry, setting: "--cloud", caFile: cloudCA, identity: identity)
            let edge = EdgeCamera(membranes: cloud, scrambling: dataCenter, egress: dataCenter, mode: mode, blockSize: blockSize)
            // In the jpeg mode, images that are not JPEGs go hardened.
            let pixelEdge = mode == .jpeg ? EdgeCamera(membranes: cloud, scrambling: dataCenter, egress: dataCenter, mode: .hardened, blockSize: blockSize) : edge
            return Evaluator(edge: edge, pixelEdge: pixelEdge) { id in (try PNGCodec.decode(try await reader.recovered(frameID: id, reason: "msai batch: measuring recovery")).pixels, StepTimings()) }
        }
    }
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
