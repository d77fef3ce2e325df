import ArgumentParser
import Foundation
import MSAICore
import MSAIEvaluation
import MSAIImageIO

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a batch run's report (report.html, metrics.csv, summary.json), or compare runs side by side.",
        discussion: """
            For each run folder: RUN/report.html, self-contained (styles inline, pictures and plots \
            inline): the run's settings; a table per image with failures marked; Wu's tests; entropy, \
            correlation and timings; the paper's Tables 2 and 3 beside this run; the baselines; and per \
            image its original, masked, masked-view and recovered pictures with per-channel histograms \
            of its areas on one count axis (a switch turns the axis logarithmic). RUN/metrics.csv has a \
            row per image, RUN/summary.json the run's means.

            With two or more runs, also a page that sets them side by side (settings, with those that \
            differ marked; means; each image they share; the masked areas' histograms on one axis), \
            written to --out.

            Examples:
              msai batch Datasets --out runs/x
              msai report runs/x
              msai batch Datasets --mode gf251 --out runs/paper
              msai report runs/x runs/paper      # the two runs side by side
            """)

    @Argument(help: "Run folders made by `msai batch`.") var runFolders: [String]
    @Option(name: .shortAndLong, help: "Where the comparison of two or more runs goes (default: comparison.html beside the first run).")
    var out: String?

    func run() throws {
        do {
            let named = runFolders.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            if let twice = named.first(where: { path in named.filter { $0 == path }.count > 1 }) {
                throw MSAIError.invalidArgument("\(twice) is named twice; compare different runs")
            }
            if let out {
                let folder = URL(fileURLWithPath: out).deletingLastPathComponent().path
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw MSAIError.io("--out \(out): the folder \(folder) does not exist")
                }
            }
            var runs: [RunReport.Run] = []
            for folder in runFolders {
                let run = try RunReport.load(folder)
                let output = try RunReport.make(run)
                try writeAll([("report.html", Array(output.html.utf8)), ("metrics.csv", Array(output.csv.utf8)), ("summary.json", Array(output.summary))],
                             into: URL(fileURLWithPath: folder))
                print("wrote \(folder)/report.html, \(folder)/metrics.csv and \(folder)/summary.json (\(output.images) image(s))")
                runs.append(run)
            }
            if runs.count > 1 {
                let parent = (runFolders[0] as NSString).standardizingPath as NSString
                let target = out ?? (parent.deletingLastPathComponent.isEmpty ? "comparison.html" : parent.deletingLastPathComponent + "/comparison.html")
                let from = URL(fileURLWithPath: target).deletingLastPathComponent()
                let links = runFolders.map { relativePath(from: from, to: URL(fileURLWithPath: $0).appendingPathComponent("report.html")) }
                try ImageFile.writeAtomically(Array(try RunReport.compare(runs, reportLinks: links).utf8), to: URL(fileURLWithPath: target))
                print("wrote \(target): \(runs.map(\.name).joined(separator: ", ")) side by side")
            }
        } catch let error as MSAIError {
            throw fail(error)
        }
    }

    func validate() throws {
        guard !runFolders.isEmpty else { throw ValidationError("name at least one run folder made by `msai batch`") }
        if out != nil && runFolders.count < 2 { throw ValidationError("--out is where a comparison goes: name two or more run folders") }
    }
}

/// `to` relative to the folder `from`, so that a page's links survive moving the folders together.
func relativePath(from: URL, to: URL) -> String {
    let a = from.standardizedFileURL.pathComponents, b = to.standardizedFileURL.pathComponents
    var common = 0
    while common < min(a.count, b.count) && a[common] == b[common] { common += 1 }
    return (Array(repeating: "..", count: a.count - common) + b[common...]).joined(separator: "/")
}
