/// An 8-bit image held as interleaved samples, rows top to bottom, no row padding.
///
/// `channels` is 1 (gray) or 3 (RGB). Sample (x, y, c) lives at `(y * width + x) * channels + c`.
public struct PixelBuffer: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let channels: Int
    public var samples: [UInt8]

    /// Wraps existing samples; throws when the count does not match the size.
    public init(width: Int, height: Int, channels: Int, samples: [UInt8]) throws {
        guard width > 0, height > 0 else {
            throw MSAIError.invalidImage("image has a zero size (\(width)x\(height))")
        }
        guard channels == 1 || channels == 3 else {
            throw MSAIError.invalidImage("image has \(channels) channels; only 1 (gray) and 3 (RGB) are supported")
        }
        guard samples.count == width * height * channels else {
            throw MSAIError.invalidImage(
                "image \(width)x\(height)x\(channels) needs \(width * height * channels) samples but has \(samples.count)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.samples = samples
    }

    /// An image filled with one value.
    public init(width: Int, height: Int, channels: Int, filling value: UInt8 = 0) throws {
        try self.init(
            width: width, height: height, channels: channels,
            samples: [UInt8](repeating: value, count: max(0, width * height * channels)))
    }

    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }
    public var pixelCount: Int { width * height }
    public var sizeDescription: String { "\(width)x\(height)x\(channels)" }

    /// Throws a message naming the image size when `rect` is not wholly inside the image.
    public func checkContains(_ rect: Rect) throws {
        guard rect.fits(width: width, height: height) else {
            throw MSAIError.regionOutsideImage(
                "region \(rect) (x,y,w,h) does not lie inside the \(width)x\(height) image")
        }
    }

    /// A copy of the samples inside `rect`, as an image of its own.
    public func cropped(to rect: Rect) throws -> PixelBuffer {
        try checkContains(rect)
        let rowLength = rect.width * channels
        var out = [UInt8](repeating: 0, count: rect.height * rowLength)
        samples.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for row in 0..<rect.height {
                    let from = ((rect.y + row) * width + rect.x) * channels
                    let dst = target.baseAddress! + row * rowLength
                    dst.update(from: source.baseAddress! + from, count: rowLength)
                }
            }
        }
        return try PixelBuffer(width: rect.width, height: rect.height, channels: channels, samples: out)
    }

    /// Calls `body` once per row of `rect` with that row's samples, in place.
    @inlinable
    public mutating func withRows(
        of rect: Rect, _ body: (_ row: Int, _ samples: UnsafeMutableBufferPointer<UInt8>) throws -> Void
    ) rethrows {
        let rowLength = rect.width * channels
        let stride = width * channels
        let x0 = rect.x * channels
        try samples.withUnsafeMutableBufferPointer { all in
            for row in 0..<rect.height {
                let start = (rect.y + row) * stride + x0
                try body(row, UnsafeMutableBufferPointer(rebasing: all[start..<(start + rowLength)]))
            }
        }
    }
}
