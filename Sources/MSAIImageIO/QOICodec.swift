import CMSAIQOI
import MSAICore

/// QOI ("Quite OK Image") through Debian's libqoi: lossless 8-bit RGB (QOI's RGBA has no
/// use here: msai's frames are gray or RGB). The codec study
/// in `make bench` measured it at 6× PNG's encode speed on scrambled frames, so stream frames
/// travel as QOI; single images stay PNG, which every viewer opens.
public enum QOICodec {
    static let magic: [UInt8] = Array("qoif".utf8)
    static let headerSize = 14
    /// Every QOI stream ends with seven zero bytes and a one.
    static let endMarker: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 1]

    /// Whether `bytes` start like a QOI image.
    public static func isQOI(_ bytes: [UInt8]) -> Bool { bytes.starts(with: magic) }

    /// QOI holds colour images only; gray frames need another codec.
    public static func supports(channels: Int) -> Bool { channels == 3 }

    public static func encode(_ image: PixelBuffer) throws -> [UInt8] {
        guard supports(channels: image.channels) else {
            throw MSAIError.invalidArgument("QOI holds RGB images; this one has \(image.channels) channel(s)")
        }
        var pointer: UnsafeMutablePointer<UInt8>?
        let length = image.samples.withUnsafeBufferPointer {
            msai_qoi_encode($0.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels), &pointer)
        }
        defer { msai_codec_free(pointer) }
        guard length > 0, let pointer else { throw MSAIError.codec("QOI encoder failed on a \(image.sizeDescription) image") }
        return Array(UnsafeBufferPointer(start: pointer, count: length))
    }

    /// The size a QOI header claims, read without decoding.
    public static func header(_ bytes: ArraySlice<UInt8>, name: String) throws -> (width: Int, height: Int, channels: Int) {
        guard bytes.count >= headerSize + endMarker.count, bytes.prefix(4).elementsEqual(magic) else {
            throw MSAIError.invalidImage("\(name): not a QOI image")
        }
        let start = bytes.startIndex
        func word(_ i: Int) -> Int { bytes[(start + i)..<(start + i + 4)].reduce(0) { $0 << 8 | Int($1) } }
        let channels = Int(bytes[start + 12])
        guard supports(channels: channels) else { throw MSAIError.invalidImage("\(name): QOI image has \(channels) channels; msai reads RGB") }
        return (word(4), word(8), channels)
    }

    public static func decode(_ bytes: ArraySlice<UInt8>, name: String = "QOI image") throws -> PixelBuffer {
        let (width, height, channels) = try header(bytes, name: name)
        try ImageFile.checkSize(width: width, height: height, name: name)
        // The decoder is strict (see msai_qoi.c): a cut stream, a run past the last pixel, or
        // bytes after it are refused, not padded or ignored; this names the commonest case.
        guard bytes.suffix(endMarker.count).elementsEqual(endMarker) else {
            throw MSAIError.invalidImage("\(name): QOI stream is truncated (no end marker)")
        }
        var samples = [UInt8](repeating: 0, count: width * height * channels)
        let ok = bytes.withUnsafeBufferPointer { input in
            samples.withUnsafeMutableBufferPointer { out in
                msai_qoi_decode(input.baseAddress, input.count, Int32(width), Int32(height), Int32(channels), out.baseAddress)
            }
        }
        guard ok == 1 else {
            throw MSAIError.invalidImage("\(name): not a readable QOI image (exactly \(width)x\(height) pixels, its end marker, and nothing after)")
        }
        return try PixelBuffer(width: width, height: height, channels: channels, samples: samples)
    }
}
