import Foundation
import MSAIFuzzTargets
import Testing

/// Every input a fuzzer ever found harmful (Fuzz/regressions/TARGET), and the seeds the fuzzers
/// start from, run through their targets: none may crash or break a target's invariant again.
@Suite struct FuzzRegressionTests {
    @Test(arguments: FuzzTarget.allCases)
    func everyKeptInputRunsCleanly(target: FuzzTarget) async throws {
        let folder = repositoryRoot.appendingPathComponent("Fuzz/regressions/\(target.rawValue)")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }.sorted()) ?? []
        for file in files { target.run([UInt8](try Data(contentsOf: folder.appendingPathComponent(file)))) }
        let seeds = try await target.seeds()
        #expect(!seeds.isEmpty)
        for seed in seeds { target.run(seed) }
    }
}
