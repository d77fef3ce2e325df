import CMSAIPNG
import Foundation
import MSAICore

/// A decoded PNG: the pixels plus its text entries and the private chunks asked for.
public struct PNGImage: Sendable {
    public var pixels: PixelBuffer
    public var texts: [String: String]
    /// Private chunks in file order, as (name, data).
    public var chunks: [(name: String, data: [UInt8])]
    public var hadAlpha: Bool
}

/// PNG through libpng: lossless 8-bit gray or RGB, with iTXt text entries and private chunks.
public enum PNGCodec {
    /// libpng's default compression is level 6; OpenCV writes level 1 for speed. We default
    /// to 1 too: a scrambled frame barely compresses, and level 1 costs a fraction of level 6.
    public static let defaultCompressionLevel = 1

    /// How the pixel rows are filtered before deflate (PNG's filter types).
    public enum RowFilter: Int32, Sendable, CaseIterable {
        /// libpng's choice per row (all five tried): best size, slowest.
        case adaptive = -1
        case none = 0, sub = 1, up = 2, average = 3, paeth = 4
    }

    /// zlib's strategy for the deflate stream.
    public enum Strategy: Int32, Sendable {
        /// libpng's choice (Z_FILTERED for filtered rows).
        case automatic = -1
        case defaultStrategy = 0, filtered = 1, huffmanOnly = 2, runLength = 3
    }

