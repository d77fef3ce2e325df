import Foundation
import MSAICore
import MSAICrypto
import Testing

@Suite struct ScramblingTests {
    let seed = (0..<32).map { UInt8($0 * 7 % 256) }

    @Test func scramblingDestroysStructure() async throws {
        let image = try ImageFileFixture.lena()
        let layout = try BlockLayout(width: image.width, height: image.height, blockSize: 8)
        let key = try ScrambleKey.derive(seed: seed, layout: layout, using: ChaCha20Keystream.self)
        let scrambled = try BlockScrambler.scramble(image, layout: layout, key: key)
        // A permutation keeps the histogram (global entropy) but moves nearly every block.
        #expect(ImageStatistics.histograms(scrambled.sampleSet) == ImageStatistics.histograms(image.sampleSet))
        #expect(try Differential.npcr(image.sampleSet, scrambled.sampleSet).mean > 0.9)
        let fixed = (0..<key.tau.count).filter { key.tau[$0] == $0 }.count
        #expect(fixed < 10)  // expected ≈ 1 for a uniform permutation of 4096 blocks
    }

}
