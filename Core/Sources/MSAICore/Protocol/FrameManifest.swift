import Foundation

/// The metadata a masked frame carries (in a PNG iTXt chunk with keyword "msai", or in the QOI
/// container), so the data center needs nothing but its keys to recover it: format version,
/// block size, tau reference, and the areas in masking order with their membrane ids and modes.
/// It travels and rests only inside the frame's seal (`SealedFrame`), whose AEAD also makes it
/// tamper-evident.
///
/// Version 1 (msai 1) carried an HMAC tag instead of a seal, took the scrambling PRF's key
/// straight from the τ seed and the hardened pad from the cloud's key. Such frames are read
/// only where a migrated database holds them.
///
/// A patch frame (ROI-only transmission) also carries a `composition`: its image is a mosaic
/// of the masked areas only, and the data center lays them onto a background frame it holds.
public struct FrameManifest: Codable, Equatable, Sendable {
    public static let formatName = "msai-masked-frame"
    public static let currentVersion = 2
    /// The versions this build reads.
    public static let readableVersions = 1...2
    /// The PNG text keyword the manifest is stored under.
    public static let pngKeyword = "msai"

    public var format: String
    public var version: Int
    public var width: Int
    public var height: Int
    public var channels: Int
    public var blockSize: Int
    public var tauID: String
    public var areas: [MaskedArea]
    /// For a patch frame: where its pieces go in which background frame. Absent otherwise.
    public var composition: FrameComposition?
    /// Version 1 only: lowercase hex HMAC-SHA-256 over the manifest without it and the pixels.
    public var tag: String?
    /// A JPEG frame (`jpeg` areas) only: the range each masked coefficient was shifted within.
    public var coefficientRange: CoefficientMask.Range?

    public init(
        width: Int, height: Int, channels: Int, blockSize: Int, tauID: String, areas: [MaskedArea],
        composition: FrameComposition? = nil, tag: String? = nil
    ) {
        self.format = Self.formatName
        self.version = Self.currentVersion
        self.width = width
        self.height = height
        self.channels = channels
        self.blockSize = blockSize
        self.tauID = tauID
        self.areas = areas
        self.composition = composition
        self.tag = tag
    }

    /// The size of the frame the data center recovers: the background's for a patch frame.
    public var recoveredWidth: Int { composition?.width ?? width }
    public var recoveredHeight: Int { composition?.height ?? height }

    enum CodingKeys: String, CodingKey {
        case format, version, width, height, channels, tag, areas, composition
        case blockSize = "block_size"
        case coefficientRange = "coefficient_range"
        case tauID = "tau_id"
    }

    /// Canonical JSON (sorted keys), the form that is stored and tagged.
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of numbers and strings cannot fail.
        return (try? encoder.encode(self)) ?? Data()
    }

    /// The bytes the integrity tag covers: the manifest without its tag.
    public func bytesToTag() -> Data {
        var copy = self
        copy.tag = nil
        return copy.encoded()
    }

    /// Parses and checks a stored manifest: known format and version, a size matching the
    /// image it came with, areas inside the frame, a sane block size.
    public static func decode(_ data: Data, imageWidth: Int, imageHeight: Int, imageChannels: Int) throws
        -> FrameManifest
    {
        try check(try parse(data), imageWidth: imageWidth, imageHeight: imageHeight, imageChannels: imageChannels)
    }

    /// The same for a manifest stored beside the image recovered from it (for a patch frame,
    /// the composed frame, which is the background's size).
    public static func decode(_ data: Data, recoveredWidth: Int, recoveredHeight: Int, channels: Int) throws -> FrameManifest {
        let manifest = try parse(data)
        guard manifest.recoveredWidth == recoveredWidth, manifest.recoveredHeight == recoveredHeight else {
            throw MSAIError.invalidMetadata(
                "stored frame metadata says \(manifest.recoveredWidth)x\(manifest.recoveredHeight) but the recovered image is \(recoveredWidth)x\(recoveredHeight)")
        }
        return try check(manifest, imageWidth: manifest.width, imageHeight: manifest.height, imageChannels: channels)
    }

    private static func parse(_ data: Data) throws -> FrameManifest {
        do {
            return try JSONDecoder().decode(FrameManifest.self, from: data)
        } catch {
            throw MSAIError.invalidMetadata("masked frame metadata is not valid msai JSON: \(describe(error))")
        }
    }

    private static func check(_ manifest: FrameManifest, imageWidth: Int, imageHeight: Int, imageChannels: Int) throws -> FrameManifest {
        guard manifest.format == formatName else {
            throw MSAIError.invalidMetadata("masked frame metadata has format '\(manifest.format)', expected '\(formatName)'")
        }
        guard readableVersions.contains(manifest.version) else {
            throw MSAIError.invalidMetadata(
                "masked frame metadata is version \(manifest.version); this msai reads versions \(readableVersions.lowerBound) to \(readableVersions.upperBound)")
        }
        guard manifest.width == imageWidth, manifest.height == imageHeight, manifest.channels == imageChannels else {
            throw MSAIError.invalidMetadata(
                "masked frame metadata says \(manifest.width)x\(manifest.height)x\(manifest.channels) but the image is \(imageWidth)x\(imageHeight)x\(imageChannels)"
            )
        }
        guard manifest.blockSize >= 1 else {
            throw MSAIError.invalidMetadata("masked frame metadata has block size \(manifest.blockSize)")
        }
        guard (manifest.version == 1) == (manifest.tag != nil) else {
            throw MSAIError.invalidMetadata(
                manifest.version == 1 ? "masked frame metadata (version 1) has no integrity tag" : "masked frame metadata (version 2) carries a version 1 tag")
        }
        for area in manifest.areas where !area.rect.fits(width: imageWidth, height: imageHeight) {
            throw MSAIError.invalidMetadata(
                "masked frame metadata lists area \(area.rect) outside the \(imageWidth)x\(imageHeight) frame")
        }
        if let composition = manifest.composition {
            try composition.check(areas: manifest.areas.map(\.rect))
        }
        let jpegAreas = manifest.areas.filter { $0.mode == .jpeg }.count
        guard jpegAreas == 0 || jpegAreas == manifest.areas.count, (manifest.coefficientRange != nil) == (jpegAreas > 0) || manifest.areas.isEmpty,
              manifest.composition == nil || manifest.coefficientRange == nil
        else {
            throw MSAIError.invalidMetadata("masked frame metadata mixes jpeg areas with pixel areas, or a coefficient range with pixel areas")
        }
        return manifest
    }
}

