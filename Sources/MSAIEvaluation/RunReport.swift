import Foundation
import MSAICore
import Mustache

/// `msai report RUN…`: RUN/report.html (self-contained: styles inline, pictures as data URIs,
/// plots as inline SVG), RUN/metrics.csv and RUN/summary.json from a batch run, and a page that
/// sets two or more runs side by side.
public enum RunReport {
    /// The paper's Tables 2 and 3 (MSAI, section 5), for the kinds of image it used.
    static let paper: [(kind: String, size: String, area: String, npcr: Double, uaci: Double)] = [
        ("car", "256 × 256", "30 × 17", 0.9961, 0.3346),
        ("finger", "256 × 256", "58 × 62", 0.9981, 0.3318),
        ("Lena", "256 × 256", "71 × 63", 0.7871, 0.3094),
    ]
    /// Which bundled image stands for each of the paper's kinds. No fingerprint image is in any
    /// registry reachable here; a face portrait, the other biometric the policy masks, stands in.
    static let counterparts = ["car": "car_plate", "finger": "astronaut", "Lena": "lena"]
    /// The size the paper evaluated at; `msai batch` evaluates every image at it too (NAME@256x256).
    static let paperSize = "256x256"

    /// One batch run as read back from its folder.
    public struct Run: Sendable {
        public let path: String
        public let name: String
        /// From RUN/run.json; nil for a folder without one (made by hand, or by msai 1).
        public let settings: RunFolder.Settings?
        public let reports: [EvaluationReport]
        /// Images that failed and were not evaluated later, with the reason.
        public let failures: [String]
        /// JPEG previews by image name, then by kind (RunFolder.previewKinds).
        public let previews: [String: [String: Data]]
    }

    public struct Output {
        public let html: String
        public let csv: String
        public let summary: Data
        public let images: Int
    }

