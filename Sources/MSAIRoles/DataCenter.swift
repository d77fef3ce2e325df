import Foundation
import MSAIBigInt
import MSAICore
import MSAICrypto

/// The data center: issues a single-use tau per frame, holds the membrane keys the cloud
/// deposits, and is the one party that can recover a frame. Recovery is exact: a frame
/// whose recovery or integrity check fails is rejected and not stored.
public final class DataCenter: MembraneKeyEscrow, ScrambleService, FrameSink {
    /// A frame the data center accepted: the masked frame as received and its recovery.
    public struct StoredFrame {
        public let id: String
        public let maskedFrame: [UInt8]
        public let recovered: PixelBuffer
        public let manifest: FrameManifest
        /// What recovering it cost, step by step.
        public let timings: StepTimings
    }

    /// The result of recovering one masked frame.
    public struct Recovery {
        public let pixels: PixelBuffer
        public let manifest: FrameManifest
        public let timings: StepTimings
    }

    private var membraneKeys: [MembraneID: MembraneKeyRecord] = [:]
    private var taus: [String: TauGrant] = [:]
    private var usedMembranes: Set<MembraneID> = []
    private var usedTaus: Set<String> = []
    private var random: AnyRandomNumberGenerator
    public private(set) var frames: [String: StoredFrame] = [:]
    /// Largest tau the data center will issue, in pixels (guards against absurd requests).
    public var maximumFramePixels = 1 << 28

    public init(random: some RandomNumberGenerator = SystemRandomNumberGenerator()) {
        self.random = AnyRandomNumberGenerator(random)
    }

    // MARK: from the cloud

    public func depositKey(_ record: MembraneKeyRecord) throws {
        guard membraneKeys[record.id] == nil, !usedMembranes.contains(record.id) else {
            throw MSAIError.replay("membrane key \(record.id) was already deposited")
        }
        membraneKeys[record.id] = record
    }

    // MARK: from the edge

    public func issueTau(_ request: TauRequest) throws -> TauGrant {
        let layout = try BlockLayout(width: request.width, height: request.height, blockSize: request.blockSize)
        guard request.width.multipliedReportingOverflow(by: request.height).partialValue <= maximumFramePixels else {
            throw MSAIError.invalidArgument("frame \(request.width)x\(request.height) is larger than this data center accepts")
        }
        let grant = try TauGrant(
            id: Hex.encode(randomBytes(16, using: &random)), seed: randomBytes(32, using: &random), layout: layout)
        taus[grant.id] = grant
        return grant
    }

    public func submit(maskedFrame: [UInt8]) throws -> FrameReceipt {
        let recovery = try recover(maskedFrame, consume: true)
        let id = recovery.manifest.tauID
        frames[id] = StoredFrame(
            id: id, maskedFrame: maskedFrame, recovered: recovery.pixels, manifest: recovery.manifest,
            timings: recovery.timings)
        return FrameReceipt(
            frameID: id, width: recovery.pixels.width, height: recovery.pixels.height,
            areaCount: recovery.manifest.areas.count)
    }

    // MARK: recovery

    /// Verifies and recovers a masked frame. With `consume`, its tau and membranes are marked
    /// used on success, so a second frame naming them is rejected.
    public func recover(_ maskedFrame: [UInt8], consume: Bool = false) throws -> Recovery {
        var timings = StepTimings()
        let contents = try timed("decode", into: &timings) { try MaskedFrameCodec.decode(maskedFrame) }
        let manifest = try FrameManifest.decode(
            contents.manifestJSON, imageWidth: contents.pixels.width, imageHeight: contents.pixels.height,
            imageChannels: contents.pixels.channels)
        guard !usedTaus.contains(manifest.tauID) else {
            throw MSAIError.replay("tau \(manifest.tauID) was already used by another frame")
        }
        guard let tau = taus[manifest.tauID] else {
            throw MSAIError.unknownKey("masked frame names tau \(manifest.tauID), which this data center did not issue")
        }
        guard tau.layout.width == manifest.width, tau.layout.height == manifest.height,
            tau.layout.blockSize == manifest.blockSize
        else {
            throw MSAIError.shapeMismatch(
                "tau \(tau.id) was issued for \(tau.layout.width)x\(tau.layout.height) blocks of \(tau.layout.blockSize), but the frame is \(manifest.width)x\(manifest.height) with blocks of \(manifest.blockSize)"
            )
        }
        let verified = timed("verify", into: &timings) {
            FrameTag.verify(
                manifest.tag ?? "", seed: tau.seed,
                parts: [manifest.bytesToTag(), Data(contents.pixels.samples), Data(contents.ciphertexts)])
        }
        guard verified else {
            throw MSAIError.integrityFailure("masked frame fails its integrity check: metadata or pixels were altered")
        }
        var keys: [MembraneKeyRecord] = []
        for area in manifest.areas {
            guard let key = membraneKeys[area.membraneID] else {
                throw MSAIError.unknownKey("area \(area.rect) names membrane \(area.membraneID), whose key this data center does not hold")
            }
            guard !usedMembranes.contains(area.membraneID), !keys.contains(where: { $0.id == area.membraneID }) else {
                throw MSAIError.replay("membrane \(area.membraneID) was already used")
            }
            guard key.mode == area.mode else {
                throw MSAIError.invalidMetadata("area \(area.rect) says mode \(area.mode.rawValue) but its membrane is \(key.mode.rawValue)")
            }
            try key.shape.check(covers: area.rect, channels: manifest.channels)
            keys.append(key)
        }

        let scrambleKey = try ScrambleKey.derive(seed: tau.seed, layout: tau.layout, using: ChaCha20Keystream.self)
        var pixels = try timed("unscramble", into: &timings) {
            try BlockScrambler.unscramble(contents.pixels, layout: tau.layout, key: scrambleKey)
        }
        try timed("unmask", into: &timings) {
            // Reverse order of masking, so overlapping areas come back exactly.
            for (area, key) in zip(manifest.areas, keys).reversed() {
                switch area.mode {
                case .gf251:
                    let inverse = try key.gf251Key().inverseMembrane(using: ChaCha20Keystream.self)
                    try AreaMasker.apply(inverse, to: &pixels, area: area.rect)
                case .hardened:
                    let key = try key.gf251Key()
                    try AreaMasker.removePadded(
                        try key.inverseMembrane(using: ChaCha20Keystream.self), pad: try key.pad(using: ChaCha20Keystream.self),
                        from: &pixels, area: area.rect)
                case .vhe:
                    guard let offset = area.ciphertextOffset, let length = area.ciphertextLength, offset >= 0,
                        length >= 0, offset <= contents.ciphertexts.count, length <= contents.ciphertexts.count - offset
                    else {
                        throw MSAIError.invalidMetadata("VHE area \(area.rect) points outside the frame's ciphertexts")
                    }
                    try IntegerVHE.unmask(
                        &pixels, area: area.rect, ciphertexts: Array(contents.ciphertexts[offset..<(offset + length)]),
                        key: key)
                }
            }
        }
        if consume {
            usedTaus.insert(manifest.tauID)
            taus[manifest.tauID] = nil
            for key in keys {
                usedMembranes.insert(key.id)
                membraneKeys[key.id] = nil
            }
        }
        return Recovery(pixels: pixels, manifest: manifest, timings: timings)
    }
}
