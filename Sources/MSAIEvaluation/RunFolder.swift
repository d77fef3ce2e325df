import Foundation
import MSAICore
import MSAIImageIO

/// A batch run's folder: RUN/run.json (format, version and the settings it was made with),
/// RUN/images/NAME.metrics.json per image, RUN/failures.jsonl. A run can be resumed with the same
/// settings; a folder from another msai version or with other settings is refused, not mixed.
public final class RunFolder: @unchecked Sendable {
    public static let format = "msai-run"
    public static let version = 1

    public struct Settings: Codable, Equatable, Sendable {
        public let mode: String
        public let block: Int
        public let policy: PrivacyPolicy
        /// The extra size every image is also evaluated at ("256x256", the paper's), or nil.
        public let paperSize: String?
        public init(mode: String, block: Int, policy: PrivacyPolicy, paperSize: String? = nil) {
            self.mode = mode
            self.block = block
            self.policy = policy
            self.paperSize = paperSize
        }
    }

    struct Header: Codable {
        let format: String
        let version: Int
        let settings: Settings
    }

    /// One image of the run: its id (unique, file-name safe), path, and the size it is resized to
    /// before evaluation (nil: its own size).
    public struct Item: Sendable {
        public let id: String
        public let path: String
        public let resize: Size?

        public init(id: String, path: String, resize: Size? = nil) {
            self.id = id
            self.path = path
            self.resize = resize
        }

        /// The same image resized: id NAME@WxH.
        public func resized(to size: Size) -> Item { Item(id: "\(id)@\(size)", path: path, resize: size) }
    }

    /// A frame size, written WxH.
    public struct Size: Sendable, Equatable, CustomStringConvertible {
        public let width: Int
        public let height: Int

        /// Parses "256x256"; names the option in the error.
        public init(parsing text: String, option: String) throws {
            let parts = text.lowercased().split(separator: "x")
            guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), (8...16384).contains(w), (8...16384).contains(h) else {
                throw MSAIError.invalidArgument("\(option) must be WxH with each side in 8...16384 (e.g. 256x256), got '\(text)'")
            }
            width = w
            height = h
        }

        public var description: String { "\(width)x\(height)" }
    }

    public let url: URL
    private let lock = NSLock()

    private init(url: URL) { self.url = url }

    var imagesFolder: URL { url.appendingPathComponent("images") }

    /// Opens or creates the run folder; refuses one made by another version or with other settings.
    public static func open(_ path: String, settings: Settings) throws -> RunFolder {
        let url = URL(fileURLWithPath: path)
        let headerURL = url.appendingPathComponent("run.json")
        if let data = FileManager.default.contents(atPath: headerURL.path) {
            struct Probe: Decodable {
                let format: String
                let version: Int
            }
            guard let probe = try? JSONDecoder().decode(Probe.self, from: data), probe.format == format else {
                throw MSAIError.invalidArgument("\(path) is not an msai run folder (its run.json is not one); choose another --out")
            }
            guard probe.version == version else {
                throw MSAIError.invalidArgument("\(path) was made by run format \(probe.version); this msai writes \(version): choose another --out")
            }
            guard let header = try? JSONDecoder().decode(Header.self, from: data) else {
                throw MSAIError.invalidArgument("\(path): its run.json is damaged; choose another --out")
            }
            guard header.settings == settings else {
                throw MSAIError.invalidArgument("\(path) was made with other settings (mode, block or policy); resume it with the same ones or choose another --out")
            }
        } else {
            if FileManager.default.fileExists(atPath: path),
                let contents = try? FileManager.default.contentsOfDirectory(atPath: path), !contents.isEmpty {
                throw MSAIError.invalidArgument("\(path) exists and is not an msai run folder; choose another --out")
            }
            do {
                try FileManager.default.createDirectory(at: url.appendingPathComponent("images"), withIntermediateDirectories: true)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(Header(format: format, version: version, settings: settings)).write(to: headerURL, options: .atomic)
            } catch {
                throw MSAIError.io("\(path): cannot create the run folder (\(error.localizedDescription))")
            }
        }
        try FileManager.default.createDirectory(at: url.appendingPathComponent("images"), withIntermediateDirectories: true)
        return RunFolder(url: url)
    }

    /// Every JPEG and PNG under the inputs (folders recursively), with ids from their paths.
    public static func collect(_ inputs: [String]) throws -> [Item] {
        var items: [Item] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw MSAIError.io("\(input): no such file or folder")
            }
            if !isDirectory.boolValue {
                items.append(Item(id: URL(fileURLWithPath: input).lastPathComponent, path: input))
                continue
            }
            let root = URL(fileURLWithPath: input)
            guard let walker = FileManager.default.enumerator(atPath: input) else { throw MSAIError.io("\(input): cannot be read") }
            var found: [Item] = []
            for case let relative as String in walker
            where ImageFile.hasImageExtension(relative) {
                let id = (inputs.count > 1 ? root.lastPathComponent + "/" : "") + relative
                found.append(Item(id: id.replacingOccurrences(of: "/", with: "__"), path: root.appendingPathComponent(relative).path))
            }
            guard !found.isEmpty else { throw MSAIError.io("\(input): no JPEG or PNG files under this folder") }
            items += found.sorted { $0.id < $1.id }
        }
        var seen = Set<String>()
        for item in items where !seen.insert(item.id).inserted {
            throw MSAIError.invalidArgument("two inputs give the same name \(item.id); pass their parent folder instead")
        }
        return items
    }

    func metricsURL(_ item: Item) -> URL { imagesFolder.appendingPathComponent("\(item.id).metrics.json") }

    public func isDone(_ item: Item) -> Bool { FileManager.default.fileExists(atPath: metricsURL(item).path) }

    /// Writes an image's metrics atomically: a run killed mid-write leaves no partial file.
    public func record(_ item: Item, report: EvaluationReport) throws {
        do {
            try report.json().write(to: metricsURL(item), options: .atomic)
        } catch {
            throw MSAIError.io("\(metricsURL(item).path): cannot be written (\(error.localizedDescription))")
        }
    }

    /// Appends one line to failures.jsonl: {"image", "path", "reason", "at"}.
    public func recordFailure(_ item: Item, reason: String) {
        let line: [String: String] = ["image": item.id, "path": item.path, "reason": reason,
                                      "at": ISO8601DateFormatter().string(from: Date())]
        guard var data = try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]) else { return }
        data.append(10)
        lock.withLock {
            let url = self.url.appendingPathComponent("failures.jsonl")
            if let handle = try? FileHandle(forWritingTo: url) {
                handle.seekToEndOfFile()
                handle.write(data)
                try? handle.close()
            } else {
                try? data.write(to: url)
            }
        }
    }
}
