// msai-bench: prints median timings of the pipeline's pieces (run with `make bench`, release build).
// A plain harness: each figure is the median of N timed runs after warm-up runs; the machine is
// noisy, so compare medians and ratios, not single runs.
import Foundation
import MSAICore
import MSAICrypto
import MSAIImageIO
import MSAINetwork
import MSAIRoles
import MSAIStorage
import MSAIStreaming
import MSAIVision
import CMSAIBenchCodecs

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Median milliseconds of `runs` calls of `body`, after `warmup` untimed calls.
func measure(runs: Int = 15, warmup: Int = 2, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<warmup { try body() }
    var times: [Double] = []
    for _ in 0..<runs {
        let start = ContinuousClock.now
        try body()
        let d = ContinuousClock.now - start
        times.append(milliseconds(d))
    }
    return median(times)
}

func row(_ name: String, _ columns: [String]) {
    print(name.padding(toLength: 38, withPad: " ", startingAt: 0) + columns.map { $0.padding(toLength: 14, withPad: " ", startingAt: 0) }.joined())
}

func fmt(_ ms: Double) -> String { String(format: "%.2f ms", ms) }

/// A frame of uniformly random samples (a stand-in for a masked and scrambled one).
func randomFrame(width: Int, height: Int, seed: UInt64) throws -> PixelBuffer {
    var random = SplitMix64(seed: seed)
    return try PixelBuffer(width: width, height: height, channels: 3,
                           samples: (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &random) })
}

/// What the cloud does per membrane request: draw a key, derive the membrane from it.
func drawMembrane(covering area: Rect) throws -> [UInt8] {
    var system = SystemRandomNumberGenerator()
    return try GF251MembraneKey.draw(id: MembraneID(rawValue: "bench"), shape: try MembraneShape(covering: area, channels: 3), using: &system)
        .membrane(using: ChaCha20Keystream.self)
}

let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
let store = try ModelStore.locate()
let arguments = Set(CommandLine.arguments.dropFirst())

// 640×480 test frames: bundled photos with people, faces and plates, resized.
let frames = try ["zidane.jpg", "bus.jpg", "alpr_test.jpg"].map {
    try ImageFile.read(root.appendingPathComponent("Datasets/\($0)").path).resized(width: 640, height: 480)
}