    public static func encode(
        _ image: PixelBuffer, texts: [(String, String)] = [], chunks: [(name: String, data: [UInt8])] = [],
        compressionLevel: Int = defaultCompressionLevel, filter: RowFilter = .adaptive, strategy: Strategy = .automatic
    ) throws -> [UInt8] {
        for chunk in chunks where chunk.name.utf8.count != 4 {
            throw MSAIError.invalidArgument("PNG chunk name '\(chunk.name)' must have 4 letters")
        }
        // Keep every C string alive for the duration of the call.
        let keywordStorage = texts.map { strdup($0.0)! }, valueStorage = texts.map { strdup($0.1)! }
        defer {
            keywordStorage.forEach { free($0) }
            valueStorage.forEach { free($0) }
        }
        var cTexts = zip(keywordStorage, valueStorage).map { msai_png_text(keyword: $0, text: $1) }
        let chunkBuffers = chunks.map { chunk -> UnsafeMutableBufferPointer<UInt8> in
            let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, chunk.data.count))
            _ = buffer.initialize(from: chunk.data)
            return buffer
        }
        defer { chunkBuffers.forEach { $0.deallocate() } }
        var cChunks = zip(chunks, chunkBuffers).map { chunk, buffer -> msai_png_chunk in
            var c = msai_png_chunk()
            withUnsafeMutableBytes(of: &c.name) { name in
                for (i, byte) in chunk.name.utf8.enumerated() { name[i] = byte }
                name[4] = 0
            }
            c.data = UnsafePointer(buffer.baseAddress)
            c.length = chunk.data.count
            return c
        }
        var output: UnsafeMutablePointer<UInt8>?
        var length = 0
        var error = msai_png_error()
        let status = image.samples.withUnsafeBufferPointer { pixels in
            cTexts.withUnsafeMutableBufferPointer { textPointer in
                cChunks.withUnsafeMutableBufferPointer { chunkPointer in
                    msai_png_encode(
                        pixels.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels),
                        Int32(compressionLevel), filter.rawValue, strategy.rawValue, textPointer.baseAddress, Int32(texts.count),
                        chunkPointer.baseAddress, Int32(chunks.count), &output, &length, &error)
                }
            }
        }
        guard status == 0, let output else { throw MSAIError.codec("PNG encoding failed: \(text(of: &error))") }
        defer { msai_png_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: length))
    }

    /// What a PNG from a peer may make the decoder hold (`decode(_:keepChunks:limits:name:)`).
    public struct Limits: Sendable {
        /// No ancillary chunk may be longer.
        public var maximumChunkBytes: Int
        /// No more ancillary chunks (text or kept) may come; one more is an error.
        public var maximumAncillaryChunks: Int

        public init(maximumChunkBytes: Int, maximumAncillaryChunks: Int) {
            self.maximumChunkBytes = maximumChunkBytes
            self.maximumAncillaryChunks = maximumAncillaryChunks
        }
    }

    /// Decodes any PNG into 8-bit gray or RGB; returns the private chunks named in `keepChunks`.
    /// With `limits` (a PNG from a peer), nothing is repaired or dropped quietly, chunks are
    /// bounded in size and number, and bytes after IEND are refused; name the text chunk types
    /// in `keepChunks` to have text handed back raw (never decompressed) as chunks.
    public static func decode(_ data: [UInt8], keepChunks: [String] = [], limits: Limits? = nil, name: String = "PNG") throws -> PNGImage {
        // IHDR is the first chunk: bytes 16..<24 hold width and height. Refuse huge images before
        // libpng allocates them (a small, highly compressible file can claim gigabytes).
        if data.count >= 24 {
            let word = { (i: Int) in data[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) } }
            try ImageFile.checkSize(width: word(16), height: word(20), name: name)
        }
        try checkChunkLengths(data, limits: limits, name: name)
        var decoded = msai_png_decoded()
        var error = msai_png_error()
        let keep = keepChunks.joined()
        func run(_ cLimits: UnsafePointer<msai_png_limits>?) -> Int32 {
            data.withUnsafeBufferPointer { bytes in
                keep.withCString { keepPointer in
                    msai_png_decode_limited(bytes.baseAddress, data.count, keep.isEmpty ? nil : keepPointer, cLimits, &decoded, &error)
                }
            }
        }
        let status: Int32
        if let limits {
            var cLimits = msai_png_limits(max_chunk_bytes: limits.maximumChunkBytes, max_ancillary_chunks: Int32(limits.maximumAncillaryChunks))
            status = run(&cLimits)
        } else {
            status = run(nil)
        }
        guard status == 0 else { throw MSAIError.codec("\(name): not a readable PNG (\(text(of: &error)))") }
        defer { msai_png_decoded_free(&decoded) }
        let count = Int(decoded.width) * Int(decoded.height) * Int(decoded.channels)
        let pixels = try PixelBuffer(
            width: Int(decoded.width), height: Int(decoded.height), channels: Int(decoded.channels),
            samples: Array(UnsafeBufferPointer(start: decoded.pixels, count: count)))
        var texts: [String: String] = [:]
        for i in 0..<Int(decoded.text_count) {
            texts[String(cString: decoded.text_keywords[i]!)] = String(cString: decoded.text_values[i]!)
        }
        var chunks: [(name: String, data: [UInt8])] = []
        for i in 0..<Int(decoded.chunk_count) {
            let chunkName = withUnsafeBytes(of: decoded.chunk_names[i]) { String(decoding: $0.prefix(4), as: UTF8.self) }
            let length = decoded.chunk_lengths[i]
            let bytes = length == 0 ? [] : Array(UnsafeBufferPointer(start: decoded.chunk_data[i], count: length))
            chunks.append((chunkName, bytes))
        }
        return PNGImage(pixels: pixels, texts: texts, chunks: chunks, hadAlpha: decoded.had_alpha != 0)
    }

    /// Walks the chunk headers before libpng sees them: no chunk may claim more bytes than the
    /// file has left (libpng allocates a text chunk's claimed length before reading it: a 90-byte
    /// file claiming a 1 GB iTXt made it ask for 1 GB; the fuzzer found it), and under `limits` no
    /// ancillary chunk may be longer than they allow.
    static func checkChunkLengths(_ data: [UInt8], limits: Limits?, name: String) throws {
        var offset = 8
        while offset + 8 <= data.count {
            let length = data[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            let ancillary = data[offset + 4] & 0x20 != 0
            guard length <= data.count - offset - 12 else {
                throw MSAIError.codec("\(name): not a readable PNG (a chunk claims \(length) bytes; \(max(0, data.count - offset - 12)) are left)")
            }
            if let limits, ancillary, length > limits.maximumChunkBytes {
                throw MSAIError.codec("\(name): not a readable PNG (an ancillary chunk of \(length) bytes; at most \(limits.maximumChunkBytes) are taken)")
            }
            if data[(offset + 4)..<(offset + 8)].elementsEqual(Array("IEND".utf8)) { return }
            offset += 12 + length
        }
    }

    private static func text(of error: inout msai_png_error) -> String {
        withUnsafeBytes(of: &error.message) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }
}
