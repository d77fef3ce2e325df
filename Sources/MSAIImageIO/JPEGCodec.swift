import CTurboJPEG
import Foundation
import MSAICore

/// JPEG through TurboJPEG. Decoding treats libjpeg warnings (such as "Premature end of JPEG
/// file" for a truncated stream) as errors: a frame we cannot decode fully is not masked. It
/// turns the image upright as its EXIF Orientation says, so that detection, masking and
/// recovery all see the picture as a person does.
public enum JPEGCodec {
    public static func decode(_ data: [UInt8], name: String = "JPEG") throws -> PixelBuffer {
        ExifOrientation.read(jpeg: data).upright(try decodeAsStored(data, name: name))
    }

    /// The pixels as stored, whatever the EXIF Orientation says.
    public static func decodeAsStored(_ data: [UInt8], name: String = "JPEG") throws -> PixelBuffer {
        guard let handle = tjInitDecompress() else { throw MSAIError.codec("\(name): cannot start the JPEG decoder") }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let headerStatus = data.withUnsafeBufferPointer {
            tjDecompressHeader3(handle, $0.baseAddress, UInt(data.count), &width, &height, &subsampling, &colorspace)
        }
        guard headerStatus == 0 else {
            throw MSAIError.codec("\(name): not a readable JPEG (\(message(handle)))")
        }
        guard width > 0, height > 0 else { throw MSAIError.invalidImage("\(name): JPEG has a zero size") }
        try ImageFile.checkSize(width: Int(width), height: Int(height), name: name)
        let gray = colorspace == Int32(TJCS_GRAY.rawValue)
        let channels = gray ? 1 : 3
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * channels)
        let format = gray ? TJPF_GRAY : TJPF_RGB
        let status = data.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                tjDecompress2(
                    handle, source.baseAddress, UInt(data.count), target.baseAddress, width, 0, height,
                    // LIMITSCANS: a progressive JPEG of a thousand scans would cost minutes of CPU.
                    Int32(format.rawValue), TJFLAG_STOPONWARNING | TJFLAG_ACCURATEDCT | TJFLAG_LIMITSCANS)
            }
        }
        guard status == 0 else {
            throw MSAIError.codec("\(name): JPEG data is damaged or truncated (\(message(handle)))")
        }
        return try PixelBuffer(width: Int(width), height: Int(height), channels: channels, samples: pixels)
    }

    /// Chroma subsampling, as cameras choose it: 4:2:0 (most), 4:2:2 (many webcams' MJPEG, the
    /// ESP32-CAM), 4:4:0, 4:1:1, or none.
    public enum Subsampling: Sendable, CaseIterable {
        case s444, s422, s420, s440, s411

        var turbo: TJSAMP {
            switch self {
            case .s444: return TJSAMP_444
            case .s422: return TJSAMP_422
            case .s420: return TJSAMP_420
            case .s440: return TJSAMP_440
            case .s411: return TJSAMP_411
            }
        }
    }

    /// Encodes at `quality` (1...100) with `subsampling`, by default 4:2:0 chroma (4:4:4 at
    /// quality ≥ 95), or gray; `progressive` as a progressive JPEG, as some cameras and most web
    /// images are.
    public static func encode(_ image: PixelBuffer, quality: Int = 90, progressive: Bool = false, subsampling: Subsampling? = nil) throws -> [UInt8] {
        guard let handle = tjInitCompress() else { throw MSAIError.codec("cannot start the JPEG encoder") }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let format = image.channels == 1 ? TJPF_GRAY : TJPF_RGB
        let sampling = image.channels == 1 ? TJSAMP_GRAY : subsampling?.turbo ?? (quality >= 95 ? TJSAMP_444 : TJSAMP_420)
        let status = image.samples.withUnsafeBufferPointer {
            tjCompress2(
                handle, $0.baseAddress, Int32(image.width), 0, Int32(image.height), Int32(format.rawValue), &output,
                &size, Int32(sampling.rawValue), Int32(quality), progressive ? TJFLAG_PROGRESSIVE : 0)
        }
        defer { tjFree(output) }
        guard status == 0, let output else { throw MSAIError.codec("JPEG encoding failed (\(message(handle)))") }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }

    private static func message(_ handle: tjhandle) -> String {
        guard let text = tjGetErrorStr2(handle) else { return "unknown error" }
        return String(cString: text)
    }
}
