import ArgumentParser
import Foundation
import MSAICore
import MSAIEvaluation
import MSAIImageIO
import MSAIVision

struct EvalDetect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-detect",
        abstract: "Precision and recall of each detector and of the policy against hand-made labels.",
        discussion: """
            Scores every detector on its own, then the policy's merged detections, at IoU 0.5 per class \
            (COCO-style matching; iscrowd labels are ignore regions). Also reports how many labelled \
            objects the policy's masked areas (after padding) cover by at least 90 %: what privacy needs.

            Example:
              msai eval-detect --labels Datasets/labels/instances.json
            """)

    @Option(help: "COCO labels; file names are relative to the labels' Datasets/ folder.")
    var labels = "Datasets/labels/instances.json"

    @Flag(name: .customLong("list-errors"), help: "List every false positive and miss of the policy.")
    var listErrors = false

    @OptionGroup(title: "Privacy policy (what is detected and masked)")
    var policy: PolicyOptions

    func run() throws {
        do {
            try evaluate()
        } catch let error as MSAIError {
            throw fail(error)
        }
    }

    private func evaluate() throws {
        let truth = try GroundTruth.load(labels)
        let folder = URL(fileURLWithPath: labels).deletingLastPathComponent().deletingLastPathComponent()
        var resolved = try policy.resolve()
        resolved.onDetectorFailure = .stop
        let store = try ModelStore.locate(explicit: policy.models)
        // Every detector this project ships, each on its own, then the policy.
        var evaluated: [RegionDetector] = try ["yolov3-tiny", "yolov4-tiny"].flatMap { model in
            try [416, 608].map { size in
                try YOLODetector(store: store, model: model, inputSize: size, letterbox: resolved.yoloLetterbox,
                                 personThreshold: resolved.personThreshold, vehicleThreshold: resolved.vehicleThreshold,
                                 nmsThreshold: resolved.nmsThreshold)
            }
        } + [
            try YuNetFaceDetector(store: store, confidenceThreshold: resolved.faceThreshold),
            try SSDFaceDetector(store: store, confidenceThreshold: resolved.faceThreshold),
            try CascadeDetector.plate("haar-russian", store: store),
            try CascadeDetector.plate("haar-rus16", store: store),
            try PlateSSDDetector(store: store, confidenceThreshold: resolved.plateThreshold),
        ]
        if store.darknetModels.contains("yolov3") { evaluated.insert(try YOLODetector(store: store, model: "yolov3"), at: 4) }
        // YOLO rows are told apart by their input size.
        func key(_ d: RegionDetector) -> String { (d as? YOLODetector).map { "\($0.name)@\($0.inputSize)" } ?? d.name }
        let pipeline = try DetectionPipeline(policy: resolved, store: store)
        let classes: [PrivacyClass] = [.face, .person, .plate, .vehicle]
        var scores: [String: [PrivacyClass: DetectionScore]] = [:]
        var coverage: [PrivacyClass: (covered: Int, total: Int)] = [:]
        var errors: [String] = []
        var videos: [String: VideoReader] = [:]
        for image in truth.images.sorted(by: { ($0.fileName, $0.frame ?? 0) < ($1.fileName, $1.frame ?? 0) }) {
            let path = folder.appendingPathComponent(image.fileName).path
            let pixels: PixelBuffer
            let name: String
            if let frame = image.frame {
                if videos[path] == nil || videos[path]!.framesRead > frame { videos[path] = try VideoReader(path: path) }
                pixels = try videos[path]!.frame(at: frame)
                name = "\(image.fileName)#\(frame)"
            } else {
                pixels = try ImageFile.read(path)
                name = image.fileName
            }
            guard pixels.width == image.width, pixels.height == image.height else {
                throw MSAIError.invalidArgument("\(name): labels say \(image.width)x\(image.height) but the image is \(pixels.width)x\(pixels.height)")
            }
            let labelled = truth.boxes(of: image)
            func tally(_ key: String, _ detections: [Detection], for wanted: Set<PrivacyClass>) {
                for cls in classes where wanted.contains(cls) {
                    let result = DetectionScore.score(detections: detections.filter { $0.privacyClass == cls },
                                                      labels: labelled.filter { $0.cls == cls }.map { ($0.rect, $0.ignore) })
                    scores[key, default: [:]][cls, default: DetectionScore()] += result.score
                    if key == "policy" && listErrors {
                        errors += result.falsePositives.map { "  false positive  \(name)  \(cls.rawValue) \(String(format: "%.2f", $0.confidence)) at \($0.rect) (\($0.detector))" }
                        errors += result.misses.map { "  miss            \(name)  \(cls.rawValue) at \($0)" }
                    }
                }
            }
            for detector in evaluated { tally(key(detector), try detector.detect(pixels), for: detector.classes) }
            let merged = try pipeline.detect(pixels).detections
            tally("policy", merged, for: resolved.classes.union(resolved.classes.contains(.eyes) || resolved.classes.contains(.head) ? [.face] : []))
            let areas = PolicyApplication.areas(from: merged, policy: resolved, width: pixels.width, height: pixels.height).map(\.rect)
            for cls in classes {
                let rects = labelled.filter { $0.cls == cls && !$0.ignore }.map(\.rect)
                let hit = DetectionScore.covered(labels: rects, by: areas, width: pixels.width, height: pixels.height)
                coverage[cls, default: (0, 0)].covered += hit
                coverage[cls, default: (0, 0)].total += rects.count
            }
        }
        print("Detection quality on \(truth.images.count) labelled images (\(labels)), IoU >= 0.5")
        print("(policy: \(resolved.yoloModel)@\(resolved.yoloInputSize), faces \(resolved.faceDetectors.joined(separator: "+")), plates \(resolved.plateDetectors.joined(separator: "+")))")
        print(cell("detector", 16) + cell("class", 9) + cell("labels", 8) + cell("TP", 6) + cell("FP", 6) + cell("FN", 6) + cell("precision", 11) + "recall")
        for key in evaluated.map(key) + ["policy"] {
            for cls in classes {
                guard let s = scores[key]?[cls] else { continue }
                print(cell(key == "policy" ? "policy" : key, 16) + cell(cls.rawValue, 9) + cell("\(s.labels)", 8) + cell("\(s.truePositives)", 6)
                      + cell("\(s.falsePositives)", 6) + cell("\(s.falseNegatives)", 6) + cell(percent(s.precision), 11) + percent(s.recall))
            }
        }
        print()
        print("Privacy coverage of the policy (classes \(resolved.classes.sorted().map(\.rawValue).joined(separator: ",")), padding \(resolved.padding)): labelled objects at least 90 % inside masked areas")
        for cls in classes {
            guard let c = coverage[cls], c.total > 0 else { continue }
            print("  " + cell(cls.rawValue, 9) + "\(c.covered) of \(c.total)  (\(percent(Double(c.covered) / Double(c.total))))")
        }
        if listErrors {
            print()
            print("Policy errors:")
            errors.forEach { print($0) }
        }
    }

    private func cell(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count + 1), withPad: " ", startingAt: 0) }
    private func percent(_ x: Double?) -> String { x.map { String(format: "%.1f %%", $0 * 100) } ?? "-" }
}
