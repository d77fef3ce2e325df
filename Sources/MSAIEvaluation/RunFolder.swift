import Foundation
import Synchronization
import MSAICore
import MSAIImageIO

/// A batch run's folder: RUN/run.json (format, version and the settings it was made with),
/// RUN/images/NAME.metrics.json per image (NAME as `msai evaluate` names it: the file name
/// without its extension), small JPEG previews beside it (NAME.preview-original.jpg, …),
/// RUN/failures.jsonl. A run can be resumed with the same settings; a folder from another msai
/// version or with other settings is refused, not mixed, and the refusal names what differs.
public final class RunFolder: Sendable {
    public static let format = "msai-run"
    /// 2: names without the extension, previews kept.
    public static let version = 2
    /// The previews a run keeps of each image, in the report's order.
    public static let previewKinds = ["original", "masked", "view", "recovered"]

    public struct Settings: Codable, Equatable, Sendable {
        public let mode: String
        public let block: Int
        public let policy: PrivacyPolicy
        /// The extra size every image is also evaluated at ("256x256", the paper's), or nil.
        public let paperSize: String?
        enum CodingKeys: String, CodingKey {
            case mode, block, policy
            case paperSize = "paper_size"
        }

        public init(mode: String, block: Int, policy: PrivacyPolicy, paperSize: String? = nil) {
            self.mode = mode
            self.block = block
            self.policy = policy
            self.paperSize = paperSize
        }

        /// Every setting as a name and a value, in a stable order: the policy's fields under
        /// the names its file uses.
        public var listed: [(name: String, value: String)] {
            var rows: [(String, String)] = [("mode", mode), ("block", "\(block)"), ("paper size", paperSize ?? "none")]
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let data = try? encoder.encode(policy), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                for key in object.keys.sorted() {
                    let value = object[key]!
                    let text: String
                    // Each value as JSON writes it (true, 0.25, "stop"), without the quotes.
                    func json(_ v: Any) -> String {
                        let data = (try? JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data()
                        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                    }
                    if let list = value as? [Any] {
                        text = list.map(json).sorted().joined(separator: ", ")
                    } else {
                        text = json(value)
                    }
                    rows.append(("policy " + key, text))
                }
            }
            return rows
        }

        /// The settings that differ from `other`'s, as "name: this → other".
        public func differences(from other: Settings) -> [String] {
            let mine = Dictionary(listed, uniquingKeysWith: { a, _ in a })
            return other.listed.compactMap { row in
                let own = mine[row.name] ?? "none"
                return own == row.value ? nil : "\(row.name) \(own) (now \(row.value))"
            }
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
    /// Held while failures.jsonl is appended to: the workers of a batch share it.
    private let appending = Mutex(())

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
                let differences = header.settings.differences(from: settings)
                throw MSAIError.invalidArgument(
                    "\(path) was made with other settings: \(differences.isEmpty ? "the policy" : differences.joined(separator: ", ")); "
                        + "resume it with the same ones or choose another --out")
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
        // Named as `msai evaluate` names its outputs, without the extension, unless that would
        // make two the same (lena.png and lena.jpg keep theirs).
        var stems: [String: Int] = [:]
        for item in items { stems[stem(item.id), default: 0] += 1 }
        return items.map { stems[stem($0.id)] == 1 ? Item(id: stem($0.id), path: $0.path, resize: $0.resize) : $0 }
    }

    private static func stem(_ id: String) -> String {
        let name = id as NSString
        return name.pathExtension.isEmpty ? id : name.deletingPathExtension
    }

    func metricsURL(_ item: Item) -> URL { imagesFolder.appendingPathComponent("\(item.id).metrics.json") }

    public func isDone(_ item: Item) -> Bool { FileManager.default.fileExists(atPath: metricsURL(item).path) }

    func previewURL(_ item: Item, kind: String) -> URL { imagesFolder.appendingPathComponent("\(item.id).preview-\(kind).jpg") }

    /// Writes an image's previews (JPEG bytes by kind), before its metrics mark it done.
    public func recordPreviews(_ item: Item, _ previews: [String: [UInt8]]) throws {
        for (kind, bytes) in previews {
            do {
                try Data(bytes).write(to: previewURL(item, kind: kind), options: .atomic)
            } catch {
                throw MSAIError.io("\(previewURL(item, kind: kind).path): cannot be written (\(error.localizedDescription))")
            }
        }
    }

    /// The settings a run folder was made with, or nil for one without a readable run.json.
    public static func settings(of path: String) -> (version: Int, settings: Settings)? {
        guard let data = FileManager.default.contents(atPath: URL(fileURLWithPath: path).appendingPathComponent("run.json").path),
            let header = try? JSONDecoder().decode(Header.self, from: data), header.format == format
        else { return nil }
        return (header.version, header.settings)
    }

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
        appending.withLock { _ in
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