/// How a patch frame's image (a mosaic of masked areas) becomes a whole frame: each piece
/// of the mosaic goes to its place in the background frame `base`, a full frame the data
/// center already holds. Piece i is exactly masked area i, so nothing unmasked travels in a
/// piece; the mosaic's unused pixels are zero and are never placed.
public struct FrameComposition: Codable, Equatable, Sendable {
    /// The frame id (tau id) of the background frame.
    public var base: String
    /// The size of the composed frame (the background's).
    public var width: Int
    public var height: Int
    public var pieces: [Piece]

    public struct Piece: Codable, Equatable, Sendable {
        /// Where the piece goes in the frame.
        public var x: Int
        public var y: Int
        public var w: Int
        public var h: Int
        /// Where it lies in the mosaic.
        public var mosaicX: Int
        public var mosaicY: Int

        public init(frame: Rect, mosaicX: Int, mosaicY: Int) {
            x = frame.x
            y = frame.y
            w = frame.width
            h = frame.height
            self.mosaicX = mosaicX
            self.mosaicY = mosaicY
        }

        public var frameRect: Rect { Rect(x: x, y: y, width: w, height: h) }
        public var mosaicRect: Rect { Rect(x: mosaicX, y: mosaicY, width: w, height: h) }

        enum CodingKeys: String, CodingKey {
            case x, y, w, h
            case mosaicX = "mosaic_x"
            case mosaicY = "mosaic_y"
        }
    }

    public init(base: String, width: Int, height: Int, pieces: [Piece]) {
        self.base = base
        self.width = width
        self.height = height
        self.pieces = pieces
    }

    /// Each piece must be the masked area of the same number, and land inside the frame.
    func check(areas: [Rect]) throws {
        guard !base.isEmpty else { throw MSAIError.invalidMetadata("patch frame metadata names no background frame") }
        guard (1...BlockLayout.maximumSide).contains(width), (1...BlockLayout.maximumSide).contains(height) else {
            throw MSAIError.invalidMetadata("patch frame metadata gives its frame a size of \(width)x\(height)")
        }
        guard pieces.count == areas.count, zip(pieces, areas).allSatisfy({ $0.mosaicRect == $1 }) else {
            throw MSAIError.invalidMetadata("patch frame metadata: its \(pieces.count) piece(s) are not its \(areas.count) masked area(s)")
        }
        for piece in pieces where !piece.frameRect.fits(width: width, height: height) {
            throw MSAIError.invalidMetadata("patch frame metadata places a piece at \(piece.frameRect), outside the \(width)x\(height) frame")
        }
    }
}

/// One masked area as the manifest records it. VHE areas say where their ciphertexts lie
/// in the frame's ciphertext chunk.
public struct MaskedArea: Codable, Equatable, Sendable {
    public var x: Int
    public var y: Int
    public var w: Int
    public var h: Int
    public var membraneID: MembraneID
    public var mode: MaskingMode
    public var ciphertextOffset: Int?
    public var ciphertextLength: Int?

    public init(rect: Rect, membraneID: MembraneID, mode: MaskingMode, ciphertextOffset: Int? = nil,
                ciphertextLength: Int? = nil) {
        self.x = rect.x
        self.y = rect.y
        self.w = rect.width
        self.h = rect.height
        self.membraneID = membraneID
        self.mode = mode
        self.ciphertextOffset = ciphertextOffset
        self.ciphertextLength = ciphertextLength
    }

    public var rect: Rect { Rect(x: x, y: y, width: w, height: h) }

    enum CodingKeys: String, CodingKey {
        case x, y, w, h, mode
        case membraneID = "membrane_id"
        case ciphertextOffset = "ciphertext_offset"
        case ciphertextLength = "ciphertext_length"
    }
}

/// A short description of a decoding error, for one-line messages.
public func describe(_ error: Error) -> String {
    switch error {
    case let DecodingError.keyNotFound(key, _): return "missing field '\(key.stringValue)'"
    case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context):
        return "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
    case let DecodingError.dataCorrupted(context):
        return context.debugDescription
    case let error as MSAIError: return error.description
    default: return "\(error)"
    }
}
