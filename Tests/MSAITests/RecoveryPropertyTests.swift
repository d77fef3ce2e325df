import Foundation
import MSAIBigInt
import MSAICore
import MSAICoreTesting
import MSAICrypto
import Testing

/// recover(mask(x)) == x, bit for bit, over random sizes, areas and values, through the
/// real roles: membranes from the cloud, tau from the data center, the PNG on the wire.
@Suite struct RecoveryPropertyTests {
    /// Random frames: sides that are not multiples of the block, 1×1, single-channel; 1–4 areas
    /// that overlap and touch the edges; every sample value 0...255 present in the areas.
    @Test(arguments: MaskingMode.pixelModes)
    func recoversEveryFrameBitExactly(mode: MaskingMode) async throws {
        var random = SplitMix64(seed: UInt64(mode.rawValue.count))
        let roles = Roles(seed: 42, mode: mode)
        // Edge cases, then random sizes (sides rarely multiples of any block size).
        let sizes = [(1, 1), (1, 9), (7, 1), (8, 8), (15, 15), (13, 11)]
            + (0..<10).map { _ in (Int.random(in: 1...120, using: &random), Int.random(in: 1...90, using: &random)) }
        for (index, (width, height)) in sizes.enumerated() {
            for channels in [1, 3] {
                var image = randomImage(width: width, height: height, channels: channels, using: &random)
                let areas = (0..<Int.random(in: 1...4, using: &random)).map { _ in randomRect(width: width, height: height, using: &random) }
                // Force the values 0, 1, 2, … (0...255 in areas of 256 samples or more, including 0
                // and 251...255) into the first area.
                var value = 0
                image.withRows(of: areas[0]) { _, row in
                    for i in 0..<row.count { row[i] = UInt8(value % 256); value += 1 }
                }
                let blockSize = [1, 2, 3, 8, 16][index % 5]
                let (sent, recovered) = try await roles.roundTrip(image, areas: areas, blockSize: blockSize)
                #expect(recovered == image, "\(width)x\(height)x\(channels) areas \(areas) block \(blockSize)")
                #expect(try sent.scrambled.width == width && sent.scrambled.height == height)
            }
        }
    }

    @Test func gf251RecoversAll256ValuesIncludingThoseOutsideTheField() async throws {
        let image = try PixelBuffer(width: 256, height: 1, channels: 1, samples: (0...255).map(UInt8.init))
        let roles = Roles(seed: 7, mode: .gf251)
        let (sent, recovered) = try await roles.roundTrip(image, areas: [image.bounds])
        #expect(recovered == image)
        // 0 and 251...255 are left as they are (the scheme's leak); 1...250 all change value set-wise.
        #expect(sent.leakedSamples == 6)
        #expect(try sent.maskedAreas.samples[0] == 0 && Array(sent.maskedAreas.samples[251...]) == [251, 252, 253, 254, 255])
    }

    @Test func hardenedModeRecoversAll256ValuesAndLeavesNoneInPlaceByConstruction() async throws {
        let image = try PixelBuffer(width: 256, height: 4, channels: 1, samples: (0..<1024).map { UInt8($0 % 256) })
        let (sent, recovered) = try await Roles(seed: 7, mode: .hardened).roundTrip(image, areas: [image.bounds])
        #expect(recovered == image)
        #expect(sent.leakedSamples == 0)
        // The values 0 and 251...255 no longer survive: about 1 in 256 samples keeps its value, by chance.
        let unchanged = zip(image.samples, try sent.maskedAreas.samples).filter { $0 == $1 }.count
        #expect(unchanged < 20)
    }

    @Test func integerVHERecoversAll256ValuesAndMeetsItsBounds() async throws {
        var random = SplitMix64(seed: 9)
        let shape = try MembraneShape(rows: 1, cols: 256, channels: 1)
        let key = IntegerVHE.drawKey(id: MembraneID(rawValue: "v"), shape: shape, using: &random)
        let grant = try MembraneGrant(id: key.id, shape: shape, mode: .vhe, values: try IntegerVHE.membrane(for: key))
        let original = try PixelBuffer(width: 256, height: 1, channels: 1, samples: (0...255).map(UInt8.init))
        var image = original
        let ciphertexts = try IntegerVHE.mask(&image, area: original.bounds, membrane: grant)
        #expect(ciphertexts.count == 256 * 16)
        // Every ciphertext is below q = 2^127 − 1: the top bit of each 16-byte value is clear.
        for i in 0..<256 { #expect(ciphertexts[i * 16 + 15] & 0x80 == 0) }
        try IntegerVHE.unmask(&image, area: original.bounds, ciphertexts: ciphertexts, key: key)
        #expect(image == original)
        #expect(IntegerVHE.modulus.isProbablePrime && IntegerVHE.modulus.bitWidth == 127)
    }

    @Test func overlappingAreasRecoverInReverseOrder() async throws {
        var random = SplitMix64(seed: 11)
        let image = randomImage(width: 40, height: 30, channels: 3, using: &random)
        let areas = [Rect(x: 0, y: 0, width: 30, height: 20), Rect(x: 10, y: 5, width: 30, height: 25), Rect(x: 10, y: 5, width: 30, height: 25)]
        for mode in MaskingMode.pixelModes {
            let (_, recovered) = try await Roles(seed: 5, mode: mode).roundTrip(image, areas: areas)
            #expect(recovered == image)
        }
    }
}
