import MSAICore
import MSAIImageIO

/// PNG encoding for responses (kept here so the routers need no image code of their own).
enum PNGBytes {
    static func encode(_ image: PixelBuffer) throws -> [UInt8] { try PNGCodec.encode(image) }
}
