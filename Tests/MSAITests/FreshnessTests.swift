import Foundation
import MSAICore
import MSAICrypto
import MSAIImageIO
import MSAIRoles
import Testing

@Suite struct FreshnessTests {
    @Test func twoMembraneRequestsOfOneShapeDiffer() async throws {
        let roles = Roles(seed: 100)
        let shape = try MembraneShape(rows: 50, cols: 40, channels: 3)
        let a = try await roles.cloud.requestMembrane(MembraneRequest(shape: shape, mode: .gf251))
        let b = try await roles.cloud.requestMembrane(MembraneRequest(shape: shape, mode: .gf251))
        #expect(a.id != b.id)
        #expect(a.values != b.values)
        #expect(a.values.allSatisfy { (1...250).contains($0) })
    }

    @Test func twoTausDiffer() async throws {
        let roles = Roles(seed: 101)
        let a = try roles.dataCenter.issueTau(TauRequest(width: 640, height: 480, blockSize: 8))
        let b = try roles.dataCenter.issueTau(TauRequest(width: 640, height: 480, blockSize: 8))
        #expect(a.id != b.id && a.seed != b.seed)
        let tauA = try ScrambleKey.derive(seed: a.seed, layout: a.layout, using: ChaCha20Keystream.self).tau
        let tauB = try ScrambleKey.derive(seed: b.seed, layout: b.layout, using: ChaCha20Keystream.self).tau
        #expect(tauA.count == 4800 && tauA != tauB)
        // Two uniform permutations of 4800 blocks agree on about one position.
        #expect((0..<4800).filter { tauA[$0] == tauB[$0] }.count < 10)
    }

    /// Masking two frames that differ in one pixel, in two requests, passes Wu's NPCR and UACI
    /// tests on the areas at α = 0.05 with F = 249 (masked non-zero samples take 250 values).
    /// Each test falsely fails 5 % of the time even for ideal masking, so it runs over 20 seeded
    /// trials and asserts at least 16 passes of each (P ≤ 16 of 20 under ideal masking is 1.6 %).
    /// Seeded, so every run is identical. A reused membrane, the negative control, fails.
    @Test func oneChangedPixelGivesIndependentLookingMaskedAreas() async throws {
        let image = try ImageFileFixture.lena()
        let area = Rect(x: 200, y: 180, width: 150, height: 200)
        var changed = image
        changed.samples[((area.y + 10) * image.width + area.x + 10) * 3] &+= 1
        var npcrPasses = 0, uaciPasses = 0
        for trial in 0..<20 {
            let roles = Roles(seed: 1000 + UInt64(trial), mode: .gf251)
            let first = try await roles.maskOnly(image, areas: [area]).sampleSet(in: [area])
            let second = try await roles.maskOnly(changed, areas: [area]).sampleSet(in: [area])
            let wu = WuCriticalValues.maskedAreas(sampleCount: first.count, alpha: 0.05)
            if wu.npcrPasses(try Differential.npcr(first, second).mean) { npcrPasses += 1 }
            if wu.uaciPasses(try Differential.uaci(first, second).mean) { uaciPasses += 1 }
        }
        #expect(npcrPasses >= 16, "NPCR passed \(npcrPasses) of 20")
        #expect(uaciPasses >= 16, "UACI passed \(uaciPasses) of 20")

        // The hardened mode, compared at F = 255, the same way.
        var hardenedPasses = 0
        for trial in 0..<20 {
            let roles = Roles(seed: 2000 + UInt64(trial), mode: .hardened)
            let first = try await roles.maskOnly(image, areas: [area]).sampleSet(in: [area])
            let second = try await roles.maskOnly(changed, areas: [area]).sampleSet(in: [area])
            let wu = WuCriticalValues.maskedAreas(sampleCount: first.count, mode: .hardened, alpha: 0.05)
            let npcr = try Differential.npcr(first, second).mean, uaci = try Differential.uaci(first, second).mean
            if wu.npcrPasses(npcr) && wu.uaciPasses(uaci) {
                hardenedPasses += 1
            }
        }
        #expect(hardenedPasses >= 15, "hardened passed both tests \(hardenedPasses) of 20")

        // Negative control: the same membrane on both frames leaves all but one sample equal.
        let roles = Roles(seed: 1)
        let grant = try await roles.cloud.requestMembrane(MembraneRequest(shape: MembraneShape(covering: area, channels: 3), mode: .gf251))
        var a = image, b = changed
        try AreaMasker.apply(grant.values, to: &a, area: area)
        try AreaMasker.apply(grant.values, to: &b, area: area)
        let wu = WuCriticalValues.maskedAreas(sampleCount: area.area * 3)
        #expect(!wu.npcrPasses(try Differential.npcr(a.sampleSet(in: [area]), b.sampleSet(in: [area])).mean))
    }

    /// Where an area holds many 0 and 255 samples (dog.jpg's dark van), GF(251) masking leaves them
    /// in place and fails Wu's NPCR test by a wide margin; the hardened mode passes.
    @Test func hardenedModeClosesTheLeakThatFailsWusTest() async throws {
        let image = try ImageFile.read(dataset("dog.jpg"))
        let area = Rect(x: 466, y: 82, width: 221, height: 90)
        func npcr(_ mode: MaskingMode) async throws -> (Double, WuCriticalValues) {
            let roles = Roles(seed: 77, mode: mode)
            let a = try await roles.maskOnly(image, areas: [area]).sampleSet(in: [area])
            let b = try await roles.maskOnly(image, areas: [area]).sampleSet(in: [area])
            return (try Differential.npcr(a, b).mean, WuCriticalValues.maskedAreas(sampleCount: a.count, mode: mode))
        }
        let (literal, literalWu) = try await npcr(.gf251)
        #expect(literal < literalWu.npcrCritical - 0.01)
        let (hardened, hardenedWu) = try await npcr(.hardened)
        #expect(hardenedWu.npcrPasses(hardened))
    }
}
