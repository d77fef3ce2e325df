/// How a frame is cut into blocks for scrambling.
///
/// The frame is tiled from the top-left with `blockSize` × `blockSize` blocks, numbered
/// row-first: `blockColumns = width / B`, `blockRows = height / B`. When a side is not a
/// multiple of B, the pixels right of and below that grid (the partial edge blocks: a strip
/// narrower than B on the right, one shorter than B at the bottom, and their corner) are not
/// left in place: they are permuted as single pixels among themselves, by a second
/// permutation drawn from the same per-frame seed. A frame with fewer than two whole blocks has
/// no grid at all: all its pixels are permuted singly. So every pixel takes part in the
/// scrambling, the image keeps its size, and no strip of the original survives intact.
/// (A uniformly random permutation can still map a block to itself, about once per frame on
/// average; excluding that would make tau non-uniform.)
public struct BlockLayout: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let blockSize: Int

    public init(width: Int, height: Int, blockSize: Int) throws {
        guard width > 0, height > 0 else {
            throw MSAIError.invalidImage("cannot scramble an image of zero size (\(width)x\(height))")
        }
        guard (1...Self.maximumBlockSize).contains(blockSize) else {
            throw MSAIError.invalidArgument("block size must lie in 1...\(Self.maximumBlockSize), got \(blockSize)")
        }
        guard width <= Self.maximumSide, height <= Self.maximumSide else {
            throw MSAIError.invalidArgument("frame \(width)x\(height) is larger than \(Self.maximumSide) on a side")
        }
        self.width = width
        self.height = height
        self.blockSize = blockSize
    }

    public static let maximumBlockSize = 4096
    public static let maximumSide = 1 << 16

    /// Whole-block columns and rows. With fewer than two whole blocks a block permutation could
    /// move nothing, so then there is no grid and every pixel is permuted singly.
    public var blockColumns: Int { hasGrid ? width / blockSize : 0 }
    public var blockRows: Int { hasGrid ? height / blockSize : 0 }
    private var hasGrid: Bool { (width / blockSize) * (height / blockSize) >= 2 }
    /// Number of whole blocks: the length tau must have.
    public var blockCount: Int { blockColumns * blockRows }
    /// Number of pixels outside the whole-block grid: the length of the edge permutation.
    public var edgePixelCount: Int { width * height - blockCount * blockSize * blockSize }

    /// Linear pixel indices (y * width + x) of the pixels outside the grid, row-first.
    public func edgePixelIndices() -> [Int] {
        let gridWidth = blockColumns * blockSize, gridHeight = blockRows * blockSize
        var out: [Int] = []
        out.reserveCapacity(edgePixelCount)
        for y in 0..<height {
            if y >= gridHeight {
                for x in 0..<width { out.append(y * width + x) }
            } else {
                for x in gridWidth..<width { out.append(y * width + x) }
            }
        }
        return out
    }
}

/// The per-frame scrambling key: tau over whole blocks and the permutation of edge pixels.
/// Convention (SCHEME.md): scrambled block i holds masked block tau[i]; recovery puts
/// block i back at tau[i]. The edge permutation follows the same convention on pixels.
public struct ScrambleKey: Equatable, Sendable {
    public let tau: Permutation
    public let edge: Permutation

    public init(tau: Permutation, edge: Permutation) {
        self.tau = tau
        self.edge = edge
    }

    /// Derives both permutations for `layout` from a 32-byte per-frame seed.
    public static func derive<S: Keystream>(seed: [UInt8], layout: BlockLayout, using stream: S.Type) throws
        -> ScrambleKey
    {
        ScrambleKey(
            tau: try .derive(count: layout.blockCount, seed: seed, domain: .tau, using: stream),
            edge: try .derive(count: layout.edgePixelCount, seed: seed, domain: .edgePixels, using: stream))
    }

