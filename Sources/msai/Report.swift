import ArgumentParser
import Foundation
import MSAICore
import MSAIEvaluation

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write RUN/report.html, RUN/metrics.csv and RUN/summary.json from a batch run.",
        discussion: """
            The HTML is self-contained (styles inline, plots as inline SVG): per-image tables, the paper's \\
            Tables 2 and 3 beside this run, and histograms of the original, masked and recovered areas.

            Example:
              msai batch Datasets --out runs/x && msai report runs/x
            """)

    @Argument(help: "A run folder made by `msai batch`.") var runFolder: String

    func run() throws {
        do {
            let reports = try RunReport.load(runFolder)
            let failuresFile = URL(fileURLWithPath: runFolder).appendingPathComponent("failures.jsonl").path
            let failures = ((try? String(contentsOfFile: failuresFile, encoding: .utf8)) ?? "")
                .split(separator: "\n").compactMap { line -> String? in
                    guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] else { return nil }
                    // A failure later resolved by a successful run is not a failure any more.
                    let image = object["image"] ?? "?"
                    return reports.contains { ($0["image"] as? String) == image } ? nil : "\(image): \(object["reason"] ?? "")"
                }
            let output = RunReport.make(reports, failures: Array(Set(failures)).sorted(), runName: URL(fileURLWithPath: runFolder).lastPathComponent)
            try writeAll([("report.html", Array(output.html.utf8)), ("metrics.csv", Array(output.csv.utf8)), ("summary.json", Array(output.summary))],
                         into: URL(fileURLWithPath: runFolder))
            print("wrote \(runFolder)/report.html, \(runFolder)/metrics.csv and \(runFolder)/summary.json (\(output.images) image(s))")
        } catch let error as MSAIError {
            printError(error.description)
            throw ExitCode(1)
        }
    }
}
