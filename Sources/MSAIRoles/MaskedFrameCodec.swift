import Foundation
import MSAICore
import MSAIImageIO

/// The masked frame on the wire and on disk, in one of two formats:
///
/// - **PNG** (single images, the interchange format): the scrambled pixels (any viewer shows
///   them), the `FrameManifest` as JSON in an iTXt chunk with keyword "msai", and, for VHE
///   areas, the ciphertexts in private "mvHe" chunks of at most 1 MiB each, in file order.
/// - **QOI container** (streams): the 8 bytes "msai.qoi", a version byte (1), the manifest's
///   length (4 bytes, big-endian) and JSON, the ciphertexts' length (4 bytes) and bytes, then a
///   QOI image of the scrambled pixels. QOI encodes a scrambled frame 6× faster than PNG
///   (`make bench`, codec study), which is what a video stream needs; it holds RGB only, so a
///   gray frame goes as PNG whichever format is asked for.
///
/// - **JPEG container** (the DCT-domain `jpeg` mode): the 8 bytes "msai.jpg", a version byte (1),
///   the manifest's length (4 bytes, big-endian) and JSON, then the masked, scrambled JPEG, a
///   baseline JPEG any viewer opens (`EdgeCamera.prepareJPEG` makes it; pixels cannot be
///   encoded into it).
///
/// Decoding tells them apart by their first bytes; the data center accepts all three.
public enum MaskedFrameCodec {
    public static let ciphertextChunkName = "mvHe"
    static let ciphertextChunkLimit = 1 << 20
    static let containerMagic: [UInt8] = Array("msai.qoi".utf8)
    static let jpegContainerMagic: [UInt8] = Array("msai.jpg".utf8)
    static let containerVersion: UInt8 = 1
    /// The most manifest JSON a container may carry (a frame with thousands of areas fits).
    static let manifestLimit = 4 << 20

    public enum Format: String, Sendable, CaseIterable {
        case png, qoi, jpeg

        /// The media type on the wire.
        public var mediaType: String {
            switch self {
            case .png: return "image/png"
            case .qoi: return "application/vnd.msai.frame+qoi"
            case .jpeg: return "application/vnd.msai.frame+jpeg"
            }
        }

        /// The format a frame of `channels` goes in when `self` is asked for.
        public func effective(channels: Int) -> Format {
            self == .qoi && !QOICodec.supports(channels: channels) ? .png : self
        }
    }

    public struct Contents {
        /// The scrambled pixels (for a JPEG frame, its JPEG decoded).
        public let pixels: PixelBuffer
        public let manifestJSON: Data
        public let ciphertexts: [UInt8]
        public let format: Format
        /// A JPEG frame's masked, scrambled JPEG; nil for the other formats.
        public var jpeg: [UInt8]? = nil
    }

    /// The format of `bytes` by their first bytes, or nil.
    public static func format(of bytes: [UInt8]) -> Format? {
        if ImageFile.sniff(bytes) == .png { return .png }
        if bytes.starts(with: containerMagic) { return .qoi }
        if bytes.starts(with: jpegContainerMagic) { return .jpeg }
        return nil
    }

    public static func encode(pixels: PixelBuffer, manifest: FrameManifest, ciphertexts: [UInt8], format: Format = .png,
                              compressionLevel: Int = PNGCodec.defaultCompressionLevel) throws -> [UInt8] {
        let json = manifest.encoded()
        switch format.effective(channels: pixels.channels) {
        case .jpeg:
            throw MSAIError.invalidArgument("a JPEG frame is masked in the DCT domain (EdgeCamera.prepareJPEG); pixels are not encoded into one")
        case .png:
            var chunks: [(name: String, data: [UInt8])] = []
            var offset = 0
            while offset < ciphertexts.count {
                let end = min(ciphertexts.count, offset + ciphertextChunkLimit)
                chunks.append((ciphertextChunkName, Array(ciphertexts[offset..<end])))
                offset = end
            }
            return try PNGCodec.encode(
                pixels, texts: [(FrameManifest.pngKeyword, String(decoding: json, as: UTF8.self))],
                chunks: chunks, compressionLevel: compressionLevel)
        case .qoi:
            guard ciphertexts.count <= Int(UInt32.max), json.count <= manifestLimit else {
                throw MSAIError.invalidArgument(
                    "masked frame: \(json.count) bytes of manifest (at most \(manifestLimit)) and \(ciphertexts.count) of ciphertexts do not fit a container")
            }
            let image = try QOICodec.encode(pixels)
            var out: [UInt8] = []
            out.reserveCapacity(containerMagic.count + 9 + json.count + ciphertexts.count + image.count)
            out += containerMagic
            out.append(containerVersion)
            appendLength(json.count, to: &out)
            out += json
            appendLength(ciphertexts.count, to: &out)
            out += ciphertexts
            out += image
            return out
        }
    }

