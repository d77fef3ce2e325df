import ArgumentParser
import Foundation
import MSAICore
import MSAIImageIO
import MSAINetwork
import MSAIRoles
import MSAIStreaming
import MSAIVision

struct Edge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mask and scramble images, videos and live streams, and send them to the data center through the running roles.",
        discussion: """
            For each image: detect (per the policy) or take --region areas, get a membrane per area from \
            the cloud and a tau from the data center, mask, scramble, send. It fails closed: a frame it \
            cannot get keys for is not sent and nothing unmasked is written; it is listed as failed. Every \
            call has a deadline; transient failures are retried with backoff.

            What leaves the edge is sealed: the masked, scrambled frame and its list of areas inside \
            AES-256-GCM under a key derived from the frame's tau seed; only the tau id is readable on \
            the network. --verify recovers each frame back with the recoverer token (the audit log \
            records the reason "msai edge --verify") and checks it equals the original bit for bit (a \
            deployed camera holds no recoverer token; this is for trying things out).

            Streams: a video file, udp://HOST:PORT (a JPEG stream from `msai camera --udp`), an MJPEG \
            stream over HTTP (http://HOST:PORT/PATH, from `msai camera --mjpeg` or an IP camera), or --watch FOLDER \
            (new JPEG and PNG files as they appear) go through the frame pipeline: decode, detect on every \
            Nth frame (--detect-every), mask with the newest detection's areas grown for the frames since \
            (--growth), mask whole any frame whose newest detection is older than --max-age, scramble, send. \
            A live stream that outruns the pipeline loses frames before detection, never unmasked. \
            --motion sends only frames with motion (plus --pre-roll before and --post-roll after) and a \
            keyframe every --keyframe-every frames. A status line shows fps in and out, frames masked, \
            masked whole, dropped and sent. Ctrl-C stops it cleanly. Stream frames travel as QOI \
            (--frame-format). --roi-only sends a full frame every --background-every frames and only the \
            masked areas of the frames between; the data center composes full frames.

            Examples:
              msai edge Datasets --verify
              msai edge Datasets/vtest.avi --detect-every 5
              msai edge udp://127.0.0.1:5555 --motion
              msai edge http://127.0.0.1:8090/ --roi-only
            """)

    @Argument(help: "Images (JPEG or PNG) or folders of them; or one stream: a video file, udp://HOST:PORT or http://HOST:PORT/PATH.")
    var inputs: [String]
    @OptionGroup var config: ConfigOptions
    @Option(help: MaskingMode.help) var mode: MaskingMode = .standard
    @Option(parsing: .unconditional, help: "Block size of the scrambling.") var block = 8
    @Option(name: .customLong("region"), parsing: .unconditionalSingleValue, help: ArgumentHelp("Mask this area (x,y,w,h) instead of detecting; repeatable.", valueName: "x,y,w,h"))
    var regions: [String] = []
    @Option(parsing: .unconditional, help: "Seconds each call to another role may take.") var deadline = 10
    @Option(parsing: .unconditional, help: "Attempts per call for transient failures.") var attempts = 3
    @Flag(help: "Recover each frame with the recoverer token (audited) and compare it with the original.") var verify = false
    @Flag(help: ArgumentHelp(
        "Also write what a viewer will see of what was sent, to look at: NAME.masked-view.png beside each image, VIDEO.masked-view.avi beside a video, masked-view.avi here for a live stream.",
        discussion: "It shows the scene outside the masked areas: keep it where the camera's own pictures may be."))
    var preview = false
    @Option(help: ArgumentHelp("Write the previews into this folder instead.", valueName: "folder")) var previewFolder: String?
    @Option(help: ArgumentHelp("How masked frames travel: png or qoi (default: qoi for streams, png for images; gray frames are always png).",
                               valueName: "format"))
    var frameFormat: MaskedFrameCodec.Format?
    @OptionGroup(title: "Privacy policy (what is detected and masked)") var policy: PolicyOptions
    @OptionGroup(title: "Streams (a video file, udp://, http:// or --watch FOLDER)") var stream: StreamOptions

    func validate() throws {
        guard (1...BlockLayout.maximumBlockSize).contains(block) else {
            throw ValidationError("--block: block size must lie in 1...\(BlockLayout.maximumBlockSize), got \(block)")
        }
        guard deadline >= 1 else { throw ValidationError("--deadline must be at least 1 second, got \(deadline)") }
        guard (1...20).contains(attempts) else { throw ValidationError("--attempts must lie in 1...20, got \(attempts)") }
    }

    /// Where --preview writes the masked view of `input`: NAME.masked-view.EXT beside it, or in
    /// --preview-folder; masked-view.EXT for a live stream (nil), which has no folder of its own;
    /// nil without --preview.
    func previewPath(for input: String?, fileExtension: String) -> String? {
        guard preview || previewFolder != nil else { return nil }
        let file = (input.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent + "." } ?? "")
            + "masked-view." + fileExtension
        let folder = previewFolder ?? input.map { ($0 as NSString).deletingLastPathComponent } ?? ""
        return folder.isEmpty ? file : (folder as NSString).appendingPathComponent(file)
    }

    func run() async throws {
        let start = ContinuousClock.now
        let c: RoleConfiguration
        let selector: AreaSelector
        let files: [String]
        let maskingMode: MaskingMode
        let streamInput: StreamInput?
        let cloudCA: String?, dataCenterCA: String?
        let edgeToken: String, identity: ClientIdentity?
        let format: MaskedFrameCodec.Format
        do {
            maskingMode = mode
            c = try config.load()
            (edgeToken, identity) = try c.edgeCredential(for: [c.cloudURL, c.dataCenterURL], configPath: config.path)
            (cloudCA, dataCenterCA) = (try c.transport(c.cloudURL, role: "cloud"), try c.transport(c.dataCenterURL, role: "data center"))
            let manual = try regions.map(Rect.init(parsing:))
            streamInput = try StreamInput.parse(inputs, watch: stream.watch)
            files = streamInput != nil ? [] : try expandImageInputs(inputs)
            format = frameFormat ?? (streamInput != nil ? .qoi : .png)
            selector = manual.isEmpty ? try policy.selector(for: try policy.resolve()) : .manual(manual)
        } catch let error as MSAIError {
            throw fail(error)
        }
        let retry = RetryPolicy(deadline: .seconds(deadline), attempts: attempts)
        let edge = EdgeCamera(
            membranes: HTTPCloudClient(url: c.cloudURL, edgeToken: edgeToken, retry: retry, caFile: cloudCA, identity: identity),
            scrambling: HTTPDataCenterClient(url: c.dataCenterURL, token: edgeToken, retry: retry, caFile: dataCenterCA, identity: identity),
            egress: HTTPDataCenterClient(url: c.dataCenterURL, token: edgeToken, retry: retry, caFile: dataCenterCA, identity: identity),
            mode: maskingMode, blockSize: block, frameFormat: format)
        // In the jpeg mode, images that are not JPEGs keep the pixel path, hardened.
        let pixelEdge = maskingMode != .jpeg ? edge : EdgeCamera(
            membranes: HTTPCloudClient(url: c.cloudURL, edgeToken: edgeToken, retry: retry, caFile: cloudCA, identity: identity),
            scrambling: HTTPDataCenterClient(url: c.dataCenterURL, token: edgeToken, retry: retry, caFile: dataCenterCA, identity: identity),
            egress: HTTPDataCenterClient(url: c.dataCenterURL, token: edgeToken, retry: retry, caFile: dataCenterCA, identity: identity),
            mode: .hardened, blockSize: block, frameFormat: format)
        let reader = verify ? c.recovererTokens.first.map { HTTPReaderClient(url: c.dataCenterURL, token: $0, retry: retry, caFile: dataCenterCA) } : nil
        if verify && reader == nil { throw fail(MSAIError.invalidArgument("--verify needs a recoverer token (recoverer_tokens or MSAI_RECOVERER_TOKEN)")) }
        if let streamInput {
            // A live stream has no folder to write beside: its preview goes here.
            let file: String? = if case .videoFile(let path) = streamInput { path } else { nil }
            try await stream.run(streamInput, edge: edge, pixelEdge: pixelEdge, selector: selector, reader: reader,
                                 preview: previewPath(for: file, fileExtension: "avi"), metricsTokens: c.metricsTokens)
            return
        }

        var sent = 0, areas = 0, verified = 0
        var failures: [(String, String)] = []
        var verifyFailures: [(String, String)] = []
        var stoppedBefore: Int?
        for (index, file) in files.enumerated() {
            do {
                // What the data center will recover: in the jpeg mode the JPEG's pixels as stored.
                let image: PixelBuffer, decision: AreaDecision, frame: EdgeCamera.MaskedFrame
                let input = try ImageFile.frame(try ImageFile.readBytes(file), dctDomain: maskingMode == .jpeg, name: file)
                image = input.pixels
                decision = try selector.select(image)
                if let jpeg = input.jpeg {
                    frame = try await edge.prepareJPEG(jpeg, areas: decision.areas.map(\.rect))
                } else {
                    frame = try await pixelEdge.prepare(image, areas: decision.areas.map(\.rect))
                }
                let receipt = try await edge.send(frame)
                sent += 1
                areas += receipt.areaCount
                var line = "sent \(file) as frame \(receipt.frameID) (\(decision.summary(areaCount: receipt.areaCount))"
                    + (maskingMode == .jpeg ? (frame.format == .jpeg ? ", in the DCT domain)" : ", hardened: not a JPEG the DCT domain takes)") : ")")
                // Only what was sent: a frame that failed has no preview either.
                if let path = previewPath(for: file, fileExtension: "png") {
                    do {
                        try ImageFile.writeAtomically(try PNGCodec.encode(frame.maskedAreas), to: URL(fileURLWithPath: path))
                        line += "; its masked view in \(path)"
                    } catch {
                        printError("\(path): the preview cannot be written (\((error as? MSAIError)?.description ?? "\(error)"))")
                    }
                }
                if let reader {
                    // The frame is stored whatever happens here: a failed check is not a failed send.
                    do {
                        let recovered = try PNGCodec.decode(
                            try await reader.recovered(frameID: receipt.frameID, reason: verificationReason)).pixels
                        if recovered == image {
                            verified += 1
                            line += ", recovered bit-exactly"
                        } else {
                            verifyFailures.append((file, "the data center's recovered image differs from the original"))
                            line += ", RECOVERY DIFFERS"
                        }
                    } catch {
                        verifyFailures.append((file, (error as? MSAIError)?.description ?? "\(error)"))
                        line += ", could not be verified"
                    }
                }
                print(line)
            } catch {
                let reason = failureReason(error, file: file)
                failures.append((file, reason))
                printError("\(file): not sent: \(reason)")
                // Nothing answers: every later frame would fail the same way, after the same retries.
                if case MSAIError.unreachable = error, index + 1 < files.count {
                    stoppedBefore = index + 1
                    break
                }
            }
        }
        let elapsed = ContinuousClock.now - start
        let seconds = milliseconds(elapsed) / 1000
        print("\(sent) of \(files.count) frame(s) sent, \(areas) area(s) masked, \(failures.count) failed, in \(String(format: "%.1f", seconds)) s"
              + (verify ? "; \(verified) verified bit-exact" : ""))
        if let stoppedBefore {
            print("stopped: the other \(files.count - stoppedBefore) image(s) were not tried, since a role cannot be reached")
        }
        if failures.count > 1 { for (file, _) in failures { print("  not sent: \(file)") } }
        for (file, reason) in verifyFailures { print("  sent but not verified: \(file): \(reason)") }
        if stoppedBefore != nil { throw ExitStatus.unreachable }
        if !failures.isEmpty || !verifyFailures.isEmpty { throw ExitStatus.partial }
    }
}

/// What `--verify` gives as its reason for recovering a frame (it goes into the audit log).
let verificationReason = "msai edge --verify: checking recovery is bit-exact"