    /// Throws a message naming both sizes when the key does not fit the layout.
    public func check(against layout: BlockLayout) throws {
        guard tau.count == layout.blockCount else {
            throw MSAIError.shapeMismatch(
                "frame \(layout.width)x\(layout.height) has \(layout.blockCount) blocks of \(layout.blockSize)x\(layout.blockSize) but tau has \(tau.count) entries"
            )
        }
        guard edge.count == layout.edgePixelCount else {
            throw MSAIError.shapeMismatch(
                "frame \(layout.width)x\(layout.height) has \(layout.edgePixelCount) edge pixels but the edge permutation has \(edge.count) entries"
            )
        }
    }
}

/// Block scrambling and its inverse. Pure data movement, a block's rows copied one by one into
/// an output that is not first filled: about 3 copies of the frame's time when the frame fits in
/// the cache (640 × 480), 8 when it does not (1080p), where reading blocks in τ's random order
/// costs a cache line and more per 24-byte row (docs/BENCHMARKS.md).
public enum BlockScrambler {
    public static func scramble(_ image: PixelBuffer, layout: BlockLayout, key: ScrambleKey) throws -> PixelBuffer {
        try move(image, layout: layout, key: key, forward: true)
    }

    public static func unscramble(_ image: PixelBuffer, layout: BlockLayout, key: ScrambleKey) throws -> PixelBuffer {
        try move(image, layout: layout, key: key, forward: false)
    }

    private static func move(_ image: PixelBuffer, layout: BlockLayout, key: ScrambleKey, forward: Bool) throws
        -> PixelBuffer
    {
        guard image.width == layout.width, image.height == layout.height else {
            throw MSAIError.shapeMismatch(
                "frame is \(image.width)x\(image.height) but its scramble layout is for \(layout.width)x\(layout.height)")
        }
        try key.check(against: layout)
        let channels = image.channels, b = layout.blockSize, columns = layout.blockColumns
        let stride = image.width * channels
        let blockRowBytes = b * channels
        let count = image.samples.count
        // Every sample is written below (tau covers every whole block, the edge permutation
        // every other pixel), so the output starts uninitialised rather than as a copy.
        let out = [UInt8](unsafeUninitializedCapacity: count) { target, initialized in
            image.samples.withUnsafeBufferPointer { source in
                let src = UnsafeRawPointer(source.baseAddress!), dst = UnsafeMutableRawPointer(target.baseAddress!)
                for i in 0..<key.tau.count {
                    let other = key.tau[i]
                    // forward: scrambled block i <- block tau[i]; backward: block tau[i] <- scrambled block i
                    let (to, from) = forward ? (i, other) : (other, i)
                    var fromRow = src + ((from / columns) * b * stride + (from % columns) * blockRowBytes)
                    var toRow = dst + ((to / columns) * b * stride + (to % columns) * blockRowBytes)
                    for _ in 0..<b {
                        copyRow(toRow, fromRow, blockRowBytes)
                        fromRow += stride
                        toRow += stride
                    }
                }
                if key.edge.count > 0 {
                    let positions = layout.edgePixelIndices()
                    for i in 0..<key.edge.count {
                        let other = positions[key.edge[i]], here = positions[i]
                        let (to, from) = forward ? (here, other) : (other, here)
                        (dst + to * channels).copyMemory(from: src + from * channels, byteCount: channels)
                    }
                }
            }
            initialized = count
        }
        return try PixelBuffer(width: image.width, height: image.height, channels: channels, samples: out)
    }
}

/// One row of a block: the usual sizes (8 × 8 blocks of RGB or grey) as a few unaligned loads and
/// stores, which a call to memmove for 24 bytes would cost several times over.
@inline(__always)
private func copyRow(_ target: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, _ bytes: Int) {
    switch bytes {
    case 24:
        target.storeBytes(of: source.loadUnaligned(as: SIMD16<UInt8>.self), as: SIMD16<UInt8>.self)
        target.storeBytes(of: source.loadUnaligned(fromByteOffset: 16, as: UInt64.self), toByteOffset: 16, as: UInt64.self)
    case 8:
        target.storeBytes(of: source.loadUnaligned(as: UInt64.self), as: UInt64.self)
    case 32:
        target.storeBytes(of: source.loadUnaligned(as: SIMD32<UInt8>.self), as: SIMD32<UInt8>.self)
    default:
        target.copyMemory(from: source, byteCount: bytes)
    }
}
