import Foundation
import MSAICore
import MSAICoreTesting
import MSAIImageIO
import MSAIRoles
import Testing

/// Stream frames travel as QOI in an msai container; the data center takes them as it takes PNGs.
@Suite struct FrameFormatTests {
    @Test func qoiCodecRoundTripsColourAndRefusesGray() throws {
        var random = SplitMix64(seed: 31)
        let image = randomImage(width: 37, height: 23, channels: 3, using: &random)
        var bytes = try QOICodec.encode(image)
        #expect(try QOICodec.decode(bytes[...]) == image)
        #expect(throws: MSAIError.invalidImage("QOI image: QOI stream is truncated (no end marker)")) {
            try QOICodec.decode(bytes.dropLast(3))
        }
        bytes[12] = 4
        #expect(throws: MSAIError.invalidImage("QOI image: QOI image has 4 channels; msai reads RGB")) { try QOICodec.decode(bytes[...]) }
        let gray = randomImage(width: 8, height: 8, channels: 1, using: &random)
        #expect(throws: MSAIError.invalidArgument("QOI holds RGB images; this one has 1 channel(s)")) { try QOICodec.encode(gray) }
    }

    @Test(arguments: [MaskingMode.gf251, .hardened, .vhe])
    func qoiFramesComeBackBitExact(mode: MaskingMode) async throws {
        let roles = Roles(seed: 40, mode: mode, format: .qoi)
        let image = try ImageFile.read(dataset("zidane.jpg"))
        let areas = [Rect(x: 10, y: 20, width: 100, height: 80), Rect(x: 50, y: 60, width: 120, height: 40)]
        let (sent, recovered) = try await roles.roundTrip(image, areas: areas)
        #expect(sent.format == .qoi)
        #expect(Array(sent.encoded.prefix(8)) == Array("msai.qoi".utf8))
        #expect(Array(sent.sealed.prefix(8)) == Array("msaiSEAL".utf8))
        #expect(recovered == image)
        // What is sent reads back as the very pixels, manifest and ciphertexts that were scrambled.
        let contents = try MaskedFrameCodec.decode(sent.encoded)
        #expect(try contents.format == .qoi && contents.pixels == (try sent.scrambled))
        #expect(contents.manifestJSON == sent.manifest.encoded())
        #expect(contents.ciphertexts.isEmpty == (mode != .vhe))
        let header = try MaskedFrameCodec.peek(sent.encoded)
        #expect(header.width == image.width && header.height == image.height && header.tauID == sent.manifest.tauID)
    }

    @Test func grayFramesGoAsPNGWhenQOIIsAsked() async throws {
        let roles = Roles(seed: 41, format: .qoi)
        let image = try ImageFile.read(dataset("camera.png"))
        #expect(image.channels == 1)
        let (sent, recovered) = try await roles.roundTrip(image, areas: [Rect(x: 0, y: 0, width: 64, height: 64)])
        #expect(sent.format == .png && ImageFile.sniff(sent.encoded) == .png)
        #expect(recovered == image)
    }

    @Test func damagedContainersAreRefusedByName() async throws {
        let roles = Roles(seed: 42, format: .qoi)
        var random = SplitMix64(seed: 42)
        let image = randomImage(width: 64, height: 48, channels: 3, using: &random)
        let frame = try await roles.edge.prepare(image, areas: [Rect(x: 8, y: 8, width: 24, height: 16)])
        let dc = roles.dataCenter

        // Damaged containers, sealed by the edge under the frame's own τ: the seal opens, the container does not.
        func sealed(_ inner: [UInt8]) throws -> [UInt8] { try roles.reseal(inner, like: frame) }
        // Cut short, a wrong version, and a length that claims more than is there.
        #expect(throws: MSAIError.invalidImage("masked frame: QOI stream is truncated (no end marker)")) {
            try dc.submit(maskedFrame: try sealed(Array(frame.encoded.dropLast(100))))
        }
        var version = frame.encoded
        version[8] = 2
        #expect(throws: MSAIError.invalidMetadata("masked frame: msai container version 2; this build reads version 1")) {
            try dc.submit(maskedFrame: try sealed(version))
        }
        var overlong = frame.encoded
        overlong[9] = 0x7F
        #expect(throws: MSAIError.self) { try dc.submit(maskedFrame: try sealed(overlong)) }
        #expect(throws: MSAIError.invalidImage("masked frame: a masked frame must be a PNG or an msai QOI or JPEG container; this is none of them")) {
            try dc.submit(maskedFrame: try sealed(Array(frame.encoded.dropFirst(8))))
        }
        // None of that used anything up: the untouched frame is accepted, once.
        #expect(try dc.submit(maskedFrame: frame.sealed).areaCount == 1)
        #expect(throws: MSAIError.alreadyUsed(.tau(frame.manifest.tauID))) {
            try dc.submit(maskedFrame: frame.sealed)
        }
    }
}
