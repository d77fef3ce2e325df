import ArgumentParser
import Foundation
import MSAICore
import MSAINetwork
import MSAIPostgres
import MSAIRoles
import MSAIStorage

/// `msai audit`: the data center's audit log, checked and exported on its own machine.
struct AuditLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check the audit log's chain, or export it (on the data center's machine).",
        discussion: """
            Every authentication failure and refusal, τ issued, key deposited, listing, audit read, \
            recovery and deletion is an entry, naming the device or the role and its token's \
            fingerprint. Each entry's MAC (HMAC-SHA-256 under a key from the master key) covers it \
            and the entry before: whoever edits, drops or inserts an entry without the master key \
            breaks the chain from there on. Both subcommands open the database with the master \
            key, read-only in effect, while the data center runs or not.

            Examples:
              msai audit verify
              msai audit export --out audit.jsonl
            """,
        subcommands: [Verify.self, Export.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every entry's MAC and link; exit 65 at the first broken one.",
            discussion: """
                The chain alone cannot show that entries were cut off its end. With --against, an \
                export kept off the machine (msai audit export) is checked too: the log must still \
                hold every exported entry, with the same number and MAC.
                """)
        @OptionGroup var config: ConfigOptions
        @Option(help: ArgumentHelp("An earlier export (JSON lines) the log must still hold.", valueName: "file")) var against: String?

        func run() throws {
            do {
                let exported = try against.map(readExport) ?? []
                let result = try openStore(config).verifyAudit(against: exported)
                if let broken = result.firstBroken {
                    printError("the audit chain breaks at entry \(broken.seq) (\(result.entries) entries before it hold): \(broken.why)")
                    throw ExitCode(65)
                }
                print("\(result.entries) audit entries, chain intact" + (against.map { ", holding the \(exported.count) entries of \($0)" } ?? ""))
            } catch let error as MSAIError {
                throw fail(error)
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the audit log as JSON lines, with each entry's number and MAC.")
        @OptionGroup var config: ConfigOptions
        @Option(help: "Write here (default: standard output).") var out: String?
        @Option(parsing: .unconditional, help: "Only the entries after this one (its number).") var after = 0

        func validate() throws {
            guard after >= 0 else { throw ValidationError("--after must be 0 or more, got \(after)") }
        }

        func run() throws {
            do {
                let store = try openStore(config)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                encoder.dateEncodingStrategy = .iso8601
                var text = Data()
                var seq = after, count = 0
                while true {
                    let page = try store.auditLog(after: seq, limit: 10_000)
                    for entry in page {
                        text += try encoder.encode(entry) + Data([10])
                        count += 1
                    }
                    guard page.count == 10_000, let last = page.last?.seq else { break }
                    seq = last
                }
                if let out {
                    do {
                        try text.write(to: URL(fileURLWithPath: out), options: .atomic)
                    } catch {
                        throw MSAIError.io("\(out): cannot be written (\(error.localizedDescription))")
                    }
                    print("wrote \(count) audit entries to \(out)")
                } else {
                    FileHandle.standardOutput.write(text)
                }
            } catch let error as MSAIError {
                throw fail(error)
            }
        }
    }
}

/// The entries of an export (JSON lines), with a message naming the line that is not one.
private func readExport(_ path: String) throws -> [AuditEntry] {
    guard let data = FileManager.default.contents(atPath: path) else { throw MSAIError.io("\(path): no such file") }
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    return try data.split(separator: 10).enumerated().compactMap { index, line in
        guard !line.allSatisfy({ $0 == 32 || $0 == 13 }) else { return nil }
        do {
            return try decoder.decode(AuditEntry.self, from: Data(line))
        } catch {
            throw MSAIError.invalidArgument("\(path), line \(index + 1): not an audit entry of msai audit export (\(describe(error)))")
        }
    }
}

private func openStore(_ config: ConfigOptions) throws -> DataCenterStore {
    let c = try config.load()
    guard PostgresLocation.names(c.database) || FileManager.default.fileExists(atPath: c.database) else {
        throw MSAIError.io("\(c.database): no database here; msai audit runs on the data center's machine, with its configuration")
    }
    return try openDataCenterStore(c)
}
