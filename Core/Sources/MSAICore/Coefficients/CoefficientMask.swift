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
    public static let dcRange: ClosedRange<Int> = -1024...1023
    public static let acRange: ClosedRange<Int> = -1023...1023

    /// The range of the coefficient at `index` (0…63, natural order; 0 is the DC).
    @inlinable
    public static func range(index: Int) -> ClosedRange<Int> { index == 0 ? dcRange : acRange }

    /// `c` shifted by `offset` within the range of coefficient `index`: ((c − low + offset) mod n) + low.
    @inlinable
    public static func mask(_ c: Int16, offset: Int, index: Int) throws -> Int16 {
        let range = range(index: index), n = range.count
        guard range.contains(Int(c)) else {
            throw MSAIError.invalidImage("a quantised coefficient (\(c), position \(index)) lies outside what a baseline 8-bit JPEG can code")
        }
        return Int16((Int(c) - range.lowerBound + offset % n + n) % n + range.lowerBound)
    }

    /// The inverse of `mask` for the same offset.
    @inlinable
    public static func unmask(_ c: Int16, offset: Int, index: Int) throws -> Int16 {
        let n = range(index: index).count
        return try mask(c, offset: n - offset % n, index: index)
    }

    /// Masks (or with `inverse`, unmasks) `blocks` (64 coefficients each, natural order) with an
    /// offset per coefficient: the next pad value from `pad` (uniform over the coefficient's range)
    /// plus the membrane value `membrane[i]`, one per coefficient in order.
    public static func apply<S: Keystream>(to blocks: inout ArraySlice<Int16>, pad: inout UniformSampler<S>, membrane: ArraySlice<UInt8>,
                                           inverse: Bool = false) throws {
        precondition(blocks.count % 64 == 0 && membrane.count == blocks.count)
        var m = membrane.startIndex
        for i in blocks.indices {
            let index = (i - blocks.startIndex) % 64
            let offset = Int(pad.integer(below: UInt64(range(index: index).count))) + Int(membrane[m])
            blocks[i] = inverse ? try unmask(blocks[i], offset: offset, index: index) : try mask(blocks[i], offset: offset, index: index)
            m += 1
        }
    }
}
