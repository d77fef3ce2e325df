import ArgumentParser
import Foundation
import MSAICore
import MSAIImageIO
import MSAINetwork
import MSAIRoles
import MSAIStreaming
import MSAIVision

/// `msai edge`'s options for video files and live streams, and the stream run itself.
struct StreamOptions: ParsableArguments {
    @Option(help: "Watch this folder for new JPEG and PNG files and stream them.") var watch: String?
    @Option(parsing: .unconditional, help: "Run detection on every Nth frame; the frames between reuse its areas, grown.") var detectEvery = 5
    @Option(parsing: .unconditional, help: "Seconds (stream time) a detection is trusted; older means the frame is masked whole.") var maxAge = 1.0
    @Option(parsing: .unconditional, help: "Growth of carried areas per frame, as a share of the area's larger side, on every side.") var growth = 0.04
    @Option(parsing: .unconditional, help: "Stop after this many frames from the source.") var frames: Int?
    @Option(parsing: .unconditional, help: "Stop a live stream after this many seconds without a frame (default: run until Ctrl-C).") var idleTimeout: Double?
    @Flag(help: "Send only frames with motion (frame difference), a few around them, and periodic keyframes.") var motion = false
    @Option(parsing: .unconditional, help: "With --motion: frames kept and sent before motion.") var preRoll = 3
    @Option(parsing: .unconditional, help: "With --motion: frames sent after motion stops.") var postRoll = 5
    @Option(parsing: .unconditional, help: "With --motion: a keyframe after this many frames without one sent.") var keyframeEvery = 50
    @Option(parsing: .unconditional, help: "Frames a live source keeps waiting for the pipeline before it drops the oldest.") var liveBuffer = 2
    @Flag(help: "ROI-only transmission: send a full masked frame, then only the masked areas of the frames after it.") var roiOnly = false
    @Option(parsing: .unconditional, help: "With --roi-only: a full frame (the new background) every this many frames.") var backgroundEvery = 50
    @Flag(inversion: .prefixedNo, help: "Show the live status line.") var status = true

