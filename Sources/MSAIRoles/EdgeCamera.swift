import Foundation
import MSAIBigInt
import MSAICore
import MSAICrypto
import MSAIImageIO

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
        /// The frame inside the seal: scrambled pixels plus metadata, as a PNG or a QOI container,
        /// or a masked JPEG in the JPEG container. Never sent as it is; evaluation writes it out
        /// for people to look at.
        public let encoded: [UInt8]
        public let format: MaskedFrameCodec.Format
        let views: Views
        public let manifest: FrameManifest
        /// Samples of the areas the membrane leaves as they were by construction (0 and 251...255
        /// in GF(251) mode; none in the hardened and VHE modes).
        public let leakedSamples: Int
        public let areaSamples: Int
        public let timings: StepTimings

        /// What the frame looks like: pixels as they were made, or for a JPEG frame the masked,
        /// scrambled JPEG and the masked coefficients before τ, decoded only when asked for.
        enum Views: Sendable {
            case pixels(scrambled: PixelBuffer, masked: PixelBuffer)
            case jpeg(scrambled: [UInt8], masked: CoefficientImage)
        }

        /// The masked, scrambled pixels (what `encoded` holds; a JPEG frame decoded).
        public var scrambled: PixelBuffer {
            get throws {
                switch views {
                case .pixels(let scrambled, _): return scrambled
                case .jpeg(let jpeg, _): return try JPEGCodec.decodeAsStored(jpeg, name: "masked JPEG")
                }
            }
        }

        /// The frame with its areas masked, before scrambling (for people to look at).
        public var maskedAreas: PixelBuffer {
            get throws {
                switch views {
                case .pixels(_, let masked): return masked
                case .jpeg: return try JPEGCodec.decodeAsStored(try maskedJPEG!, name: "masked JPEG")
                }
            }
        }

        /// A JPEG frame's masked, scrambled JPEG (any viewer opens it); nil for pixel frames.
        public var scrambledJPEG: [UInt8]? {
            if case .jpeg(let jpeg, _) = views { return jpeg }
            return nil
        }

        /// A JPEG frame's areas masked, before τ, as a JPEG; nil for pixel frames.
        public var maskedJPEG: [UInt8]? {
            get throws {
                guard case .jpeg(let jpeg, let masked) = views else { return nil }
                return try JPEGTranscoder.transcode(jpeg) { $0.image = masked }
            }
        }
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
    /// The `jpeg` mode: Huffman tables made for each masked JPEG (smaller; a second pass over its
    /// coefficients), or the standard tables (one pass, faster; `make bench BENCH=jpeg`).
    public let optimizeJPEGHuffman: Bool

    public init(membranes: MembraneService, scrambling: ScrambleService, egress: FrameSink,
                mode: MaskingMode = .standard, blockSize: Int = 8, frameFormat: MaskedFrameCodec.Format = .png,
                compressionLevel: Int = 1, optimizeJPEGHuffman: Bool = true) {
        self.optimizeJPEGHuffman = optimizeJPEGHuffman
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
        let shapes = try areas.map { try MembraneShape(covering: $0, channels: frame.channels) }
        let grants = try await timedAsync("membrane", into: &timings) { try await requestMembranes(shapes, mode: mode) }
        // Samples of the original left in place by construction, counted once under overlapping areas.
        let leaked = mode == .gf251 ? try AreaMasker.leakedSampleCount(in: frame, areas: areas) : 0
        let (masked, records, ciphertexts) = try timed("mask", into: &timings) { try Self.mask(frame, areas: areas, grants: grants, keys: keys) }
        return (masked, records, ciphertexts, leaked)
    }

    /// A fresh membrane from the cloud for each of `shapes`, in order, each checked to be what was asked.
    private func requestMembranes(_ shapes: [MembraneShape], mode: MaskingMode) async throws -> [MembraneGrant] {
        var grants: [MembraneGrant] = []
        for shape in shapes {
            let grant = try await membranes.requestMembrane(MembraneRequest(shape: shape, mode: mode))
            guard grant.shape == shape, grant.mode == mode else {
                throw MSAIError.shapeMismatch(
                    "asked the cloud for a \(shape) \(mode.rawValue) membrane and got \(grant.shape) \(grant.mode.rawValue)")
            }
            grants.append(grant)
        }
        return grants
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
            case .jpeg:
                throw MSAIError.invalidArgument("the jpeg mode masks a JPEG's coefficients (prepareJPEG), not pixels")
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
            sealed: sealed, encoded: encoded, format: format, views: .pixels(scrambled: scrambled, masked: masked), manifest: manifest,
            leakedSamples: leaked, areaSamples: areaSamples, timings: timings)
    }

    /// Masks and scrambles a camera's JPEG in the DCT domain (the `jpeg` mode), without decoding
    /// it: each area's blocks, in every component (`CoefficientLayout.blocks(covering:)`; very
    /// large areas cut into bands by `maskedAreas`), masked coefficient by coefficient with the cloud's
    /// membrane (one value a coefficient) and its pad from the τ seed, the whole MCUs moved by τ,
    /// written as a baseline JPEG (the camera's quantisation tables; its other markers, EXIF
    /// included, are not carried) in the JPEG container, sealed. Sends nothing. Like `prepare`
    /// it fails closed: every key is obtained before a coefficient is touched.
    public func prepareJPEG(_ jpeg: [UInt8], areas: [Rect]) async throws -> MaskedFrame {
        guard mode == .jpeg else {
            throw MSAIError.invalidArgument("a JPEG is masked in the DCT domain by an edge in the jpeg mode; this one masks in \(mode.rawValue)")
        }
        var timings = StepTimings()
        let header = try JPEGTranscoder.header(of: jpeg)
        let (layout, isGrayscale) = (header.layout, header.isGrayscale)
        let bounds = Rect(x: 0, y: 0, width: layout.width, height: layout.height)
        for area in areas where !area.fits(width: layout.width, height: layout.height) {
            throw MSAIError.regionOutsideImage("region \(area) (x,y,w,h) does not lie inside the \(layout.width)x\(layout.height) JPEG")
        }
        let maskedAreas = layout.maskedAreas(for: areas)
        let tau = try await timedAsync("tau", into: &timings) {
            try await scrambling.issueTau(TauRequest(width: layout.width, height: layout.height, blockSize: blockSize))
        }
        guard tau.layout == (try BlockLayout(width: layout.width, height: layout.height, blockSize: blockSize)) else {
            throw MSAIError.shapeMismatch(
                "asked for a tau for a \(layout.width)x\(layout.height) JPEG and got one for \(tau.layout.width)x\(tau.layout.height)")
        }
        let keys = try FrameKeys(tauSeed: tau.seed)
        let shapes = try maskedAreas.map { try layout.membraneShape(for: $0) }
        let grants = try await timedAsync("membrane", into: &timings) { try await requestMembranes(shapes, mode: .jpeg) }
        let tauOverMCUs = try keys.scrambleKey(for: try layout.tauLayout).tau
        var range = CoefficientMask.Range.quantiser
        var masked: CoefficientImage?
        // libjpeg reads and writes around the masking: "encode" is that, "mask" and "scramble" what is between.
        var maskTime = Duration.zero, scrambleTime = Duration.zero
        let transcodeStart = ContinuousClock.now
        let scrambledJPEG = try JPEGTranscoder.transcode(jpeg, optimizeHuffman: optimizeJPEGHuffman) { coefficients in
            guard coefficients.image.layout == layout else {
                throw MSAIError.shapeMismatch("the JPEG's coefficients do not have the layout its header gave")
            }
            let start = ContinuousClock.now
            let blocks = maskedAreas.map { layout.blocks(covering: $0) }
            // Each position's bound under its quantiser holds for any JPEG of 8-bit samples an
            // encoder rounds honestly; a frame with a coefficient outside it anywhere (the data
            // center checks them all) is masked over the whole baseline range instead, and its
            // manifest says so. One outside even that cannot be masked: the frame is not sent.
            if !CoefficientMasking.fitsRanges(coefficients.image, bounded: true) { range = .baseline }
            for (index, (area, grant)) in zip(blocks, grants).enumerated() {
                var pad = try keys.coefficientPad(area: index)
                try CoefficientMasking.apply(to: &coefficients.image, blocks: area, pad: &pad, membrane: grant.values, bounded: range == .quantiser)
            }
            masked = coefficients.image
            let moved = ContinuousClock.now
            maskTime = moved - start
            if tauOverMCUs.count > 0 { coefficients.image = try coefficients.image.permutingMCUs(tauOverMCUs) }
            scrambleTime = ContinuousClock.now - moved
        }
        timings.record("mask", milliseconds(maskTime))
        timings.record("scramble", milliseconds(scrambleTime))
        timings.record("encode", milliseconds(ContinuousClock.now - transcodeStart - maskTime - scrambleTime))
        var manifest = FrameManifest(
            width: layout.width, height: layout.height, channels: isGrayscale ? 1 : 3, blockSize: blockSize, tauID: tau.id,
            areas: zip(maskedAreas, grants).map { MaskedArea(rect: $0, membraneID: $1.id, mode: .jpeg) })
        manifest.coefficientRange = range
        let encoded = try MaskedFrameCodec.encode(jpeg: scrambledJPEG, manifest: manifest)
        let sealed = try timed("seal", into: &timings) { try SealedFrame.seal(encoded, tauID: tau.id, key: keys.sealing) }
        let areaSamples = MaskCoverage.pixelsCovered(of: bounds, by: maskedAreas) * manifest.channels
        return MaskedFrame(
            sealed: sealed, encoded: encoded, format: .jpeg, views: .jpeg(scrambled: scrambledJPEG, masked: masked!), manifest: manifest,
            leakedSamples: 0, areaSamples: areaSamples, timings: timings)
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
