import Foundation
import MSAICore

/// Reading and writing image files, with the format told by content, not by name.
public enum ImageFile {
    public enum Format: String, Sendable { case jpeg, png }

    /// The largest image decoded, in pixels (100 megapixels: a 10000 × 10000 frame).
    public static let maximumPixels = 100_000_000

    /// Throws when an image header claims more than `maximumPixels`.
    public static func checkSize(width: Int, height: Int, name: String) throws {
        guard width.multipliedReportingOverflow(by: height).partialValue <= maximumPixels, width <= 1 << 20, height <= 1 << 20 else {
            throw MSAIError.invalidImage("\(name): image claims \(width)x\(height) pixels, more than the \(maximumPixels / 1_000_000) megapixels msai decodes")
        }
    }

    /// Whether a file name looks like an image msai reads (.jpg, .jpeg, .png), for folder listings;
    /// the content still decides the format when the file is read.
    public static func hasImageExtension(_ name: String) -> Bool {
        ["jpg", "jpeg", "png"].contains(URL(fileURLWithPath: name).pathExtension.lowercased())
    }

    /// The format of `data` by its magic bytes, or nil.
    public static func sniff(_ data: [UInt8]) -> Format? {
        if data.count >= 3, data[0] == 0xFF, data[1] == 0xD8, data[2] == 0xFF { return .jpeg }
        if data.count >= 8, data.prefix(8).elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return .png
        }
        return nil
    }

    /// The bytes of a file, with a message naming the file when it cannot be read.
    public static func readBytes(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw MSAIError.io("\(path): no such file")
        }
        guard !isDirectory.boolValue else { throw MSAIError.io("\(path): is a folder, not an image file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MSAIError.io("\(path): cannot be read (permission denied?)")
        }
        return [UInt8](data)
    }

    /// Decodes a JPEG or PNG file into 8-bit gray or RGB pixels.
    public static func read(_ path: String) throws -> PixelBuffer {
        try decode(try readBytes(path), name: path)
    }

    /// An image's pixels from its bytes, for masking. With `dctDomain` (the `jpeg` mode) and a
    /// JPEG the DCT domain takes (`JPEGTranscoder.masksInDCTDomain`), its pixels as stored and
    /// its bytes: what the edge masks, and what detection looks at. Otherwise the pixels upright
    /// and nil: the pixel path.
    public static func frame(_ bytes: [UInt8], dctDomain: Bool, name: String) throws -> (pixels: PixelBuffer, jpeg: [UInt8]?) {
        if dctDomain && JPEGTranscoder.masksInDCTDomain(bytes) { return (try JPEGCodec.decodeAsStored(bytes, name: name), bytes) }
        return (try decode(bytes, name: name), nil)
    }

    public static func decode(_ bytes: [UInt8], name: String) throws -> PixelBuffer {
        guard !bytes.isEmpty else { throw MSAIError.invalidImage("\(name): file is empty") }
        switch sniff(bytes) {
        case .jpeg: return try JPEGCodec.decode(bytes, name: name)
        case .png: return try PNGCodec.decode(bytes, name: name).pixels
        case nil: throw MSAIError.invalidImage("\(name): not a JPEG or PNG file")
        }
    }

    /// Writes `data` to `url` atomically: a temporary file in the same folder, then a rename,
    /// so a reader never sees half a file and a failure leaves nothing behind.
    public static func writeAtomically(_ data: [UInt8], to url: URL) throws {
        do {
            try Data(data).write(to: url, options: .atomic)
        } catch {
            throw MSAIError.io("\(url.path): cannot be written (\(error.localizedDescription))")
        }
    }
}