    /// Reads a run folder; names the folder or the file when one is not what it should be.
    public static func load(_ path: String) throws -> Run {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw MSAIError.io("\(path): no such folder")
        }
        guard isDirectory.boolValue else { throw MSAIError.io("\(path) is a file; give the run folder `msai batch --out` made") }
        let folder = URL(fileURLWithPath: path).appendingPathComponent("images")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else {
            throw MSAIError.io("\(path) is not a run folder made by `msai batch` (it has no images/ folder)")
        }
        let files = names.filter { $0.hasSuffix(".metrics.json") }.sorted()
        guard !files.isEmpty else { throw MSAIError.io("\(path)/images holds no metrics yet: run `msai batch` into it first") }
        let reports = try files.map { name -> EvaluationReport in
            let url = folder.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path) else { throw MSAIError.io("\(url.path): cannot be read") }
            do {
                return try EvaluationReport.decode(data)
            } catch {
                throw MSAIError.invalidMetadata("\(url.path): not an msai metrics file (\(describeDecoding(error)))")
            }
        }
        var previews: [String: [String: Data]] = [:]
        for report in reports {
            for kind in RunFolder.previewKinds {
                let url = folder.appendingPathComponent("\(report.image).preview-\(kind).jpg")
                if let data = FileManager.default.contents(atPath: url.path) { previews[report.image, default: [:]][kind] = data }
            }
        }
        let failuresText = (try? String(contentsOfFile: URL(fileURLWithPath: path).appendingPathComponent("failures.jsonl").path, encoding: .utf8)) ?? ""
        let evaluated = Set(reports.map(\.image))
        var failures = Set<String>()
        for line in failuresText.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] else { continue }
            // A failure later resolved by a successful run is not a failure any more.
            let image = object["image"] ?? "?"
            if !evaluated.contains(image) { failures.insert("\(image): \(object["reason"] ?? "")") }
        }
        return Run(path: path, name: URL(fileURLWithPath: path).standardized.lastPathComponent,
                   settings: RunFolder.settings(of: path)?.settings, reports: reports, failures: failures.sorted(), previews: previews)
    }

    // MARK: - One run

    public static func make(_ run: Run) throws -> Output {
        let reports = run.reports
        let identical = reports.filter(\.recoveredIdentical).count
        let wuVerdicts = reports.map(\.wuVerdicts).reduce(0, +)
        let wuFailures = wuVerdicts - reports.map(\.wuVerdictsPassed).reduce(0, +)
        let page = RunPage(
            runName: run.name,
            images: reports.count, failedCount: run.failures.count, identical: identical, allIdentical: identical == reports.count,
            wuTests: wuVerdicts, wuFailures: wuFailures, hasWuFailures: wuFailures > 0,
            settings: settingRows(run.settings), hasSettings: run.settings != nil,
            isGF251: (run.settings?.mode ?? reports.first?.mode) == MaskingMode.gf251.rawValue,
            rows: reports.map(ImageRow.init), entropyRows: reports.map(EntropyRow.init), timingRows: reports.map(TimingRow.init),
            wuRows: reports.flatMap { r in r.wuTests.map { WuRow(image: r.image, test: $0) } },
            failures: run.failures, hasFailures: !run.failures.isEmpty,
            paperSize: paperSize, paperRows: paperRows(reports), baselineRows: baselineRows(reports),
            pictures: reports.map { pictureSection($0, previews: run.previews[$0.image] ?? [:]) },
            style: style)
        let html = try render(runTemplate, page)
        return Output(html: html, csv: csv(reports), summary: try summary(run), images: reports.count)
    }

    // MARK: - Several runs side by side

    /// A page comparing runs: their settings (those that differ marked), their means, each image
    /// they share, and the masked areas' histograms of each shared image on one scale.
    public static func compare(_ runs: [Run], reportLinks: [String]) throws -> String {
        let names = runs.map(\.name)
        let settingLists = runs.map { Dictionary(($0.settings?.listed ?? []).map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }) }
        var settingNames: [String] = []
        for run in runs { for row in run.settings?.listed ?? [] where !settingNames.contains(row.name) { settingNames.append(row.name) } }
        let settings = settingNames.map { name -> CompareRow in
            let values = settingLists.map { $0[name] ?? "–" }
            return CompareRow(name: name, cells: values.map { Cell(text: $0) }, differs: Set(values).count > 1)
        }
        func mean(_ run: Run, _ value: (EvaluationReport) -> Double?) -> String { format(run.reports.compactMap(value).meanOrNil) }
        let summaries: [CompareRow] = [
            CompareRow(name: "images evaluated", cells: runs.map { Cell(text: "\($0.reports.count)") }, differs: false),
            CompareRow(name: "failed", cells: runs.map { Cell(text: "\($0.failures.count)", bad: !$0.failures.isEmpty) }, differs: false),
            CompareRow(name: "recovered bit-exactly", cells: runs.map { r in
                let n = r.reports.filter(\.recoveredIdentical).count
                return Cell(text: "\(n) of \(r.reports.count)", bad: n != r.reports.count)
            }, differs: false),
            CompareRow(name: "NPCR whole %, mean", cells: runs.map { Cell(text: mean($0) { $0.npcrWhole }) }, differs: false),
            CompareRow(name: "UACI whole %, mean", cells: runs.map { Cell(text: mean($0) { $0.uaciWhole }) }, differs: false),
            CompareRow(name: "NPCR areas %, mean", cells: runs.map { Cell(text: mean($0) { $0.npcrAreas }) }, differs: false),
            CompareRow(name: "UACI areas %, mean", cells: runs.map { Cell(text: mean($0) { $0.uaciAreas }) }, differs: false),
            CompareRow(name: "Wu tests passed", cells: runs.map { r in
                let passed = r.reports.map(\.wuVerdictsPassed).reduce(0, +), all = r.reports.map(\.wuVerdicts).reduce(0, +)
                return Cell(text: all == 0 ? "–" : "\(passed) of \(all)", bad: passed != all)
            }, differs: false),
            CompareRow(name: "leak share, mean", cells: runs.map { r in
                let m = r.reports.map(\.leakShare).meanOrNil
                return Cell(text: format(m, digits: 6), bad: (m ?? 0) > 0)
            }, differs: false),
            CompareRow(name: "membrane + mask + scramble ms, mean", cells: runs.map { r in
                Cell(text: format(r.reports.map { ($0.timingsMs["membrane"] ?? 0) + ($0.timingsMs["mask"] ?? 0) + ($0.timingsMs["scramble"] ?? 0) }.meanOrNil, digits: 2))
            }, differs: false),
        ]
        let shared = runs.first.map { first in
            first.reports.map(\.image).filter { image in runs.allSatisfy { run in run.reports.contains { $0.image == image } } }
        } ?? []
        let imageRows = shared.map { image -> CompareRow in
            var cells: [Cell] = []
            for run in runs {
                let r = run.reports.first { $0.image == image }!
                cells += [Cell(text: format(r.npcrAreas)), Cell(text: format(r.uaciAreas)),
                          Cell(text: format(r.leakShare, digits: 6), bad: r.leakShare > 0),
                          Cell(text: r.wuVerdicts == 0 ? "–" : "\(r.wuVerdictsPassed)/\(r.wuVerdicts)", bad: r.wuVerdictsPassed != r.wuVerdicts)]
            }
            return CompareRow(name: image, cells: cells, differs: false)
        }
        let histogramRows = shared.compactMap { image -> HistogramRow? in
            let perRun = runs.map { run in run.reports.first { $0.image == image }!.histograms?.maskedAreas ?? [] }
            guard perRun.contains(where: { !$0.isEmpty }) else { return nil }
            let series = perRun.map { channels in
                channels.enumerated().map { HistogramPlot.Series(label: channelName($0.offset, of: channels.count), colour: channelColour($0.offset, of: channels.count), dashed: false, bins: $0.element) }
            }
            let top = HistogramPlot.maximum(series)
            let charts = zip(names, series).map { name, s in Chart(svg: HistogramPlot.svg(title: "\(name): masked areas", series: s, maximum: top)) }
            return HistogramRow(image: image, charts: charts)
        }
        let page = ComparisonPage(
            title: names.joined(separator: " vs "), runs: zip(runs, reportLinks).map { RunHeader(name: $0.name, path: $0.path, report: $1) },
            runCount: runs.count, settings: settings, summaries: summaries, metricNames: runs.flatMap { _ in
                ["NPCR areas", "UACI areas", "leak", "Wu"].map { Cell(text: $0) }
            },
            imageRows: imageRows, hasShared: !shared.isEmpty, histogramRows: histogramRows, style: style)
        return try render(comparisonTemplate, page)
    }

    // MARK: - The parts

    static func settingRows(_ settings: RunFolder.Settings?) -> [Setting] {
        (settings?.listed ?? []).map { Setting(name: $0.name, value: $0.value) }
    }

    static func paperRows(_ reports: [EvaluationReport]) -> [PaperRow] {
        func matches(_ image: String, _ name: String) -> Bool { image == name || image.hasSuffix("__" + name) }
        func areas(_ r: EvaluationReport?) -> String {
            guard let r else { return "–" }
            return r.regions.isEmpty ? "none" : r.regions.map { "\($0.class) \($0.w)×\($0.h)" }.joined(separator: ", ")
        }
        return paper.map { p in
            let name = counterparts[p.kind] ?? ""
            let own = reports.first { matches($0.image, name) }
            let small = reports.first { matches($0.image, "\(name)@\(paperSize)") }
            return PaperRow(
                kind: p.kind == "finger" ? "finger (a face stands in)" : p.kind, size: p.size, area: p.area,
                npcr: format(p.npcr), uaci: format(p.uaci), image: name,
                smallAreas: areas(small), smallNPCR: format(small.map { $0.npcrWhole / 100 }), smallUACI: format(small.map { $0.uaciWhole / 100 }),
                ownSize: own.map { "\($0.width)×\($0.height)" } ?? "–", ownAreas: areas(own),
                ownNPCR: format(own.map { $0.npcrWhole / 100 }), ownUACI: format(own.map { $0.uaciWhole / 100 }))
        }
    }

    static func baselineRows(_ reports: [EvaluationReport]) -> [BaselineRow] {
        let msaiMs = reports.map { ($0.timingsMs["membrane"] ?? 0) + ($0.timingsMs["mask"] ?? 0) + ($0.timingsMs["scramble"] ?? 0) }.meanOrNil
        var rows = [BaselineRow(
            method: "MSAI (\(reports.first?.mode ?? "")): membrane + mask + scramble", reversible: "yes, by the data center",
            milliseconds: format(msaiMs, digits: 2), npcrWhole: format(reports.map(\.npcrWhole).meanOrNil),
            uaciWhole: format(reports.map(\.uaciWhole).meanOrNil), npcrAreas: format(reports.compactMap(\.npcrAreas).meanOrNil),
            uaciAreas: format(reports.compactMap(\.uaciAreas).meanOrNil), psnr: "–")]
        let all = reports.flatMap(\.baselines)
        var methods: [String] = []
        for b in all where !methods.contains(b.method) { methods.append(b.method) }
        for method in methods {
            let same = all.filter { $0.method == method }
            rows.append(BaselineRow(
                method: method, reversible: method.hasPrefix("tau") ? "yes" : (same[0].reversible ? "yes, with the key" : "no"),
                milliseconds: format(same.map(\.milliseconds).meanOrNil, digits: 2),
                npcrWhole: format(same.map(\.npcrWhole).meanOrNil), uaciWhole: format(same.map(\.uaciWhole).meanOrNil),
                npcrAreas: format(same.compactMap(\.npcrAreas).meanOrNil), uaciAreas: format(same.compactMap(\.uaciAreas).meanOrNil),
                psnr: format(same.map(\.psnrOutput).meanOrNil, digits: 2)))
        }
        return rows
    }

    static func pictureSection(_ r: EvaluationReport, previews: [String: Data]) -> PictureSection {
        let captions = ["original": "original", "masked": "masked and scrambled (as sent)", "view": "masked view (what a viewer sees)",
                        "recovered": r.recoveredIdentical ? "recovered (identical to the original)" : "recovered (DIFFERS)"]
        let thumbnails = RunFolder.previewKinds.compactMap { kind in
            previews[kind].map { Thumbnail(caption: captions[kind] ?? kind, source: "data:image/jpeg;base64," + $0.base64EncodedString()) }
        }
        var charts: [Chart] = []
        if let h = r.histograms {
            let channels = h.originalAreas.count
            let perChannel = (0..<channels).map { c -> [HistogramPlot.Series] in
                var series = [HistogramPlot.Series(label: "original", colour: "#1f5fa8", dashed: false, bins: h.originalAreas[c])]
                if c < h.maskedAreas.count { series.append(.init(label: "masked", colour: "#c0392b", dashed: false, bins: h.maskedAreas[c])) }
                if c < h.recoveredAreas.count { series.append(.init(label: "recovered", colour: "#222", dashed: true, bins: h.recoveredAreas[c])) }
                return series
            }
            let top = HistogramPlot.maximum(perChannel)
            charts = perChannel.enumerated().map { c, series in
                Chart(svg: HistogramPlot.svg(title: "areas, \(channelName(c, of: channels)) channel", series: series, maximum: top))
            }
        }
        return PictureSection(image: r.image, thumbnails: thumbnails, hasThumbnails: !thumbnails.isEmpty, charts: charts, hasCharts: !charts.isEmpty)
    }

    static func channelName(_ index: Int, of count: Int) -> String {
        let names = ["red", "green", "blue", "alpha"]
        return count == 1 ? "gray" : index < names.count ? names[index] : "\(index)"
    }

    static func channelColour(_ index: Int, of count: Int) -> String {
        let colours = ["#c0392b", "#27ae60", "#1f5fa8", "#888"]
        return count > 1 && index < colours.count ? colours[index] : "#444"
    }

    // MARK: - metrics.csv and summary.json

    static let csvColumns = [
        "image", "width", "height", "channels", "mode", "block", "areas", "mask_decision", "npcr_whole", "uaci_whole",
        "npcr_areas", "uaci_areas", "wu_tests_passed", "wu_tests", "psnr_recovered", "recovered_identical", "leak_share",
        "entropy_original_whole", "entropy_masked_whole", "entropy_original_areas", "entropy_masked_areas",
        "local_entropy_original", "local_entropy_masked", "corr_h_original_areas", "corr_h_masked_areas", "edge_correlation_areas",
        "ms_detect", "ms_membrane", "ms_mask", "ms_scramble", "ms_encode", "ms_unscramble", "ms_unmask",
    ]

    static func csv(_ reports: [EvaluationReport]) -> String {
        var out = csvColumns.joined(separator: ",") + "\n"
        for r in reports {
            let row: [String] = [
                r.image, "\(r.width)", "\(r.height)", "\(r.channels)", r.mode, "\(r.block)", "\(r.regions.count)", r.maskDecision,
                format(r.npcrWhole, blank: ""), format(r.uaciWhole, blank: ""), format(r.npcrAreas, blank: ""), format(r.uaciAreas, blank: ""),
                "\(r.wuVerdictsPassed)", "\(r.wuVerdicts)", r.psnrRecovered.isInfinite ? "inf" : format(r.psnrRecovered), "\(r.recoveredIdentical)",
                format(r.leakShare, digits: 6),
                format(r.entropy["original_whole"], blank: ""), format(r.entropy["masked_whole"], blank: ""),
                format(r.entropy["original_areas"], blank: ""), format(r.entropy["masked_areas"], blank: ""),
                format(r.localEntropy["original_whole"] ?? nil, blank: ""), format(r.localEntropy["masked_whole"] ?? nil, blank: ""),
                format(r.correlation["original_areas"]?["horizontal"] ?? nil, blank: ""),
                format(r.correlation["masked_areas"]?["horizontal"] ?? nil, blank: ""),
                format(r.edgeCorrelationAreas, digits: 4, blank: ""),
            ] + ["detect", "membrane", "mask", "scramble", "encode", "unscramble", "unmask"].map { format(r.timingsMs[$0], digits: 3, blank: "") }
            out += row.map(csvField).joined(separator: ",") + "\n"
        }
        return out
    }

    /// RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled.
    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    struct Summary: Encodable {
        let run: String
        let settings: RunFolder.Settings?
        let images: Int
        let failed: Int
        let recoveredIdentical: Int
        let allRecoveredIdentical: Bool
        let wuTestsPassed: Int
        let wuTests: Int
        let meanNPCRWhole: Double?
        let meanUACIWhole: Double?
        let meanNPCRAreas: Double?
        let meanUACIAreas: Double?
        let meanLeakShare: Double?

        enum CodingKeys: String, CodingKey {
            case run, settings, images, failed
            case recoveredIdentical = "recovered_identical", allRecoveredIdentical = "all_recovered_identical"
            case wuTestsPassed = "wu_tests_passed", wuTests = "wu_tests"
            case meanNPCRWhole = "mean_npcr_whole", meanUACIWhole = "mean_uaci_whole"
            case meanNPCRAreas = "mean_npcr_areas", meanUACIAreas = "mean_uaci_areas", meanLeakShare = "mean_leak_share"
        }
    }

    static func summary(_ run: Run) throws -> Data {
        let r = run.reports
        func rounded(_ x: Double?, _ digits: Double = 1e4) -> Double? { x.map { ($0 * digits).rounded() / digits } }
        let summary = Summary(
            run: run.name, settings: run.settings,
            images: r.count, failed: run.failures.count,
            recoveredIdentical: r.filter(\.recoveredIdentical).count, allRecoveredIdentical: r.allSatisfy(\.recoveredIdentical),
            wuTestsPassed: r.map(\.wuVerdictsPassed).reduce(0, +), wuTests: r.map(\.wuVerdicts).reduce(0, +),
            meanNPCRWhole: rounded(r.map(\.npcrWhole).meanOrNil), meanUACIWhole: rounded(r.map(\.uaciWhole).meanOrNil),
            meanNPCRAreas: rounded(r.compactMap(\.npcrAreas).meanOrNil), meanUACIAreas: rounded(r.compactMap(\.uaciAreas).meanOrNil),
            meanLeakShare: rounded(r.map(\.leakShare).meanOrNil, 1e6))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(summary)
    }

    // MARK: - Helpers

    static func format(_ x: Double?, digits: Int = 4, blank: String = "–") -> String {
        guard let x, x.isFinite else { return x.map { $0.isInfinite ? "inf" : blank } ?? blank }
        return String(format: "%.\(digits)f", x)
    }

    static func render(_ template: String, _ object: Any) throws -> String {
        do {
            return try MustacheTemplate(string: template).render(object)
        } catch {
            throw MSAIError.invalidArgument("the report template does not parse: \(error)")
        }
    }

    static func describeDecoding(_ error: Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _)?: return "it lacks \"\(key.stringValue)\""
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?, .dataCorrupted(let context)?:
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "not JSON" : "\"\(path)\" is not what it should be"
        default: return "\(error)"
        }
    }
}

extension Array where Element == Double {
    var mean: Double { isEmpty ? 0 : reduce(0, +) / Double(count) }
    var meanOrNil: Double? { isEmpty ? nil : mean }
}
