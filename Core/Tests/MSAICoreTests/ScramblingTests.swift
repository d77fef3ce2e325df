import Foundation
import MSAICore
import MSAICoreTesting
import Testing

/// Block scrambling: τ moves whole blocks and the edge permutation the pixels of partial blocks,
/// and unscrambling undoes it for every layout. The keystream is the tests' own (`TestKeystream`):
/// what is tested is the scrambler, not the PRF (MSAICrypto's ChaCha20 has its known answers).
@Suite struct ScramblingTests {
    let seed = (0..<32).map { UInt8($0 * 7 % 256) }

    @Test func unscrambleUndoesScrambleForEveryLayout() async throws {
        var random = SplitMix64(seed: 3)
        for (w, h, b) in [(1, 1, 8), (5, 3, 8), (8, 8, 8), (9, 17, 8), (640, 480, 8), (31, 29, 4), (20, 20, 1), (30, 10, 16)] {
            for channels in [1, 3] {
                let image = randomImage(width: w, height: h, channels: channels, using: &random)
                let layout = try BlockLayout(width: w, height: h, blockSize: b)
                let key = try ScrambleKey.derive(seed: seed, layout: layout, using: TestKeystream.self)
                let scrambled = try BlockScrambler.scramble(image, layout: layout, key: key)
                #expect(try BlockScrambler.unscramble(scrambled, layout: layout, key: key) == image)
            }
        }
    }

    @Test func everyPixelTakesPartIncludingPartialEdgeBlocks() async throws {
        // Label every pixel with its own index (3 channels hold 24 bits), scramble, and check that
        // blocks move as wholes by tau and edge pixels by the edge permutation, per the convention.
        let (w, h, b) = (21, 13, 8)
        var samples: [UInt8] = []
        for i in 0..<(w * h) { samples += [UInt8(i >> 16), UInt8((i >> 8) & 255), UInt8(i & 255)] }
        let image = try PixelBuffer(width: w, height: h, channels: 3, samples: samples)
        let layout = try BlockLayout(width: w, height: h, blockSize: b)
        #expect(layout.blockCount == 2 && layout.edgePixelCount == w * h - 2 * 64)
        let key = try ScrambleKey.derive(seed: seed, layout: layout, using: TestKeystream.self)
        let scrambled = try BlockScrambler.scramble(image, layout: layout, key: key)
        func label(_ p: PixelBuffer, _ x: Int, _ y: Int) -> Int {
            let i = (y * w + x) * 3
            return Int(p.samples[i]) << 16 | Int(p.samples[i + 1]) << 8 | Int(p.samples[i + 2])
        }
        // Scrambled block i holds block tau[i].
        for i in 0..<layout.blockCount {
            let from = key.tau[i]
            for dy in 0..<b {
                for dx in 0..<b {
                    #expect(label(scrambled, i % 2 * b + dx, dy) == dy * w + from % 2 * b + dx)
                }
            }
        }
        let edges = layout.edgePixelIndices()
        for i in 0..<edges.count {
            #expect(label(scrambled, edges[i] % w, edges[i] / w) == edges[key.edge[i]])
        }
        // The edge pixels really are shuffled, not left in place.
        #expect((0..<edges.count).filter { key.edge[$0] == $0 }.count < edges.count / 10)
    }

    /// The convention, checked on every pixel of large labelled frames with partial edge blocks,
    /// in both directions, for the block and channel counts that have their own row copies
    /// (8 × 8 blocks of RGB or grey) and others.
    @Test func everyPixelOfLargeFramesMovesByTheConvention() async throws {
        for (w, h, b, channels) in [(1029, 773, 8, 3), (1501, 1403, 8, 1), (1030, 700, 16, 3), (1100, 900, 5, 3), (333, 211, 4, 1), (700, 500, 32, 1)] {
            var samples = [UInt8](repeating: 0, count: w * h * channels)
            for i in 0..<(w * h) {
                for c in 0..<channels { samples[i * channels + c] = UInt8(truncatingIfNeeded: i >> (8 * (c % 3))) }
            }
            let image = try PixelBuffer(width: w, height: h, channels: channels, samples: samples)
            let layout = try BlockLayout(width: w, height: h, blockSize: b)
            let key = try ScrambleKey.derive(seed: seed, layout: layout, using: TestKeystream.self)
            let scrambled = try BlockScrambler.scramble(image, layout: layout, key: key)
            // The reference: scrambled block i holds block tau[i], pixel by pixel.
            var expected = samples
            let columns = layout.blockColumns
            for i in 0..<layout.blockCount {
                let from = key.tau[i]
                for dy in 0..<b {
                    let target = ((i / columns) * b + dy) * w + (i % columns) * b
                    let source = ((from / columns) * b + dy) * w + (from % columns) * b
                    expected[(target * channels)..<((target + b) * channels)] = samples[(source * channels)..<((source + b) * channels)]
                }
            }
            let edges = layout.edgePixelIndices()
            for i in 0..<edges.count {
                expected[(edges[i] * channels)..<((edges[i] + 1) * channels)] = samples[(edges[key.edge[i]] * channels)..<((edges[key.edge[i]] + 1) * channels)]
            }
            #expect(scrambled.samples == expected, "\(w)x\(h), blocks of \(b), \(channels) channel(s)")
            #expect(try BlockScrambler.unscramble(scrambled, layout: layout, key: key) == image)
        }
    }

    /// With fewer than two whole blocks a block permutation moves nothing, so such frames are
    /// permuted pixel by pixel: an 8×8 frame with 8×8 blocks is not sent as it is.
    @Test func framesWithFewerThanTwoBlocksArePermutedPixelByPixel() async throws {
        for (w, h) in [(8, 8), (15, 15), (9, 15), (3, 40)] {
            let layout = try BlockLayout(width: w, height: h, blockSize: 8)
            #expect(layout.blockCount == 0 && layout.edgePixelCount == w * h)
            var random = SplitMix64(seed: UInt64(w))
            let image = randomImage(width: w, height: h, channels: 1, using: &random)
            let key = try ScrambleKey.derive(seed: seed, layout: layout, using: TestKeystream.self)
            let scrambled = try BlockScrambler.scramble(image, layout: layout, key: key)
            #expect(try Differential.npcr(image.sampleSet, scrambled.sampleSet).mean > 0.9)
            #expect(try BlockScrambler.unscramble(scrambled, layout: layout, key: key) == image)
        }
        #expect(try BlockLayout(width: 16, height: 8, blockSize: 8).blockCount == 2)
        #expect(throws: MSAIError.self) { try BlockLayout(width: 64, height: 64, blockSize: 5000) }
    }

    @Test func wrongSizedTauIsRejectedWithBothSizes() async throws {
        let image = try PixelBuffer(width: 640, height: 480, channels: 1)
        let layout = try BlockLayout(width: 640, height: 480, blockSize: 8)
        let key = ScrambleKey(tau: .identity(4799), edge: .identity(0))
        #expect(throws: MSAIError.shapeMismatch("frame 640x480 has 4800 blocks of 8x8 but tau has 4799 entries")) {
            try BlockScrambler.scramble(image, layout: layout, key: key)
        }
        #expect(throws: MSAIError.self) { try Permutation([0, 0, 1]) }
        #expect(throws: MSAIError.self) { try BlockLayout(width: 0, height: 5, blockSize: 8) }
    }
}
