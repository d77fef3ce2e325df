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
    @Option(parsing: .unconditional, help: "Widening of carried areas, once, as a share of the area's larger side, on every side.") var margin = 0.15
    @Option(parsing: .unconditional, help: "Growth of carried areas per frame, as a share of the area's larger side, on every side.") var growth = 0.08
    @Option(parsing: .unconditional, help: "Keep areas gone from the newest detection, from this many earlier ones, grown (0: the newest only).") var hold = 1
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
    @Option(help: ArgumentHelp("Serve the stream's counters at GET /metrics on this loopback address, for Prometheus (behind the configuration's metrics tokens).",
                               valueName: "host:port")) var metricsListen: String?
    @Option(help: ArgumentHelp("Write one JSON line per frame: the areas masked (or the whole frame), the detection they came from, whether it was sent.",
                               discussion: "The log stays on the camera and says where people were; keep it as private as the frames.",
                               valueName: "file")) var areasLog: String?

    func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw ValidationError(message) } }
        try check(detectEvery >= 1, "--detect-every must be 1 or more, got \(detectEvery)")
        try check(maxAge > 0, "--max-age must be more than 0 seconds, got \(maxAge)")
        try check(growth >= 0, "--growth must be 0 or more, got \(growth)")
        try check(margin >= 0, "--margin must be 0 or more, got \(margin)")
        try check((0...10).contains(hold), "--hold must lie in 0...10, got \(hold)")
        try check(frames.map { $0 >= 1 } ?? true, "--frames must be 1 or more")
        try check(idleTimeout.map { $0 > 0 } ?? true, "--idle-timeout must be more than 0 seconds")
        try check(preRoll >= 0 && postRoll >= 0, "--pre-roll and --post-roll must be 0 or more")
        try check(keyframeEvery >= 1, "--keyframe-every must be 1 or more, got \(keyframeEvery)")
        try check(liveBuffer >= 1, "--live-buffer must be 1 or more, got \(liveBuffer)")
        try check(backgroundEvery >= 1, "--background-every must be 1 or more, got \(backgroundEvery)")
    }

    /// The stream's counters as Prometheus names them: the frames in, masked (by areas or whole),
    /// dropped, still, sent and failed, the bytes sent, and detection's count and time.
    static func metricSamples(_ s: StreamCounters.Snapshot) -> [(name: String, value: Double)] {
        [("msai_edge_frames_received_total", Double(s.received)), ("msai_edge_frames_dropped_total", Double(s.dropped)),
         ("msai_edge_frames_still_total", Double(s.still)), ("msai_edge_frames_masked_total", Double(s.maskedAreas + s.maskedWhole)),
         ("msai_edge_frames_masked_whole_total", Double(s.maskedWhole)), ("msai_edge_frames_sent_total", Double(s.sent)),
         ("msai_edge_frames_failed_total", Double(s.failed)), ("msai_edge_bytes_sent_total", Double(s.bytesSent)),
         ("msai_edge_detections_total", Double(s.detections)), ("msai_edge_detections_failed_total", Double(s.detectionsFailed)),
         ("msai_edge_detection_seconds_total", s.detectionMilliseconds / 1000)]
    }

    /// In the `jpeg` mode frames that arrive as JPEGs are masked in the DCT domain by `edge`, the
    /// others (a video file's) by `pixelEdge`.
    func run(_ input: StreamInput, edge: EdgeCamera, pixelEdge: EdgeCamera, selector: AreaSelector, reader: HTTPReaderClient?,
             preview: String? = nil, metricsTokens: [String] = []) async throws {
        let stream: OpenedStream
        do {
            if edge.mode == .jpeg && roiOnly { throw MSAIError.invalidArgument("--roi-only sends pixel patches; it does not go with --mode jpeg") }
            stream = try await OpenedStream.open(input, liveBuffer: liveBuffer, idleTimeout: idleTimeout.map { .seconds($0) },
                                                 keepJPEG: edge.mode == .jpeg)
        } catch {
            throw fail(error)
        }
        // Areas given by hand do not move: "detect" them on every frame (it costs nothing) rather
        // than carry and grow them.
        var fixedAreas = false
        if case .manual = selector { fixedAreas = true }
        let pipeline = try FramePipeline(
            edge: edge, pixelEdge: pixelEdge,
            settings: .init(detectEvery: fixedAreas ? 1 : detectEvery, carrier: .init(margin: margin, growth: growth, maximumAge: .seconds(maxAge), hold: hold),
                            detectionWait: .seconds(max(2, maxAge * 2)),
                            motion: motion ? .init(preRoll: preRoll, postRoll: postRoll, keyframeInterval: keyframeEvery) : nil,
                            backgroundEvery: roiOnly ? backgroundEvery : nil),
            detect: FramePipeline.detecting(with: selector))

        // Ctrl-C and SIGTERM end the stream cleanly: the source stops, queued frames finish.
        let stopOnSignal = Task { [source = stream.source] in
            await waitForTerminationSignal()
            source.close()
        }
        defer { stopOnSignal.cancel() }

        if edge.mode == .jpeg, case .videoFile = input {
            print("a video file's frames come decoded, not as JPEGs: they are masked as pixels, hardened")
        }
        print("masking \(stream.name): detection every \(detectEvery) frame(s), areas trusted for \(maxAge) s"
              + (motion ? ", motion trigger on (keyframe every \(keyframeEvery))" : "")
              + (roiOnly ? ", ROI only (a full frame every \(backgroundEvery))" : "") + "; Ctrl-C stops")
        fflush(nil)
        let interactive = isatty(STDOUT_FILENO) != 0
        let start = ContinuousClock.now
        let statusTask = status ? Task {
            await StreamStatus.report(pipeline.counters, every: .seconds(interactive ? 1 : 5), clock: ContinuousClock()) { line in
                if interactive {
                    FileHandle.standardOutput.write(Data(("\r" + line + "   ").utf8))
                } else {
                    print(line)
                    fflush(nil)
                }
            }
        } : nil

        var metrics: RunningServer?
        do {
            if let metricsListen {
                metrics = try await MetricsEndpoint.start(listen: metricsListen, tokens: metricsTokens) { [counters = pipeline.counters] in
                    Self.metricSamples(await counters.snapshot())
                }
            }
        } catch {
            statusTask?.cancel()
            throw fail(error)
        }
        if let metrics { print("metrics at \(metrics.url)/metrics") }
        defer { if let metrics { Task { [metrics] in await metrics.stop() } } }

        let verifier = StreamVerifier()
        let areasLog: MaskedAreasLog?
        do { areasLog = try self.areasLog.map { try MaskedAreasLog(path: $0) } } catch { throw fail(error) }
        let previewVideo = preview.map { PreviewVideo(path: $0, framesPerSecond: stream.framesPerSecond, report: printError) }
        let counts: StreamCounters.Snapshot
        do {
            counts = try await pipeline.run(stream.source, limit: frames) { outcome in
                if let areasLog {
                    do { try await areasLog.record(outcome) } catch { printError("the areas log: \(error)") }
                }
                if let error = outcome.error {
                    if interactive { print() }
                    printError("frame \(outcome.frame.index): not sent: \(error)")
                    return
                }
                if let previewVideo {
                    do { if let view = try outcome.maskedView { previewVideo.append(view) } } catch { printError("the preview: \(error)") }
                }
                guard let reader, let receipt = outcome.receipt else { return }
                do {
                    let recovered = try PNGCodec.decode(try await reader.recovered(frameID: receipt.frameID, reason: verificationReason)).pixels
                    await verifier.check(outcome, recovered: recovered)
                } catch {
                    await verifier.couldNotRecover(outcome)
                }
            }
        } catch {
            statusTask?.cancel()
            _ = await stream.stop()
            printError("the stream failed: \((error as? MSAIError)?.description ?? "\(error)")")
            throw ExitStatus.code(for: error)
        }
        statusTask?.cancel()
        try? await areasLog?.close()
        if let summary = previewVideo?.finish() { print(summary) }
        let received = await stream.stop()
        if interactive && status { print() }
        let elapsed = ContinuousClock.now - start
        print(counts.statusLine(since: StreamCounters.Snapshot(), over: elapsed) + String(format: " in %.1f s", milliseconds(elapsed) / 1000)
              + (counts.detections > 0 ? String(format: "; detection %.0f ms on average", counts.detectionMilliseconds / Double(counts.detections)) : ""))
        if let reason = counts.lastDetectionError {
            printError("detection failed on \(counted(counts.detectionsFailed, "frame")) (their frames were masked whole when no recent detection was left); the last time: \(reason)")
        }
        if let received { print(received) }
        if reader != nil {
            let (ok, bad) = await verifier.totals
            print("\(ok) frame(s) verified bit-exact" + (bad.isEmpty ? "" : ", \(bad.count) NOT: frames \(bad.prefix(10).map(String.init).joined(separator: ", "))"))
            if !bad.isEmpty { throw ExitStatus.partial }
        }
        if counts.failed > 0 { throw ExitStatus.partial }
    }
}
