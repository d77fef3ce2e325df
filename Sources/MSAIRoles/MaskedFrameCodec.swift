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
