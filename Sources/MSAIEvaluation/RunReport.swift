import Foundation
import MSAICore

/// `msai report RUN`: RUN/report.html (self-contained: CSS inline, plots as inline SVG),
/// RUN/metrics.csv and RUN/summary.json, from the run's NAME.metrics.json files.
public enum RunReport {
    /// The paper's Tables 2 and 3 (MSAI, section 5), for the kinds of image it used.
    static let paper: [(kind: String, size: String, area: String, npcr: Double, uaci: Double)] = [
        ("car", "256 × 256", "30 × 17", 0.9961, 0.3346),
        ("finger", "256 × 256", "58 × 62", 0.9981, 0.3318),
        ("Lena", "256 × 256", "71 × 63", 0.7871, 0.3094),
    ]
    /// Which bundled image stands for each of the paper's kinds. No fingerprint image is in any
    /// registry reachable here; a face portrait, the other biometric the policy masks, stands in.
    static let counterparts = ["car": "car_plate.jpg", "finger": "astronaut.png", "Lena": "lena.png"]
    /// The size the paper evaluated at; `msai batch` evaluates every image at it too (NAME@256x256).
    static let paperSize = "256x256"

    public struct Output {
        public let html: String
        public let csv: String
        public let summary: Data
        public let images: Int
    }

    /// Reads every RUN/images/*.metrics.json; names the file when one is not readable.
    public static func load(_ run: String) throws -> [[String: Any]] {
        let folder = URL(fileURLWithPath: run).appendingPathComponent("images")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else {
            throw MSAIError.io("\(run): no images/ folder: not a run made by `msai batch`")
        }
        let files = names.filter { $0.hasSuffix(".metrics.json") }.sorted()
        guard !files.isEmpty else { throw MSAIError.io("\(run)/images holds no metrics yet: run `msai batch` first") }
        return try files.map { name in
            let url = folder.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["image"] != nil
            else { throw MSAIError.invalidMetadata("\(url.path): not an msai metrics file") }
            return object
        }
    }

