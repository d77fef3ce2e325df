import Foundation
import MSAICore
import MSAICoreTesting
import Testing

@Suite struct MetricsTests {
    @Test func localEntropySeesWhatGlobalEntropyMisses() async throws {
        let lena = try ImageFileFixture.lena()
        let local = try #require(ImageStatistics.localEntropy(lena))
        #expect(local.mean < ImageStatistics.entropy(lena.sampleSet).mean)
        var random = SplitMix64(seed: 1)
        let noise = randomImage(width: 256, height: 256, channels: 1, using: &random)
        // Wu et al. 2013: for (30, 1936) the local entropy of a random image is about 7.90.
        #expect(abs(try #require(ImageStatistics.localEntropy(noise)).mean - 7.90) < 0.02)
        #expect(ImageStatistics.localEntropy(try PixelBuffer(width: 10, height: 10, channels: 1)) == nil)
    }

    @Test func adjacentCorrelationIsHighForNaturalImagesAndLowForNoise() async throws {
        let lena = try ImageFileFixture.lena()
        for direction in ImageStatistics.Direction.allCases {
            #expect(try ImageStatistics.adjacentCorrelation(lena, in: [lena.bounds], direction: direction).mean > 0.85)
        }
        var random = SplitMix64(seed: 4)
        let noise = randomImage(width: 200, height: 200, channels: 3, using: &random)
        #expect(abs(try ImageStatistics.adjacentCorrelation(noise, in: [noise.bounds], direction: .horizontal).mean) < 0.02)
    }
}
