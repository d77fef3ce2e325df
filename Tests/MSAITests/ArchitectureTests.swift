import Foundation
import Testing

/// The layering of docs/ARCHITECTURE.md, enforced: every source file of a target imports only
/// what the document's table lets that target import (SwiftPM itself lets a module import any
/// module its dependencies bring along, so a layer could otherwise reach above itself unseen).
@Suite struct ArchitectureTests {
    static let system: Set<String> = ["Foundation", "FoundationEssentials", "Dispatch", "Glibc", "Synchronization", "Darwin"]

    @Test func everyTargetImportsOnlyWhatARCHITECTUREAllows() throws {
        let page = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/ARCHITECTURE.md"), encoding: .utf8)
        let table = page.components(separatedBy: "| target | layer | may import |")[1].components(separatedBy: "\n\n")[0]
        var allowed: [String: Set<String>] = [:]
        for row in table.split(separator: "\n").dropFirst() {
            let cells = row.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4 else { continue }
            let target = cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            allowed[target] = Set(cells[3].split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " `")) }.filter { !$0.isEmpty })
        }
        #expect(allowed.count >= 12, "\(allowed.keys.sorted())")
        // The core is a package of its own (Core/); its targets are checked alike.
        for root in ["Sources", "Core/Sources"] {
            let sources = repositoryRoot.appendingPathComponent(root)
            let swiftTargets = try FileManager.default.contentsOfDirectory(atPath: sources.path).filter { target in
                let files = FileManager.default.enumerator(atPath: sources.appendingPathComponent(target).path)?.compactMap { $0 as? String } ?? []
                return files.contains { $0.hasSuffix(".swift") }
            }
            for target in swiftTargets.sorted() {
                guard let permitted = allowed[target] else {
                    Issue.record("\(root)/\(target) is not in docs/ARCHITECTURE.md's table")
                    continue
                }
                let folder = sources.appendingPathComponent(target)
                for case let file as String in FileManager.default.enumerator(atPath: folder.path)! where file.hasSuffix(".swift") {
                    let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                    for line in text.split(separator: "\n") {
                        let words = line.split(separator: " ").map(String.init)
                        guard let i = words.firstIndex(of: "import"), words[..<i].allSatisfy({ $0.hasPrefix("@") || $0 == "public" || $0 == "internal" }),
                            i + 1 < words.count
                        else { continue }
                        let module = String(words[i + 1].split(separator: ".")[0])
                        #expect(permitted.contains(module) || Self.system.contains(module),
                                "\(root)/\(target)/\(file) imports \(module), which docs/ARCHITECTURE.md does not let \(target) import")
                    }
                }
            }
        }
    }
}
