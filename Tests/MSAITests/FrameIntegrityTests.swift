import Foundation
import MSAIBigInt
import MSAICore
import MSAIImageIO
import MSAIRoles
import Testing

/// What the data center does with frames that are not what the edge sent.
@Suite struct FrameIntegrityTests {
    func preparedFrame(_ roles: Roles) async throws -> (PixelBuffer, EdgeCamera.MaskedFrame) {
        var random = SplitMix64(seed: 8)
        let image = randomImage(width: 48, height: 40, channels: 3, using: &random)
        return (image, try await roles.edge.prepare(image, areas: [Rect(x: 4, y: 4, width: 20, height: 16)]))
    }

    /// Re-encodes a masked frame with its manifest changed by `edit` (valid PNG, valid CRCs).
    func tampered(_ frame: EdgeCamera.MaskedFrame, _ edit: (inout FrameManifest) -> Void) throws -> [UInt8] {
        var manifest = frame.manifest
        edit(&manifest)
        return try MaskedFrameCodec.encode(pixels: frame.scrambled, manifest: manifest, ciphertexts: [])
    }

    @Test func alteredMetadataFailsTheIntegrityCheck() async throws {
        let roles = Roles(seed: 1)
        let (_, frame) = try await preparedFrame(roles)
        let moved = try tampered(frame) { $0.areas[0].x += 1 }
        #expect(throws: MSAIError.integrityFailure("masked frame fails its integrity check: metadata or pixels were altered")) {
            try roles.dataCenter.submit(maskedFrame: moved)
        }
        let unknownTau = try tampered(frame) { $0.tauID = "0000" }
        #expect(throws: MSAIError.self) { try roles.dataCenter.submit(maskedFrame: unknownTau) }
        let otherVersion = try tampered(frame) { $0.version = 99 }
        #expect(throws: MSAIError.invalidMetadata("masked frame metadata is version 99; this msai reads version 1")) {
            try roles.dataCenter.submit(maskedFrame: otherVersion)
        }
        // The untouched frame is still accepted afterwards: failures consume nothing.
        #expect(try roles.dataCenter.submit(maskedFrame: frame.encoded).areaCount == 1)
    }

    @Test func alteredPixelsFailTheIntegrityCheck() async throws {
        let roles = Roles(seed: 2)
        let (_, frame) = try await preparedFrame(roles)
        var pixels = frame.scrambled
        pixels.samples[100] &+= 1
        let bytes = try MaskedFrameCodec.encode(pixels: pixels, manifest: frame.manifest, ciphertexts: [])
        #expect(throws: MSAIError.self) { try roles.dataCenter.submit(maskedFrame: bytes) }
    }

    @Test func missingMetadataIsNamed() async throws {
        let roles = Roles(seed: 3)
        let (image, _) = try await preparedFrame(roles)
        let plain = try PNGCodec.encode(image)
        #expect(throws: MSAIError.invalidMetadata(
            "masked frame: no msai metadata (iTXt chunk 'msai'): not a masked frame, or its metadata was stripped")) {
            try roles.dataCenter.submit(maskedFrame: plain)
        }
    }

    @Test func flippedByteInsideTheMetadataChunkIsACRCError() async throws {
        let roles = Roles(seed: 4)
        let (_, frame) = try await preparedFrame(roles)
        var bytes = frame.encoded
        let marker = Array("tau_id".utf8)
        let at = try #require((0..<(bytes.count - marker.count)).first { Array(bytes[$0..<($0 + marker.count)]) == marker })
        bytes[at] ^= 0x20
        do {
            _ = try roles.dataCenter.submit(maskedFrame: bytes)
            Issue.record("a frame with a flipped metadata byte was accepted")
        } catch {
            #expect("\(error)".contains("CRC error"))
        }
    }

    @Test func truncatedFrameIsRejected() async throws {
        let roles = Roles(seed: 5)
        let (_, frame) = try await preparedFrame(roles)
        let cut = Array(frame.encoded.prefix(frame.encoded.count / 2))
        #expect(throws: MSAIError.self) { try roles.dataCenter.submit(maskedFrame: cut) }
    }

    @Test func aReplayedFrameIsRejected() async throws {
        let roles = Roles(seed: 6)
        let (image, frame) = try await preparedFrame(roles)
        let receipt = try await roles.edge.send(frame)
        #expect(try roles.dataCenter.storedFrame(receipt.frameID)?.recovered == image)
        #expect(throws: MSAIError.replay("tau \(frame.manifest.tauID) was already used by another frame")) {
            try roles.dataCenter.submit(maskedFrame: frame.encoded)
        }
    }

    @Test func wrongSizedMembraneFromTheCloudIsRefusedByTheEdge() async throws {
        final class LyingCloud: MembraneService, Sendable {
            func requestMembrane(_ request: MembraneRequest) throws -> MembraneGrant {
                let shape = try MembraneShape(rows: request.shape.rows, cols: request.shape.cols + 1, channels: request.shape.channels)
                return try MembraneGrant(id: MembraneID(rawValue: "x"), shape: shape, mode: .gf251,
                                         values: [UInt8](repeating: 1, count: shape.sampleCount))
            }
        }
        let roles = Roles(seed: 7)
        let edge = EdgeCamera(membranes: LyingCloud(), scrambling: roles.dataCenter, egress: roles.dataCenter)
        let image = try PixelBuffer(width: 16, height: 16, channels: 1)
        await #expect(throws: MSAIError.shapeMismatch("asked the cloud for a 4x4x1 gf251 membrane and got 4x5x1 gf251")) {
            try await edge.prepare(image, areas: [Rect(x: 0, y: 0, width: 4, height: 4)])
        }
        #expect(throws: MSAIError.self) {
            try MembraneGrant(id: MembraneID(rawValue: "y"), shape: MembraneShape(rows: 2, cols: 2, channels: 1), mode: .gf251, values: [1, 2, 3])
        }
    }

    /// λ = 0 would leave a sample as it is, and 251...255 index past the table: a cloud that sends
    /// such a membrane (buggy or hostile) is refused, and nothing is masked or sent.
    @Test(arguments: [UInt8(0), 251, 255])
    func membraneWithMultipliersOutsideTheFieldIsRefused(value: UInt8) throws {
        let shape = try MembraneShape(rows: 2, cols: 2, channels: 1)
        #expect(throws: MSAIError.self) {
            try MembraneGrant(id: MembraneID(rawValue: "z"), shape: shape, mode: .gf251, values: [1, 2, value, 4])
        }
        var image = try PixelBuffer(width: 4, height: 4, channels: 1, filling: 7)
        let before = image
        #expect(throws: MSAIError.self) {
            try AreaMasker.apply([1, value, 3, 4], to: &image, area: Rect(x: 0, y: 0, width: 2, height: 2))
        }
        #expect(image == before)
    }

    @Test func vheMembraneOfOnesIsRefused() async throws {
        let shape = try MembraneShape(rows: 1, cols: 2, channels: 1)
        var one = [UInt8](repeating: 0, count: 32)
        one[0] = 1
        one[16] = 1
        let grant = try MembraneGrant(id: MembraneID(rawValue: "v"), shape: shape, mode: .vhe, values: one)
        var image = try PixelBuffer(width: 2, height: 1, channels: 1, samples: [10, 20])
        #expect(throws: MSAIError.self) { try IntegerVHE.mask(&image, area: image.bounds, membrane: grant) }
    }

    /// A manifest with sizes near Int.max must give an error, not an arithmetic-overflow trap,
    /// even though it fails before the integrity tag is checked.
    @Test func hostileManifestSizesAreErrorsNotCrashes() async throws {
        let roles = Roles(seed: 12)
        let (_, frame) = try await preparedFrame(roles)
        for edit: (inout FrameManifest) -> Void in [
            { $0.areas[0].x = 1; $0.areas[0].w = Int.max },
            { $0.areas[0].y = Int.max; $0.areas[0].h = Int.max },
            { $0.areas[0].x = -5 },
            { $0.blockSize = Int.max },
            { $0.areas[0].ciphertextOffset = Int.max; $0.areas[0].ciphertextLength = Int.max; $0.areas[0].mode = .vhe },
        ] {
            #expect(throws: MSAIError.self) { try roles.dataCenter.submit(maskedFrame: try tampered(frame, edit)) }
        }
        #expect(throws: MSAIError.self) { try roles.dataCenter.issueTau(TauRequest(width: Int.max, height: Int.max, blockSize: 8)) }
        #expect(throws: MSAIError.self) { try roles.dataCenter.issueTau(TauRequest(width: 64, height: 64, blockSize: Int.max)) }
    }

    /// The data center cannot issue a tau: the edge stops before it touches a pixel or asks the
    /// cloud for anything, and sends nothing.
    @Test func edgeFailsClosedWhenTheDataCenterCannotIssueATau() async throws {
        final class NoTau: ScrambleService, Sendable {
            func issueTau(_ request: TauRequest) throws -> TauGrant { throw MSAIError.io("data center unreachable") }
        }
        let roles = Roles(seed: 13)
        let edge = EdgeCamera(membranes: roles.cloud, scrambling: NoTau(), egress: roles.dataCenter)
        let image = try PixelBuffer(width: 16, height: 16, channels: 3, filling: 9)
        await #expect(throws: MSAIError.io("data center unreachable")) { try await edge.prepare(image, areas: [Rect(x: 1, y: 1, width: 4, height: 4)]) }
        #expect(roles.cloud.membranesIssued == 0)
        #expect(try roles.dataCenter.store.frameIDs().isEmpty)
    }

    @Test func edgeFailsClosedWhenTheCloudIsUnreachable() async throws {
        final class DownCloud: MembraneService, Sendable {
            func requestMembrane(_ request: MembraneRequest) throws -> MembraneGrant { throw MSAIError.io("cloud unreachable") }
        }
        let roles = Roles(seed: 8)
        let edge = EdgeCamera(membranes: DownCloud(), scrambling: roles.dataCenter, egress: roles.dataCenter)
        let image = try PixelBuffer(width: 16, height: 16, channels: 3, filling: 9)
        await #expect(throws: MSAIError.io("cloud unreachable")) { try await edge.prepare(image, areas: [Rect(x: 1, y: 1, width: 4, height: 4)]) }
        #expect(try roles.dataCenter.store.frameIDs().isEmpty)
    }

    @Test func regionOutsideTheImageIsNamed() async throws {
        let roles = Roles(seed: 9)
        let image = try PixelBuffer(width: 16, height: 16, channels: 3)
        await #expect(throws: MSAIError.regionOutsideImage("region 10,10,8,8 (x,y,w,h) does not lie inside the 16x16 image")) {
            try await roles.edge.prepare(image, areas: [Rect(x: 10, y: 10, width: 8, height: 8)])
        }
    }
}
