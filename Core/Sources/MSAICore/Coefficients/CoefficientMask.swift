import Foundation

/// Masking a JPEG's quantised DCT coefficients (the DCT-domain `jpeg` mode, issue 17): each
/// coefficient of an area is shifted by a keyed offset, modulo the number of values the 8-bit
/// baseline Huffman coder can carry, so a masked frame is still a valid JPEG and the mask is a
/// bijection on that range. The offset is the sum of the data center's pad (uniform over the
/// range, from the τ seed's pad key) and the cloud's membrane value: the edge needs both, and
/// either alone leaves the coefficient uniform.
///
/// The range: an AC coefficient's magnitude category is at most 10 (|c| ≤ 1023); a DC
/// coefficient is coded as the difference from the block before, whose category is at most 11
/// (|d| ≤ 2047), which every pair of DC values in −1024…1023 keeps, whatever order blocks end in.
public enum CoefficientMask {
    /// The range a frame's masked coefficients are shifted within, as its manifest records it.
    public enum Range: String, Codable, Sendable {
        /// Each position's `boundedRange` under its quantiser (the default: fewer bits).
        case quantiser
        /// The whole baseline range (when a coefficient of the frame lies outside its bound).
        case baseline
    }

    public static let dcRange: ClosedRange<Int> = -1024...1023
    public static let acRange: ClosedRange<Int> = -1023...1023

    /// The range of the coefficient at `index` (0…63, natural order; 0 is the DC).
    @inlinable
    public static func range(index: Int) -> ClosedRange<Int> { index == 0 ? dcRange : acRange }

    /// The values the coefficient at `index` can take in a block of 8-bit samples quantised by
    /// `quantizer`: |c| ≤ ⌈max|F(u,v)| / q⌉ + 1, where F is the DCT of samples in −128…127, so
    /// max|F(u,v)| = ¼·C(u)·C(v)·128·S(u)·S(v) with S(u) = Σₓ|cos((2x+1)uπ/16)| (S(0) = 8,
    /// C(0) = 1/√2, else 1), and 1 more for the integer DCT's rounding; within the baseline range.
    /// The quantisation table is in the JPEG's header, so both ends of the mask know it; a mask
    /// over this range costs far fewer bits than over the whole baseline range.
    public static func boundedRange(index: Int, quantizer: Int) -> ClosedRange<Int> {
        let full = range(index: index)
        let bound = Int((maximumDCT[index] / Double(max(1, quantizer))).rounded(.up)) + 1
        return max(full.lowerBound, -bound)...min(full.upperBound, bound)
    }

    /// max|F(u,v)| for 8-bit samples, natural order.
    @usableFromInline static let maximumDCT: [Double] = {
        func s(_ u: Int) -> Double { (0..<8).reduce(0) { $0 + abs(cos(Double(2 * $1 + 1) * Double(u) * Double.pi / 16)) } }
        func c(_ u: Int) -> Double { u == 0 ? 1 / 2.0.squareRoot() : 1 }
        return (0..<64).map { k in
            let (v, u) = (k / 8, k % 8)
            return 0.25 * c(u) * c(v) * 128 * s(u) * s(v)
        }
    }()

    /// `c` shifted by `offset` within the range of coefficient `index`: ((c − low + offset) mod n) + low.
    @inlinable
    public static func mask(_ c: Int16, offset: Int, index: Int) throws -> Int16 {
        try mask(c, offset: offset, within: range(index: index), index: index)
    }

    /// `c` shifted by `offset` within `range`.
    @inlinable
    public static func mask(_ c: Int16, offset: Int, within range: ClosedRange<Int>, index: Int) throws -> Int16 {
        let n = range.count
        guard range.contains(Int(c)) else {
            throw MSAIError.invalidImage("a quantised coefficient (\(c), position \(index)) lies outside \(range.lowerBound)...\(range.upperBound), the values it can take")
        }
        return Int16((Int(c) - range.lowerBound + offset % n + n) % n + range.lowerBound)
    }

    /// The inverse of `mask` for the same offset.
    @inlinable
    public static func unmask(_ c: Int16, offset: Int, index: Int) throws -> Int16 {
        try unmask(c, offset: offset, within: range(index: index), index: index)
    }

