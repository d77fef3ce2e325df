import Foundation
import MSAICore
import MSAICoreTesting
import Testing

/// The metrics by hand-computed cases and published tables.
@Suite struct MetricsTests {
    @Test func npcrAndUaciOfHandComputedPairs() async throws {
        let a = SampleSet(channels: 1, values: [0, 10, 255, 7])
        let b = SampleSet(channels: 1, values: [0, 20, 0, 7])
        #expect(try Differential.npcr(a, b).mean == 0.5)
        // (0 + 10 + 255 + 0) / 255 / 4
        #expect(abs(try Differential.uaci(a, b).mean - 265.0 / 1020.0) < 1e-12)
        // Two channels: R differs in 1 of 2 pixels, G in 2 of 2.
        let c = SampleSet(channels: 2, values: [1, 2, 3, 4]), d = SampleSet(channels: 2, values: [1, 0, 0, 0])
        #expect(try Differential.npcr(c, d).perChannel == [0.5, 1.0])
        #expect(try Differential.uaci(c, d).perChannel == [3.0 / 255 / 2, 6.0 / 255 / 2])
        #expect(throws: MSAIError.self) { try Differential.npcr(a, c) }
    }

    /// Edge maps: an image against itself, or itself brighter, correlates fully; against noise,
    /// not at all; against its outlines alone (what a magnitude-keeping mask would leave), strongly.
    @Test func edgeCorrelationSeesOutlinesAndNotNoise() throws {
        var random = SplitMix64(seed: 11)
        var shapes = try PixelBuffer(width: 96, height: 64, channels: 3)
        for y in 0..<64 {
            for x in 0..<96 {
                let inside = (x - 30) * (x - 30) + (y - 32) * (y - 32) < 400 || (x > 60 && x < 85 && y > 10 && y < 50)
                for c in 0..<3 { shapes.samples[(y * 96 + x) * 3 + c] = inside ? 200 : 40 }
            }
        }
        var brighter = shapes, noise = shapes, outlines = shapes
        for i in brighter.samples.indices { brighter.samples[i] += 30 }
        for i in noise.samples.indices { noise.samples[i] = UInt8.random(in: 0...255, using: &random) }
        // The outlines with random texture inside and out: each region's level lost, its edges kept.
        for i in outlines.samples.indices { outlines.samples[i] = outlines.samples[i] == 200 ? UInt8.random(in: 150...160, using: &random) : UInt8.random(in: 90...100, using: &random) }
        let whole = [shapes.bounds]
        #expect(abs(try ImageStatistics.edgeCorrelation(shapes, shapes, in: whole) - 1) < 1e-12)
        #expect(abs(try ImageStatistics.edgeCorrelation(shapes, brighter, in: whole) - 1) < 1e-12)
        #expect(abs(try ImageStatistics.edgeCorrelation(shapes, noise, in: whole)) < 0.1)
        #expect(try ImageStatistics.edgeCorrelation(shapes, outlines, in: whole) > 0.5)
        #expect(try ImageStatistics.edgeCorrelation(shapes, shapes, in: [Rect(x: 0, y: 0, width: 2, height: 2)]).isNaN)
    }

    @Test func wuCriticalValuesMatchThePublishedTable() {
        // Wu, Noonan, Agaian (2011), F = 255, α = 0.05: 256×256: N* = 99.5693 %, U* = 33.2824 … 33.6447 %;
        // 512×512: N* = 99.5893 %, U* = 33.3730 … 33.5541 %.
        let wu = WuCriticalValues(largestValue: 255, sampleCount: 65536, alpha: 0.05)
        #expect(abs(wu.npcrCritical * 100 - 99.5693) < 0.00005)
        #expect(abs(wu.uaciInterval.lowerBound * 100 - 33.2824) < 0.00005)
        #expect(abs(wu.uaciInterval.upperBound * 100 - 33.6447) < 0.00005)
        #expect(abs(wu.npcrMean * 100 - 99.6094) < 0.00005)
        let big = WuCriticalValues(largestValue: 255, sampleCount: 512 * 512, alpha: 0.05)
        #expect(abs(big.npcrCritical * 100 - 99.5893) < 0.00005)
        #expect(abs(big.uaciInterval.lowerBound * 100 - 33.3730) < 0.00005)
        #expect(abs(big.uaciInterval.upperBound * 100 - 33.5541) < 0.00005)
        // F = 250 (masked samples live in GF(251)); UACI scaled by 250/255 (SCHEME.md).
        let gf = WuCriticalValues(largestValue: 250, sampleCount: 65536)
        #expect(abs(gf.npcrMean * 100 - 99.6016) < 0.00005)
        #expect(abs(gf.uaciMean * 100 - 32.8099) < 0.00005)
        #expect(abs(NormalDistribution.quantile(0.975) - 1.959964) < 1e-6)
        #expect(abs(NormalDistribution.quantile(0.95) - 1.644854) < 1e-6)
    }

    /// Statistical assertion at α = 0.05 on fixed seeded data: deterministic, cannot flake.
    @Test func independentUniformImagesFallInsideWuIntervals() async throws {
        var random = SplitMix64(seed: 2011)
        let a = randomImage(width: 512, height: 512, channels: 1, using: &random).sampleSet
        let b = randomImage(width: 512, height: 512, channels: 1, using: &random).sampleSet
        let wu = WuCriticalValues(largestValue: 255, sampleCount: a.count, alpha: 0.05)
        #expect(wu.npcrPasses(try Differential.npcr(a, b).mean))
        #expect(wu.uaciPasses(try Differential.uaci(a, b).mean))
        // And an image against itself fails NPCR, so the test can fail.
        #expect(!wu.npcrPasses(try Differential.npcr(a, a).mean))
    }

    @Test func psnrIsInfiniteForIdenticalImagesAndKnownOtherwise() async throws {
        let a = SampleSet(channels: 1, values: [1, 2, 3, 4])
        #expect(ImageStatistics.psnr(mse: try ImageStatistics.mse(a, a)) == .infinity)
        let b = SampleSet(channels: 1, values: [2, 3, 4, 5])
        #expect(try ImageStatistics.mse(a, b) == 1)
        #expect(abs(ImageStatistics.psnr(mse: 1) - 48.1308036) < 1e-6)
    }

    @Test func entropyUses256SeparateBins() {
        // 254 and 255 in equal numbers: 1 bit (numpy's range (0, 255) with 256 bins would say 0).
        let s = SampleSet(channels: 1, values: [254, 255, 254, 255])
        #expect(ImageStatistics.entropy(s).mean == 1)
        let uniform = SampleSet(channels: 1, values: (0..<256).map(UInt8.init))
        #expect(ImageStatistics.entropy(uniform).mean == 8)
    }
}