print("msai-bench: medians on this machine (\(ProcessInfo.processInfo.activeProcessorCount) cores), release build")
// glibc returns each freed buffer over its mmap threshold to the kernel, so every fresh 6 MB
// frame buffer costs page faults: AES-GCM of a 1080p frame takes 10 ms that way and 1 ms with
// the buffers reused. `make bench` sets the thresholds high, as a long-running camera would.
print("GLIBC_TUNABLES=\(ProcessInfo.processInfo.environment["GLIBC_TUNABLES"] ?? "(unset: large buffers go back to the kernel on every free)")")
print()
if arguments.isEmpty || arguments.contains("detect") {
    print("Detection, per 640x480 frame (median of 15 runs over 3 frames, after warm-up)")
    row("detector", ["1 thread", "2 threads", "speed-up"])
    let detectors: [(String, () throws -> RegionDetector)] = [
        ("yolov3-tiny (416, letterbox)", { try YOLODetector(store: store, model: "yolov3-tiny") }),
        ("yolov4-tiny (416, letterbox)", { try YOLODetector(store: store, model: "yolov4-tiny") }),
        ("yolov4-tiny (608, policy default)", { try YOLODetector(store: store, model: "yolov4-tiny", inputSize: 608) }),
        ("yunet (faces + landmarks)", { try YuNetFaceDetector(store: store) }),
        ("res10 SSD (faces)", { try SSDFaceDetector(store: store) }),
        ("haar-russian (plates)", { try CascadeDetector.plate("haar-russian", store: store) }),
        ("haar-rus16 (plates)", { try CascadeDetector.plate("haar-rus16", store: store) }),
        ("plate SSD (plates)", { try PlateSSDDetector(store: store) }),
    ]
    for (name, make) in detectors {
        let detector = try make()
        var medians: [Double] = []
        for threads in [1, 2] {
            setInferenceThreads(threads)
            var i = 0
            medians.append(try measure { _ = try detector.detect(frames[i % frames.count]); i += 1 })
        }
        row(name, [fmt(medians[0]), fmt(medians[1]), String(format: "%.2fx", medians[0] / medians[1])])
    }
    setInferenceThreads(2)
    // The input padded to a multiple of 32 against a square, taken in turns on the same frames
    // so that the machine's noise falls on both alike (2 threads).
    let yolo = try YOLODetector(store: store, model: "yolov4-tiny", inputSize: 608)
    let video = try VideoReader(path: root.appendingPathComponent("Datasets/vtest.avi").path)
    let clipFrames = try (0..<3).compactMap { _ in try video.next() }
    for (name, images) in [("640x480", frames), ("768x576 (vtest.avi)", clipFrames)] {
        var tight: [Double] = [], square: [Double] = []
        for round in 0..<24 {
            for isTight in (round % 2 == 0 ? [true, false] : [false, true]) {
                yolo.tight = isTight
                let start = ContinuousClock.now
                _ = try yolo.detect(images[round % images.count])
                if round >= 2 { isTight ? tight.append(milliseconds(ContinuousClock.now - start)) : square.append(milliseconds(ContinuousClock.now - start)) }
            }
        }
        row("yolov4-tiny 608, \(name): padded to 32 / square", [fmt(median(tight)), fmt(median(square)), String(format: "%.2fx", median(square) / median(tight))])
    }
    var policy = PrivacyPolicy()
    let pipeline = try DetectionPipeline(policy: policy, store: store)
    var i = 0
    row("default policy (face,person,plate)", [fmt(try measure { _ = try pipeline.detect(frames[i % 3]); i += 1 })])
    policy.detectScale = 0.5
    let half = try DetectionPipeline(policy: policy, store: store)
    row("  same, --detect-scale 0.5", [fmt(try measure { _ = try half.detect(frames[i % 3]); i += 1 })])
    print()
}
if arguments.isEmpty || arguments.contains("core") {
    print("Masking and scrambling, per frame (random samples; one area covering a quarter of the frame)")
    row("step", ["640x480", "1920x1080"])
    var results: [String: [String]] = [:]
    let steps = ["membrane (cloud, GF(251))", "mask area (gf251)", "mask area (hardened, pad given)", "  as msai 2.0 did it (a copy of the frame, two passes)", "derive tau (ChaCha20)", "scramble (tau given)", "unscramble", "memcpy of the frame",
                 "AES-256-GCM of the frame", "ChaCha20-Poly1305 of the frame", "pad for the area (ChaCha20)",
                 "seal the PNG frame (HKDF + AES-GCM)", "PNG encode (level 1)", "PNG decode",
                 "JPEG decode (TurboJPEG)", "end to end, in-process", "  ratio mask (hardened: pad + λ) + tau + scramble / AES-GCM",
                 "  ratio with membrane / AES-GCM", "  ratio scramble / memcpy", "  ratio seal of the PNG / AES-GCM", "  (the PNG sealed, KiB)"]
    for (w, h) in [(640, 480), (1920, 1080)] {
        let image = try randomFrame(width: w, height: h, seed: 1)
        let area = Rect(x: w / 4, y: h / 4, width: w / 2, height: h / 2)
        var values: [UInt8] = []
        let membrane = try measure { values = try drawMembrane(covering: area) }
        // Each masking run starts from a fresh copy of the frame, as the edge's does (it keeps
        // the original): the copy is part of the figure.
        var masked = image
        let mask = try measure { masked = image; try AreaMasker.apply(values, to: &masked, area: area) }
        let padBytes = try FrameKeys(tauSeed: [UInt8](repeating: 9, count: 32)).pad(area: 0, count: values.count)
        let hardened = try measure { masked = image; try AreaMasker.applyPadded(values, pad: padBytes, to: &masked, area: area) }
        var before = image
        try msai20ApplyPadded(values, pad: padBytes, to: &before, area: area)
        guard before == masked else { fatalError("the hardened masking changed its values") }
        let hardened20 = try measure { before = image; try msai20ApplyPadded(values, pad: padBytes, to: &before, area: area) }
        let layout = try BlockLayout(width: w, height: h, blockSize: 8)
        let seed = [UInt8](repeating: 7, count: 32)
        var key = try ScrambleKey.derive(seed: seed, layout: layout, using: ChaCha20Keystream.self)
        let tau = try measure { key = try ScrambleKey.derive(seed: seed, layout: layout, using: ChaCha20Keystream.self) }
        var scrambled = image
        let scramble = try measure { scrambled = try BlockScrambler.scramble(masked, layout: layout, key: key) }
        let unscramble = try measure { _ = try BlockScrambler.unscramble(scrambled, layout: layout, key: key) }
        var copy = [UInt8](repeating: 0, count: image.samples.count)
        let memcpyTime = measure { copy.withUnsafeMutableBytes { d in image.samples.withUnsafeBytes { s in d.copyMemory(from: s) } } }
        let aes = try measure { _ = try BaselineCipher.aes256GCM.seal(image.samples) }
        let chacha = try measure { _ = try BaselineCipher.chaCha20Poly1305.seal(image.samples) }
        let frameKeys = try FrameKeys(tauSeed: seed)
        let pad = try measure { _ = try frameKeys.pad(area: 0, count: area.width * area.height * 3) }
        var png: [UInt8] = []
        let encode = try measure(runs: 7) { png = try PNGCodec.encode(scrambled) }
        let seal = try measure { _ = try SealedFrame.seal(png, tauID: "bench", key: try FrameKeys(tauSeed: seed).sealing) }
        let decode = try measure(runs: 7) { _ = try PNGCodec.decode(png) }
        let jpeg = try JPEGCodec.encode(image, quality: 90)
        let jpegDecode = try measure { _ = try JPEGCodec.decode(jpeg) }
        // The three roles in this process: membrane, tau, mask, scramble, PNG, then the data
        // center's check, decode, unscramble and unmask, and its store (in memory).
        let dataCenter = DataCenter()
        let cloud = CloudPlatform(escrow: dataCenter)
        let edge = EdgeCamera(membranes: cloud, scrambling: dataCenter, egress: dataCenter)
        var endToEnd: [Double] = []
        for i in 0..<9 {
            let start = ContinuousClock.now
            _ = try await edge.send(try await edge.prepare(image, areas: [area]))
            if i >= 2 { endToEnd.append(milliseconds(ContinuousClock.now - start)) }
        }
        let cells: [String] = [fmt(membrane), fmt(mask), fmt(hardened), fmt(hardened20), fmt(tau), fmt(scramble), fmt(unscramble), fmt(memcpyTime), fmt(aes), fmt(chacha),
                                fmt(pad), fmt(seal), fmt(encode), fmt(decode), fmt(jpegDecode), fmt(median(endToEnd)),
                                String(format: "%.2fx", (pad + hardened + tau + scramble) / aes),
                                String(format: "%.2fx", (membrane + pad + hardened + tau + scramble) / aes),
                                String(format: "%.1fx", scramble / memcpyTime),
                                String(format: "%.2fx", seal / aes), String(format: "%.0f", Double(png.count) / 1024)]
        for (name, value) in zip(steps, cells) { results[name, default: []].append(value) }
    }
    for name in steps { row(name, results[name]!) }

    print()
    print("Membrane derivation (the cloud, per membrane request), now and as msai 2.0 did it, in this run")
    row("area", ["now", "msai 2.0", "ns/sample now", "2.0 / now"])
    for side in [64, 320, 1024] {
        var system = SystemRandomNumberGenerator()
        let key = try GF251MembraneKey.draw(id: MembraneID(rawValue: "bench"), shape: try MembraneShape(covering: Rect(x: 0, y: 0, width: side, height: side), channels: 3),
                                            using: &system)
        guard try key.membrane(using: ChaCha20Keystream.self) == (try key.msai20Membrane()) else {
            fatalError("the membrane derivation changed its values")
        }
        let now = try measure { _ = try key.membrane(using: ChaCha20Keystream.self) }
        let before = try measure { _ = try key.msai20Membrane() }
        row("\(side)x\(side)", [fmt(now), fmt(before), String(format: "%.2f", now * 1e6 / Double(side * side * 3)), String(format: "%.2fx", before / now)])
    }

    print()
    print("Membrane + masking per area size (3 channels)")
    row("area", ["membrane", "mask", "ns/sample"])
    let canvas = try randomFrame(width: 1920, height: 1080, seed: 2)
    for side in [32, 64, 128, 256, 512, 1024] {
        let area = Rect(x: 0, y: 0, width: side, height: side)
        var values: [UInt8] = []
        let membrane = try measure { values = try drawMembrane(covering: area) }
        var frame = canvas
        let mask = try measure { try AreaMasker.apply(values, to: &frame, area: area) }
        row("\(side)x\(side)", [fmt(membrane), fmt(mask), String(format: "%.2f", (membrane + mask) * 1e6 / Double(side * side * 3))])
    }
}