    /// The JPEG container: `manifest` and the masked, scrambled `jpeg`.
    public static func encode(jpeg: [UInt8], manifest: FrameManifest) throws -> [UInt8] {
        let json = manifest.encoded()
        guard json.count <= manifestLimit else {
            throw MSAIError.invalidArgument("masked frame: \(json.count) bytes of manifest do not fit a container (at most \(manifestLimit))")
        }
        var out: [UInt8] = []
        out.reserveCapacity(jpegContainerMagic.count + 5 + json.count + jpeg.count)
        out += jpegContainerMagic
        out.append(containerVersion)
        appendLength(json.count, to: &out)
        out += json
        out += jpeg
        return out
    }

    /// A JPEG container's manifest and JPEG, located without decoding anything.
    public static func jpegParts(_ bytes: [UInt8], name: String = "masked frame") throws -> (manifestJSON: Data, jpeg: [UInt8]) {
        var reader = try ContainerReader(bytes, magic: jpegContainerMagic, kind: "JPEG", name: name)
        let manifest = try reader.part("manifest", limit: manifestLimit)
        return (Data(manifest), Array(reader.rest))
    }

    /// The parts of a QOI container, located without decoding the image.
    private struct ContainerParts {
        let manifestJSON: ArraySlice<UInt8>
        let ciphertexts: ArraySlice<UInt8>
        let image: ArraySlice<UInt8>
    }

    private static func containerParts(_ bytes: [UInt8], name: String) throws -> ContainerParts {
        var reader = try ContainerReader(bytes, magic: containerMagic, kind: "QOI", name: name)
        let manifest = try reader.part("manifest", limit: manifestLimit)
        let ciphertexts = try reader.part("ciphertexts", limit: Int(UInt32.max))
        return ContainerParts(manifestJSON: manifest, ciphertexts: ciphertexts, image: reader.rest)
    }

    /// Reads an msai container: its magic and version, then parts each preceded by its length (4
    /// bytes, big-endian), each refused before it is taken when it claims more than its limit
    /// or than the bytes that remain; what follows the parts is the image.
    private struct ContainerReader {
        let bytes: [UInt8]
        let name: String
        var offset: Int

        init(_ bytes: [UInt8], magic: [UInt8], kind: String, name: String) throws {
            guard bytes.starts(with: magic), bytes.count > magic.count else {
                throw MSAIError.invalidImage("\(name): not an msai \(kind) container")
            }
            guard bytes[magic.count] == containerVersion else {
                throw MSAIError.invalidMetadata("\(name): msai container version \(bytes[magic.count]); this build reads version \(containerVersion)")
            }
            (self.bytes, self.name, offset) = (bytes, name, magic.count + 1)
        }

        mutating func part(_ what: String, limit: Int) throws -> ArraySlice<UInt8> {
            guard offset + 4 <= bytes.count else { throw MSAIError.invalidImage("\(name): msai container is truncated in its \(what)") }
            let length = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            offset += 4
            guard length <= limit else {
                throw MSAIError.invalidMetadata("\(name): msai container's \(what) of \(length) bytes is more than the \(limit) it may have")
            }
            guard length <= bytes.count - offset else {
                throw MSAIError.invalidImage("\(name): msai container's \(what) claims \(length) bytes; \(bytes.count - offset) remain")
            }
            defer { offset += length }
            return bytes[offset..<(offset + length)]
        }

        var rest: ArraySlice<UInt8> { bytes[offset...] }
    }

