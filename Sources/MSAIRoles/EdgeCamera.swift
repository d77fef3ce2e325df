import Foundation
import MSAIBigInt
import MSAICore
import MSAICrypto

/// The edge (the IoT camera): masks the sensitive areas of a frame with membranes from the
/// cloud, scrambles the whole frame with a tau from the data center, and sends it.
///
/// It fails closed: every membrane and the tau are obtained before any pixel is touched, and
/// any failure throws before a frame exists, so no unmasked or half-masked frame can leave.
/// `send` is the one path by which frames leave the edge, and what it sends is sealed: the
/// masked, scrambled frame and its manifest inside AES-256-GCM under the frame's sealing key.
public final class EdgeCamera: Sendable {
    /// A frame ready to leave the edge, with what evaluation wants to look at.
    public struct MaskedFrame: Sendable {
        /// What is sent: `encoded` sealed (`SealedFrame`). Only the τ id is readable without the key.
        public let sealed: [UInt8]
        /// The frame inside the seal: scrambled pixels plus metadata, as a PNG or a QOI container.
        /// Never sent as it is; evaluation writes it out for people to look at.
        public let encoded: [UInt8]
        public let format: MaskedFrameCodec.Format
        /// The masked, scrambled pixels (what `encoded` holds).
        public let scrambled: PixelBuffer
        /// The frame with its areas masked, before scrambling (for people to look at).
        public let maskedAreas: PixelBuffer
        public let manifest: FrameManifest
        /// Samples of the areas the membrane leaves as they were by construction (0 and 251...255
        /// in GF(251) mode; none in the hardened and VHE modes).
        public let leakedSamples: Int
        public let areaSamples: Int
        public let timings: StepTimings
    }

    private let membranes: MembraneService
    private let scrambling: ScrambleService
    private let egress: FrameSink
    public let mode: MaskingMode
    public let blockSize: Int
    /// How frames are encoded: PNG for single images, QOI for streams (gray frames are always PNG).
    public let frameFormat: MaskedFrameCodec.Format
    /// zlib level of a PNG that is sent.
    public let compressionLevel: Int

    public init(membranes: MembraneService, scrambling: ScrambleService, egress: FrameSink,
                mode: MaskingMode = .standard, blockSize: Int = 8, frameFormat: MaskedFrameCodec.Format = .png,
                compressionLevel: Int = 1) {
        self.membranes = membranes
        self.scrambling = scrambling
        self.egress = egress
        self.mode = mode
        self.blockSize = blockSize
        self.frameFormat = frameFormat
        self.compressionLevel = compressionLevel
    }

    /// Asks the data center for a τ only to mask with its pad: for evaluation, which masks a
    /// frame again on its own to measure what masking alone does. The τ is never used for a
    /// frame and expires.
    public func frameKeysForMaskingOnly(width: Int, height: Int) async throws -> FrameKeys {
        try FrameKeys(tauSeed: try await scrambling.issueTau(TauRequest(width: width, height: height, blockSize: blockSize)).seed)
    }

    /// Masks `areas` (in this order) with fresh membranes and, in the hardened mode, the pads
    /// of `keys`. Also used on its own by evaluation to measure what masking alone does.
    public func maskAreas(of frame: PixelBuffer, areas: [Rect], keys: FrameKeys, timings: inout StepTimings) async throws
        -> (masked: PixelBuffer, areas: [MaskedArea], ciphertexts: [UInt8], leaked: Int)
    {
        for area in areas { try frame.checkContains(area) }
        let grants = try await timedAsync("membrane", into: &timings) { () -> [MembraneGrant] in
            var grants: [MembraneGrant] = []
            for area in areas {
                let shape = try MembraneShape(covering: area, channels: frame.channels)
                let grant = try await membranes.requestMembrane(MembraneRequest(shape: shape, mode: mode))
                guard grant.shape == shape, grant.mode == mode else {
                    throw MSAIError.shapeMismatch(
                        "asked the cloud for a \(shape) \(mode.rawValue) membrane and got \(grant.shape) \(grant.mode.rawValue)")
                }
                grants.append(grant)
            }
            return grants
        }
        // Samples of the original left in place by construction, counted once under overlapping areas.
        let leaked = mode == .gf251 ? try AreaMasker.leakedSampleCount(in: frame, areas: areas) : 0
        let (masked, records, ciphertexts) = try timed("mask", into: &timings) { try Self.mask(frame, areas: areas, grants: grants, keys: keys) }
        return (masked, records, ciphertexts, leaked)
    }

