import Foundation
import MSAICore
import MSAIEvaluation
import MSAINetwork
import MSAIRoles
import MSAIVision
import Testing

/// `msai batch`'s engine in-process, as the command wires it: what is evaluated, failed and left
/// untried, and what each recorded image leaves in the run folder.
@Suite struct BatchRunnerTests {
    func runFolder() throws -> (URL, RunFolder) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-runner-\(UUID().uuidString)")
        return (folder, try RunFolder.open(folder.path, settings: .init(mode: "hardened", block: 8, policy: PrivacyPolicy())))
    }

    @Test func evaluatesRecordsAndNamesFailures() async throws {
        let (folder, run) = try runFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let broken = folder.appendingPathComponent("broken.png")
        try Data("not an image".utf8).write(to: broken)
        let items = [RunFolder.Item(id: "coffee", path: dataset("coffee.png")), RunFolder.Item(id: "broken", path: broken.path),
                     RunFolder.Item(id: "lena", path: dataset("lena.png"))]
        let runner = BatchRunner(jobs: 2, makeSelector: { .manual([Rect(x: 0, y: 0, width: 32, height: 32)]) },
                                 makeEvaluator: { Evaluator(mode: .standard, blockSize: 8) })
        let steps = StepLog()
        let totals = try await runner.run(items, into: run) { await steps.add($0) }
        #expect(totals == BatchRunner.Totals(evaluated: 2, failed: 1, untried: 0))
        #expect(await steps.count == 3)
        #expect(run.isDone(items[0]) && run.isDone(items[2]) && !run.isDone(items[1]))
        let written = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("images").path)
        #expect(written.filter { $0.hasPrefix("coffee.preview-") }.count == 4)
        let failures = try String(contentsOf: folder.appendingPathComponent("failures.jsonl"), encoding: .utf8)
        #expect(failures.contains("\"image\":\"broken\"") && failures.contains("not a JPEG or PNG file"))
    }

    @Test func stopsHandingOutImagesWhenARoleCannotBeReached() async throws {
        let (folder, run) = try runFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let items = (0..<4).map { RunFolder.Item(id: "lena\($0)", path: dataset("lena.png")) }
        let nowhere = RetryPolicy(deadline: .seconds(2), attempts: 1)
        let runner = BatchRunner(jobs: 1, makeSelector: { .manual([Rect(x: 0, y: 0, width: 8, height: 8)]) }) {
            let dataCenter = HTTPDataCenterClient(url: "http://127.0.0.1:9", token: "t", retry: nowhere)
            let edge = EdgeCamera(membranes: HTTPCloudClient(url: "http://127.0.0.1:9", edgeToken: "t", retry: nowhere),
                                  scrambling: dataCenter, egress: dataCenter)
            return Evaluator(edge: edge) { _ in throw MSAIError.io("never reached") }
        }
        let totals = try await runner.run(items, into: run)
        #expect(totals == BatchRunner.Totals(evaluated: 0, failed: 1, untried: 3))
        #expect(items.allSatisfy { !run.isDone($0) })
    }
}

actor StepLog {
    private var steps: [BatchRunner.Step] = []
    func add(_ step: BatchRunner.Step) { steps.append(step) }
    var count: Int { steps.count }
}