    private static func appendLength(_ length: Int, to out: inout [UInt8]) {
        out += [UInt8(length >> 24 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
    }

    private struct TauProbe: Decodable { let tau_id: String }

    /// The frame's size (from the image header) and tau id (from the metadata), read without
    /// decoding pixels: for PNG by walking the chunks up to the first image data. The full
    /// decode verifies it all again.
    public static func peek(_ bytes: [UInt8]) throws -> (width: Int, height: Int, tauID: String) {
        if format(of: bytes) == .jpeg {
            let parts = try jpegParts(bytes)
            let layout = try JPEGTranscoder.header(of: parts.jpeg).layout
            do {
                return (layout.width, layout.height, try JSONDecoder().decode(TauProbe.self, from: parts.manifestJSON).tau_id)
            } catch {
                throw MSAIError.invalidMetadata("masked frame metadata is not valid msai JSON: \(describe(error))")
            }
        }
        if format(of: bytes) == .qoi {
            let parts = try containerParts(bytes, name: "masked frame")
            let (width, height, _) = try QOICodec.header(parts.image, name: "masked frame")
            do {
                return (width, height, try JSONDecoder().decode(TauProbe.self, from: Data(parts.manifestJSON)).tau_id)
            } catch {
                throw MSAIError.invalidMetadata("masked frame metadata is not valid msai JSON: \(describe(error))")
            }
        }
        guard ImageFile.sniff(bytes) == .png, bytes.count >= 33 else {
            throw MSAIError.invalidImage("masked frame: a masked frame must be a PNG or an msai QOI or JPEG container; this is none of them")
        }
        func word(_ i: Int) -> Int { bytes[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) } }
        let width = word(16), height = word(20)
        var offset = 8
        while offset + 8 <= bytes.count {
            let length = word(offset), type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            guard length >= 0, length <= bytes.count - offset - 12 else { break }
            if type == "IDAT" || type == "IEND" { break }
            // Every chunk read here is checked against its CRC, as libpng would.
            guard crc32(bytes[(offset + 4)..<(offset + 8 + length)]) == UInt32(word(offset + 8 + length)) else {
                throw MSAIError.codec("masked frame: not a readable PNG (\(type): CRC error)")
            }
            if type == "iTXt" {
                let data = bytes[(offset + 8)..<(offset + 8 + length)]
                let keyword = String(decoding: data.prefix(while: { $0 != 0 }), as: UTF8.self)
                if keyword == FrameManifest.pngKeyword {
                    // keyword NUL, compression flag, method, language tag NUL, translated keyword NUL, text
                    var rest = data.dropFirst(keyword.utf8.count + 3)
                    rest = rest.drop(while: { $0 != 0 }).dropFirst()
                    rest = rest.drop(while: { $0 != 0 }).dropFirst()
                    if let probe = try? JSONDecoder().decode(TauProbe.self, from: Data(rest)) { return (width, height, probe.tau_id) }
                }
            }
            offset += 12 + length
        }
        throw MSAIError.invalidMetadata(
            "masked frame: no msai metadata (iTXt chunk '\(FrameManifest.pngKeyword)'): not a masked frame, or its metadata was stripped")
    }

    public static func decode(_ bytes: [UInt8], name: String = "masked frame") throws -> Contents {
        if format(of: bytes) == .jpeg {
            let parts = try jpegParts(bytes, name: name)
            return Contents(pixels: try JPEGCodec.decodeAsStored(parts.jpeg, name: name), manifestJSON: parts.manifestJSON, ciphertexts: [],
                            format: .jpeg, jpeg: parts.jpeg)
        }
        if format(of: bytes) == .qoi {
            let parts = try containerParts(bytes, name: name)
            return Contents(pixels: try QOICodec.decode(parts.image, name: name), manifestJSON: Data(parts.manifestJSON),
                            ciphertexts: Array(parts.ciphertexts), format: .qoi)
        }
        guard ImageFile.sniff(bytes) == .png else {
            throw MSAIError.invalidImage("\(name): a masked frame must be a PNG or an msai QOI or JPEG container; this is none of them")
        }
        // Text comes back raw, never decompressed, to be judged here: one manifest, no other text.
        let png = try PNGCodec.decode(bytes, keepChunks: ["iTXt", "tEXt", "zTXt", ciphertextChunkName], limits: pngLimits, name: name)
        let texts = png.chunks.filter { $0.name != ciphertextChunkName }
        guard let json = texts.lazy.compactMap({ $0.name == "iTXt" ? manifestText(of: $0.data) : nil }).first else {
            throw MSAIError.invalidMetadata(
                "\(name): no msai metadata (an uncompressed iTXt chunk '\(FrameManifest.pngKeyword)'): not a masked frame, or its metadata was stripped")
        }
        guard texts.count == 1 else {
            throw MSAIError.invalidMetadata("\(name): \(texts.count) text chunks; a masked frame has one, its manifest")
        }
        let ciphertexts = png.chunks.filter { $0.name == ciphertextChunkName }.flatMap(\.data)
        return Contents(pixels: png.pixels, manifestJSON: Data(json), ciphertexts: ciphertexts, format: .png)
    }

    /// What a masked frame's PNG may hold besides its pixels: its manifest, and VHE ciphertexts
    /// in chunks of at most `ciphertextChunkLimit` (as much as a data center takes over the
    /// network, and some).
    static let pngLimits = PNGCodec.Limits(maximumChunkBytes: manifestLimit + 1024,
                                           maximumAncillaryChunks: 1 + (16 << 20) / ciphertextChunkLimit)

    /// The text of an uncompressed iTXt chunk whose keyword is msai's: keyword NUL, compression
    /// flag (0), method (0), language tag NUL, translated keyword NUL, text.
    static func manifestText(of chunk: [UInt8]) -> ArraySlice<UInt8>? {
        let keyword = Array(FrameManifest.pngKeyword.utf8)
        guard chunk.count >= keyword.count + 5, chunk.starts(with: keyword + [0, 0, 0]) else { return nil }
        var rest = chunk[(keyword.count + 3)...]
        guard let language = rest.firstIndex(of: 0) else { return nil }
        rest = rest[(language + 1)...]
        guard let translated = rest.firstIndex(of: 0) else { return nil }
        return rest[(translated + 1)...]
    }
}

/// CRC-32 (ISO 3309, as PNG uses it) of `bytes`.
func crc32<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
}

private let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}
