// `msai-bench edge`: the edge as a user runs it, beside deface, on the same clip in the same run.
//
// `msai up` and `msai edge Datasets/vtest.avi` run as processes (the release build), each edge
// run against fresh roles, under /usr/bin/time for wall time and peak RSS. deface (CenterFace on
// onnxruntime, faces only, every frame) runs on the same clip when it is installed. Each msai run
// writes its areas log, which is compared frame by frame with the default policy's detectors run
// on every frame at full settings: the share of their boxes the run actually masked.
import Foundation
import MSAICore
import MSAIStreaming
import MSAIVision

enum EdgeBench {
    /// One process run: wall seconds, peak RSS, what it printed.
    struct Measured {
        let seconds: Double
        let peakMiB: Double
        let output: String
        let status: Int32
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let clip = "Datasets/vtest.avi"

    static func run(root: URL, store: ModelStore) async throws {
        say("")
        say("The edge on \(clip) as a user runs it: msai edge against msai up on loopback (processes, release), deface beside it")
        let msai = root.appendingPathComponent(".build/release/msai").path
        guard FileManager.default.isExecutableFile(atPath: msai) else {
            throw Failure(description: "\(msai) is missing: make bench builds it (swift build -c release --product msai)")
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else {
            throw Failure(description: "/usr/bin/time is missing: make deps installs it (Debian package time)")
        }
        let (reference, frameBounds) = try await referenceAreas(root: root, store: store)
        let referenceBoxes = reference.reduce(0) { $0 + $1.count }
        say("reference: the default policy's detectors on every one of \(reference.count) frames at full settings: \(referenceBoxes) areas, "
              + String(format: "%.1f %% of the frame masked on average",
                       reference.reduce(0.0) { $0 + Double(MaskCoverage.pixelsCovered(of: frameBounds, by: $1)) } * 100 / Double(frameBounds.area * max(1, reference.count))))

        let work = FileManager.default.temporaryDirectory.appendingPathComponent("msai-bench-edge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        say("msai runs use the default policy (faces, persons, plates) unless named; covered: of the reference's areas on each frame sent,")
        say("those masked whole, and their pixels; frame masked: the share of each frame's pixels masked, on average")
        line(["run", "frames/s", "vs deface", "peak RSS", "areas covered", "pixels", "frame masked", "detect ms"])
        var defaceRate: Double?
        if let deface = defacePath(root: root) {
            let measured = try timed(deface, [clip, "--replacewith", "solid", "--output", work.appendingPathComponent("deface.mp4").path],
                                     in: root, work: work)
            guard measured.status == 0 else { throw Failure(description: "deface failed (\(measured.status)): \(measured.output.suffix(400))") }
            defaceRate = Double(reference.count) / measured.seconds
            line(["deface 1.5, faces only, every frame", String(format: "%.1f", defaceRate!), "1.00x", String(format: "%.0f MiB", measured.peakMiB), "", "", "", ""])
        } else {
            line(["deface: not installed (make deface, or MSAI_DEFACE=path)", "", "", "", "", "", "", ""])
        }

        let cascadeEverywhere = work.appendingPathComponent("plate-cascade-on-every-frame.json")
        try Data(#"{"plate_cascade_scope": "frame"}"#.utf8).write(to: cascadeEverywhere)
        // yolov4-tiny at 512 with persons from 0.15 kept every labelled person 608 at 0.25 finds
        // (make eval-detect); what it covers of the 608 reference on a stream is measured here.
        let yolo512 = work.appendingPathComponent("yolo-512.json")
        try Data(#"{"yolo_input_size": 512, "person_threshold": 0.15}"#.utf8).write(to: yolo512)
        let runs: [(String, [String])] = [
            ("every frame", ["--detect-every", "1"]),
            ("every 5th (the default)", []),
            ("every 5th, msai 2.0's carrying", ["--margin", "0", "--growth", "0.04", "--hold", "0"]),
            ("every 5th, no hold", ["--hold", "0"]),
            ("every 5th, plate cascade on every frame", ["--policy", cascadeEverywhere.path]),
            ("every frame, YOLO at 512 from 0.15", ["--detect-every", "1", "--policy", yolo512.path]),
            ("every 5th, YOLO at 512 from 0.15", ["--policy", yolo512.path]),
            ("every 5th, --motion", ["--motion"]),
            ("every 5th, --roi-only", ["--roi-only"]),
            ("--region (no detection)", ["--region", "192,144,384,288"]),
        ]
        for (name, flags) in runs {
            let folder = work.appendingPathComponent("run-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let config = folder.appendingPathComponent("msai.json").path
            let initRun = try timed(msai, ["init", "--config", config, "--database", folder.appendingPathComponent("dc.sqlite").path,
                                           "--cloud-port", "0", "--datacenter-port", "0", "--force"], in: root, work: folder)
            guard initRun.status == 0 else { throw Failure(description: "msai init failed: \(initRun.output)") }
            let roles = try Roles.start(msai: msai, config: config, in: root)
            defer { roles.stop() }
            let log = folder.appendingPathComponent("areas.jsonl").path
            let measured = try timed(msai, ["edge", clip, "--config", config, "--no-status", "--areas-log", log] + flags,
                                     in: root, work: folder, environment: roles.environment)
            roles.stop()
            guard measured.status == 0 else { throw Failure(description: "\(name) failed (\(measured.status)): \(measured.output.suffix(600))") }
            let entries = try MaskedAreasLog.read(log)
            let sent = entries.filter(\.sent)
            var coverage = MaskCoverage()
            var maskedShare = 0.0
            for entry in sent where entry.frame < reference.count {
                coverage.add(reference: reference[entry.frame], masked: entry.rects)
                maskedShare += Double(MaskCoverage.pixelsCovered(of: frameBounds, by: entry.rects)) / Double(frameBounds.area)
            }
            let rate = Double(sent.count) / measured.seconds
            let detect = measured.output.range(of: #"detection (\d+) ms on average"#, options: .regularExpression)
                .map { String(measured.output[$0]).split(separator: " ")[1] }.map(String.init) ?? "–"
            line([name, String(format: "%.1f", rate), defaceRate.map { String(format: "%.2fx", rate / $0) } ?? "–",
                       String(format: "%.0f MiB", measured.peakMiB),
                       String(format: "%.2f %% (%d of %d)", coverage.boxShare * 100, coverage.boxesCovered, coverage.boxes),
                       String(format: "%.2f %%", coverage.pixelShare * 100), String(format: "%.1f %%", maskedShare * 100 / Double(max(1, sent.count))), detect])
            if sent.count != entries.count { say("    \(entries.count - sent.count) frame(s) not sent") }
            if coverage.boxesMissed > 0 { say("    \(coverage.boxesMissed) reference area(s) not masked at all") }
        }
        say("goals (issue 13): every frame >= 1.0x deface, --detect-every 5 >= 2.0x; boxes covered >= 99 %; peak RSS <= 400 MB (381 MiB)")
    }

    /// A table row, as Markdown (the cells are too wide for fixed columns).
    static func line(_ cells: [String]) { say("| " + cells.joined(separator: " | ") + " |") }

    /// Printed at once, even into a file: the section runs for minutes.
    static func say(_ text: String) {
        print(text)
        fflush(nil)
    }

    /// deface from MSAI_DEFACE, the venv `make deface` makes, or PATH.
    static func defacePath(root: URL) -> String? {
        let environment = ProcessInfo.processInfo.environment
        let path = (environment["PATH"] ?? "").split(separator: ":").map { "\($0)/deface" }
        let candidates: [String] = [environment["MSAI_DEFACE"], root.appendingPathComponent(".build/deface-venv/bin/deface").path].compactMap { $0 } + path
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The policy areas of every frame of the clip at full settings, cached under .build by the
    /// policy, the models' sums and the clip's size (about 3 minutes to make on 2 cores).
    static func referenceAreas(root: URL, store: ModelStore) async throws -> (frames: [[Rect]], bounds: Rect) {
        struct Cache: Codable {
            let key: String
            let width: Int, height: Int
            let frames: [[[Int]]]
        }
        // Full settings: the plate cascade over every frame, vehicles or not.
        var policy = PrivacyPolicy()
        policy.plateCascadeScope = .frame
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let clipPath = root.appendingPathComponent(clip).path
        let clipSize = (try FileManager.default.attributesOfItem(atPath: clipPath)[.size] as? Int) ?? 0
        // A set's order differs from process to process: the classes go into the key sorted.
        var canonical = try JSONSerialization.jsonObject(with: try encoder.encode(policy)) as? [String: Any] ?? [:]
        canonical["classes"] = policy.classes.map(\.rawValue).sorted()
        // The detectors' code is part of the key too (its tree in git, when there is one).
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("msai-bench-git-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let code = (try? timed("/usr/bin/git", ["rev-parse", "HEAD:Sources/MSAIVision", "HEAD:Sources/CMSAIOpenCV"], in: root, work: scratch))?
            .output ?? "no git"
        let key = String(decoding: try JSONSerialization.data(withJSONObject: canonical, options: [.sortedKeys]), as: UTF8.self) + code
            + (try String(contentsOf: root.appendingPathComponent("Models/SHA256SUMS"), encoding: .utf8)) + "\(clip) \(clipSize)"
        let cachePath = root.appendingPathComponent(".build/bench-cache/vtest-reference.json")
        if let data = try? Data(contentsOf: cachePath), let cache = try? JSONDecoder().decode(Cache.self, from: data), cache.key == key {
            return (cache.frames.map { $0.map { Rect(x: $0[0], y: $0[1], width: $0[2], height: $0[3]) } },
                    Rect(x: 0, y: 0, width: cache.width, height: cache.height))
        }
        say("reference: running the default policy's detectors on every frame at full settings (cached for later runs)")
        let selector = AreaSelector.detecting(try DetectionPipeline(policy: policy, store: store))
        let source = try VideoFileSource(path: clipPath)
        var frames: [[Rect]] = []
        var bounds = Rect(x: 0, y: 0, width: 0, height: 0)
        while let frame = try await source.next() {
            bounds = frame.pixels.bounds
            frames.append(try selector.select(frame.pixels).areas.map(\.rect))
        }
        try FileManager.default.createDirectory(at: cachePath.deletingLastPathComponent(), withIntermediateDirectories: true)
        try encoder.encode(Cache(key: key, width: bounds.width, height: bounds.height,
                                 frames: frames.map { $0.map { [$0.x, $0.y, $0.width, $0.height] } })).write(to: cachePath)
        return (frames, bounds)
    }

    /// Runs `program` under /usr/bin/time and waits.
    static func timed(_ program: String, _ arguments: [String], in directory: URL, work: URL, environment: [String: String] = [:]) throws -> Measured {
        let timeFile = work.appendingPathComponent("time-\(UUID().uuidString)").path
        let outputFile = work.appendingPathComponent("output-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        process.arguments = ["-f", "%e %M", "-o", timeFile, program] + arguments
        process.currentDirectoryURL = directory
        process.environment = childEnvironment(environment)
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        try output.close()
        let text = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        let figures = ((try? String(contentsOfFile: timeFile, encoding: .utf8)) ?? "").split(whereSeparator: \.isNewline).last?
            .split(separator: " ").compactMap { Double($0) } ?? []
        guard figures.count == 2 else { throw Failure(description: "no figures from /usr/bin/time for \(program): \(text.suffix(400))") }
        return Measured(seconds: figures[0], peakMiB: figures[1] / 1024, output: text, status: process.terminationStatus)
    }

    /// This process's environment for a child, without the bench's malloc tunables (a camera
    /// or deface runs without them), with `extra` added.
    static func childEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        environment["GLIBC_TUNABLES"] = nil
        return environment
    }

    /// `msai up` on free ports, until stopped.
    final class Roles: @unchecked Sendable {
        let process: Process
        let environment: [String: String]

        static func start(msai: String, config: String, in directory: URL) throws -> Roles {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: msai)
            process.arguments = ["up", "--config", config]
            process.currentDirectoryURL = directory
            process.environment = childEnvironment()
            // Its log goes to a file: a pipe nobody drains would stop it once full.
            let logPath = URL(fileURLWithPath: config).deletingLastPathComponent().appendingPathComponent("up.log")
            _ = FileManager.default.createFile(atPath: logPath.path, contents: nil)
            let log = try FileHandle(forWritingTo: logPath)
            process.standardOutput = log
            process.standardError = log
            try process.run()
            try log.close()
            var text = ""
            let deadline = Date().addingTimeInterval(60)
            while !text.contains("stop with"), process.isRunning, Date() < deadline {
                Thread.sleep(forTimeInterval: 0.1)
                text = (try? String(contentsOf: logPath, encoding: .utf8)) ?? ""
            }
            func url(_ prefix: String) -> String? {
                text.split(separator: "\n").first { $0.hasPrefix(prefix) }?.dropFirst(prefix.count).split(separator: " ").first.map(String.init)
            }
            guard let dataCenter = url("data center listening on "), let cloud = url("cloud listening on ") else {
                if process.isRunning {
                    process.terminate()
                    process.waitUntilExit()
                }
                throw Failure(description: "msai up did not start: \(text)")
            }
            return Roles(process: process, environment: ["MSAI_DATACENTER_URL": dataCenter, "MSAI_CLOUD_URL": cloud])
        }

        init(process: Process, environment: [String: String]) {
            self.process = process
            self.environment = environment
        }

        func stop() {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }
    }
}
