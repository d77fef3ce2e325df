import Foundation
import MSAICore
import MSAIImageIO

/// The masked frame on the wire and on disk: a PNG of the scrambled pixels (any viewer shows
/// it), the `FrameManifest` as JSON in an iTXt chunk with keyword "msai", and, for VHE areas,
/// the ciphertexts in private "mvHe" chunks of at most 1 MiB each, concatenated in file order.
public enum MaskedFrameCodec {
    public static let ciphertextChunkName = "mvHe"
    static let ciphertextChunkLimit = 1 << 20

    public struct Contents {
        public let pixels: PixelBuffer
        public let manifestJSON: Data
        public let ciphertexts: [UInt8]
    }

    public static func encode(pixels: PixelBuffer, manifest: FrameManifest, ciphertexts: [UInt8],
                              compressionLevel: Int = PNGCodec.defaultCompressionLevel) throws -> [UInt8] {
        var chunks: [(name: String, data: [UInt8])] = []
        var offset = 0
        while offset < ciphertexts.count {
            let end = min(ciphertexts.count, offset + ciphertextChunkLimit)
            chunks.append((ciphertextChunkName, Array(ciphertexts[offset..<end])))
            offset = end
        }
        return try PNGCodec.encode(
            pixels, texts: [(FrameManifest.pngKeyword, String(decoding: manifest.encoded(), as: UTF8.self))],
            chunks: chunks, compressionLevel: compressionLevel)
    }

    /// The frame's size (from IHDR) and tau id (from the metadata), read by walking the PNG's chunks
    /// up to the first image data, without decoding anything. The full decode verifies it all again.
    public static func peek(_ bytes: [UInt8]) throws -> (width: Int, height: Int, tauID: String) {
        guard ImageFile.sniff(bytes) == .png, bytes.count >= 33 else {
            throw MSAIError.invalidImage("masked frame: a masked frame must be a PNG; this is not one")
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
                    struct Probe: Decodable { let tau_id: String }
                    if let probe = try? JSONDecoder().decode(Probe.self, from: Data(rest)) { return (width, height, probe.tau_id) }
                }
            }
            offset += 12 + length
        }
        throw MSAIError.invalidMetadata(
            "masked frame: no msai metadata (iTXt chunk '\(FrameManifest.pngKeyword)'): not a masked frame, or its metadata was stripped")
    }

    public static func decode(_ bytes: [UInt8], name: String = "masked frame") throws -> Contents {
        guard ImageFile.sniff(bytes) == .png else {
            throw MSAIError.invalidImage("\(name): a masked frame must be a PNG; this is not one")
        }
        let png = try PNGCodec.decode(bytes, keepChunks: [ciphertextChunkName], name: name)
        guard let json = png.texts[FrameManifest.pngKeyword] else {
            throw MSAIError.invalidMetadata(
                "\(name): no msai metadata (iTXt chunk '\(FrameManifest.pngKeyword)'): not a masked frame, or its metadata was stripped")
        }
        let ciphertexts = png.chunks.filter { $0.name == ciphertextChunkName }.flatMap(\.data)
        return Contents(pixels: png.pixels, manifestJSON: Data(json.utf8), ciphertexts: ciphertexts)
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