    func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw ValidationError(message) } }
        try check(detectEvery >= 1, "--detect-every must be 1 or more, got \(detectEvery)")
        try check(maxAge > 0, "--max-age must be more than 0 seconds, got \(maxAge)")
        try check(growth >= 0, "--growth must be 0 or more, got \(growth)")
        try check(frames.map { $0 >= 1 } ?? true, "--frames must be 1 or more")
        try check(idleTimeout.map { $0 > 0 } ?? true, "--idle-timeout must be more than 0 seconds")
        try check(preRoll >= 0 && postRoll >= 0, "--pre-roll and --post-roll must be 0 or more")
        try check(keyframeEvery >= 1, "--keyframe-every must be 1 or more, got \(keyframeEvery)")
        try check(liveBuffer >= 1, "--live-buffer must be 1 or more, got \(liveBuffer)")
        try check(backgroundEvery >= 1, "--background-every must be 1 or more, got \(backgroundEvery)")
    }

    static let videoExtensions: Set<String> = ["avi", "mp4", "mkv", "mov", "webm", "mjpeg", "mjpg", "m4v", "mpg", "mpeg"]

    func isStream(_ inputs: [String]) throws -> Bool {
        let streams = inputs.filter {
            $0.hasPrefix("udp://") || Self.isMJPEG($0) || Self.videoExtensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased())
        }
        if watch != nil {
            guard inputs.isEmpty || inputs == [watch!] else { throw MSAIError.invalidArgument("--watch takes the folder; give no other inputs") }
            return true
        }
        guard !streams.isEmpty else { return false }
        guard inputs.count == 1 else {
            throw MSAIError.invalidArgument("a video file, udp:// or http:// stream is processed on its own; got \(inputs.count) inputs")
        }
        return true
    }

    static func isMJPEG(_ input: String) -> Bool { input.hasPrefix("http://") || input.hasPrefix("https://") }

    func run(inputs: [String], edge: EdgeCamera, selector: AreaSelector, reader: HTTPReaderClient?, preview: String? = nil) async throws {
        let source: FrameSource
        var previewRate = 10.0
        var receiver: UDPFrameReceiver?
        var mjpegReceiver: MJPEGReceiver?
        let name: String
        do {
            if let watch {
                source = try ImageFolderSource(folder: watch, watch: true, idleTimeout: idleTimeout.map { .seconds($0) })
                name = "folder \(watch)"
            } else if Self.isMJPEG(inputs[0]) {
                // The stream ends when the camera ends it: the source closes and queued frames finish.
                let buffer = LiveJPEGSource(capacity: liveBuffer, idleTimeout: idleTimeout.map { .seconds($0) })
                mjpegReceiver = try await MJPEGReceiver.start(url: inputs[0], onFrame: { buffer.offer($0) }, onEnd: { buffer.close() })
                source = buffer
                name = "MJPEG \(inputs[0])"
            } else if inputs[0].hasPrefix("udp://") {
                let (host, port) = try parseHostPort(inputs[0], option: "udp://")
                let buffer = LiveJPEGSource(capacity: liveBuffer, idleTimeout: idleTimeout.map { .seconds($0) })
                receiver = try await UDPFrameReceiver.start(host: host, port: port, into: buffer)
                source = buffer
                name = "udp://\(host):\(receiver!.port)"
            } else {
                let video = try VideoFileSource(path: inputs[0])
                source = video
                previewRate = video.framesPerSecond
                name = "\(inputs[0]) (\(video.width)x\(video.height), \(String(format: "%.1f", video.framesPerSecond)) fps)"
            }
        } catch let error as MSAIError {
            printError(error.description)
            throw ExitCode(1)
        }
        let pipeline = FramePipeline(
            edge: edge,
            settings: .init(detectEvery: detectEvery, carrier: .init(growth: growth, maximumAge: .seconds(maxAge)),
                            detectionWait: .seconds(max(2, maxAge * 2)),
                            motion: motion ? .init(preRoll: preRoll, postRoll: postRoll, keyframeInterval: keyframeEvery) : nil,
                            backgroundEvery: roiOnly ? backgroundEvery : nil),
            detect: FramePipeline.detecting(with: selector))

        // Ctrl-C and SIGTERM end the stream cleanly: the source stops, queued frames finish.
        let stopper = StreamStopper(source)
        let signals = [SIGINT, SIGTERM].map { signo -> DispatchSourceSignal in
            signal(signo, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: signo)
            s.setEventHandler { stopper.stop() }
            s.resume()
            return s
        }
        defer { signals.forEach { $0.cancel() } }

        print("masking \(name): detection every \(detectEvery) frame(s), areas trusted for \(maxAge) s"
              + (motion ? ", motion trigger on (keyframe every \(keyframeEvery))" : "")
              + (roiOnly ? ", ROI only (a full frame every \(backgroundEvery))" : "") + "; Ctrl-C stops")
        fflush(nil)
        let interactive = isatty(STDOUT_FILENO) != 0
        let start = ContinuousClock.now
        let statusTask = status ? Task {
            var previous = StreamCounters.Snapshot(), previousTime = ContinuousClock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interactive ? 1 : 5))
                if Task.isCancelled { break }
                let now = await pipeline.counters.snapshot(), time = ContinuousClock.now
                let seconds = max(0.001, milliseconds(time - previousTime) / 1000)
                let line = statusLine(now, inRate: Double(now.received + now.dropped - previous.received - previous.dropped) / seconds,
                                      outRate: Double(now.sent - previous.sent) / seconds)
                (previous, previousTime) = (now, time)
                if interactive {
                    FileHandle.standardOutput.write(Data(("\r" + line + "   ").utf8))
                } else {
                    print(line)
                    fflush(nil)
                }
            }
        } : nil

        let verification = VerificationTally()
        let previewVideo = preview.map { PreviewVideo(path: $0, framesPerSecond: previewRate) }
        let counts: StreamCounters.Snapshot
        do {
            counts = try await pipeline.run(source, limit: frames) { outcome in
                if let error = outcome.error {
                    if interactive { print() }
                    printError("frame \(outcome.frame.index): not sent: \(error)")
                    return
                }
                if let previewVideo, let view = outcome.maskedView { previewVideo.append(view) }
                guard let reader, let receipt = outcome.receipt else { return }
                do {
                    let recovered = try PNGCodec.decode(try await reader.recovered(frameID: receipt.frameID, reason: verificationReason)).pixels
                    let base = outcome.manifest?.composition?.base
                    let expected = try outcome.expectedRecovery(background: await verification.background(base))
                    await verification.record(recovered == expected, frame: outcome.frame.index)
                    if outcome.manifest?.composition == nil { await verification.remember(receipt.frameID, outcome.frame.pixels) }
                } catch {
                    await verification.record(false, frame: outcome.frame.index)
                }
            }
        } catch {
            statusTask?.cancel()
            _ = await receiver?.stop()
            _ = await mjpegReceiver?.stop()
            printError("the stream failed: \((error as? MSAIError)?.description ?? "\(error)")")
            throw ExitCode(1)
        }
        statusTask?.cancel()
        if let previewVideo {
            if let summary = previewVideo.finish() { print(summary) }
        }
        let udpCounts = await receiver?.stop()
        let mjpegCounts = await mjpegReceiver?.stop()
        if interactive && status { print() }
        let seconds = max(0.001, milliseconds(ContinuousClock.now - start) / 1000)
        print(statusLine(counts, inRate: Double(counts.received + counts.dropped) / seconds, outRate: Double(counts.sent) / seconds)
              + String(format: " in %.1f s", seconds)
              + (counts.detections > 0 ? String(format: "; detection %.0f ms on average", counts.detectionMilliseconds / Double(counts.detections)) : ""))
        if let reason = counts.lastDetectionError {
            printError("detection failed on \(counted(counts.detectionsFailed, "frame")) (their frames were masked whole when no recent detection was left); the last time: \(reason)")
        }
        if let udpCounts {
            print("udp: \(udpCounts.datagrams) datagrams, \(udpCounts.framesDelivered) frames reassembled, \(udpCounts.framesLost) lost to missing datagrams, \(udpCounts.datagramsRejected) datagrams rejected")
        }
        if let mjpegCounts {
            print("mjpeg: \(mjpegCounts.parts) frames read (\(mjpegCounts.bytes / 1024) KiB), \(mjpegCounts.malformed) malformed parts skipped"
                  + (mjpegCounts.error.map { "; the stream broke off: \($0)" } ?? ""))
        }
        if reader != nil {
            let (ok, bad) = await verification.totals()
            print("\(ok) frame(s) verified bit-exact" + (bad.isEmpty ? "" : ", \(bad.count) NOT: frames \(bad.prefix(10).map(String.init).joined(separator: ", "))"))
            if !bad.isEmpty { throw ExitCode(1) }
        }
        if counts.failed > 0 { throw ExitCode(1) }
    }
}

