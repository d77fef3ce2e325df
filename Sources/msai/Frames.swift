import ArgumentParser
import Foundation
import MSAICore
import MSAIImageIO
import MSAINetwork
import MSAIRoles

/// What the data center's readers do: list frames, fetch the masked view (viewers), recover
/// originals, delete frames and read the audit log (recoverers).
struct Frames: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the data center's frames: the masked view for viewers, originals for recoverers.",
        discussion: """
            Two kinds of reader, as video-management systems have for privacy masks. A viewer token \
            (viewer_tokens, MSAI_VIEWER_TOKEN) lists frames and gets their masked view: unscrambled, \
            the sensitive areas still masked, what an operator watches. A recoverer token \
            (recoverer_tokens, MSAI_RECOVERER_TOKEN) also recovers originals, each one audited with \
            the reason given, deletes frames with their keys, and reads the audit log.

            Each subcommand uses the least token it needs: the viewer's where a viewer may, the \
            recoverer's otherwise.

            Examples:
              msai frames list
              msai frames masked ID --out view.png
              msai frames recover ID --reason "case 2026-114" --out original.png
              msai frames delete ID --reason "retention request 17"
              msai frames audit
            """,
        subcommands: [List.self, Masked.self, Recover.self, Delete.self, Audit.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The stored frames, oldest first (viewer token).")
        @OptionGroup var config: ConfigOptions
        @Flag(help: "JSON instead of a table.") var json = false

        func run() async throws {
            try await withReader(config, as: .viewer) { reader in
                let frames = try await reader.frames()
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                    encoder.dateEncodingStrategy = .iso8601
                    print(String(decoding: try encoder.encode(frames), as: UTF8.self))
                    return
                }
                print("\(frames.count) frame(s)")
                for frame in frames {
                    let patch = frame.background.map { "  patch onto \($0)" } ?? ""
                    print("  \(frame.frameID)  \(frame.width)x\(frame.height)x\(frame.channels)  \(frame.areas) area(s)  "
                          + "\(frame.bytes) bytes  \(ISO8601DateFormatter().string(from: frame.receivedAt))"
                          + (frame.device.map { "  from \($0)" } ?? "") + patch)
                }
            }
        }
    }

    struct Masked: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A frame's masked view, as a PNG (viewer token).")
        @Argument(help: "The frame's id (from `msai frames list`).") var id: String
        @OptionGroup var config: ConfigOptions
        @Option(name: .shortAndLong, help: "Where to write the PNG.") var out: String

        func run() async throws {
            try await withReader(config, as: .viewer) { reader in
                try write(try await reader.masked(frameID: id), to: out)
                print("wrote the masked view of \(id) to \(out)")
            }
        }
    }

    struct Recover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A frame's original, bit for bit, as a PNG (recoverer token; audited with the reason).")
        @Argument(help: "The frame's id (from `msai frames list`).") var id: String
        @OptionGroup var config: ConfigOptions
        @Option(help: "Why, for the audit log: one line, at most 500 characters (the log keeps it in the clear).") var reason: String
        @Option(name: .shortAndLong, help: "Where to write the PNG.") var out: String

        func run() async throws {
            try await withReader(config, as: .recoverer) { reader in
                try write(try await reader.recovered(frameID: id, reason: reason), to: out)
                print("wrote the original of \(id) to \(out) (audited: \"\(reason)\")")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a frame with its keys, so nothing can recover it (recoverer token; audited).")
        @Argument(help: "The frame's id.") var id: String
        @OptionGroup var config: ConfigOptions
        @Option(help: "Why, for the audit log.") var reason: String

        func run() async throws {
            try await withReader(config, as: .recoverer) { reader in
                try await reader.delete(frameID: id, reason: reason)
                print("deleted \(id) with its keys")
            }
        }
    }

    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The audit log, oldest first (recoverer token).")
        @OptionGroup var config: ConfigOptions
        @Option(parsing: .unconditional, help: "Only the entries after this one (its number).") var after = 0

        func validate() throws {
            guard after >= 0 else { throw ValidationError("--after must be 0 or more, got \(after)") }
        }

        func run() async throws {
            try await withReader(config, as: .recoverer) { reader in
                var seq = after
                while true {
                    let page = try await reader.audit(after: seq, limit: 1000)
                    for entry in page {
                        let frame = entry.frameID.map { " \($0)" } ?? ""
                        let reason = entry.reason.map { "  (\($0))" } ?? ""
                        print("\(entry.seq ?? 0)  \(ISO8601DateFormatter().string(from: entry.at))  \(entry.actor)  \(entry.action)\(frame)\(reason)")
                    }
                    guard page.count == 1000, let last = page.last?.seq else { break }
                    seq = last
                }
            }
        }
    }
}

enum ReaderKind { case viewer, recoverer }

/// Runs `body` with a reader client holding the token of `kind`; errors become one line and exit 1.
private func withReader(_ config: ConfigOptions, as kind: ReaderKind, _ body: (HTTPReaderClient) async throws -> Void) async throws {
    do {
        let c = try config.load()
        // A recoverer may do all a viewer may: with no viewer token, the recoverer's serves.
        let token = kind == .viewer ? (c.viewerTokens.first ?? c.recovererTokens.first) : c.recovererTokens.first
        guard let token, !token.isEmpty else {
            throw MSAIError.invalidArgument(kind == .viewer
                ? "\(config.path): no viewer or recoverer token (viewer_tokens, MSAI_VIEWER_TOKEN)"
                : "\(config.path): no recoverer token (recoverer_tokens, MSAI_RECOVERER_TOKEN): this needs one")
        }
        let caFile = try c.transport(c.dataCenterURL, role: "data center")
        try await body(HTTPReaderClient(url: c.dataCenterURL, token: token, caFile: caFile))
    } catch let error as MSAIError {
        throw fail(error)
    }
}

private func write(_ bytes: [UInt8], to path: String) throws {
    try ImageFile.writeAtomically(bytes, to: URL(fileURLWithPath: path))
}