if arguments.isEmpty || arguments.contains("roles") {
    print()
    print("Through the three roles over loopback HTTP (SQLite data center), 640x480 frames, one after another")
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: folder) }
    let config = RoleConfiguration.fresh()
    let masterKey = try MasterKey(hex: MasterKey.generateHex(), source: "bench")
    // The roles as msai up starts them, on free ports.
    let dc = try await DataCenterServer.start(config, store: try SQLiteDataCenterStore(path: folder.appendingPathComponent("dc.sqlite").path, masterKey: masterKey),
                                              listen: "127.0.0.1:0", name: "bench-dc")
    let cloud = try await CloudServer.start(config, dataCenterURL: dc.url, listen: "127.0.0.1:0", name: "bench-cloud")
    let edge = EdgeCamera(membranes: HTTPCloudClient(url: cloud.url, edgeToken: config.edgeTokens[0]),
                          scrambling: HTTPDataCenterClient(url: dc.url, token: config.edgeTokens[0]),
                          egress: HTTPDataCenterClient(url: dc.url, token: config.edgeTokens[0]))
    let pipeline = try DetectionPipeline(policy: PrivacyPolicy(), store: store)
    row("", ["frames/s", "p50 latency", "p99 latency"])
    for detect in [false, true] {
        var latencies: [Double] = []
        let count = detect ? 30 : 60
        let runStart = ContinuousClock.now
        for i in 0..<(count + 3) {
            let frame = frames[i % frames.count]
            let start = ContinuousClock.now
            let areas = detect ? PolicyApplication.areas(from: try pipeline.detect(frame).detections, policy: pipeline.policy,
                                                         width: frame.width, height: frame.height).map(\.rect)
                               : [Rect(x: 160, y: 120, width: 320, height: 240)]
            _ = try await edge.send(try await edge.prepare(frame, areas: areas))
            let d = ContinuousClock.now - start
            if i >= 3 { latencies.append(milliseconds(d)) }
        }
        let total = ContinuousClock.now - runStart
        let seconds = milliseconds(total) / 1000
        let sorted = latencies.sorted()
        let p99 = sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)]
        row(detect ? "edge + default detection" : "edge, one area of 320x240",
            [String(format: "%.1f", Double(count + 3) / seconds), fmt(median(latencies)), fmt(p99)])
    }

    print()
    print("A video stream through the frame pipeline and the roles over loopback: the first 100 frames of vtest.avi (768x576)")
    row("detection, frame format", ["frames/s", "masked whole", "detect ms", "KiB/frame"])
    let selector = AreaSelector.detecting(try DetectionPipeline(policy: PrivacyPolicy(), store: store))
    // every 0: no detection, one fixed area (what the pipeline does besides detecting).
    for (every, format, roiOnly) in [(0, MaskedFrameCodec.Format.png, false), (0, .qoi, false), (1, .png, false), (1, .qoi, false),
                                     (5, .png, false), (5, .qoi, false), (5, .qoi, true)] {
        let streamEdge = EdgeCamera(membranes: HTTPCloudClient(url: cloud.url, edgeToken: config.edgeTokens[0]),
                                    scrambling: HTTPDataCenterClient(url: dc.url, token: config.edgeTokens[0]),
                                    egress: HTTPDataCenterClient(url: dc.url, token: config.edgeTokens[0]), frameFormat: format)
        let fixedArea: FramePipeline.Detect = { _ in [Rect(x: 192, y: 144, width: 384, height: 288)] }
        let streamPipeline = try FramePipeline(edge: streamEdge, settings: .init(detectEvery: max(1, every), backgroundEvery: roiOnly ? 50 : nil),
                                           detect: every == 0 ? fixedArea : FramePipeline.detecting(with: selector))
        let start = ContinuousClock.now
        let counts = try await streamPipeline.run(try VideoFileSource(path: root.appendingPathComponent("Datasets/vtest.avi").path), limit: 100)
        let seconds = milliseconds(ContinuousClock.now - start) / 1000
        row([0: "none (one area), ", 1: "every frame, ", 5: "every 5th, carried, "][every]! + format.rawValue.uppercased() + (roiOnly ? ", ROI only" : ""),
            [String(format: "%.1f", Double(counts.sent) / seconds), "\(counts.maskedWhole) of \(counts.sent)",
             String(format: "%.0f", counts.detectionMilliseconds / Double(max(1, counts.detections))),
             String(format: "%.0f", Double(counts.bytesSent) / Double(max(1, counts.sent)) / 1024)])
    }
    await cloud.stop()
    await dc.stop()
}

