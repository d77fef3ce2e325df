/// How a stored image is to be turned for display: the eight values of the EXIF / TIFF
/// Orientation tag (0x0112). Cameras and phones store pixels as the sensor read them and set
/// this tag rather than rotate; a detector that looks at the stored pixels of a photo taken
/// sideways sees a person lying down, and misses them. msai turns every image upright first.
///
/// In the tag's own terms, value → where the stored first row and first column go:
/// 1 top, left · 2 top, right · 3 bottom, right · 4 bottom, left ·
/// 5 left, top · 6 right, top · 7 right, bottom · 8 left, bottom.
public enum ImageOrientation: Int, Sendable, CaseIterable {
    case up = 1, upMirrored, down, downMirrored, leftMirrored, right, rightMirrored, left

    /// Whether turning upright swaps width and height.
    public var swapsSides: Bool { rawValue >= 5 }

    /// The image turned upright. `up` returns it as it is.
    public func upright(_ image: PixelBuffer) -> PixelBuffer {
        guard self != .up else { return image }
        let w = image.width, h = image.height, c = image.channels
        let (outWidth, outHeight) = swapsSides ? (h, w) : (w, h)
        // For each output pixel (x, y), the stored pixel it comes from.
        let source: (Int, Int) -> (Int, Int)
        switch self {
        case .up: source = { x, y in (x, y) }
        case .upMirrored: source = { x, y in (w - 1 - x, y) }
        case .down: source = { x, y in (w - 1 - x, h - 1 - y) }
        case .downMirrored: source = { x, y in (x, h - 1 - y) }
        case .leftMirrored: source = { x, y in (y, x) }  // transpose
        case .right: source = { x, y in (y, h - 1 - x) }  // rotate 90° clockwise
        case .rightMirrored: source = { x, y in (w - 1 - y, h - 1 - x) }  // transverse
        case .left: source = { x, y in (w - 1 - y, x) }  // rotate 90° counter-clockwise
        }
        var out = [UInt8](repeating: 0, count: image.samples.count)
        image.samples.withUnsafeBufferPointer { from in
            out.withUnsafeMutableBufferPointer { to in
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let (sx, sy) = source(x, y)
                        let s = (sy * w + sx) * c, d = (y * outWidth + x) * c
                        for k in 0..<c { to[d + k] = from[s + k] }
                    }
                }
            }
        }
        // The sample count is unchanged and both sides are positive, so this cannot fail.
        return try! PixelBuffer(width: outWidth, height: outHeight, channels: c, samples: out)
    }
}
