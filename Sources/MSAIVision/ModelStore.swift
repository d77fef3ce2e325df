import Foundation
import MSAICore

/// The folder of model files (Models/ in the repository) and how to find one by name.
public struct ModelStore: Sendable {
    public let directory: URL

    public init(directory: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw MSAIError.model("model folder \(directory.path) does not exist (use --models DIR or set MSAI_MODELS)")
        }
        self.directory = directory
    }

    /// Finds Models/: `explicit` if given, else $MSAI_MODELS, else ./Models, else a Models/
    /// folder above the running executable (so a build inside the repository finds its own).
    public static func locate(explicit: String? = nil) throws -> ModelStore {
        if let explicit { return try ModelStore(directory: URL(fileURLWithPath: explicit)) }
        if let fromEnvironment = ProcessInfo.processInfo.environment["MSAI_MODELS"] {
            return try ModelStore(directory: URL(fileURLWithPath: fromEnvironment))
        }
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Models")]
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(folder.appendingPathComponent("Models"))
            folder = folder.deletingLastPathComponent()
        }
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("coco.names").path) {
            return try ModelStore(directory: candidate)
        }
        throw MSAIError.model("cannot find the Models/ folder (run from the repository, or use --models DIR or MSAI_MODELS)")
    }

    /// Path of a file in the store, checked to exist.
    public func file(_ name: String, expected: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw MSAIError.model("model file \(path) is missing (expected \(expected); Models/fetch.sh fetches it)")
        }
        return path
    }

    /// Darknet models present: every NAME with both NAME.cfg and NAME.weights.
    public var darknetModels: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".cfg") }.map { String($0.dropLast(4)) }
            .filter { names.contains($0 + ".weights") }.sorted()
    }

    /// The cfg and weights of darknet model `name`, or an error listing those available.
    public func darknetPair(_ name: String) throws -> (cfg: String, weights: String) {
        guard darknetModels.contains(name) else {
            let cfgOnly = FileManager.default.fileExists(atPath: directory.appendingPathComponent(name + ".cfg").path)
            throw MSAIError.model(
                "darknet model '\(name)' is not in \(directory.path)"
                    + (cfgOnly ? " (its .cfg is there but \(name).weights is not; drop the weights in to use it)" : "")
                    + (darknetModels.isEmpty
                        ? "; that folder holds no darknet model at all: is it the repository's Models/ (see Models/README.md)?"
                        : "; available: \(darknetModels.joined(separator: ", "))"))
        }
        return (directory.appendingPathComponent(name + ".cfg").path, directory.appendingPathComponent(name + ".weights").path)
    }

    /// Class names, one per line (coco.names).
    public func classNames(_ file: String = "coco.names") throws -> [String] {
        let path = try self.file(file, expected: "class names, one per line")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw MSAIError.model("\(path) is not readable UTF-8 text")
        }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
