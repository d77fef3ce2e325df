import ArgumentParser
import Foundation
import MSAICore
import MSAIImageIO
import Testing

@testable import msai

/// What users read: every command's help, checked whole, and every command the README, the docs
/// and the help show, parsed by the real argument parser with the files it names present.
@Suite struct DocumentationTests {
    /// Every command of the tree, as the words that name it.
    static func commandPaths(_ command: ParsableCommand.Type = MSAI.self, prefix: [String] = []) -> [([String], ParsableCommand.Type)] {
        let name = command._commandName
        let here = prefix + (command == MSAI.self ? [] : [name])
        return [(here, command)] + command.configuration.subcommands.flatMap { commandPaths($0, prefix: here) }
    }

    @Test func helpOfEveryCommandIsClean() throws {
        let paths = Self.commandPaths()
        #expect(paths.count >= 20)
        for (words, command) in paths {
            let help = MSAI.helpMessage(for: command, columns: 80)
            let where_ = words.isEmpty ? "msai" : "msai " + words.joined(separator: " ")
            for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
                #expect(!line.hasSuffix("\\"), "\(where_): a stray backslash: \(line)")
                // (The usage line is the argument parser's own, and as long as the options.)
                #expect(line.count <= 80 || line.hasPrefix("USAGE:"), "\(where_): wider than 80 columns: \(line)")
            }
            // Each option says its default once.
            for entry in optionEntries(help) {
                let defaults = entry.components(separatedBy: "default").count - 1
                #expect(defaults <= 1, "\(where_): the default shown twice: \(entry)")
            }
            #expect(!help.lowercased().contains("seed 00"), "\(where_)")
            // Lists and examples are indented lines the parser does not rewrap: each must fit as written.
            for line in (command.configuration.discussion).split(separator: "\n") where line.hasPrefix(" ") {
                // (The parser breaks lines of 80 columns and more.)
                #expect(line.count < 80, "\(where_): an indented line the help would break: \(line)")
            }
            // Every example parses, and the files it reads exist.
            for example in examples(help) {
                try checkCommand(example, source: "\(where_) --help")
            }
        }
    }

    /// The exit statuses `msai --help` lists are the ones msai ends with, kind of failure by kind.
    @Test func theExitStatusesTheHelpListsAreTheOnesMsaiUses() throws {
        let help = MSAI.helpMessage(columns: 10_000)
        let paragraph = try #require(help.components(separatedBy: "Exit status:").dropFirst().first?.components(separatedBy: "\n").first)
        var listed: [Int32: String] = [:]
        for item in paragraph.split(separator: ";") {
            let words = item.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
            listed[try #require(Int32(words[0]))] = String(words[1])
        }
        let examples: [Int32: Error?] = [
            0: nil, 1: nil, 64: MSAIError.invalidArgument("x"), 65: MSAIError.integrityFailure("x"), 66: MSAIError.noSuchFrame("x"),
            69: MSAIError.unreachable("x"), 74: MSAIError.io("x"), 76: MSAIError.refused(status: 400, message: "x"),
            77: MSAIError.refused(status: 401, message: "x"), 78: MSAIError.model("x"),
        ]
        #expect(Set(listed.keys) == Set(examples.keys), "\(listed)")
        for case let (status, error?) in examples { #expect(ExitStatus.code(for: error).rawValue == status, "\(error)") }
        #expect(ExitStatus.partial.rawValue == 1 && ExitStatus.unreachable.rawValue == 69)
        #expect(ExitStatus.code(for: MSAIError.alreadyUsed(.tau("t"))).rawValue == 76)
        #expect(ExitStatus.code(for: MSAIError.refused(status: 403, message: "x")).rawValue == 77)
    }

    @Test func versionAndNegativeNumbersAreUnderstood() throws {
        #expect(MSAI.configuration.version == msaiVersion && !msaiVersion.isEmpty)
        // A negative number is read as a number and refused by range, not as a missing value.
        for (arguments, message) in [
            (["evaluate", "Datasets/lena.png", "--block", "-3"], "--block: block size must lie in 1...4096, got -3"),
            (["evaluate", "Datasets/lena.png", "--padding", "-0.5"], "--padding must lie in 0...2, got -0.5"),
            (["init", "--cloud-port", "-1"], "--cloud-port -1: a port must lie in 1…65535"),
            (["edge", "Datasets/lena.png", "--deadline", "-1"], "--deadline must be at least 1 second, got -1"),
            (["edge", "Datasets/lena.png", "--attempts", "0"], "--attempts must lie in 1...20, got 0"),
            (["edge", "Datasets/vtest.avi", "--detect-every", "-2"], "--detect-every must be 1 or more, got -2"),
            (["batch", "Datasets", "--out", "runs/x", "--jobs", "-2"], "--jobs must be at least 1"),
            (["evaluate", "Datasets/lena.png", "--face-threshold", "-0.2"], "--face-threshold must lie strictly between 0 and 1, got -0.2"),
        ] {
            do {
                _ = try MSAI.parseAsRoot(arguments)
                Issue.record("\(arguments) parsed")
            } catch {
                let text = MSAI.message(for: error)
                #expect(text.contains(message), "\(arguments): \(text)")
                #expect(!text.contains("Missing value"), "\(arguments): \(text)")
            }
        }
    }

    /// Every `msai …` line of every ```sh block in README.md and docs/, every `make` target they
    /// name, and every API path their curl lines use.
    @Test func commandsInTheREADMEAndDocsParse() throws {
        let pages = ["README.md"] + (try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("docs").path))
            .filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
        let makefile = try String(contentsOf: repositoryRoot.appendingPathComponent("Makefile"), encoding: .utf8)
        let targets = Set(makefile.split(separator: "\n").compactMap { line -> String? in
            guard let colon = line.firstIndex(of: ":"), !line.hasPrefix("\t"), !line.hasPrefix("#"), !line.contains("=") else { return nil }
            return String(line[..<colon])
        })
        let api = try ["cloud", "datacenter"].flatMap { role -> [String] in
            let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("docs/openapi/\(role).json"))
            let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            return Array((object["paths"] as! [String: Any]).keys)
        }
        var msaiLines = 0
        for page in pages {
            let text = try String(contentsOf: repositoryRoot.appendingPathComponent(page), encoding: .utf8)
            #expect(!text.lowercased().contains("seed 00"), "\(page) names a seed document")
            for line in shellBlocks(text) {
                if line.hasPrefix("msai ") {
                    msaiLines += 1
                    try checkCommand(line, source: page)
                } else if line.hasPrefix("make ") {
                    let target = words(line).dropFirst().first { !$0.contains("=") } ?? ""
                    #expect(targets.contains(target), "\(page): make \(target) is not a Makefile target")
                } else if line.contains("curl ") {
                    for path in apiPaths(line) {
                        #expect(api.contains(where: { matches(path, $0) }), "\(page): \(path) is not in docs/openapi: \(line)")
                    }
                }
            }
        }
        #expect(msaiLines >= 30)
    }

    // MARK: - Helpers

    /// Parses one command line as a user would type it; names the page or help it came from.
    func checkCommand(_ line: String, source: String) throws {
        var arguments = words(line)
        #expect(arguments.first == "msai", "\(source): \(line)")
        arguments.removeFirst()
        do {
            _ = try MSAI.parseAsRoot(arguments)
        } catch {
            // --help and --version parse as requests, not errors.
            if MSAI.exitCode(for: error) != .success {
                Issue.record("\(source): `\(line)` does not parse: \(MSAI.message(for: error))")
            }
        }
        // Inputs the repository holds must be there (outputs go under runs/ or are named by --out).
        for word in arguments where !word.hasPrefix("-") {
            for root in ["Datasets/", "docs/", "Models/"] where word.hasPrefix(root) {
                #expect(FileManager.default.fileExists(atPath: repositoryRoot.appendingPathComponent(word).path),
                        "\(source): `\(line)` names \(word), which does not exist")
            }
        }
    }

    /// The lines of ```sh blocks, comments and blank lines dropped.
    func shellBlocks(_ markdown: String) -> [String] {
        var inside = false, lines: [String] = []
        for raw in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("```") {
                inside = !inside && line == "```sh"
                continue
            }
            if inside, !line.isEmpty, !line.hasPrefix("#") { lines.append(line) }
        }
        return lines
    }

    /// The example lines of a help text: "  msai …" lines under "Example(s):", with their
    /// indented continuation lines, comments dropped.
    func examples(_ help: String) -> [String] {
        help.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("msai ") }
    }

    /// Each option's entry in a help text (its lines up to the next option).
    func optionEntries(_ help: String) -> [String] {
        var entries: [String] = [], current = ""
        for line in help.split(separator: "\n") {
            if line.hasPrefix("  -") || line.hasPrefix("  <") || !line.hasPrefix(" ") {
                if !current.isEmpty { entries.append(current) }
                current = line.hasPrefix(" ") ? String(line) : ""
            } else if !current.isEmpty {
                current += " " + line.trimmingCharacters(in: .whitespaces)
            }
        }
        if !current.isEmpty { entries.append(current) }
        return entries
    }

    /// Shell words: quotes grouped, a trailing `# comment` dropped.
    func words(_ line: String) -> [String] {
        var result: [String] = [], current = "", quote: Character?, started = false
        for c in line {
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
                started = true
            } else if c == "#" && !started && current.isEmpty {
                break
            } else if c == " " {
                if started { result.append(current) }
                current = ""
                started = false
            } else {
                current.append(c)
                started = true
            }
        }
        if started { result.append(current) }
        return result
    }

    /// The /v1/… paths a curl line requests, with shell variables as they are.
    func apiPaths(_ line: String) -> [String] {
        line.components(separatedBy: "/v1/").dropFirst().map { rest in
            "/v1/" + String(rest.prefix { !["\"", " ", "'", "?"].contains($0) })
        }
    }

    /// Whether a path with $VARIABLES matches an OpenAPI path with {parameters}.
    func matches(_ path: String, _ template: String) -> Bool {
        let a = path.split(separator: "/"), b = template.split(separator: "/")
        return a.count == b.count && zip(a, b).allSatisfy { x, y in x == y || (x.hasPrefix("$") && y.hasPrefix("{")) }
    }
}

