@testable import MSAICore
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

    /// The fast block masking (reciprocals, no division) gives exactly what `mask`, `unmask` and
    /// `UniformSampler.integer(below:)` give one coefficient at a time, over ranges of every size
    /// from 1 value (a quantiser of 255 on a high frequency) to the whole baseline range.
    @Test func blockMaskingIsTheOneByOneDefinition() throws {
        var random = SplitMix64(seed: 64)
        for quantizer in [1, 2, 3, 7, 16, 50, 99, 128, 255, 0] {
            let ranges = quantizer == 0 ? CoefficientMask.baselineRanges
                : (0..<64).map { CoefficientMask.boundedRange(index: $0, quantizer: $0 == 5 ? 255 : quantizer) }
            let count = 64 * 12
            let original = (0..<count).map { i in Int16(Int.random(in: ranges[i % 64], using: &random)) }
            let membrane = (0..<count).map { _ in UInt8.random(in: 1...250, using: &random) }
            let seed = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
            for inverse in [false, true] {
                var fast = original[...]
                var pad = UniformSampler(try TestKeystream(seed: seed, domain: .pad))
                try CoefficientMask.apply(to: &fast, pad: &pad, membrane: membrane[...], ranges: ranges, inverse: inverse)
                var reference = UniformSampler(try TestKeystream(seed: seed, domain: .pad))
                let slow = try original.indices.map { i -> Int16 in
                    let offset = Int(reference.integer(below: UInt64(ranges[i % 64].count))) + Int(membrane[i])
                    return inverse ? try CoefficientMask.unmask(original[i], offset: offset, within: ranges[i % 64], index: i % 64)
                                   : try CoefficientMask.mask(original[i], offset: offset, within: ranges[i % 64], index: i % 64)
                }
                #expect(Array(fast) == slow, "quantizer \(quantizer), inverse \(inverse)")
            }
        }
        // The reciprocal's remainders are exact across the 32-bit words it is given.
        for n in [1, 2, 3, 21, 251, 2047, 2048] {
            let position = CoefficientMask.Position(0...(n - 1))
            for a in [0, 1, n - 1, n, n + 1, 4_000_000_000, Int(UInt32.max)] + (0..<200).map({ _ in Int.random(in: 0...Int(UInt32.max), using: &random) }) {
                #expect(Int(position.remainder(UInt32(a))) == a % n)
            }
        }
    }

    /// The ranges under a quantiser: the DC of a uniform block of −128 is −1024/q exactly, inside;
    /// a quantiser of 1 leaves about the baseline range; the bounds shrink as the quantiser grows; and
    /// a mask over them is a bijection too.
    @Test func boundedRangesHoldWhat8BitSamplesCanGiveAndNoMore() throws {
        #expect(CoefficientMask.boundedRange(index: 0, quantizer: 16).contains(-1024 / 16))
        #expect(CoefficientMask.boundedRange(index: 0, quantizer: 1) == CoefficientMask.dcRange)
        #expect(CoefficientMask.boundedRange(index: 36, quantizer: 1) == CoefficientMask.acRange, "(4, 4): 1024, clamped")
        #expect(CoefficientMask.boundedRange(index: 9, quantizer: 1) == -842...842, "(1, 1): ¼·128·5.126² = 840.9, up, and 1 for rounding")
        let q50 = CoefficientMask.boundedRange(index: 27, quantizer: 50)
        #expect(q50.count < 50 && q50.count > 30, "about ±1024/50")
        #expect(CoefficientMask.boundedRange(index: 27, quantizer: 100).count < q50.count)
        for offset in [0, 5, q50.count + 3] {
            let images = Set(try q50.map { try CoefficientMask.mask(Int16($0), offset: offset, within: q50, index: 27) })
            #expect(images == Set(q50.map { Int16($0) }))
        }
        #expect(throws: MSAIError.self) { try CoefficientMask.mask(Int16(q50.upperBound + 1), offset: 0, within: q50, index: 27) }
    }
}

