import Foundation
import MSAICore
import MSAIImageIO
import MSAIVision

/// The small pictures a batch run keeps of each image for its report: the original, the frame
/// as sent (masked and scrambled), the masked view and the recovered image, each at most
/// `side` pixels on its longer side, as JPEG. They are for people to look at, not to measure.
public enum Previews {
    public static func make(original: PixelBuffer, masked: PixelBuffer, view: PixelBuffer, recovered: PixelBuffer,
                            side: Int = 168) throws -> [String: [UInt8]] {
        [
            "original": try thumbnail(original, side: side), "masked": try thumbnail(masked, side: side),
            "view": try thumbnail(view, side: side), "recovered": try thumbnail(recovered, side: side),
        ]
    }

    static func thumbnail(_ image: PixelBuffer, side: Int) throws -> [UInt8] {
        let scale = min(1, Double(side) / Double(max(image.width, image.height)))
        let width = max(1, Int((Double(image.width) * scale).rounded())), height = max(1, Int((Double(image.height) * scale).rounded()))
        var small = scale < 1 ? try image.resized(width: width, height: height) : image
        if small.channels == 2 || small.channels == 4 {
            // JPEG has no alpha: keep the colour (or gray) channels.
            let keep = small.channels - 1
            var samples = [UInt8](repeating: 0, count: small.width * small.height * keep)
            for p in 0..<(small.width * small.height) {
                for c in 0..<keep { samples[p * keep + c] = small.samples[p * small.channels + c] }
            }
            small = try PixelBuffer(width: small.width, height: small.height, channels: keep, samples: samples)
        }
        return try JPEGCodec.encode(small, quality: 80)
    }
}
