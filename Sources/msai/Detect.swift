import ArgumentParser
import Foundation
import MSAICore
import MSAIEvaluation
import MSAIImageIO
import MSAIVision

struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find the sensitive areas of images under a privacy policy, without masking.",
        discussion: """
            Prints, per image, what the detectors found and what the policy would mask (after its \
            classes, eyes/head derivation, minimum size and padding). With --out, writes for each image \
            NAME.detections.json and NAME.annotated.png (boxes and labels drawn on the image). With \
            --json, prints one JSON object per image per line (JSON Lines) instead of the table.

            Examples:
              msai detect Datasets/zidane.jpg
              msai detect Datasets --out runs/detections --classes face,eyes,plate
              msai detect Datasets/bus.jpg --policy docs/policy-example.json --json
            """)

    @Argument(help: "Images (JPEG or PNG), or folders whose JPEG and PNG files are all processed.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Write NAME.detections.json and NAME.annotated.png here.")
    var out: String?

    @Flag(help: "Print JSON Lines (one object per image) instead of a table.")
    var json = false

    @OptionGroup(title: "Privacy policy (what is detected and masked)")
    var policy: PolicyOptions

    func run() throws {
        let selector: AreaSelector
        let files: [String]
        do {
            let resolved = try policy.resolve()
            files = try expandImageInputs(inputs)
            // Detection itself is the point here: a detector that cannot load is an error, whatever the policy.
            var strict = resolved
            strict.onDetectorFailure = .stop
            selector = try AreaSelector.load(policy: strict) { try ModelStore.locate(explicit: policy.models) }
            if let out { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) }
        } catch let error as MSAIError {
            throw fail(error)
        }
        var failures = 0
        for file in files {
            do {
                let image = try ImageFile.read(file)
                let decision = try selector.select(image)
                let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
                let report = DetectionReport(image: URL(fileURLWithPath: file).lastPathComponent, pixels: image, decision: decision)
                if let out {
                    try writeAll([
                        ("\(name).detections.json", Array(report.json(pretty: true))),
                        ("\(name).annotated.png", try PNGCodec.encode(try image.annotated(with: decision.areas))),
                    ], into: URL(fileURLWithPath: out))
                }
                if json {
                    print(String(decoding: report.json(pretty: false), as: UTF8.self))
                } else {
                    print(render(report))
                    if let out {
                        print("  wrote \(out)/\(name).detections.json and \(out)/\(name).annotated.png")
                    }
                }
            } catch let error as MSAIError {
                printError(error.description)
                failures += 1
            }
        }
        if failures > 0 {
            printError("\(failures) of \(files.count) image(s) failed")
            throw ExitStatus.partial
        }
    }

    private func render(_ r: DetectionReport) -> String {
        var lines = ["\(r.image)  \(r.width)x\(r.height)  \(r.reason)"]
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        if !r.areas.isEmpty {
            let boxes = r.areas.map { "\($0.x),\($0.y),\($0.w),\($0.h)" }
            let wide = max(7, boxes.map(\.count).max() ?? 0)
            lines.append("  " + pad("class", 9) + pad("score", 7) + pad("x,y,w,h", wide + 2) + "detector")
            for (a, box) in zip(r.areas, boxes) {
                lines.append("  " + pad(a.class, 9) + pad(String(format: "%.2f", a.confidence), 7) + pad(box, wide + 2) + a.detector)
            }
        }
        let dropped = r.detections.count - r.areas.filter { $0.detector != "policy" }.count
        if dropped > 0 { lines.append("  (\(counted(r.detections.count, "raw detection")); the policy kept or derived \(counted(r.areas.count, "area")))") }
        if !r.timingsMs.isEmpty {
            lines.append("  ms per detector: " + r.timingsMs.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.1f", $0.value))" }.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }
}