/// The coefficient image's geometry: whole MCUs, τ over them, areas widened to MCUs.
@Suite struct CoefficientImageTests {
    /// 4:2:0, 100×70: 7×5 MCUs of 16×16, 6×4 of them whole; numbered coefficients to follow.
    func image() -> CoefficientImage {
        func component(_ h: Int, _ v: Int, wide: Int, high: Int, base: Int) -> CoefficientImage.Component {
            CoefficientImage.Component(horizontalSampling: h, verticalSampling: v, blocksWide: wide, blocksHigh: high,
                                       quantization: [UInt16](repeating: 1, count: 64),
                                       coefficients: (0..<(wide * high * 64)).map { Int16(truncatingIfNeeded: base + $0 / 64) })
        }
        return CoefficientImage(width: 100, height: 70, maxHorizontalSampling: 2, maxVerticalSampling: 2,
                                components: [component(2, 2, wide: 13, high: 9, base: 0), component(1, 1, wide: 7, high: 5, base: 1000),
                                             component(1, 1, wide: 7, high: 5, base: 2000)])
    }

    @Test func tauMovesWholeMCUsWithAllTheirBlocksAndItsInverseUndoesIt() throws {
        let original = image()
        #expect(original.layout.mcusWide == 7 && original.layout.mcusHigh == 5 && original.wholeMCUs == (6, 4))
        var random = SplitMix64(seed: 62)
        let tau = try Permutation((0..<24).shuffled(using: &random))
        let moved = try original.permutingMCUs(tau)
        // MCU i now holds MCU tau[i]'s four luma blocks and its chroma blocks.
        for i in 0..<24 {
            let (x, y, fx, fy) = (i % 6, i / 6, tau[i] % 6, tau[i] / 6)
            #expect(moved.components[0].coefficients[moved.components[0].offset(x: 2 * x + 1, y: 2 * y + 1)]
                    == original.components[0].coefficients[original.components[0].offset(x: 2 * fx + 1, y: 2 * fy + 1)])
            #expect(moved.components[2].coefficients[moved.components[2].offset(x: x, y: y)] == Int16(2000 + fy * 7 + fx))
        }
        // The partial column and row stay.
        #expect(moved.components[1].coefficients[moved.components[1].offset(x: 6, y: 2)] == Int16(1000 + 2 * 7 + 6))
        #expect(moved.components[0].coefficients[moved.components[0].offset(x: 12, y: 8)] == Int16(8 * 13 + 12))
        #expect(try moved.permutingMCUs(tau.inverse) == original)
        #expect(throws: MSAIError.self) { try original.permutingMCUs(Permutation.identity(35)) }
    }

    @Test func anAreaWidensToTheMCUsThatCoverIt() {
        let image = image()
        #expect(image.mcus(covering: Rect(x: 17, y: 3, width: 15, height: 14)) == (1..<2, 0..<2))
        #expect(image.mcus(covering: Rect(x: 90, y: 60, width: 10, height: 10)) == (5..<7, 3..<5))
        #expect(image.mcus(covering: Rect(x: 0, y: 0, width: 100, height: 70)) == (0..<7, 0..<5))
    }

    /// Bands stay within the membrane's bound even when the area starts inside an MCU row,
    /// whose first row then touches fewer blocks than the rows after it.
    @Test func bandsOfAnAreaStartingInsideAnMCURowStayWithinTheirBound() throws {
        let layout = image().layout
        let area = Rect(x: 0, y: 9, width: 100, height: 61)
        for maximum in [40, 60, 90, 130] {  // one MCU row of this image is 40 blocks, the least a band can be
            let bands = layout.maskedAreas(for: [area], maximumBlocks: maximum)
            #expect(bands.allSatisfy { layout.blocks(covering: $0).count <= maximum }, "at most \(maximum) blocks a band")
            #expect(MaskCoverage.pixelsCovered(of: area, by: bands) == area.area)
        }
    }

    /// An area masks the blocks that hold its pixels: 8x8 luma blocks, 16x16 (in pixels) chroma
    /// blocks in 4:2:0, clipped to the blocks the image stores.
    @Test func anAreaMasksTheBlocksItTouchesInEachComponent() {
        let layout = image().layout
        let blocks = layout.blocks(covering: Rect(x: 17, y: 3, width: 15, height: 14))
        #expect(blocks.components.map(\.columns) == [2..<4, 1..<2, 1..<2] && blocks.components.map(\.rows) == [0..<3, 0..<2, 0..<2])
        #expect(blocks.count == 6 + 2 + 2)
        let corner = layout.blocks(covering: Rect(x: 90, y: 60, width: 10, height: 10))
        #expect(corner.components.map(\.columns) == [11..<13, 5..<7, 5..<7] && corner.components.map(\.rows) == [7..<9, 3..<5, 3..<5])
        #expect(layout.blocks(covering: Rect(x: 0, y: 0, width: 100, height: 70)).count
                    == layout.components.reduce(0) { $0 + $1.blocksWide * $1.blocksHigh })
    }
}

