import Foundation
import MSAIBigInt
import MSAICore
import MSAICrypto

/// The data center: issues a single-use tau per frame, holds the membrane keys the cloud
/// deposits, and is the one party that can recover a frame. Recovery is exact: a frame
/// whose recovery or integrity check fails is rejected and not stored.
public final class DataCenter: MembraneKeyEscrow, ScrambleService, FrameSink, @unchecked Sendable {
    /// The result of recovering one masked frame.
    public struct Recovery {
        public let pixels: PixelBuffer
        public let manifest: FrameManifest
        public let timings: StepTimings
    }

    public let store: DataCenterStore
    // Guards the random generator; the store guards itself.
    private let lock = NSLock()
    private var random: AnyRandomNumberGenerator
    /// Largest tau the data center will issue, in pixels: the largest image msai decodes.
    public var maximumFramePixels = 100_000_000
    /// How long an issued tau may wait for its frame. Older unused taus are refused and purged,
    /// so a flood of tau requests cannot grow the store without bound.
    public var tauLifetime: Duration = .seconds(600)

    public init(store: DataCenterStore = InMemoryDataCenterStore(),
                random: some RandomNumberGenerator = SystemRandomNumberGenerator()) {
        self.store = store
        self.random = AnyRandomNumberGenerator(random)
    }

    // MARK: from the cloud

    public func depositKey(_ record: MembraneKeyRecord) throws {
        try store.insertKey(record)
    }

    // MARK: from the edge

    public func issueTau(_ request: TauRequest) throws -> TauGrant {
        let layout = try BlockLayout(width: request.width, height: request.height, blockSize: request.blockSize)
        guard request.width.multipliedReportingOverflow(by: request.height).partialValue <= maximumFramePixels else {
            throw MSAIError.invalidArgument("frame \(request.width)x\(request.height) is larger than this data center accepts")
        }
        let (id, seed) = lock.withLock { (Hex.encode(randomBytes(16, using: &random)), randomBytes(32, using: &random)) }
        let grant = try TauGrant(id: id, seed: seed, layout: layout)
        try store.purgeUnusedTaus(issuedBefore: Date().addingTimeInterval(-milliseconds(tauLifetime) / 1000))
        try store.insertTau(grant)
        return grant
    }

    /// Verifies, recovers and stores a masked frame; its tau and membranes are then used up.
    public func submit(maskedFrame: [UInt8]) throws -> FrameReceipt {
        try submit(maskedFrame: maskedFrame, actor: "edge")
    }

    /// The same, recording who sent it in the audit log.
    public func submit(maskedFrame: [UInt8], actor: String) throws -> FrameReceipt {
        let (recovery, membranes) = try recoverChecked(maskedFrame)
        let id = recovery.manifest.tauID
        try store.commit(
            StoredFrame(id: id, maskedFrame: maskedFrame, recovered: recovery.pixels, manifest: recovery.manifest,
                        receivedAt: Date(), timings: recovery.timings),
            tau: id, membranes: membranes, actor: actor)
        return FrameReceipt(frameID: id, width: recovery.pixels.width, height: recovery.pixels.height,
                            areaCount: recovery.manifest.areas.count)
    }

    /// A stored frame, or nil.
    public func storedFrame(_ id: String) throws -> StoredFrame? { try store.frame(id) }

    /// Retention (seed 003 keeps what matters, not forever): deletes the frames older than
    /// `age`; returns how many. The audit log keeps a line saying so.
    @discardableResult
    public func applyRetention(keeping age: Duration, now: Date = Date()) throws -> Int {
        try store.deleteFrames(receivedBefore: now.addingTimeInterval(-milliseconds(age) / 1000))
    }

    // MARK: recovery

    /// Verifies and recovers a masked frame without storing it or using anything up.
    public func recover(_ maskedFrame: [UInt8]) throws -> Recovery { try recoverChecked(maskedFrame).recovery }