if arguments.isEmpty || arguments.contains("storage") {
    print()
    print("Bytes the data center stores per frame: 30 frames of vtest.avi (768x576, default policy's areas), SQLite, in-process roles")
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-bench-store-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: folder) }
    let detection = try DetectionPipeline(policy: PrivacyPolicy(), store: store)
    // Now: the sealed frame and its wrapped keys, measured as database growth. msai 1 also kept
    // each recovered original (QOI for stream frames, PNG for single images): that is added back.
    row("frame format", ["sealed KiB", "DB KiB/frame", "+ original", "msai 1 KiB", "msai 1 / now"])
    for format in [MaskedFrameCodec.Format.qoi, .png] {
        // A database of its own per format, so that one run's freed pages do not hide the other's growth.
        let path = folder.appendingPathComponent("dc-\(format.rawValue).sqlite").path
        func databaseBytes() -> Int {
            [path, path + "-wal"].reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        }
        let sqlite = try SQLiteDataCenterStore(path: path, masterKey: try MasterKey(hex: MasterKey.generateHex(), source: "bench"))
        let dataCenter = DataCenter(store: sqlite)
        let edge = EdgeCamera(membranes: CloudPlatform(escrow: dataCenter), scrambling: dataCenter, egress: dataCenter, frameFormat: format)
        let video = try VideoReader(path: root.appendingPathComponent("Datasets/vtest.avi").path)
        try sqlite.checkpoint()
        let before = databaseBytes()
        var sealed = 0, recovered = 0, count = 0
        while count < 30, let frame = try video.next() {
            let areas = PolicyApplication.areas(from: try detection.detect(frame).detections, policy: detection.policy,
                                                width: frame.width, height: frame.height).map(\.rect)
            let prepared = try await edge.prepare(frame, areas: areas)
            _ = try await edge.send(prepared)
            sealed += prepared.sealed.count
            // What msai 1 also kept: the recovered image, in the frame's own format.
            recovered += format == .qoi ? try QOICodec.encode(frame).count : try PNGCodec.encode(frame).count
            count += 1
        }
        // Everything into the database file, so the WAL's page copies are not counted as stored.
        try sqlite.checkpoint()
        let perFrame = Double(databaseBytes() - before) / Double(count) / 1024
        let sealedPerFrame = Double(sealed) / Double(count) / 1024, recoveredPerFrame = Double(recovered) / Double(count) / 1024
        row(format.rawValue.uppercased(), [String(format: "%.0f", sealedPerFrame), String(format: "%.0f", perFrame),
                                           String(format: "%.0f", recoveredPerFrame), String(format: "%.0f", perFrame + recoveredPerFrame),
                                           String(format: "%.2fx", (perFrame + recoveredPerFrame) / perFrame)])
    }
}