/// Areas masked and τ applied, then undone: exactly the coefficients; the pad or the membrane
/// alone does not undo it.
@Suite struct CoefficientMaskingTests {
    @Test func areasMaskedAndMovedComeBackExactlyAndNeedBothKeys() throws {
        var random = SplitMix64(seed: 63)
        var image = CoefficientImageTests().image()
        for c in image.components.indices {
            let ranges = CoefficientMask.boundedRanges(quantization: image.components[c].quantization)
            for i in image.components[c].coefficients.indices {
                image.components[c].coefficients[i] = Int16(Int.random(in: ranges[i % 64], using: &random))
            }
        }
        let original = image
        let areas = [image.mcus(covering: Rect(x: 3, y: 3, width: 30, height: 20)), image.mcus(covering: Rect(x: 80, y: 40, width: 20, height: 30))]
        let membranes = areas.map { area in (0..<CoefficientMasking.coefficientCount(in: area, of: image)).map { _ in UInt8.random(in: 1...250, using: &random) } }
        let seeds = areas.map { _ in (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) } }
        let tau = try Permutation((0..<24).shuffled(using: &random))
        for (i, area) in areas.enumerated() {
            var pad = UniformSampler(try TestKeystream(seed: seeds[i], domain: .pad))
            try CoefficientMasking.apply(to: &image, mcus: area, pad: &pad, membrane: membranes[i], bounded: true)
        }
        let sent = try image.permutingMCUs(tau)
        #expect(sent != original)

        func recover(membranes: [[UInt8]], seeds: [[UInt8]]) throws -> CoefficientImage {
            var back = try sent.permutingMCUs(tau.inverse)
            for (i, area) in areas.enumerated().reversed() {
                var pad = UniformSampler(try TestKeystream(seed: seeds[i], domain: .pad))
                try CoefficientMasking.apply(to: &back, mcus: area, pad: &pad, membrane: membranes[i], bounded: true, inverse: true)
            }
            return back
        }
        #expect(try recover(membranes: membranes, seeds: seeds) == original)
        let noMembrane = membranes.map { [UInt8](repeating: 0, count: $0.count) }
        #expect(try recover(membranes: noMembrane, seeds: seeds) != original, "the pad alone does not unmask")
        let otherSeeds = seeds.map { $0.map { $0 ^ 1 } }
        #expect(try recover(membranes: membranes, seeds: otherSeeds) != original, "the membrane alone does not unmask")
        #expect(throws: MSAIError.self) {
            var pad = UniformSampler(try TestKeystream(seed: seeds[0], domain: .pad))
            try CoefficientMasking.apply(to: &image, mcus: areas[0], pad: &pad, membrane: [1, 2, 3], bounded: true)
        }
    }
}
