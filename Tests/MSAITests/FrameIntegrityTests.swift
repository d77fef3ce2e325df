import Foundation
import MSAIBigInt
import MSAICore
import MSAICoreTesting
import MSAICrypto
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

    /// Re-encodes a masked frame with its manifest changed by `edit` and seals it again under its
    /// own τ, as only the edge that holds the τ could: what the data center still checks inside a seal.
    func tampered(_ roles: Roles, _ frame: EdgeCamera.MaskedFrame, _ edit: (inout FrameManifest) -> Void) throws -> [UInt8] {
        var manifest = frame.manifest
        edit(&manifest)
        return try roles.reseal(try MaskedFrameCodec.encode(pixels: frame.scrambled, manifest: manifest, ciphertexts: []), like: frame)
    }

    /// Without the frame's key nobody can change a byte of what the edge sent: every flipped byte
    /// is refused (the header's by name, the rest by the seal), and none uses anything up.
    @Test func everyFlippedByteOfASealedFrameIsRefused() async throws {
        let roles = Roles(seed: 1)
        let (_, frame) = try await preparedFrame(roles)
        let header = try SealedFrame.header(frame.sealed)
        var random = SplitMix64(seed: 11)
        let positions = Array(0..<header.length) + (0..<200).map { _ in Int.random(in: header.length..<frame.sealed.count, using: &random) }
        for position in positions {
            var bytes = frame.sealed
            bytes[position] ^= UInt8.random(in: 1...255, using: &random)
            #expect(throws: MSAIError.self, "byte \(position) flipped") { try roles.dataCenter.submit(maskedFrame: bytes) }
        }
        var body = frame.sealed
        body[header.length + 10] ^= 1
        #expect(throws: MSAIError.integrityFailure(
            "masked frame: its seal does not open (AES-GCM authentication failed): the frame was altered, or sealed under another τ")) {
            try roles.dataCenter.submit(maskedFrame: body)
        }
        // The untouched frame is still accepted afterwards: failures consume nothing.
        #expect(try roles.dataCenter.submit(maskedFrame: frame.sealed).areaCount == 1)
    }

    /// A frame sealed under another frame's τ does not open under this one's: a seal binds a frame to its τ.
    @Test func aFrameSealedForAnotherTauIsRefused() async throws {
        let roles = Roles(seed: 10)
        let (_, first) = try await preparedFrame(roles)
        let (_, second) = try await preparedFrame(roles)
        // The second frame's body behind the first frame's header: the header is the associated data.
        let headerLength = try SealedFrame.header(first.sealed).length
        let spliced = Array(first.sealed[..<headerLength]) + Array(second.sealed[headerLength...])
        #expect(throws: MSAIError.self) { try roles.dataCenter.submit(maskedFrame: spliced) }
        #expect(try roles.dataCenter.submit(maskedFrame: first.sealed).areaCount == 1)
        #expect(try roles.dataCenter.submit(maskedFrame: second.sealed).areaCount == 1)
    }

    /// What an enrolled edge seals under its own τ is still checked: the format version, the τ the
    /// manifest names, and that it is format 2.
    @Test func badMetadataInsideAValidSealIsRefusedByName() async throws {
        let roles = Roles(seed: 1)
        let (_, frame) = try await preparedFrame(roles)
        #expect(throws: MSAIError.invalidMetadata("masked frame metadata is version 99; this msai reads versions 1 to 2")) {
            try roles.dataCenter.submit(maskedFrame: try tampered(roles, frame) { $0.version = 99 })
        }
        #expect(throws: MSAIError.self) { try roles.dataCenter.submit(maskedFrame: try tampered(roles, frame) { $0.tauID = "0000" }) }
        #expect(throws: MSAIError.invalidMetadata("masked frame is format 1; edges must send format 2")) {
            try roles.dataCenter.submit(maskedFrame: try tampered(roles, frame) { $0.version = 1; $0.tag = "00" })
        }
        #expect(try roles.dataCenter.submit(maskedFrame: frame.sealed).areaCount == 1)
    }

    @Test func unsealedAndMetadataFreeFramesAreNamed() async throws {
        let roles = Roles(seed: 3)
        let (image, frame) = try await preparedFrame(roles)
        let plain = try PNGCodec.encode(image)
        #expect(throws: MSAIError.invalidImage(
            "masked frame: not a sealed msai frame (it does not start with 'msaiSEAL'); this data center accepts only sealed frames, which msai 2 edges send")) {
            try roles.dataCenter.submit(maskedFrame: frame.encoded)
        }
        #expect(throws: MSAIError.invalidMetadata(
            "masked frame: no msai metadata (iTXt chunk 'msai'): not a masked frame, or its metadata was stripped")) {
            try roles.dataCenter.submit(maskedFrame: try roles.reseal(plain, like: frame))
        }
    }

    @Test func truncatedFrameIsRejected() async throws {
        let roles = Roles(seed: 5)
        let (_, frame) = try await preparedFrame(roles)
        for length in [0, 8, 20, frame.sealed.count / 2, frame.sealed.count - 1] {
            #expect(throws: MSAIError.self) { try roles.dataCenter.submit(maskedFrame: Array(frame.sealed.prefix(length))) }
        }
    }

    @Test func aReplayedFrameIsRejected() async throws {
        let roles = Roles(seed: 6)
        let (image, frame) = try await preparedFrame(roles)
        let receipt = try await roles.edge.send(frame)
        #expect(try roles.dataCenter.original(receipt.frameID) == image)
        #expect(throws: MSAIError.alreadyUsed(.tau(frame.manifest.tauID))) {
            try roles.dataCenter.submit(maskedFrame: frame.sealed)
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
        let edge = EdgeCamera(membranes: LyingCloud(), scrambling: roles.dataCenter, egress: roles.dataCenter, mode: .gf251)
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

    /// A manifest with sizes near Int.max, sealed by an edge under its own τ, must give an error,
    /// not an arithmetic-overflow trap.
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
            #expect(throws: MSAIError.self) { try roles.dataCenter.submit(maskedFrame: try tampered(roles, frame, edit)) }
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
