import Foundation
import MSAICore
import MSAICoreTesting
import MSAIImageIO
import Testing

/// The DCT-domain path's foundation (issue 17): a JPEG read as its coefficients and written back
/// decodes to exactly the pixels it did, whatever moved in between and was moved back.
@Suite struct JPEGCoefficientTests {
    static let bundled = ["alpr_test", "baboon", "bus", "car_plate", "dog", "horses", "licenseplate_motion", "messi5", "person", "zidane"]

    func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: repositoryRoot.appendingPathComponent("Datasets/\(name).jpg")))
    }

    @Test(arguments: bundled)
    func writtenBackUnchangedItDecodesToTheSamePixels(name: String) throws {
        let original = try bytes(name)
        var seen: JPEGCoefficients?
        let written = try JPEGTranscoder.transcode(original) { seen = $0 }
        #expect(try JPEGCodec.decodeAsStored(written) == JPEGCodec.decodeAsStored(original))
        // The standard Huffman tables (one pass) carry the same coefficients.
        #expect(try JPEGCodec.decodeAsStored(JPEGTranscoder.transcode(original, optimizeHuffman: false)) == JPEGCodec.decodeAsStored(original))
        // And read again, the coefficients are the ones written.
        var again: JPEGCoefficients?
        _ = try JPEGTranscoder.transcode(written) { again = $0 }
        #expect(again?.image == seen?.image)
    }

    /// Progressive in, baseline out, the same pixels: what a camera's progressive JPEG becomes.
    @Test func aProgressiveJPEGIsCarriedAsBaselineWithTheSamePixels() throws {
        var random = SplitMix64(seed: 51)
        let image = randomImage(width: 100, height: 70, channels: 3, using: &random)
        let progressive = try JPEGCodec.encode(image, quality: 80, progressive: true)
        var wasProgressive = false
        let written = try JPEGTranscoder.transcode(progressive) { wasProgressive = $0.wasProgressive }
        #expect(wasProgressive)
        #expect(try JPEGCodec.decodeAsStored(written) == JPEGCodec.decodeAsStored(progressive))
    }

    /// Whole MCUs permuted and permuted back: the same pixels; permuted only: others. A partial
    /// MCU at the edge (100×70 at 4:2:0 has a partial column and row) stays where it is.
    @Test func mcusPermutedAndBackGiveTheSamePixels() throws {
        var random = SplitMix64(seed: 52)
        let jpeg = try JPEGCodec.encode(randomImage(width: 100, height: 70, channels: 3, using: &random), quality: 85)
        var grid = (wide: 0, high: 0)
        var swaps: [((Int, Int), (Int, Int))] = []
        let permuted = try JPEGTranscoder.transcode(jpeg) { jpeg in
            grid = jpeg.image.wholeMCUs
            for _ in 0..<40 {
                let a = (Int.random(in: 0..<grid.wide, using: &random), Int.random(in: 0..<grid.high, using: &random))
                let b = (Int.random(in: 0..<grid.wide, using: &random), Int.random(in: 0..<grid.high, using: &random))
                swaps.append((a, b))
                jpeg.image.swapMCUs(a, b)
            }
        }
        #expect(grid.wide == 6 && grid.high == 4, "100x70 at 4:2:0: 7x5 MCUs, of which 6x4 whole")
        #expect(try JPEGCodec.decodeAsStored(permuted) != JPEGCodec.decodeAsStored(jpeg))
        let back = try JPEGTranscoder.transcode(permuted) { jpeg in
            for (a, b) in swaps.reversed() { jpeg.image.swapMCUs(a, b) }
        }
        #expect(try JPEGCodec.decodeAsStored(back) == JPEGCodec.decodeAsStored(jpeg))
    }

    @Test func whatCannotBeReadExactlyIsRefusedByName() throws {
        let jpeg = try bytes("dog")
        #expect(throws: MSAIError.self) { try JPEGTranscoder.transcode(Array(jpeg.prefix(jpeg.count / 2))) }
        #expect(throws: MSAIError.self) { try JPEGTranscoder.transcode([0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 0]) }
        do {
            _ = try JPEGTranscoder.transcode(jpeg, maxPixels: 1000)
            Issue.record("a JPEG over the pixel limit was read")
        } catch {
            #expect("\(error)".contains("more pixels than allowed"))
        }
        struct Stop: Error {}
        #expect(throws: Stop.self) { try JPEGTranscoder.transcode(jpeg) { _ in throw Stop() } }
    }

    /// The bound a mask over fewer values relies on: every coefficient of every bundled JPEG,
    /// and of random and flat images encoded at qualities 50 to 100, lies inside its position's
    /// `CoefficientMask.boundedRange` under its own quantisation table.
    @Test func everyCoefficientOfRealJPEGsLiesInsideItsQuantisersBound() throws {
        var random = SplitMix64(seed: 53)
        var inputs = try Self.bundled.map { try bytes($0) }
        for quality in [50, 75, 95, 100] {
            inputs.append(try JPEGCodec.encode(randomImage(width: 64, height: 48, channels: 3, using: &random), quality: quality))
            inputs.append(try JPEGCodec.encode(PixelBuffer(width: 32, height: 32, channels: 3, samples: [UInt8](repeating: 0, count: 32 * 32 * 3)), quality: quality))
            inputs.append(try JPEGCodec.encode(PixelBuffer(width: 32, height: 32, channels: 3, samples: [UInt8](repeating: 255, count: 32 * 32 * 3)), quality: quality))
        }
        var outside = 0, checked = 0
        for jpeg in inputs {
            _ = try JPEGTranscoder.transcode(jpeg) { read in
                for component in read.image.components {
                    let ranges = CoefficientMask.boundedRanges(quantization: component.quantization)
                    for (i, c) in component.coefficients.enumerated() where !ranges[i % 64].contains(Int(c)) { outside += 1 }
                    checked += component.coefficients.count
                }
            }
        }
        #expect(outside == 0, "\(outside) of \(checked) coefficients outside their bound")
        #expect(checked > 1_000_000)
    }

    /// The DCT-domain path end to end, without the roles: two areas of each bundled JPEG masked
    /// and its whole MCUs moved by τ make a JPEG any decoder opens; read back, moved back and
    /// unmasked, it decodes to exactly the original's pixels.
    @Test(arguments: ["zidane", "bus", "person", "messi5"])
    func maskedAndScrambledInTheDCTDomainItComesBackToTheSamePixels(name: String) throws {
        let original = try bytes(name)
        var random = SplitMix64(seed: 54)
        var areas: [(columns: Range<Int>, rows: Range<Int>)] = []
        var membranes: [[UInt8]] = []
        let seeds = (0..<2).map { _ in (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) } }
        var tau = Permutation.identity(0)
        let sent = try JPEGTranscoder.transcode(original) { jpeg in
            let (w, h) = (jpeg.image.width, jpeg.image.height)
            areas = [jpeg.image.mcus(covering: Rect(x: w / 5, y: h / 6, width: w / 4, height: h / 4)),
                     jpeg.image.mcus(covering: Rect(x: w / 2, y: h / 2, width: w / 3, height: h / 3))]
            membranes = areas.map { area in
                (0..<CoefficientMasking.coefficientCount(in: area, of: jpeg.image)).map { _ in UInt8.random(in: 1...250, using: &random) }
            }
            for (i, area) in areas.enumerated() {
                var pad = UniformSampler(try TestKeystream(seed: seeds[i], domain: .pad))
                try CoefficientMasking.apply(to: &jpeg.image, mcus: area, pad: &pad, membrane: membranes[i], bounded: true)
            }
            tau = try Permutation((0..<(jpeg.image.wholeMCUs.wide * jpeg.image.wholeMCUs.high)).shuffled(using: &random))
            jpeg.image = try jpeg.image.permutingMCUs(tau)
        }
        let masked = try JPEGCodec.decodeAsStored(sent)
        let pixels = try JPEGCodec.decodeAsStored(original)
        #expect(masked.width == pixels.width && masked != pixels)
        let recovered = try JPEGTranscoder.transcode(sent) { jpeg in
            jpeg.image = try jpeg.image.permutingMCUs(tau.inverse)
            for (i, area) in areas.enumerated().reversed() {
                var pad = UniformSampler(try TestKeystream(seed: seeds[i], domain: .pad))
                try CoefficientMasking.apply(to: &jpeg.image, mcus: area, pad: &pad, membrane: membranes[i], bounded: true, inverse: true)
            }
        }
        #expect(try JPEGCodec.decodeAsStored(recovered) == pixels)
    }
}
