import MSAICore
import MSAICoreTesting
import Testing

/// The DCT-domain mask: a bijection on exactly the range a baseline 8-bit JPEG can code.
@Suite struct CoefficientMaskTests {
    @Test func itIsABijectionOnEachRangeForEveryOffsetTried() throws {
        for index in [0, 1, 63] {
            let range = CoefficientMask.range(index: index)
            for offset in [0, 1, 7, range.count - 1, range.count, range.count + 250, 123_456] {
                var images = Set<Int16>()
                for c in range {
                    let masked = try CoefficientMask.mask(Int16(c), offset: offset, index: index)
                    #expect(range.contains(Int(masked)))
                    #expect(try CoefficientMask.unmask(masked, offset: offset, index: index) == Int16(c))
                    images.insert(masked)
                }
                #expect(images.count == range.count, "index \(index), offset \(offset): every value is hit once")
            }
        }
    }

    @Test func theExtremesWrapAroundAndWhatNoBaselineJPEGHoldsIsRefused() throws {
        #expect(try CoefficientMask.mask(1023, offset: 1, index: 5) == -1023)
        #expect(try CoefficientMask.mask(1023, offset: 1, index: 0) == -1024)
        #expect(try CoefficientMask.unmask(-1024, offset: 1, index: 0) == 1023)
        #expect(throws: MSAIError.self) { try CoefficientMask.mask(-1024, offset: 3, index: 1) }
        #expect(throws: MSAIError.self) { try CoefficientMask.mask(1024, offset: 3, index: 0) }
    }

    /// Random blocks, extremes included, masked under a pad stream and a membrane and unmasked
    /// under the same: exactly the blocks; the masked DC values keep every difference codable.
    @Test func randomBlocksComeBackExactly() throws {
        var random = SplitMix64(seed: 61)
        let count = 64 * 40
        let original: [Int16] = (0..<count).map { i in
            let range = CoefficientMask.range(index: i % 64)
            switch i % 7 {
            case 0: return Int16(range.lowerBound)
            case 1: return Int16(range.upperBound)
            default: return Int16(Int.random(in: range, using: &random))
            }
        }
        let membrane = (0..<count).map { _ in UInt8.random(in: 1...250, using: &random) }
        let seed = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        var blocks = original[...]
        var pad = UniformSampler(try TestKeystream(seed: seed, domain: .pad))
        try CoefficientMask.apply(to: &blocks, pad: &pad, membrane: membrane[...])
        #expect(Array(blocks) != original)
        let dcs = stride(from: 0, to: count, by: 64).map { Int(blocks[$0]) }
        #expect(zip(dcs, dcs.dropFirst()).allSatisfy { abs($0 - $1) <= 2047 })
        var again = UniformSampler(try TestKeystream(seed: seed, domain: .pad))
        try CoefficientMask.apply(to: &blocks, pad: &again, membrane: membrane[...], inverse: true)
        #expect(Array(blocks) == original)
    }
}