    /// The masking step itself, membranes in hand: area i (in this order) with grant i and, in
    /// the hardened mode, pad i of `keys`. Returns the masked pixels, the manifest's areas and
    /// the VHE ciphertexts.
    public static func mask(_ frame: PixelBuffer, areas: [Rect], grants: [MembraneGrant], keys: FrameKeys) throws
        -> (masked: PixelBuffer, areas: [MaskedArea], ciphertexts: [UInt8])
    {
        var masked = frame
        var records: [MaskedArea] = []
        var ciphertexts: [UInt8] = []
        for (index, (area, grant)) in zip(areas, grants).enumerated() {
            switch grant.mode {
            case .gf251:
                try AreaMasker.apply(grant.values, to: &masked, area: area)
                records.append(MaskedArea(rect: area, membraneID: grant.id, mode: .gf251))
            case .hardened:
                try AreaMasker.applyPadded(
                    grant.values, pad: try keys.pad(area: index, count: grant.shape.sampleCount), to: &masked, area: area)
                records.append(MaskedArea(rect: area, membraneID: grant.id, mode: .hardened))
            case .vhe:
                let c = try IntegerVHE.mask(&masked, area: area, membrane: grant)
                records.append(MaskedArea(rect: area, membraneID: grant.id, mode: .vhe,
                                          ciphertextOffset: ciphertexts.count, ciphertextLength: c.count))
                ciphertexts += c
            }
        }
        return (masked, records, ciphertexts)
    }

    /// Masks and scrambles a frame into the form that may leave the edge. Sends nothing.
    public func prepare(_ frame: PixelBuffer, areas: [Rect]) async throws -> MaskedFrame {
        try await prepare(frame, areas: areas, composition: nil)
    }

    /// ROI-only transmission: a patch frame holding only `areas` of `frame`, packed into a
    /// mosaic, masked and scrambled like any frame, which the data center lays onto the full
    /// frame `background` (the id of a frame it already holds, of this frame's size).
    public func preparePatches(_ frame: PixelBuffer, areas: [Rect], background: String) async throws -> MaskedFrame {
        // `extract` refuses an area outside the frame, before any key is asked for.
        let mosaic = RegionMosaic(packing: areas, frameWidth: frame.width)
        return try await prepare(
            try mosaic.extract(from: frame), areas: mosaic.pieces.map(\.mosaicRect),
            composition: FrameComposition(base: background, width: frame.width, height: frame.height, pieces: mosaic.pieces))
    }

    private func prepare(_ frame: PixelBuffer, areas: [Rect], composition: FrameComposition?) async throws -> MaskedFrame {
        var timings = StepTimings()
        let layout = try BlockLayout(width: frame.width, height: frame.height, blockSize: blockSize)
        for area in areas { try frame.checkContains(area) }
        // The tau first, then the membranes (inside maskAreas), then the pixels: any failure to get a
        // key stops the frame before a single sample is touched.
        let tau = try await timedAsync("tau", into: &timings) {
            try await scrambling.issueTau(TauRequest(width: frame.width, height: frame.height, blockSize: blockSize))
        }
        guard tau.layout == layout else {
            throw MSAIError.shapeMismatch(
                "asked for a tau for \(frame.width)x\(frame.height) blocks of \(blockSize) and got one for \(tau.layout.width)x\(tau.layout.height) blocks of \(tau.layout.blockSize)")
        }
        let keys = try FrameKeys(tauSeed: tau.seed)
        let (masked, records, ciphertexts, leaked) = try await maskAreas(of: frame, areas: areas, keys: keys, timings: &timings)
        let scrambled = try timed("scramble", into: &timings) {
            try BlockScrambler.scramble(masked, layout: layout, key: try keys.scrambleKey(for: layout))
        }
        let manifest = FrameManifest(
            width: frame.width, height: frame.height, channels: frame.channels, blockSize: blockSize, tauID: tau.id,
            areas: records, composition: composition)
        let format = frameFormat.effective(channels: frame.channels)
        let encoded = try timed("encode", into: &timings) {
            try MaskedFrameCodec.encode(
                pixels: scrambled, manifest: manifest, ciphertexts: ciphertexts, format: format, compressionLevel: compressionLevel)
        }
        let sealed = try timed("seal", into: &timings) { try SealedFrame.seal(encoded, tauID: tau.id, key: keys.sealing) }
        let areaSamples = MaskCoverage.pixelsCovered(of: frame.bounds, by: areas) * frame.channels
        return MaskedFrame(
            sealed: sealed, encoded: encoded, format: format, scrambled: scrambled, maskedAreas: masked, manifest: manifest, leakedSamples: leaked,
            areaSamples: areaSamples, timings: timings)
    }

    /// The edge's only egress: sends a prepared (masked, scrambled and sealed) frame to the data center.
    public func send(_ frame: MaskedFrame) async throws -> FrameReceipt {
        let manifest = frame.manifest
        return try await egress.submit(
            maskedFrame: frame.sealed,
            expected: FrameReceipt(frameID: manifest.tauID, width: manifest.recoveredWidth, height: manifest.recoveredHeight,
                                   areaCount: manifest.areas.count))
    }
}