    private func recoverChecked(_ maskedFrame: [UInt8]) throws -> (recovery: Recovery, membranes: [MembraneID]) {
        // Before decoding any pixels (a small PNG or QOI can claim gigabytes), the frame's header must name
        // a tau this data center issued, unused, for exactly this size.
        // (Tau ids are 128 random bits, so saying which check failed tells a caller nothing useful.)
        let header = try MaskedFrameCodec.peek(maskedFrame)
        guard let (issued, used, issuedAt) = try store.tau(header.tauID) else {
            throw MSAIError.unknownKey("masked frame names tau \(header.tauID), which this data center did not issue")
        }
        guard !used else { throw MSAIError.replay("tau \(header.tauID) was already used by another frame") }
        guard Date().timeIntervalSince(issuedAt) <= milliseconds(tauLifetime) / 1000 else {
            throw MSAIError.unknownKey("tau \(header.tauID) expired: it was issued more than \(Int(milliseconds(tauLifetime) / 1000)) s ago; ask for a new one")
        }
        guard issued.layout.width == header.width, issued.layout.height == header.height else {
            throw MSAIError.shapeMismatch(
                "tau \(issued.id) was issued for a \(issued.layout.width)x\(issued.layout.height) frame, but the frame is \(header.width)x\(header.height)")
        }
        var timings = StepTimings()
        let contents = try timed("decode", into: &timings) { try MaskedFrameCodec.decode(maskedFrame) }
        let manifest = try FrameManifest.decode(
            contents.manifestJSON, imageWidth: contents.pixels.width, imageHeight: contents.pixels.height,
            imageChannels: contents.pixels.channels)
        guard let (tau, tauUsed, _) = try store.tau(manifest.tauID) else {
            throw MSAIError.unknownKey("masked frame names tau \(manifest.tauID), which this data center did not issue")
        }
        guard !tauUsed else {
            throw MSAIError.replay("tau \(manifest.tauID) was already used by another frame")
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
            guard let (key, used) = try store.key(area.membraneID) else {
                throw MSAIError.unknownKey("area \(area.rect) names membrane \(area.membraneID), whose key this data center does not hold")
            }
            guard !used, !keys.contains(where: { $0.id == area.membraneID }) else {
                throw MSAIError.replay("membrane \(area.membraneID) was already used")
            }
            guard key.mode == area.mode else {
                throw MSAIError.invalidMetadata("area \(area.rect) says mode \(area.mode.rawValue) but its membrane is \(key.mode.rawValue)")
            }
            try key.shape.check(covers: area.rect, channels: manifest.channels)
            keys.append(key)
        }

        // A patch frame's background is found and checked before any pixel work, so a patch that
        // will be refused costs little.
        let background = try manifest.composition.map { try self.background($0, channels: manifest.channels) }
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
        if let composition = manifest.composition, let background {
            pixels = try timed("compose", into: &timings) {
                try RegionMosaic.compose(pixels, pieces: composition.pieces, onto: background)
            }
        }
        return (Recovery(pixels: pixels, manifest: manifest, timings: timings), keys.map(\.id))
    }

    /// The recovered pixels of a patch frame's background: a full frame stored here, of the size
    /// and channels the patch is for.
    private func background(_ composition: FrameComposition, channels: Int) throws -> PixelBuffer {
        guard let background = try store.frame(composition.base) else {
            throw MSAIError.unknownKey(
                "patch frame's background \(composition.base) is not held by this data center (never received, or deleted by retention); send a full frame")
        }
        guard background.manifest.composition == nil else {
            throw MSAIError.invalidMetadata("patch frame's background \(composition.base) is itself a patch frame; it must be a full frame")
        }
        guard background.recovered.width == composition.width, background.recovered.height == composition.height,
            background.recovered.channels == channels
        else {
            throw MSAIError.shapeMismatch(
                "patch frame is for a \(composition.width)x\(composition.height)x\(channels) frame, but its background \(composition.base) is \(background.recovered.sizeDescription)")
        }
        return background.recovered
    }
}

