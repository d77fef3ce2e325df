import ArgumentParser
import Foundation
import MSAICore
import MSAIImageIO
import MSAIVision

/// The privacy policy as command-line options: a policy file, then flags that override it.
struct PolicyOptions: ParsableArguments {
    @Option(name: .customLong("policy"), help: ArgumentHelp("A policy file (JSON); flags below override it. See docs/POLICY.md.", valueName: "file"))
    var policyFile: String?

    @Option(help: "Classes to mask, comma-separated: face, eyes, head, person, plate, vehicle (default: face,person,plate).")
    var classes: String?

    @Option(parsing: .unconditional, help: "Margin around each box, as a fraction of its size on each side (default: 0.1).")
    var padding: Double?

    @Option(name: .customLong("min-size"), parsing: .unconditional, help: "Drop boxes smaller than this many pixels on a side (default: 6).")
    var minimumSize: Int?

    @Option(name: .customLong("detect-scale"), parsing: .unconditional, help: "Detect on a copy scaled by this factor in (0, 1] for speed; boxes are mapped back (default: 1).")
    var detectScale: Double?

    @Option(help: "Darknet model in Models/ for persons and vehicles: NAME.cfg + NAME.weights (default: yolov4-tiny; yolov3-tiny is faster).")
    var yolo: String?

    @Option(name: .customLong("yolo-size"), parsing: .unconditional, help: "YOLO input side, a multiple of 32 (default: 608; 416 is about twice as fast).")
    var yoloSize: Int?

    @Option(name: .customLong("face-threshold"), parsing: .unconditional, help: "Face confidence threshold (default: 0.6).")
    var faceThreshold: Double?

    @Option(name: .customLong("person-threshold"), parsing: .unconditional, help: "Person confidence threshold (default: 0.25).")
    var personThreshold: Double?

    @Option(name: .customLong("plate-threshold"), parsing: .unconditional, help: "Plate SSD confidence threshold (default: 0.5).")
    var plateThreshold: Double?

    @Option(name: .customLong("on-detector-failure"), help: "mask-whole-frame (default: fail closed) or stop.")
    var onDetectorFailure: String?

    @Option(name: .customLong("on-no-detections"), help: "mask-nothing (the default) or mask-whole-frame.")
    var onNoDetections: String?

    @Option(help: "Folder of model files (default: ./Models, $MSAI_MODELS, or the repository's Models/).")
    var models: String?

    /// The policy file (or the defaults) with the flags applied, validated.
    func resolve() throws -> PrivacyPolicy {
        var policy = try policyFile.map(PrivacyPolicy.load) ?? PrivacyPolicy()
        if let classes { policy.classes = Set(try PrivacyClass.parseList(classes)) }
        if let padding { policy.padding = padding }
        if let minimumSize { policy.minimumSize = minimumSize }
        if let detectScale { policy.detectScale = detectScale }
        if let yolo { policy.yoloModel = yolo }
        if let yoloSize { policy.yoloInputSize = yoloSize }
        if let faceThreshold { policy.faceThreshold = faceThreshold }
        if let personThreshold { policy.personThreshold = personThreshold }
        if let plateThreshold { policy.plateThreshold = plateThreshold }
        if let onDetectorFailure {
            guard let value = PrivacyPolicy.FailureAction(rawValue: onDetectorFailure) else {
                throw MSAIError.invalidArgument("--on-detector-failure must be mask-whole-frame or stop, got '\(onDetectorFailure)'")
            }
            policy.onDetectorFailure = value
        }
        if let onNoDetections {
            guard let value = PrivacyPolicy.EmptyAction(rawValue: onNoDetections) else {
                throw MSAIError.invalidArgument("--on-no-detections must be mask-nothing or mask-whole-frame, got '\(onNoDetections)'")
            }
            policy.onNoDetections = value
        }
        do {
            try policy.validate()
        } catch MSAIError.invalidArgument(let message) {
            // A value the user typed as a flag is named as the flag, not as the policy's field.
            let flags: [(field: String, flag: String, given: Bool)] = [
                ("padding", "--padding", padding != nil), ("minimum_size", "--min-size", minimumSize != nil),
                ("detect_scale", "--detect-scale", detectScale != nil), ("yolo_input_size", "--yolo-size", yoloSize != nil),
                ("face_threshold", "--face-threshold", faceThreshold != nil), ("person_threshold", "--person-threshold", personThreshold != nil),
                ("plate_threshold", "--plate-threshold", plateThreshold != nil), ("classes", "--classes", classes != nil),
            ]
            if let flag = flags.first(where: { $0.given && message.hasPrefix("policy: \($0.field) ") }) {
                throw MSAIError.invalidArgument(flag.flag + message.dropFirst("policy: \(flag.field)".count))
            }
            throw MSAIError.invalidArgument(message)
        }
        return policy
    }

