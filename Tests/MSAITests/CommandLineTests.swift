import Foundation
import Testing

/// The `msai` executable end to end, as a user runs it.
@Suite(.serialized) struct CommandLineTests {
    /// The msai binary built beside the test bundle.
    static let executable: URL = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("msai"),
            Bundle.main.bundleURL.appendingPathComponent("msai"),
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("msai"),
            repositoryRoot.appendingPathComponent(".build/debug/msai"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }()

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    func msai(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        process.currentDirectoryURL = repositoryRoot
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("msai-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func evaluateWritesAllOutputsAndRecoversExactly() throws {
        let out = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try msai(["evaluate", "Datasets/zidane.jpg", "--out", out.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("identical: yes"))
        for suffix in ["masked.png", "areas.png", "recovered.png", "metrics.json"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("zidane.\(suffix)").path))
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("zidane.metrics.json"))) as! [String: Any]
        #expect(json["psnr_recovered"] as? String == "inf")
        #expect(json["recovered_identical"] as? Bool == true)
        let regions = json["regions"] as! [[String: Any]]
        #expect(regions.filter { $0["class"] as? String == "face" }.count == 2)
        #expect(regions.contains { $0["class"] as? String == "person" })
        for key in ["image", "width", "height", "channels", "mode", "block", "npcr_whole", "uaci_whole", "npcr_areas", "uaci_areas", "leak_share"] {
            #expect(json[key] != nil, "missing \(key)")
        }
        let wu = json["wu_tests"] as! [[String: Any]]
        #expect(wu.count == 2 && wu.allSatisfy { $0["largest_value"] as? Int == 249 && $0["scheme_f250"] != nil })
        let timings = json["timings_ms"] as! [String: Double]
        for step in ["detect", "membrane", "mask", "scramble", "unscramble", "unmask"] { #expect(timings[step] != nil) }
        // The recovered PNG equals the decoded original, per `msai metrics`.
        let metrics = try msai(["metrics", "Datasets/zidane.jpg", out.appendingPathComponent("zidane.recovered.png").path, "--json"])
        #expect(metrics.status == 0)
        #expect(metrics.stdout.contains("\"psnr\" : \"inf\""))
    }

    @Test func manualRegionsInVHEModeSkipDetection() throws {
        let out = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try msai(["evaluate", "Datasets/lena.png", "--out", out.path, "--mode", "vhe", "--region", "0,0,40,30",
                            "--region", "20,20,50,50", "--block", "16", "--json", "--models", "/nonexistent"])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        #expect(json["mode"] as? String == "vhe")
        #expect(json["psnr_recovered"] as? String == "inf")
        #expect((json["timings_ms"] as! [String: Double])["detect"] == 0)
    }

    @Test func badInputsGetOneLineErrorsAndLeaveNothingBehind() throws {
        let out = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        let missing = try msai(["evaluate", "Datasets/nope.jpg", "--out", out.path, "--region", "0,0,4,4"])
        #expect(missing.status != 0)
        #expect(missing.stderr == "msai: error: Datasets/nope.jpg: no such file\nmsai: error: 1 of 1 image(s) failed; their outputs were not written\n")
        let outside = try msai(["evaluate", "Datasets/lena.png", "--out", out.path, "--region", "500,500,20,20"])
        #expect(outside.status != 0)
        #expect(outside.stderr.contains("region 500,500,20,20 (x,y,w,h) does not lie inside the 512x512 image"))
        let badRegion = try msai(["evaluate", "Datasets/lena.png", "--out", out.path, "--region", "1,2,3"])
        #expect(badRegion.status != 0)
        #expect(badRegion.stderr.contains("region '1,2,3' is not of the form x,y,w,h"))
        let hugeRegion = try msai(["evaluate", "Datasets/lena.png", "--out", out.path, "--region=1,0,9223372036854775807,1"])
        #expect(hugeRegion.status != 0 && hugeRegion.stderr.contains("beyond"))
        let hugeBlock = try msai(["evaluate", "Datasets/lena.png", "--out", out.path, "--region", "0,0,8,8", "--block", "9223372036854775807"])
        #expect(hugeBlock.status != 0 && hugeBlock.stderr.contains("block size must lie in 1...4096"))
        let badClass = try msai(["evaluate", "Datasets/lena.png", "--out", out.path, "--classes", "face,cat"])
        #expect(badClass.stderr.contains("unknown class 'cat'"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
        let sizes = try msai(["metrics", "Datasets/lena.png", "Datasets/zidane.jpg"])
        #expect(sizes.status != 0)
        #expect(sizes.stderr.contains("Datasets/lena.png is 512x512x3 but Datasets/zidane.jpg is 1280x720x3"))
    }

    @Test func helpReadsLikeAManPageWithExamples() throws {
        let help = try msai(["evaluate", "--help"])
        #expect(help.stdout.contains("Examples:"))
        #expect(help.stdout.contains("--region"))
    }
}