    public static func make(_ reports: [[String: Any]], failures: [String], runName: String) -> Output {
        func number(_ r: [String: Any], _ key: String) -> Double? {
            if let v = r[key] as? Double { return v }
            if let v = r[key] as? Int { return Double(v) }
            return nil
        }
        func nested(_ r: [String: Any], _ a: String, _ b: String) -> Double? { (r[a] as? [String: Any])?[b] as? Double }
        func f(_ x: Double?, _ digits: Int = 4) -> String { x.map { String(format: "%.\(digits)f", $0) } ?? "–" }
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        func wu(_ r: [String: Any]) -> String {
            let tests = r["wu_tests"] as? [[String: Any]] ?? []
            if tests.isEmpty { return "–" }
            let passed = tests.reduce(0) { $0 + (($1["npcr_pass"] as? Bool) == true ? 1 : 0) + (($1["uaci_pass"] as? Bool) == true ? 1 : 0) }
            return "\(passed)/\(tests.count * 2)"
        }
        let identical = reports.filter { ($0["recovered_identical"] as? Bool) == true }.count

        // metrics.csv
        let columns = ["image", "width", "height", "channels", "mode", "block", "areas", "mask_decision", "npcr_whole", "uaci_whole",
                       "npcr_areas", "uaci_areas", "wu_tests_passed", "psnr_recovered", "recovered_identical", "leak_share",
                       "entropy_original_whole", "entropy_masked_whole", "entropy_original_areas", "entropy_masked_areas",
                       "local_entropy_original", "local_entropy_masked", "corr_h_original_areas", "corr_h_masked_areas",
                       "ms_detect", "ms_membrane", "ms_mask", "ms_scramble", "ms_encode", "ms_unscramble", "ms_unmask"]
        var csv = columns.joined(separator: ",") + "\n"
        for r in reports {
            let row: [String] = [
                "\"\(r["image"] as? String ?? "")\"", f(number(r, "width"), 0), f(number(r, "height"), 0), f(number(r, "channels"), 0),
                r["mode"] as? String ?? "", f(number(r, "block"), 0), "\((r["regions"] as? [Any])?.count ?? 0)", r["mask_decision"] as? String ?? "",
                f(number(r, "npcr_whole")), f(number(r, "uaci_whole")), f(number(r, "npcr_areas")), f(number(r, "uaci_areas")), wu(r),
                (r["psnr_recovered"] as? String) ?? f(number(r, "psnr_recovered")), "\((r["recovered_identical"] as? Bool) ?? false)",
                f(number(r, "leak_share"), 6),
                f(nested(r, "entropy", "original_whole")), f(nested(r, "entropy", "masked_whole")),
                f(nested(r, "entropy", "original_areas")), f(nested(r, "entropy", "masked_areas")),
                f(nested(r, "local_entropy", "original_whole")), f(nested(r, "local_entropy", "masked_whole")),
                f(((r["correlation"] as? [String: Any])?["original_areas"] as? [String: Any])?["horizontal"] as? Double),
                f(((r["correlation"] as? [String: Any])?["masked_areas"] as? [String: Any])?["horizontal"] as? Double),
            ] + ["detect", "membrane", "mask", "scramble", "encode", "unscramble", "unmask"].map { f(nested(r, "timings_ms", $0), 3) }
            csv += row.joined(separator: ",") + "\n"
        }

        // summary.json
        let summary: [String: Any] = [
            "run": runName, "images": reports.count, "failed": failures.count, "recovered_identical": identical,
            "all_recovered_identical": identical == reports.count,
            "mean_npcr_whole": reports.compactMap { number($0, "npcr_whole") }.mean,
            "mean_uaci_whole": reports.compactMap { number($0, "uaci_whole") }.mean,
            "mean_npcr_areas": reports.compactMap { number($0, "npcr_areas") }.mean,
            "mean_uaci_areas": reports.compactMap { number($0, "uaci_areas") }.mean,
            "mean_leak_share": reports.compactMap { number($0, "leak_share") }.mean,
        ]
        let summaryData = (try? JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])) ?? Data()

        // report.html
        var html = """
            <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>msai report: \(esc(runName))</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
            table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
            th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}.fail{color:#b00}.ok{color:#070}
            figure{display:inline-block;margin:0 1em 1em 0}figcaption{font-size:12px;text-align:center}
            svg{background:#fafafa;border:1px solid #ddd}h2{margin-top:2em}
            </style></head><body>
            <h1>msai report: \(esc(runName))</h1>
            <p id="summary">\(reports.count) image(s) evaluated, \(failures.count) failed;
            <span class="\(identical == reports.count ? "ok" : "fail")">\(identical) of \(reports.count) recovered bit-exactly (PSNR = ∞)</span>.
            Percentages are in percent; Wu tests at α = 0.05 (count of the NPCR and UACI tests passed).</p>
            <h2>Per image</h2>
            <table id="per-image"><tr><th>image</th><th>size</th><th>areas</th><th>decision</th><th>NPCR whole</th><th>UACI whole</th>
            <th>NPCR areas</th><th>UACI areas</th><th>Wu passed</th><th>PSNR</th><th>leak</th><th>entropy whole</th><th>local entropy whole</th><th>entropy areas</th>
            <th>corr. h areas</th><th>detect ms</th><th>mask+scramble ms</th></tr>
            """
        for r in reports {
            let psnr = (r["psnr_recovered"] as? String) ?? f(number(r, "psnr_recovered"), 2)
            let maskMs = (nested(r, "timings_ms", "mask") ?? 0) + (nested(r, "timings_ms", "scramble") ?? 0)
            html += "<tr><td>\(esc(r["image"] as? String ?? ""))</td><td>\(f(number(r, "width"), 0))×\(f(number(r, "height"), 0))×\(f(number(r, "channels"), 0))</td>"
                + "<td>\((r["regions"] as? [Any])?.count ?? 0)</td><td>\(esc(r["mask_decision"] as? String ?? ""))</td>"
                + "<td>\(f(number(r, "npcr_whole")))</td><td>\(f(number(r, "uaci_whole")))</td><td>\(f(number(r, "npcr_areas")))</td>"
                + "<td>\(f(number(r, "uaci_areas")))</td><td>\(wu(r))</td><td class=\"\(psnr == "inf" ? "ok" : "fail")\">\(psnr)</td>"
                + "<td>\(f((number(r, "leak_share") ?? 0) * 100, 3)) %</td>"
                + "<td>\(f(nested(r, "entropy", "original_whole"), 3)) → \(f(nested(r, "entropy", "masked_whole"), 3))</td>"
                + "<td>\(f(nested(r, "local_entropy", "original_whole"), 3)) → \(f(nested(r, "local_entropy", "masked_whole"), 3))</td>"
                + "<td>\(f(nested(r, "entropy", "original_areas"), 3)) → \(f(nested(r, "entropy", "masked_areas"), 3))</td>"
                + "<td>\(f(((r["correlation"] as? [String: Any])?["original_areas"] as? [String: Any])?["horizontal"] as? Double, 3)) → \(f(((r["correlation"] as? [String: Any])?["masked_areas"] as? [String: Any])?["horizontal"] as? Double, 3))</td>"
                + "<td>\(f(nested(r, "timings_ms", "detect"), 1))</td><td>\(f(maskMs, 2))</td></tr>\n"
        }
        html += "</table>\n"
        if !failures.isEmpty {
            html += "<h2>Failures</h2><ul id=\"failures\">" + failures.map { "<li class=\"fail\">\(esc($0))</li>" }.joined() + "</ul>\n"
        }

        // The paper's tables beside ours: the same kind of image at the paper's size, and at its own.
        html += """
            <h2>The paper's Tables 2 and 3, beside this run</h2>
            <p>The paper masked one area per 256 × 256 image, found by YOLO v3. This run evaluates each bundled image
            of the same kind resized to 256 × 256 (the paper's setting) and at its own size, with the areas this run's
            policy found. Like the paper's Table 3, NPCR and UACI compare the original with the final masked and
            scrambled frame, as fractions. No fingerprint image is in any registry reachable here; a face portrait
            stands in for it. Wu's tests are in the per-image table.</p>
            <table id="paper-tables"><tr><th rowspan="2">image</th><th colspan="4">the paper (Tables 2 and 3)</th>
            <th colspan="4">this run at \(paperSize)</th><th colspan="4">this run at the image's own size</th></tr>
            <tr><th>size</th><th>area</th><th>NPCR</th><th>UACI</th><th>image</th><th>areas</th><th>NPCR</th><th>UACI</th>
            <th>size</th><th>areas</th><th>NPCR</th><th>UACI</th></tr>
            """
        func areaList(_ r: [String: Any]?) -> String {
            guard let r else { return "–" }
            let sizes = (r["regions"] as? [[String: Any]] ?? []).map { "\($0["class"] ?? "") \($0["w"] ?? "?")×\($0["h"] ?? "?")" }
            return sizes.isEmpty ? "none" : sizes.joined(separator: ", ")
        }
        for p in paper {
            let name = counterparts[p.kind]
            let atOwnSize = name.flatMap { n in reports.first { ($0["image"] as? String)?.hasSuffix(n) == true } }
            let atPaperSize = name.flatMap { n in reports.first { ($0["image"] as? String)?.hasSuffix("\(n)@\(paperSize)") == true } }
            let kind = p.kind == "finger" ? "finger (a face stands in)" : p.kind
            html += "<tr><td>\(kind)</td><td>\(p.size)</td><td>\(p.area)</td><td>\(f(p.npcr))</td><td>\(f(p.uaci))</td>"
                + "<td>\(esc(name ?? "–"))</td><td>\(esc(areaList(atPaperSize)))</td>"
                + "<td>\(f(atPaperSize.flatMap { number($0, "npcr_whole") }.map { $0 / 100 }))</td>"
                + "<td>\(f(atPaperSize.flatMap { number($0, "uaci_whole") }.map { $0 / 100 }))</td>"
                + "<td>\(atOwnSize.map { "\(f(number($0, "width"), 0))×\(f(number($0, "height"), 0))" } ?? "–")</td><td>\(esc(areaList(atOwnSize)))</td>"
                + "<td>\(f(atOwnSize.flatMap { number($0, "npcr_whole") }.map { $0 / 100 }))</td>"
                + "<td>\(f(atOwnSize.flatMap { number($0, "uaci_whole") }.map { $0 / 100 }))</td></tr>\n"
        }
        html += "</table>\n"

        // Baselines, averaged over the images.
        html += """
            <h2>Baselines in the same run</h2>
            <p>Means over the images. NPCR and UACI compare the original with what leaves the camera, over the whole frame
            and at the areas' positions (for MSAI, its masked areas before scrambling); PSNR of what leaves the camera against
            the original (lower hides more). Encryption hides everything, including what is not sensitive; blur and pixelation
            cannot be undone; the scrambling alone leaves every area's pixel values as they were, only moved.</p>
            <table id="baselines"><tr><th>method</th><th>reversible</th><th>ms per frame</th><th>NPCR whole</th><th>UACI whole</th>
            <th>NPCR areas</th><th>UACI areas</th><th>PSNR of output</th></tr>
            """
        let msaiMs = reports.map { (nested($0, "timings_ms", "membrane") ?? 0) + (nested($0, "timings_ms", "mask") ?? 0) + (nested($0, "timings_ms", "scramble") ?? 0) }.mean
        html += "<tr><td>MSAI (\(esc(reports.first?["mode"] as? String ?? "")): membrane + mask + scramble)</td><td>yes, by the data center</td><td>\(f(msaiMs, 2))</td>"
            + "<td>\(f(reports.compactMap { number($0, "npcr_whole") }.mean))</td><td>\(f(reports.compactMap { number($0, "uaci_whole") }.mean))</td>"
            + "<td>\(f(reports.compactMap { number($0, "npcr_areas") }.mean))</td><td>\(f(reports.compactMap { number($0, "uaci_areas") }.mean))</td><td>–</td></tr>\n"
        let baselineRows = reports.compactMap { $0["baselines"] as? [[String: Any]] }.flatMap { $0 }
        var methods: [String] = []
        for row in baselineRows { if let m = row["method"] as? String, !methods.contains(m) { methods.append(m) } }
        for method in methods {
            let rows = baselineRows.filter { ($0["method"] as? String) == method }
            func mean(_ key: String) -> Double { rows.compactMap { number($0, key) }.mean }
            let reversible = (rows.first?["reversible"] as? Bool) == true ? "yes, with the key" : "no"
            html += "<tr><td>\(esc(method))</td><td>\(method.hasPrefix("tau") ? "yes" : reversible)</td><td>\(f(mean("milliseconds"), 2))</td>"
                + "<td>\(f(mean("npcr_whole")))</td><td>\(f(mean("uaci_whole")))</td><td>\(f(mean("npcr_areas")))</td><td>\(f(mean("uaci_areas")))</td>"
                + "<td>\(f(mean("psnr_output"), 2))</td></tr>\n"
        }
        html += "</table>\n<h2>Histograms of the areas: original, masked, recovered (the paper's Figure 4)</h2>\n"
        for r in reports {
            guard let h = r["histograms"] as? [String: Any] else { continue }
            html += "<section class=\"histograms\"><h3>\(esc(r["image"] as? String ?? ""))</h3>"
            for (key, title) in [("original_areas", "original areas"), ("masked_areas", "masked areas"), ("recovered_areas", "recovered areas")] {
                guard let channels = h[key] as? [[Int]] else { continue }
                html += "<figure>\(svgHistogram(channels))<figcaption>\(title)</figcaption></figure>"
            }
            html += "</section>\n"
        }
        html += "<p>Made by msai report from \(reports.count) metrics file(s).</p></body></html>\n"
        return Output(html: html, csv: csv, summary: summaryData, images: reports.count)
    }

    /// A 256-bin histogram (channels summed) as an inline SVG bar chart.
    static func svgHistogram(_ channels: [[Int]]) -> String {
        var bins = [Int](repeating: 0, count: 256)
        for channel in channels where channel.count == 256 { for i in 0..<256 { bins[i] += channel[i] } }
        let top = max(1, bins.max() ?? 1)
        let height = 110.0
        var bars = ""
        for (i, count) in bins.enumerated() where count > 0 {
            let h = Double(count) / Double(top) * 100
            bars += "<rect x=\"\(i + 4)\" y=\(String(format: "\"%.1f\"", height - 6 - h)) width=\"1\" height=\(String(format: "\"%.1f\"", h))/>"
        }
        return "<svg width=\"264\" height=\"\(Int(height))\" role=\"img\"><g fill=\"#3366aa\">\(bars)</g>"
            + "<line x1=\"4\" y1=\"104\" x2=\"260\" y2=\"104\" stroke=\"#888\"/><text x=\"4\" y=\"110\" font-size=\"6\">0</text>"
            + "<text x=\"248\" y=\"110\" font-size=\"6\">255</text></svg>"
    }
}

extension Array where Element == Double {
    var mean: Double { isEmpty ? 0 : reduce(0, +) / Double(count) }
}
