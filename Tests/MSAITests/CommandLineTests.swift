import Foundation
import MSAICore
import MSAIEvaluation
import MSAIImageIO
import MSAIRoles
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

    func msai(_ arguments: [String], environment: [String: String]? = nil, in folder: URL = repositoryRoot) throws -> Run {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.currentDirectoryURL = folder
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

    @Test func evaluateWritesAllOutputsAndRecoversExactly() async throws {
        let out = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try msai(["evaluate", "Datasets/zidane.jpg", "--out", out.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("identical: yes"))
        for suffix in ["sealed", "masked.png", "areas.png", "recovered.png", "metrics.json"] {
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
        // The default mode's masked samples are uniform over 0...255 (F = 255); F = 250 belongs to the paper's map.
        #expect(json["mode"] as? String == "hardened")
        #expect(wu.count == 2 && wu.allSatisfy { $0["largest_value"] as? Int == 255 && $0["scheme_f250"] == nil })
        let timings = json["timings_ms"] as! [String: Double]
        for step in ["detect", "membrane", "mask", "scramble", "unscramble", "unmask"] { #expect(timings[step] != nil) }
        // The recovered PNG equals the decoded original, per `msai metrics`.
        let metrics = try msai(["metrics", "Datasets/zidane.jpg", out.appendingPathComponent("zidane.recovered.png").path, "--json"])
        #expect(metrics.status == 0)
        #expect(metrics.stdout.contains("\"psnr\" : \"inf\""))
    }

    /// `msai evaluate --mode jpeg`: a JPEG masked in the DCT domain (its sent JPEG written as
    /// NAME.masked.jpg, which any decoder opens), a PNG beside it masked as pixels, hardened;
    /// both come back exactly, and the masked areas show no outline of the original.
    @Test func evaluateInTheJPEGModeMasksJPEGsInTheDCTDomainAndPNGsAsPixels() async throws {
        let out = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try msai(["evaluate", "Datasets/person.jpg", "Datasets/lena.png", "--out", out.path, "--mode", "jpeg"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("mode jpeg") && run.stdout.contains("mode hardened") && run.stdout.contains("edge maps"))
        let person = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("person.metrics.json"))) as! [String: Any]
        #expect(person["mode"] as? String == "jpeg" && person["recovered_identical"] as? Bool == true)
        #expect(abs(try #require(person["edge_correlation_areas"] as? Double)) < 0.05)
        #expect((person["wu_tests"] as? [Any])?.isEmpty == true)
        let sent = try JPEGCodec.decodeAsStored(Array(try Data(contentsOf: out.appendingPathComponent("person.masked.jpg"))))
        let camera = try JPEGCodec.decodeAsStored(Array(try Data(contentsOf: URL(fileURLWithPath: dataset("person.jpg")))))
        #expect(sent.width == 640 && sent != camera)
        let lena = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("lena.metrics.json"))) as! [String: Any]
        #expect(lena["mode"] as? String == "hardened" && lena["recovered_identical"] as? Bool == true)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("lena.masked.png").path))
    }

    @Test func manualRegionsInVHEModeSkipDetection() async throws {
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

    @Test func badInputsGetOneLineErrorsAndLeaveNothingBehind() async throws {
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

    /// msai batch: every image under a folder (recursively), one failure recorded without stopping
    /// the run, a second run skipping what is done, and folders it must not use refused by name.
    @Test func batchIsResumableRecordsFailuresAndRefusesForeignRunFolders() async throws {
        let inputs = try temporaryFolder(), runs = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: inputs); try? FileManager.default.removeItem(at: runs) }
        try FileManager.default.createDirectory(at: inputs.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dataset("coffee.png"), toPath: inputs.appendingPathComponent("coffee.png").path)
        try FileManager.default.copyItem(atPath: dataset("person.jpg"), toPath: inputs.appendingPathComponent("sub/person.jpg").path)
        try Data("not an image".utf8).write(to: inputs.appendingPathComponent("sub/broken.jpg"))
        let run = runs.appendingPathComponent("r1").path
        let first = try msai(["batch", inputs.path, "--out", run, "--jobs", "2", "--paper-size", "none"])
        #expect(first.status != 0)  // one image failed
        #expect(first.stdout.contains("2 evaluated, 1 failed"), "\(first.stdout)")
        let images = try FileManager.default.contentsOfDirectory(atPath: run + "/images").sorted()
        // Named as msai evaluate names its outputs, each with its previews for the report.
        #expect(images == ["coffee", "sub__person"].flatMap { name in
            ["\(name).metrics.json"] + ["masked", "original", "recovered", "view"].map { "\(name).preview-\($0).jpg" }
        })
        let failures = try String(contentsOfFile: run + "/failures.jsonl", encoding: .utf8)
        #expect(failures.contains("\"sub__broken\"") && failures.contains("not a JPEG or PNG file"), "\(failures)")
        let person = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/images/sub__person.metrics.json"))) as! [String: Any]
        #expect(person["psnr_recovered"] as? String == "inf")
        // Resume: the two done images are skipped, the broken one is tried again.
        try FileManager.default.removeItem(at: inputs.appendingPathComponent("sub/broken.jpg"))
        let second = try msai(["batch", inputs.path, "--out", run, "--paper-size", "none"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("2 already done") && second.stdout.contains("0 evaluated, 0 failed, 2 skipped"), "\(second.stdout)")
        // Other settings, another version, a folder that is not a run, an empty input folder.
        let other = try msai(["batch", inputs.path, "--out", run, "--paper-size", "none", "--block", "16", "--classes", "face"])
        #expect(other.stderr.contains("was made with other settings: block 8 (now 16), policy classes face, person, plate (now face)"),
                "\(other.stderr)")
        try Data(#"{"format":"msai-run","version":0,"settings":{}}"#.utf8).write(to: URL(fileURLWithPath: run + "/run.json"))
        #expect(try msai(["batch", inputs.path, "--out", run, "--paper-size", "none"]).stderr.contains("was made by run format 0; this msai writes 2"))
        #expect(try msai(["batch", inputs.path, "--out", run + "-x", "--paper-size", "256"]).stderr.contains("--paper-size must be WxH"))
        #expect(try msai(["batch", inputs.path, "--out", run + "-x", "--cloud", "http://127.0.0.1:9"]).stderr.contains("--cloud and --datacenter go together"))
        let notARun = runs.appendingPathComponent("other").path
        try FileManager.default.createDirectory(atPath: notARun, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: notARun + "/notes.txt"))
        #expect(try msai(["batch", inputs.path, "--out", notARun]).stderr.contains("is not an msai run folder"))
        let empty = runs.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        #expect(try msai(["batch", empty, "--out", runs.appendingPathComponent("r2").path]).stderr.contains("no JPEG or PNG files under this folder"))
    }

    /// msai report over a batch run: a self-contained HTML page with the run's settings, the
    /// per-image table (fitting a 1280-pixel screen, failures marked), Wu's tests, the paper's
    /// tables beside ours, pictures and per-channel histograms on one labelled axis with a log
    /// switch; metrics.csv (quoted where it must be) and a rounded summary.json; and two runs side
    /// by side. Read back typed: a renamed key is an error naming the file.
    @Test func reportWritesHTMLCSVAndSummaryFromABatchRun() async throws {
        let runs = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: runs) }
        let comma = runs.appendingPathComponent("coffee, \"copy\".png").path
        try FileManager.default.copyItem(atPath: dataset("coffee.png"), toPath: comma)
        let run = runs.appendingPathComponent("r").path
        let batch = try msai(["batch", dataset("lena.png"), comma, "--out", run])
        #expect(batch.status == 0, "\(batch.stderr)")
        let report = try msai(["report", run])
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        for table in ["settings", "per-image", "wu-tests", "entropy", "timings", "paper-tables", "baselines"] {
            #expect(html.contains("<table id=\"\(table)\">"), "\(table)")
        }
        // The settings it was made with.
        let settings = html.components(separatedBy: "<table id=\"settings\">")[1].components(separatedBy: "</table>")[0]
        #expect(settings.contains("<td>mode</td><td class=\"text\">hardened</td>") && settings.contains("<td>block</td><td class=\"text\">8</td>"))
        #expect(settings.contains("policy classes") && settings.contains("face, person, plate") && settings.contains("yolov4-tiny"))
        for method in ["AES-256-GCM", "ChaCha20-Poly1305", "Gaussian blur", "pixelation", "tau only"] { #expect(html.contains(method), "\(method)") }
        let lena = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/images/lena.metrics.json"))) as! [String: Any]
        let baselines = lena["baselines"] as! [[String: Any]]
        #expect(baselines.count == 5)
        // Whole-frame encryption changes nearly every sample; blur changes the areas only.
        #expect((baselines[0]["npcr_whole"] as! Double) > 99)
        #expect((baselines[2]["npcr_whole"] as! Double) < (baselines[2]["npcr_areas"] as! Double))
        #expect(html.contains(">lena</td>") && html.contains("coffee, &quot;copy&quot;"))
        #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"))  // self-contained
        #expect(html.contains("4 of 4 recovered bit-exactly"))  // each image at its own size and at the paper's 256x256
        // Each failed Wu test is marked, in its table and in the per-image count.
        let wuFailures = (lena["wu_tests"] as! [[String: Any]]).filter { !($0["npcr_pass"] as! Bool) || !($0["uaci_pass"] as! Bool) }.count
        let wuTable = html.components(separatedBy: "<table id=\"wu-tests\">")[1].components(separatedBy: "</table>")[0]
        let lenaWu = wuTable.components(separatedBy: "<tr").filter { $0.contains("title=\"lena\"") }
        #expect(lenaWu.count == 2 && lenaWu.filter { $0.hasPrefix(" class=\"failed\"") && !$0.contains(">pass</td>") }.count == wuFailures)
        for (row, test) in zip(lenaWu, lena["wu_tests"] as! [[String: Any]]) {
            // The figure that failed is the one marked.
            let npcr = String(format: "%.4f", test["npcr"] as! Double), uaci = String(format: "%.4f", test["uaci"] as! Double)
            #expect(row.contains("<td class=\"fail\">\(npcr)</td>") == !(test["npcr_pass"] as! Bool), "\(row)")
            #expect(row.contains("<td class=\"fail\">\(uaci)</td>") == !(test["uaci_pass"] as! Bool), "\(row)")
        }
        #expect(!html.contains("gf251 leaves"))  // the gf251 note, only under gf251
        // Four pictures per image, and for each colour image three histograms (one per channel),
        // each on labelled axes, drawn on a linear and a logarithmic count axis, one scale per image.
        #expect(html.components(separatedBy: "src=\"data:image/jpeg;base64,").count - 1 == 16)
        let lenaSection = html.components(separatedBy: "<section class=\"image\"><h3>lena</h3>")[1].components(separatedBy: "</section>")[0]
        #expect(lenaSection.components(separatedBy: "<svg class=\"histogram\"").count - 1 == 3)
        for label in ["areas, red channel", "areas, green channel", "areas, blue channel", ">sample value<", ">count<", ">count (log)<"] {
            #expect(lenaSection.contains(label), "\(label)")
        }
        let yTicks = lenaSection.components(separatedBy: "<g class=\"lin\">").dropFirst().map { $0.components(separatedBy: "</g>")[0] }
            .map { g in g.components(separatedBy: "class=\"tick\" text-anchor=\"end\">").dropFirst().map { $0.components(separatedBy: "<")[0] } }
        #expect(yTicks.count == 3 && Set(yTicks.map { $0.joined(separator: ",") }).count == 1, "\(yTicks)")  // one count axis
        #expect(html.contains("id=\"log-scale\"") && html.contains("body:has(#log-scale:checked) .log{display:inline}"))
        // metrics.csv: one row per evaluation, a name with a comma and quotes quoted as RFC 4180 says.
        let csv = try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 5 && csv[0].hasPrefix("image,width,height"))
        #expect(csv.contains { $0.hasPrefix("\"coffee, \"\"copy\"\"\",600,400,3,") }, "\(csv)")
        // summary.json: counts, settings, and figures rounded to at most 6 decimals.
        let summaryText = try String(contentsOfFile: run + "/summary.json", encoding: .utf8)
        let summary = try JSONSerialization.jsonObject(with: Data(summaryText.utf8)) as! [String: Any]
        #expect(summary["images"] as? Int == 4 && summary["all_recovered_identical"] as? Bool == true)
        let summarySettings = try #require(summary["settings"] as? [String: Any])
        #expect(summarySettings["mode"] as? String == "hardened" && summarySettings["block"] as? Int == 8)
        #expect((summarySettings["policy"] as? [String: Any])?["padding"] as? Double == 0.1)
        #expect(summaryText.range(of: #"\d\.\d{7,}"#, options: .regularExpression) == nil, "\(summaryText)")
        // Lena at the paper's size is in the Table 3 reproduction, with its face found at that size.
        let small = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/images/lena@256x256.metrics.json"))) as! [String: Any]
        #expect(small["width"] as? Int == 256 && small["height"] as? Int == 256)
        #expect((small["regions"] as! [[String: Any]]).contains { $0["class"] as? String == "face" })
        let table3 = html.components(separatedBy: "<table id=\"paper-tables\">")[1].components(separatedBy: "</table>")[0]
        let lenaRow = table3.components(separatedBy: "<tr>").first { $0.hasPrefix("<td>Lena</td>") } ?? ""
        #expect(lenaRow.contains("0.7871") && lenaRow.contains("face ") && lenaRow.contains("512×512"), "\(lenaRow)")

        // What is not a run, said as what it is.
        let missing = try msai(["report", runs.appendingPathComponent("nonexistent").path])
        #expect(missing.status != 0 && missing.stderr.contains("nonexistent: no such folder"), "\(missing.stderr)")
        let notARun = try msai(["report", runs.path])
        #expect(notARun.status != 0 && notARun.stderr.contains("is not a run folder made by `msai batch` (it has no images/ folder)"))

        // A real browser (Debian's chromium, headless) draws it, and at 1280 pixels every table fits
        // the window: measured in a copy of the page with a script that writes what it finds.
        let page = "file://" + run + "/report.html"
        let measured = runs.appendingPathComponent("measured.html")
        let probe = """
            <pre id="measure"></pre><script>
            const w = document.documentElement.clientWidth;
            const over = [...document.querySelectorAll('table')].filter(t => t.getBoundingClientRect().right > w).map(t => t.id);
            const rows = [...document.querySelectorAll('#per-image tr')].map(r => Math.round(r.getBoundingClientRect().height));
            document.getElementById('measure').textContent = 'width=' + w + ' overflowing=[' + over.join(',') + '] tallest-row=' + Math.max(...rows);
            </script></body>
            """
        try html.replacingOccurrences(of: "</body>", with: probe).write(to: measured, atomically: true, encoding: .utf8)
        let dom = try runProgram("/usr/bin/chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900", "--dump-dom",
                                                       "file://" + measured.path])
        #expect(dom.status == 0, "\(dom.stderr)")
        let measure = dom.stdout.components(separatedBy: "<pre id=\"measure\">").dropFirst().first?.components(separatedBy: "</pre>").first ?? ""
        #expect(measure.contains("overflowing=[]"), "\(measure)")
        // One line per row: no cell wraps (a row of one line of 13-pixel text is well under 30 pixels).
        let tallest = Int(measure.components(separatedBy: "tallest-row=").last ?? "") ?? 999
        #expect(tallest < 30, "\(measure)")
        let shot = runs.appendingPathComponent("report.png").path
        let screenshot = try runProgram("/usr/bin/chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600",
                                                             "--screenshot=\(shot)", page])
        #expect(screenshot.status == 0, "\(screenshot.stderr)")
        let picture = try ImageFile.read(shot)
        #expect(picture.width == 1280 && picture.height == 1600)
        #expect(Set(picture.samples).count > 50)  // not a blank page

        // A second run in the paper's mode, and the two side by side.
        let paper = runs.appendingPathComponent("paper").path
        #expect(try msai(["batch", dataset("lena.png"), "--out", paper, "--mode", "gf251", "--paper-size", "none"]).status == 0)
        let compared = try msai(["report", run, paper])
        #expect(compared.status == 0, "\(compared.stderr)")
        #expect(compared.stdout.contains("wrote \(runs.path)/comparison.html: r, paper side by side"), "\(compared.stdout)")
        let comparison = try String(contentsOfFile: runs.appendingPathComponent("comparison.html").path, encoding: .utf8)
        let compareSettings = comparison.components(separatedBy: "<table id=\"settings\">")[1].components(separatedBy: "</table>")[0]
        #expect(compareSettings.contains("<tr class=\"differs\"><td>mode</td><td class=\"text\">hardened</td><td class=\"text\">gf251</td></tr>"))
        #expect(compareSettings.contains("<tr><td>block</td><td class=\"text\">8</td><td class=\"text\">8</td></tr>"))
        #expect(comparison.contains("<a href=\"r/report.html\">r</a>") && comparison.contains("<a href=\"paper/report.html\">paper</a>"))
        // Only lena is in both; gf251 leaves samples in place, hardened none, and it shows.
        let perImage = comparison.components(separatedBy: "<table id=\"per-image\">")[1].components(separatedBy: "</table>")[0]
        #expect(perImage.contains("title=\"lena\"") && !perImage.contains("coffee"))
        #expect(comparison.components(separatedBy: "<svg class=\"histogram\"").count - 1 == 2)
        let paperLena = try EvaluationReport.decode(Data(contentsOf: URL(fileURLWithPath: paper + "/images/lena.metrics.json")))
        #expect(paperLena.leakShare > 0 && perImage.contains("<td class=\"fail\">\(String(format: "%.6f", paperLena.leakShare))</td>"))
        #expect(try msai(["report", run, "--out", "x.html"]).stderr.contains("--out is where a comparison goes"))
        #expect(try msai(["report", run, run]).stderr.contains("is named twice"))
        #expect(try msai(["report", run, paper, "--out", "/nonexistent/x.html"]).stderr.contains("the folder /nonexistent does not exist"))

        // A metrics file whose key was renamed is refused by name, not shown as a blank.
        let file = URL(fileURLWithPath: paper + "/images/lena.metrics.json")
        try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "\"npcr_whole\"", with: "\"npcr_all\"")
            .write(to: file, atomically: true, encoding: .utf8)
        let renamed = try msai(["report", paper])
        #expect(renamed.status != 0 && renamed.stderr.contains("lena.metrics.json: not an msai metrics file (it lacks \"npcr_whole\")"),
                "\(renamed.stderr)")
    }

    /// Runs a program with a timeout of 60 s.
    func runProgram(_ path: String, _ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { if process.isRunning { kill(pid, SIGKILL) } }
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// `msai init` writes the configuration and the master key, both private; a second run keeps
    /// both unless --force, which keeps the key (a database made with it needs it). The data
    /// center does not start without its key, with another key, or from an msai 1 configuration,
    /// and says which.
    @Test func initWritesAPrivateMasterKeyAndTheDataCenterRefusesToStartWithoutIt() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("msai.json").path, key = folder.appendingPathComponent("msai.master.key").path
        let database = folder.appendingPathComponent("data/dc.sqlite").path
        let first = try msai(["init", "--config", config, "--database", database, "--datacenter-port", "0", "--cloud-port", "0"])
        #expect(first.status == 0 && first.stdout.contains("wrote the data center's master key to \(key)"), "\(first.stdout)\(first.stderr)")
        for path in [config, key] {
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
            #expect(mode & 0o077 == 0, "\(path) is \(String(mode, radix: 8))")
        }
        let keyBytes = try Data(contentsOf: URL(fileURLWithPath: key)), tokens = try Data(contentsOf: URL(fileURLWithPath: config))
        let parsed = try JSONSerialization.jsonObject(with: tokens) as! [String: Any]
        #expect((parsed["viewer_tokens"] as? [String])?.count == 1 && (parsed["recoverer_tokens"] as? [String])?.count == 1)
        #expect(parsed["master_key_file"] as? String == key)
        let again = try msai(["init", "--config", config])
        #expect(again.status != 0 && again.stderr.contains("already exists"), "\(again.stderr)")
        let forced = try msai(["init", "--config", config, "--database", database, "--datacenter-port", "0", "--cloud-port", "0", "--force"])
        #expect(forced.status == 0 && forced.stdout.contains("kept the data center's master key"), "\(forced.stdout)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: key)) == keyBytes)
        #expect(try Data(contentsOf: URL(fileURLWithPath: config)) != tokens)

        // Without its key, with another key, from an msai 1 configuration: a one-line error, no database made.
        try FileManager.default.removeItem(atPath: key)
        let missing = try msai(["datacenter", "serve", "--config", config])
        #expect(missing.status != 0 && missing.stderr.contains("\(key): the data center's master key file does not exist"), "\(missing.stderr)")
        var environment = ProcessInfo.processInfo.environment
        environment["MSAI_MASTER_KEY"] = "12345"
        let malformed = try msai(["datacenter", "serve", "--config", config], environment: environment)
        #expect(malformed.status != 0 && malformed.stderr.contains("MSAI_MASTER_KEY: a master key is 64 hex digits"), "\(malformed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: database))
        var legacy = parsed
        legacy["reader_tokens"] = legacy.removeValue(forKey: "recoverer_tokens")
        try JSONSerialization.data(withJSONObject: legacy).write(to: URL(fileURLWithPath: config))
        let old = try msai(["datacenter", "serve", "--config", config])
        #expect(old.status != 0 && old.stderr.contains("rename reader_tokens to recoverer_tokens"), "\(old.stderr)")
    }

    @Test func helpReadsLikeAManPageWithExamples() async throws {
        let help = try msai(["evaluate", "--help"])
        #expect(help.stdout.contains("Examples:"))
        #expect(help.stdout.contains("--region"))
    }

    /// `msai detect` writes one JSON file and one annotated PNG per image, and prints JSON Lines
    /// with a fixed schema.
    @Test func detectWritesJSONAndAnnotatedImagesWithAStableSchema() async throws {
        let out = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try msai(["detect", "Datasets/zidane.jpg", "Datasets/coffee.png", "--out", out.path, "--json", "--classes", "face,eyes,person"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(lines.count == 2)
        for object in lines {
            #expect(Set(object.keys) == ["image", "width", "height", "outcome", "reason", "detections", "areas", "timings_ms"])
            for area in object["areas"] as! [[String: Any]] {
                for key in ["x", "y", "w", "h", "class", "label", "confidence", "detector"] { #expect(area[key] != nil, "missing \(key)") }
            }
        }
        let zidane = lines[0]
        #expect(zidane["outcome"] as? String == "areas")
        let classes = (zidane["areas"] as! [[String: Any]]).map { $0["class"] as! String }
        #expect(classes.filter { $0 == "eyes" }.count == 2 && classes.filter { $0 == "face" }.count == 2)
        // coffee.png holds nothing sensitive: the JSON says so.
        #expect(lines[1]["outcome"] as? String == "nothing")
        #expect((lines[1]["reason"] as? String)?.contains("nothing sensitive found") == true)
        for file in ["zidane.detections.json", "zidane.annotated.png", "coffee.detections.json", "coffee.annotated.png"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file)")
        }
        // As a table: column headers, real scores (a plate cascade's agreement, not a constant 1),
        // and where the files went.
        let table = try msai(["detect", "Datasets/alpr_test.jpg", "--out", out.path, "--classes", "plate"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("  class    score  x,y,w,h"), "\(table.stdout)")
        #expect(table.stdout.contains("wrote \(out.path)/alpr_test.detections.json and \(out.path)/alpr_test.annotated.png"))
        let plates = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("alpr_test.detections.json"))) as! [String: Any]
        let haar = (plates["detections"] as! [[String: Any]]).filter { ($0["detector"] as? String)?.hasPrefix("haar") == true }
        #expect(!haar.isEmpty)
        for d in haar {
            let score = d["confidence"] as! Double
            #expect(score >= 0.5 && score < 1, "\(d)")
        }
    }

    /// Models absent: evaluate warns once, masks every frame whole (the default policy fails
    /// closed), and says so in the JSON; with --on-detector-failure stop it refuses to run.
    /// A research command given a model folder or a detector that does not exist stops and says
    /// which, rather than report frames masked whole as if detected; asked to fail closed (as the
    /// camera does), it masks the whole frame and says so.
    @Test func researchCommandsStopOnMissingModelsAndFailClosedWhenAsked() async throws {
        let out = try temporaryFolder(), empty = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: empty) }
        let missing = try msai(["evaluate", "Datasets/lena.png", "--out", out.path, "--models", "/nonexistent"])
        #expect(missing.status != 0 && missing.stderr == "msai: error: model folder /nonexistent does not exist (use --models DIR or set MSAI_MODELS)\n",
                "\(missing.stderr)")
        let typo = try msai(["batch", "Datasets/lena.png", "--out", out.appendingPathComponent("run").path, "--yolo", "nosuch"])
        #expect(typo.status != 0 && typo.stderr.contains("darknet model 'nosuch' is not in") && typo.stderr.contains("available: yolov3-tiny, yolov4-tiny"),
                "\(typo.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
        let run = try msai(["evaluate", "Datasets/lena.png", "--out", out.path, "--models", empty.path, "--json",
                            "--on-detector-failure", "mask-whole-frame"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("msai: warning:") && run.stderr.contains("masked whole"))
        let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        #expect(json["mask_decision"] as? String == "whole-frame")
        let regions = json["regions"] as! [[String: Any]]
        #expect(regions.count == 1 && regions[0]["w"] as? Int == 512 && regions[0]["h"] as? Int == 512)
        #expect(json["recovered_identical"] as? Bool == true)
        let stop = try msai(["evaluate", "Datasets/lena.png", "--out", out.path, "--models", empty.path, "--on-detector-failure", "stop"])
        #expect(stop.status != 0 && stop.stderr.hasPrefix("msai: error:"))
        let detect = try msai(["detect", "Datasets/lena.png", "--models", empty.path])
        #expect(detect.status != 0)
    }

    @Test func inspectShowsMetadataAndNamesMissingMetadata() async throws {
        let out = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        _ = try msai(["evaluate", "Datasets/lena.png", "--out", out.path, "--region", "10,10,40,40"])
        let ok = try msai(["inspect", out.appendingPathComponent("lena.masked.png").path])
        #expect(ok.status == 0 && ok.stdout.contains("area 1: 10,10,40,40") && ok.stdout.contains("512x512x3"))
        let plain = try msai(["inspect", "Datasets/lena.png"])
        #expect(plain.status != 0 && plain.stderr.contains("no msai metadata"))
        // A stream's patch frame, in its QOI container.
        let roles = Roles(seed: 95, format: .qoi)
        let image = try ImageFile.read(dataset("zidane.jpg"))
        let background = try await roles.edge.send(try await roles.edge.prepare(image, areas: [])).frameID
        let patch = try await roles.edge.preparePatches(image, areas: [Rect(x: 10, y: 20, width: 30, height: 40)], background: background)
        let path = out.appendingPathComponent("patch.masked.qoi.msai")
        try Data(patch.encoded).write(to: path)
        let shown = try msai(["inspect", path.path])
        #expect(shown.status == 0 && shown.stdout.contains("(qoi), 30x40x3"), "\(shown.stdout)")
        #expect(shown.stdout.contains("patch frame (ROI only): 1 piece(s) for background \(background), 1280x720"), "\(shown.stdout)")
        #expect(shown.stdout.contains("piece 1: mosaic 0,0,30,40 -> frame 10,20,30,40"), "\(shown.stdout)")
    }

    /// eval-detect on a two-image label set written here: a face it finds and a person it cannot
    /// miss count as hits; a made-up label counts as a miss.
    @Test func evalDetectScoresAgainstLabels() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let labels = folder.appendingPathComponent("labels")
        try FileManager.default.createDirectory(at: labels, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dataset("person.jpg"), toPath: folder.appendingPathComponent("person.jpg").path)
        try FileManager.default.copyItem(atPath: dataset("coffee.png"), toPath: folder.appendingPathComponent("coffee.png").path)
        let coco = """
            {"images": [{"id": 1, "file_name": "person.jpg", "width": 640, "height": 424},
                        {"id": 2, "file_name": "coffee.png", "width": 600, "height": 400}],
             "categories": [{"id": 1, "name": "face"}, {"id": 2, "name": "person"}],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 2, "bbox": [185, 95, 95, 310], "iscrowd": 0},
                             {"id": 2, "image_id": 2, "category_id": 2, "bbox": [10, 10, 50, 100], "iscrowd": 0}]}
            """
        try Data(coco.utf8).write(to: labels.appendingPathComponent("instances.json"))
        let run = try msai(["eval-detect", "--labels", labels.appendingPathComponent("instances.json").path, "--list-errors"])
        #expect(run.status == 0, "\(run.stderr)")
        let policyPerson = run.stdout.split(separator: "\n").first { $0.hasPrefix("policy ") && $0.contains(" person ") }
        #expect(policyPerson?.contains("50.0 %") == true, "\(run.stdout)")  // 1 of 2 labels found
        #expect(run.stdout.contains("miss            coffee.png  person at 10,10,50,100"))
    }
}