func statusLine(_ c: StreamCounters.Snapshot, inRate: Double, outRate: Double) -> String {
    c.statusLine(inRate: inRate, outRate: outRate)
}

/// Ends a stream from a signal handler.
final class StreamStopper: Sendable {
    let source: FrameSource
    init(_ source: FrameSource) { self.source = source }
    func stop() { source.close() }
}

actor VerificationTally {
    private var ok = 0
    private var bad: [Int] = []
    /// The newest full frame sent, which patch frames are composed onto.
    private var newestFull: (id: String, pixels: PixelBuffer)?
    func remember(_ id: String, _ pixels: PixelBuffer) { newestFull = (id, pixels) }
    func background(_ id: String?) -> PixelBuffer? { newestFull.flatMap { $0.id == id ? $0.pixels : nil } }
    func record(_ identical: Bool, frame: Int) { if identical { ok += 1 } else { bad.append(frame) } }
    func totals() -> (Int, [Int]) { (ok, bad) }
}

/// `msai edge --preview` on a stream: the masked view of every frame sent, as a video for people
/// to look at. Frames come from the pipeline's send stage one at a time; a frame the preview
/// cannot take (a size change) is left out of it and said once, and never stops the stream.
final class PreviewVideo: @unchecked Sendable {
    let path: String
    let framesPerSecond: Double
    private let lock = NSLock()
    private var writer: VideoWriter?
    private var problem: String?

    init(path: String, framesPerSecond: Double) {
        self.path = path
        self.framesPerSecond = framesPerSecond
    }

    func append(_ view: PixelBuffer) {
        lock.withLock {
            guard problem == nil else { return }
            do {
                if writer == nil { writer = try VideoWriter(path: path, framesPerSecond: framesPerSecond, width: view.width, height: view.height) }
                try writer?.write(view)
            } catch {
                problem = (error as? MSAIError)?.description ?? "\(error)"
                printError("preview: \(problem!); the stream goes on without it")
            }
        }
    }

    /// Closes the file; says where it is.
    func finish() -> String? {
        lock.withLock {
            guard let writer else { return nil }
            writer.finish()
            return "wrote the masked view of the \(writer.framesWritten) frame(s) sent to \(path)"
        }
    }
}