if arguments.isEmpty || arguments.contains("codecs") {
    print()
    print("Lossless codecs for video, on real masked and scrambled frames (vtest.avi, 768x576, default policy's areas)")
    let dataCenter = DataCenter()
    let inProcessEdge = EdgeCamera(membranes: CloudPlatform(escrow: dataCenter), scrambling: dataCenter, egress: dataCenter)
    let detection = try DetectionPipeline(policy: PrivacyPolicy(), store: store)
    let video = try VideoReader(path: root.appendingPathComponent("Datasets/vtest.avi").path)
    var scrambledFrames: [PixelBuffer] = []
    for i in 0..<50 {
        guard let frame = try video.next() else { break }
        if i % 10 != 0 { continue }
        let areas = PolicyApplication.areas(from: try detection.detect(frame).detections, policy: detection.policy,
                                            width: frame.width, height: frame.height).map(\.rect)
        scrambledFrames.append(try await inProcessEdge.prepare(frame, areas: areas).scrambled)
    }
    let raw = Double(scrambledFrames[0].samples.count)
    struct Candidate {
        let name: String
        let encode: (PixelBuffer) throws -> [UInt8]
        let decode: ([UInt8], PixelBuffer) throws -> Void
    }
    func png(_ level: Int, _ filter: PNGCodec.RowFilter, _ strategy: PNGCodec.Strategy = .automatic) -> Candidate {
        Candidate(name: "PNG level \(level), filter \(filter)" + (strategy == .automatic ? "" : ", \(strategy)"),
                  encode: { try PNGCodec.encode($0, compressionLevel: level, filter: filter, strategy: strategy) },
                  decode: { bytes, _ in _ = try PNGCodec.decode(bytes) })
    }
    /// A general-purpose compressor over the raw samples, given as the C shim's three calls.
    typealias Transform = (UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<UInt8>?, Int) -> Int
    func rawSamples(_ name: String, bound: @escaping (Int) -> Int, compress: @escaping Transform, decompress: @escaping Transform) -> Candidate {
        Candidate(name: name, encode: { frame in
            var out = [UInt8](repeating: 0, count: bound(frame.samples.count))
            let n = frame.samples.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { compress(s.baseAddress, s.count, $0.baseAddress, $0.count) } }
            precondition(n > 0)
            return Array(out[..<n])
        }, decode: { bytes, frame in
            var out = [UInt8](repeating: 0, count: frame.samples.count)
            let n = bytes.withUnsafeBufferPointer { b in out.withUnsafeMutableBufferPointer { decompress(b.baseAddress, b.count, $0.baseAddress, $0.count) } }
            precondition(n == frame.samples.count && out == frame.samples)
        })
    }
    func zstd(_ level: Int32) -> Candidate {
        rawSamples("zstd level \(level), raw samples", bound: msai_zstd_bound,
                   compress: { msai_zstd_compress($0, $1, $2, $3, level) }, decompress: msai_zstd_decompress)
    }
    let lz4 = rawSamples("LZ4 (fast), raw samples", bound: msai_lz4_bound,
                         compress: { msai_lz4_compress($0, $1, $2, $3, 1) }, decompress: msai_lz4_decompress)
    let qoi = Candidate(name: "QOI", encode: { try QOICodec.encode($0) }, decode: { bytes, frame in
        let decoded = try QOICodec.decode(bytes[...])
        precondition(decoded == frame)
    })
    func jxl(effort: Int32, threads: Int32) -> Candidate {
        Candidate(name: "JPEG XL lossless, effort \(effort), \(threads) thr", encode: { frame in
            var pointer: UnsafeMutablePointer<UInt8>?
            let n = frame.samples.withUnsafeBufferPointer {
                msai_jxl_encode($0.baseAddress, Int32(frame.width), Int32(frame.height), effort, threads, &pointer)
            }
            defer { free(pointer) }
            precondition(n > 0)
            return Array(UnsafeBufferPointer(start: pointer, count: n))
        }, decode: { bytes, frame in
            var out = [UInt8](repeating: 0, count: frame.samples.count)
            let ok = bytes.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { msai_jxl_decode(b.baseAddress, b.count, Int32(frame.width), Int32(frame.height), threads, $0.baseAddress) }
            }
            precondition(ok == 1 && out == frame.samples)
        })
    }
    let candidates = [png(1, .adaptive), png(1, .none), png(1, .sub), png(1, .up), png(1, .sub, .runLength), png(1, .up, .runLength),
                      png(0, .none), png(6, .adaptive), zstd(1), zstd(3), zstd(-3), lz4, qoi,
                      jxl(effort: 1, threads: 1), jxl(effort: 1, threads: 2), jxl(effort: 2, threads: 2)]
    row("codec", ["encode", "decode", "size", "enc+dec fps"])
    for candidate in candidates {
        var sizes: [Double] = []
        var i = 0
        let encode = try measure(runs: 10) {
            let bytes = try candidate.encode(scrambledFrames[i % scrambledFrames.count])
            sizes.append(Double(bytes.count))
            i += 1
        }
        let encoded = try scrambledFrames.map(candidate.encode)
        var j = 0
        let decode = try measure(runs: 10) { try candidate.decode(encoded[j % encoded.count], scrambledFrames[j % encoded.count]); j += 1 }
        row(candidate.name, [fmt(encode), fmt(decode), String(format: "%.1f %%", sizes.reduce(0, +) / Double(sizes.count) / raw * 100),
                             String(format: "%.0f", 1000 / (encode + decode))])
    }
}

if arguments.isEmpty || arguments.contains("jpeg") {
    try await JPEGBench.run(root: root, store: store)
}
if arguments.isEmpty || arguments.contains("edge") {
    try await EdgeBench.run(root: root, store: store)
}
