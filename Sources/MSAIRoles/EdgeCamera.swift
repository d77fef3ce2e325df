import Foundation
import MSAIBigInt
import MSAICore
import MSAICrypto

/// The edge (the IoT camera): masks the sensitive areas of a frame with membranes from the
/// cloud, scrambles the whole frame with a tau from the data center, and sends it.
///
/// It fails closed: every membrane and the tau are obtained before any pixel is touched, and
/// any failure throws before a frame exists, so no unmasked or half-masked frame can leave.
/// `send` is the one path by which frames leave the edge.
public final class EdgeCamera: Sendable {
    /// A frame ready to leave the edge, with what evaluation wants to look at.
    public struct MaskedFrame: Sendable {
        /// What is sent: scrambled pixels plus metadata, as a PNG or a QOI container.
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
                mode: MaskingMode = .gf251, blockSize: Int = 8, frameFormat: MaskedFrameCodec.Format = .png,
                compressionLevel: Int = 1) {
        self.membranes = membranes
        self.scrambling = scrambling
        self.egress = egress
        self.mode = mode
        self.blockSize = blockSize
        self.frameFormat = frameFormat
        self.compressionLevel = compressionLevel
    }

    /// Masks `areas` (in this order) with fresh membranes. Also used on its own by evaluation
    /// to measure what masking alone does.
    public func maskAreas(of frame: PixelBuffer, areas: [Rect], timings: inout StepTimings) async throws
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
        var masked = frame
        var records: [MaskedArea] = []
        var ciphertexts: [UInt8] = []
        // Samples of the original left in place by construction, counted once under overlapping areas.
        let leaked = mode == .gf251 ? try AreaMasker.leakedSampleCount(in: frame, areas: areas) : 0
        try timed("mask", into: &timings) {
            for (area, grant) in zip(areas, grants) {
                switch grant.mode {
                case .gf251:
                    try AreaMasker.apply(grant.values, to: &masked, area: area)
                    records.append(MaskedArea(rect: area, membraneID: grant.id, mode: .gf251))
                case .hardened:
                    let n = grant.shape.sampleCount
                    try AreaMasker.applyPadded(
                        Array(grant.values[..<n]), pad: Array(grant.values[n...]), to: &masked, area: area)
                    records.append(MaskedArea(rect: area, membraneID: grant.id, mode: .hardened))
                case .vhe:
                    let c = try IntegerVHE.mask(&masked, area: area, membrane: grant)
                    records.append(MaskedArea(rect: area, membraneID: grant.id, mode: .vhe,
                                              ciphertextOffset: ciphertexts.count, ciphertextLength: c.count))
                    ciphertexts += c
                }
            }
        }
        return (masked, records, ciphertexts, leaked)
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
        let (masked, records, ciphertexts, leaked) = try await maskAreas(of: frame, areas: areas, timings: &timings)
        let scrambled = try timed("scramble", into: &timings) {
            try BlockScrambler.scramble(
                masked, layout: layout, key: try ScrambleKey.derive(seed: tau.seed, layout: layout, using: ChaCha20Keystream.self))
        }
        var manifest = FrameManifest(
            width: frame.width, height: frame.height, channels: frame.channels, blockSize: blockSize, tauID: tau.id,
            areas: records, composition: composition)
        let format = frameFormat.effective(channels: frame.channels)
        let encoded = try timed("encode", into: &timings) { () -> [UInt8] in
            manifest.tag = FrameTag.compute(
                seed: tau.seed, parts: [manifest.bytesToTag(), Data(scrambled.samples), Data(ciphertexts)])
            return try MaskedFrameCodec.encode(
                pixels: scrambled, manifest: manifest, ciphertexts: ciphertexts, format: format, compressionLevel: compressionLevel)
        }
        let areaSamples = try frame.sampleSet(coveredBy: areas).count
        return MaskedFrame(
            encoded: encoded, format: format, scrambled: scrambled, maskedAreas: masked, manifest: manifest, leakedSamples: leaked,
            areaSamples: areaSamples, timings: timings)
    }

    /// The edge's only egress: sends a prepared (masked and scrambled) frame to the data center.
    public func send(_ frame: MaskedFrame) async throws -> FrameReceipt {
        try await egress.submit(maskedFrame: frame.encoded)
    }
}