/// The matching rules of eval-detect, without models.
@Suite struct DetectionScoreTests {
    func d(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ c: Double) -> Detection {
        Detection(rect: Rect(x: x, y: y, width: w, height: h), privacyClass: .face, label: "face", confidence: c, detector: "t")
    }

    @Test func greedyMatchingAtIoUHalfWithIgnoreRegions() {
        let labels: [(rect: Rect, ignore: Bool)] = [(Rect(x: 0, y: 0, width: 10, height: 10), false),
                                                    (Rect(x: 100, y: 100, width: 10, height: 10), false),
                                                    (Rect(x: 200, y: 0, width: 50, height: 50), true)]
        let result = DetectionScore.score(detections: [
            d(0, 0, 10, 10, 0.9),  // hit
            d(1, 1, 10, 10, 0.8),  // duplicate of the same face: false positive
            d(210, 10, 10, 10, 0.7),  // inside the ignore region: neither
            d(300, 300, 10, 10, 0.6),  // false positive
        ], labels: labels)
        #expect(result.score.truePositives == 1 && result.score.falsePositives == 2 && result.score.falseNegatives == 1)
        #expect(result.misses == [Rect(x: 100, y: 100, width: 10, height: 10)])
        #expect(result.score.precision == 1.0 / 3 && result.score.recall == 0.5)
        // A box at IoU just under 0.5 is not a hit.
        #expect(DetectionScore.score(detections: [d(0, 0, 10, 20, 1)], labels: [(Rect(x: 0, y: 0, width: 10, height: 9), false)]).score.truePositives == 0)
    }

    @Test func coverageCountsLabelsMostlyInsideMaskedAreas() {
        let faces = [Rect(x: 10, y: 10, width: 10, height: 10), Rect(x: 50, y: 50, width: 10, height: 10)]
        let person = Rect(x: 0, y: 0, width: 30, height: 30)
        #expect(DetectionScore.covered(labels: faces, by: [person], width: 100, height: 100) == 1)
        #expect(DetectionScore.covered(labels: faces, by: [Rect(x: 50, y: 50, width: 10, height: 8)], width: 100, height: 100) == 0)
    }
}
