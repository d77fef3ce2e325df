import Foundation

/// Distortion and randomness figures: MSE, PSNR, histograms, Shannon entropy,
/// local Shannon entropy and adjacent-pixel correlation.
public enum ImageStatistics {
    /// Mean squared error over all samples.
    public static func mse(_ a: SampleSet, _ b: SampleSet) throws -> Double {
        try Differential.check(a, b)
        var sum = 0
        for i in 0..<a.count {
            let d = Int(a.values[i]) - Int(b.values[i])
            sum += d * d
        }
        return Double(sum) / Double(a.count)
    }

    /// 10 log₁₀(255² / MSE); +∞ when the images are identical.
    public static func psnr(mse: Double) -> Double {
        mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    /// 256-bin histograms, one per channel: bin v counts samples equal to v (every value has
    /// its own bin; 254 and 255 are not merged).
    public static func histograms(_ s: SampleSet) -> [[Int]] {
        var bins = [[Int]](repeating: [Int](repeating: 0, count: 256), count: s.channels)
        for i in 0..<s.count { bins[i % s.channels][Int(s.values[i])] += 1 }
        return bins
    }

    /// Shannon entropy in bits of a 256-bin histogram (at most 8).
    public static func entropy(histogram: [Int]) -> Double {
        let total = Double(histogram.reduce(0, +))
        guard total > 0 else { return 0 }
        var h = 0.0
        for count in histogram where count > 0 {
            let p = Double(count) / total
            h -= p * log2(p)
        }
        return h
    }

    /// Shannon entropy per channel.
    public static func entropy(_ s: SampleSet) -> ChannelFigures {
        ChannelFigures(perChannel: histograms(s).map { entropy(histogram: $0) })
    }

    /// Local Shannon entropy (Wu et al., Information Sciences 2013): the mean entropy of k
    /// non-overlapping blocks of T_B pixels, with (k, T_B) = (30, 1936), i.e. 44 × 44 tiles.
    /// Tiles are picked among the image's tile grid by a fixed-seed shuffle so the figure is
    /// reproducible; with fewer than k tiles all are used; nil when no tile fits.
    /// A permutation alone leaves global entropy unchanged; local entropy sees it.
    public static func localEntropy(_ image: PixelBuffer, blocks: Int = 30, side: Int = 44, seed: UInt64 = 0x5eed)
        -> ChannelFigures?
    {
        let columns = image.width / side, rows = image.height / side
        guard columns > 0, rows > 0 else { return nil }
        var tiles = Array(0..<(columns * rows))
        var generator = SplitMix64(seed: seed)
        tiles.shuffle(using: &generator)
        let chosen = tiles.prefix(blocks)
        var sums = [Double](repeating: 0, count: image.channels)
        for tile in chosen {
            let rect = Rect(x: (tile % columns) * side, y: (tile / columns) * side, width: side, height: side)
            // The rect is inside the image by construction.
            guard let block = try? image.cropped(to: rect) else { continue }
            for (c, h) in entropy(block.sampleSet).perChannel.enumerated() { sums[c] += h }
        }
        return ChannelFigures(perChannel: sums.map { $0 / Double(chosen.count) })
    }

    public enum Direction: String, CaseIterable, Sendable, Codable {
        case horizontal, vertical, diagonal
        var offset: (dx: Int, dy: Int) {
            switch self {
            case .horizontal: return (1, 0)
            case .vertical: return (0, 1)
            case .diagonal: return (1, 1)
            }
        }
    }

    /// Pearson correlation of every pair of adjacent pixels in `direction` inside `areas`
    /// (pairs from all areas pooled), per channel. Near 1 for natural images, near 0 when masked.
    /// NaN when a channel is constant or no pair fits.
    public static func adjacentCorrelation(_ image: PixelBuffer, in areas: [Rect], direction: Direction) throws
        -> ChannelFigures
    {
        let (dx, dy) = direction.offset
        let c = image.channels
        var sx = [Double](repeating: 0, count: c), sy = sx, sxx = sx, syy = sx, sxy = sx
        var n = 0.0
        for area in areas {
            try image.checkContains(area)
            guard area.width > dx, area.height > dy else { continue }
            image.samples.withUnsafeBufferPointer { p in
                for y in area.y..<(area.maxY - dy) {
                    for x in area.x..<(area.maxX - dx) {
                        let i = (y * image.width + x) * c, j = ((y + dy) * image.width + x + dx) * c
                        for ch in 0..<c {
                            let u = Double(p[i + ch]), v = Double(p[j + ch])
                            sx[ch] += u
                            sy[ch] += v
                            sxx[ch] += u * u
                            syy[ch] += v * v
                            sxy[ch] += u * v
                        }
                    }
                }
            }
            n += Double((area.width - dx) * (area.height - dy))
        }
        return ChannelFigures(perChannel: (0..<c).map { ch in
            let cov = sxy[ch] / n - sx[ch] / n * sy[ch] / n
            let vx = sxx[ch] / n - sx[ch] / n * sx[ch] / n, vy = syy[ch] / n - sy[ch] / n * sy[ch] / n
            return vx > 0 && vy > 0 ? cov / (vx * vy).squareRoot() : .nan
        })
    }

    /// The Pearson correlation of two images' edge maps inside `areas` (pixels of all areas
    /// pooled): the Sobel gradient magnitude of each pixel's luma (the mean of its channels),
    /// at pixels whose 3×3 neighbourhood lies inside the area. Near 1 when the masked areas still
    /// show the original's outlines (a mask that keeps each DCT coefficient's magnitude class
    /// would), near 0 when they show none. NaN when either map is constant or no pixel fits.
    public static func edgeCorrelation(_ a: PixelBuffer, _ b: PixelBuffer, in areas: [Rect]) throws -> Double {
        guard a.width == b.width, a.height == b.height, a.channels == b.channels else {
            throw MSAIError.shapeMismatch("edge maps of a \(a.sizeDescription) image and a \(b.sizeDescription) one")
        }
        var sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0, n = 0.0
        for area in areas {
            try a.checkContains(area)
            guard area.width > 2, area.height > 2 else { continue }
            for y in (area.y + 1)..<(area.maxY - 1) {
                for x in (area.x + 1)..<(area.maxX - 1) {
                    let u = sobel(a, x, y), v = sobel(b, x, y)
                    sx += u; sy += v; sxx += u * u; syy += v * v; sxy += u * v; n += 1
                }
            }
        }
        guard n > 0 else { return .nan }
        let cov = sxy / n - sx / n * sy / n, vx = sxx / n - sx / n * sx / n, vy = syy / n - sy / n * sy / n
        return vx > 0 && vy > 0 ? cov / (vx * vy).squareRoot() : .nan
    }

    /// Sobel gradient magnitude of the luma at (x, y), which has all 8 neighbours.
    private static func sobel(_ image: PixelBuffer, _ x: Int, _ y: Int) -> Double {
        func luma(_ x: Int, _ y: Int) -> Double {
            let i = (y * image.width + x) * image.channels
            var sum = 0
            for c in 0..<image.channels { sum += Int(image.samples[i + c]) }
            return Double(sum) / Double(image.channels)
        }
        let gx = luma(x + 1, y - 1) + 2 * luma(x + 1, y) + luma(x + 1, y + 1) - luma(x - 1, y - 1) - 2 * luma(x - 1, y) - luma(x - 1, y + 1)
        let gy = luma(x - 1, y + 1) + 2 * luma(x, y + 1) + luma(x + 1, y + 1) - luma(x - 1, y - 1) - 2 * luma(x, y - 1) - luma(x + 1, y - 1)
        return (gx * gx + gy * gy).squareRoot()
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64). Not cryptographic:
/// used for reproducible choices in metrics and for seeded test data, never for keys.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