/// The README's quick start and the curl examples of docs/SERVICES.md, run exactly as written, in
/// a fresh folder holding a few of the bundled images as Datasets/ (the roles on msai init's
/// default ports, 8701 and 8702).
@Suite(.serialized) struct QuickStartTests {
    @Test func theREADMEQuickStartAndTheCurlExamplesRunAsShown() async throws {
        let docs = DocumentationTests()
        let cli = CommandLineTests()
        let folder = try cli.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("Datasets"), withIntermediateDirectories: true)
        for name in ["lena.png", "zidane.jpg"] {
            try FileManager.default.copyItem(atPath: dataset(name), toPath: folder.appendingPathComponent("Datasets/\(name)").path)
        }
        let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let quickStart = readme.components(separatedBy: "```sh\n").first { $0.hasPrefix("msai init") }?
            .components(separatedBy: "```")[0].split(separator: "\n").map(String.init) ?? []
        #expect(quickStart.count >= 5 && quickStart.contains { $0.hasPrefix("msai up") }, "\(quickStart)")

        var roles: NetworkTests.Launched?
        defer { if let process = roles?.process, process.isRunning { process.terminate(); process.waitUntilExit() } }
        for line in quickStart {
            let arguments = Array(docs.words(line).dropFirst())
            if arguments == ["up"] {
                // It runs until stopped: started apart, and the rest goes on once it listens.
                let up = try NetworkTests().launch(arguments, in: folder)
                roles = up
                #expect(up.line(containing: "stop with Ctrl-C") != nil)
                #expect(up.line(containing: "data center listening on https://127.0.0.1:8702") != nil, "\(up.finish().text)")
                continue
            }
            let run = try cli.msai(arguments, in: folder)
            #expect(run.status == 0, "`\(line)`: \(run.stderr)")
            if arguments.first == "edge" { #expect(run.stdout.contains("2 of 2 frame(s) sent") && run.stdout.contains("2 verified bit-exact"), "\(run.stdout)") }
            if arguments.first == "frames" { #expect(run.stdout.split(separator: "\n").count >= 2, "\(run.stdout)") }
        }
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("Datasets/lena.recovered.png").path))

        // docs/SERVICES.md's curl examples, through bash, as a user pastes them.
        let services = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/SERVICES.md"), encoding: .utf8)
        let section = services.components(separatedBy: "### With curl")[1].components(separatedBy: "\n### ")[0]
        let script = section.components(separatedBy: "```sh\n").dropFirst().map { $0.components(separatedBy: "```")[0] }.joined()
        #expect(script.contains("Authorization: Bearer"))
        let bash = try cli.runProgram("/bin/bash", ["-e", "-u", "-o", "pipefail", "-c", "cd '\(folder.path)'\n" + script])
        #expect(bash.status == 0, "\(bash.stderr)")
        let original = try ImageFile.read(folder.appendingPathComponent("original.png").path)
        let masked = try ImageFile.read(folder.appendingPathComponent("masked.png").path)
        let lena = try ImageFile.read(dataset("lena.png")), zidane = try ImageFile.read(dataset("zidane.jpg"))
        #expect(original == lena || original == zidane)
        #expect(masked.width == original.width && masked != original)
        #expect(bash.stdout.contains("\"reason\":\"case 2026-114\"") || bash.stdout.contains("case 2026-114"), "\(bash.stdout)")
    }
}