    /// The policy for a research command (evaluate, batch): a detector that cannot load stops the
    /// command, unless --on-detector-failure or the policy file asks to fail closed. A typo in
    /// --models or --yolo must not quietly turn every result into a frame masked whole; the
    /// camera's path (`msai edge`) keeps failing closed.
    func resolveForResearch() throws -> PrivacyPolicy {
        var policy = try resolve()
        let fileDecides = try policyFile.map { path in
            (try JSONSerialization.jsonObject(with: Data(try ImageFile.readBytes(path))) as? [String: Any])?["on_detector_failure"] != nil
        } ?? false
        if onDetectorFailure == nil && !fileDecides { policy.onDetectorFailure = .stop }
        return policy
    }

    /// Loads the detectors; on failure warns and fails closed, or stops, as the policy says.
    func selector(for policy: PrivacyPolicy) throws -> AreaSelector {
        let selector = try AreaSelector.load(policy: policy) { try ModelStore.locate(explicit: models) }
        if case .failedClosed(let reason) = selector {
            FileHandle.standardError.write(Data(
                "msai: warning: \(reason); every frame will be masked whole (policy on_detector_failure = mask-whole-frame)\n".utf8))
        }
        return selector
    }
}

/// Expands folders to the JPEG and PNG files directly inside them; two inputs with one base
/// name would overwrite each other's outputs, so that is an error.
func expandImageInputs(_ inputs: [String], oneOutputFolder: Bool = true) throws -> [String] {
    var files: [String] = []
    for input in inputs {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory), isDirectory.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: input).sorted()
            // msai's own outputs written beside their inputs are not inputs themselves.
            let images = names.filter { ImageFile.hasImageExtension($0) && !isOutputOfMSAI($0) }
            guard !images.isEmpty else { throw MSAIError.io("\(input): folder holds no JPEG or PNG files") }
            files += images.map { URL(fileURLWithPath: input).appendingPathComponent($0).path }
        } else {
            files.append(input)
        }
    }
    var seen: [String: String] = [:]
    for file in files {
        var base = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        if !oneOutputFolder { base = URL(fileURLWithPath: file).deletingLastPathComponent().standardized.path + "/" + base }
        if let other = seen[base] {
            throw MSAIError.invalidArgument("\(other) and \(file) would both write \(base).*; process them into different folders")
        }
        seen[base] = file
    }
    return files
}

/// Whether a file name is one msai writes beside an input (NAME.masked.png, NAME.areas.png, ...).
func isOutputOfMSAI(_ name: String) -> Bool {
    [".masked.png", ".areas.png", ".recovered.png", ".annotated.png", ".masked-view.png"].contains { name.hasSuffix($0) }
}

/// Writes files all-or-nothing: if one write fails, the ones already written are removed.
func writeAll(_ outputs: [(String, [UInt8])], into folder: URL) throws {
    var written: [URL] = []
    do {
        for (name, bytes) in outputs {
            let url = folder.appendingPathComponent(name)
            try ImageFile.writeAtomically(bytes, to: url)
            written.append(url)
        }
    } catch {
        for url in written { try? FileManager.default.removeItem(at: url) }
        throw error
    }
}