    /// The inverse of `mask(_:offset:within:index:)` for the same offset and range.
    @inlinable
    public static func unmask(_ c: Int16, offset: Int, within range: ClosedRange<Int>, index: Int) throws -> Int16 {
        let n = range.count
        return try mask(c, offset: n - offset % n, within: range, index: index)
    }

    /// The whole baseline range of each position: what `apply` masks over unless told otherwise.
    public static let baselineRanges: [ClosedRange<Int>] = (0..<64).map { range(index: $0) }

    /// Each position's `boundedRange` under a component's quantisation table (natural order).
    public static func boundedRanges(quantization: [UInt16]) -> [ClosedRange<Int>] {
        (0..<64).map { boundedRange(index: $0, quantizer: Int(quantization[$0])) }
    }

    /// Masks (or with `inverse`, unmasks) `blocks` (64 coefficients each, natural order) with an
    /// offset per coefficient: the next pad value from `pad` (uniform over the coefficient's range,
    /// `ranges[position]`, drawn as `UniformSampler.integer(below:)` draws) plus the membrane value
    /// `membrane[i]`, one per coefficient in order. The same values as `mask`/`unmask` one by one,
    /// without a division: each range's remainders come from a precomputed reciprocal. Inlinable so
    /// that it is specialised for the keystream (unspecialised, every pad value goes through a
    /// witness table).
    @inlinable
    public static func apply<S: Keystream>(to blocks: inout ArraySlice<Int16>, pad: inout UniformSampler<S>, membrane: ArraySlice<UInt8>,
                                           ranges: [ClosedRange<Int>] = baselineRanges, inverse: Bool = false) throws {
        try apply(to: &blocks, pad: &pad, membrane: membrane, positions: ranges.map(Position.init), inverse: inverse)
    }

    /// The same with each position's range prepared (`Position`), as callers masking many blocks do once.
    @inlinable
    public static func apply<S: Keystream>(to blocks: inout ArraySlice<Int16>, pad: inout UniformSampler<S>, membrane: ArraySlice<UInt8>,
                                           positions: [Position], inverse: Bool = false) throws {
        precondition(blocks.count % 64 == 0 && membrane.count == blocks.count && positions.count == 64)
        var m = membrane.startIndex, k = 0
        for i in blocks.indices {
            let p = positions[k]
            var word: UInt32
            repeat { word = pad.nextWord() } while UInt64(word) >= p.limit
            let padValue = p.remainder(word)
            let c = Int(blocks[i])
            guard c >= p.low && c <= p.high else {
                throw MSAIError.invalidImage("a quantised coefficient (\(c), position \(k)) lies outside \(p.low)...\(p.high), the values it can take")
            }
            let x = UInt32(c - p.low), offset = padValue + UInt32(membrane[m])
            let y = inverse ? p.remainder(x + p.n - p.remainder(offset)) : p.remainder(x + offset)
            blocks[i] = Int16(Int(y) + p.low)
            m += 1
            k = (k + 1) & 63
        }
    }

    /// One position's range, with what masking needs of it precomputed: its size n, the rejection
    /// limit for drawing below n from 32-bit words (2³² − 2³² mod n), and the reciprocal that gives
    /// a mod n by two multiplications, exact for every 32-bit a (Lemire, Kaser and Kurz, 2019).
    public struct Position: Sendable {
        @usableFromInline let low: Int
        @usableFromInline let high: Int
        @usableFromInline let n: UInt32
        @usableFromInline let limit: UInt64
        @usableFromInline let reciprocal: UInt64

        public init(_ range: ClosedRange<Int>) {
            low = range.lowerBound
            high = range.upperBound
            n = UInt32(range.count)
            limit = (1 << 32) - (1 << 32) % UInt64(n)
            reciprocal = UInt64.max / UInt64(n) &+ 1
        }

        /// a mod n.
        @inlinable
        func remainder(_ a: UInt32) -> UInt32 {
            let fraction = reciprocal &* UInt64(a)
            return UInt32(truncatingIfNeeded: fraction.multipliedFullWidth(by: UInt64(n)).high)
        }
    }
}
