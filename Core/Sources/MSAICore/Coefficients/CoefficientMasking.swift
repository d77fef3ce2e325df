/// Masking an area of a coefficient image (the DCT-domain `jpeg` mode): every coefficient of every
/// block, in every component, that holds a pixel of the area (`CoefficientLayout.blocks(covering:)`)
/// is shifted by `CoefficientMask` with the next pad value and the next membrane value; the masked
/// image is then moved by τ over whole MCUs (`CoefficientImage.permutingMCUs`). Unmasking runs the
/// same with `inverse`, areas in the reverse order when they share blocks.
public enum CoefficientMasking {
    /// How many coefficients an area of `mcus` masks: one membrane value is needed for each.
    public static func coefficientCount(in mcus: (columns: Range<Int>, rows: Range<Int>), of image: CoefficientImage) -> Int {
        image.layout.blocks(of: mcus).count * 64
    }

    /// Whether every stored coefficient of `image` lies within its range: its quantiser's bound
    /// (`CoefficientMask.boundedRange`) when `bounded`, else the whole baseline range. The edge
    /// masks within the bounds only when they hold everywhere, and the data center accepts a
    /// frame only when its coefficients (τ has moved them) fit the range its manifest names.
    public static func fitsRanges(_ image: CoefficientImage, bounded: Bool) -> Bool {
        for component in image.components {
            let ranges = bounded ? CoefficientMask.boundedRanges(quantization: component.quantization) : CoefficientMask.baselineRanges
            let lows = ranges.map { Int16($0.lowerBound) }, highs = ranges.map { Int16($0.upperBound) }
            let fits = component.coefficients.withUnsafeBufferPointer { all in
                lows.withUnsafeBufferPointer { lows in
                    highs.withUnsafeBufferPointer { highs in
                        // Blocks are stored one after another: position k of each is at i mod 64.
                        var outside = false
                        for i in all.indices { outside = outside || all[i] < lows[i & 63] || all[i] > highs[i & 63] }
                        return !outside
                    }
                }
            }
            if !fits { return false }
        }
        return true
    }

    /// Masks (or with `inverse`, unmasks) the area of `mcus` in place (`apply(to:blocks:…)`).
    @inlinable
    public static func apply<S: Keystream>(to image: inout CoefficientImage, mcus: (columns: Range<Int>, rows: Range<Int>),
                                           pad: inout UniformSampler<S>, membrane: [UInt8], bounded: Bool, inverse: Bool = false) throws {
        try apply(to: &image, blocks: image.layout.blocks(of: mcus), pad: &pad, membrane: membrane, bounded: bounded, inverse: inverse)
    }

    /// Masks (or with `inverse`, unmasks) `blocks` in place: component by component, block row
    /// by block row, each coefficient shifted within its range (its quantiser's bound when
    /// `bounded`, else the whole baseline range) by the next value of `pad` and of `membrane`.
    @inlinable
    public static func apply<S: Keystream>(to image: inout CoefficientImage, blocks: CoefficientBlocks,
                                           pad: inout UniformSampler<S>, membrane: [UInt8], bounded: Bool, inverse: Bool = false) throws {
        let needed = blocks.count * 64
        guard membrane.count == needed, blocks.components.count == image.components.count else {
            throw MSAIError.shapeMismatch("a membrane of \(membrane.count) values for an area of \(needed) coefficients")
        }
        var used = 0
        for (index, range) in blocks.components.enumerated() {
            // Only what the loop needs is taken from the component: a copy of it would share the
            // coefficients and make the first write copy all of them.
            let positions = (bounded ? CoefficientMask.boundedRanges(quantization: image.components[index].quantization) : CoefficientMask.baselineRanges)
                .map(CoefficientMask.Position.init)
            guard range.columns.upperBound <= image.components[index].blocksWide, range.rows.upperBound <= image.components[index].blocksHigh else {
                throw MSAIError.shapeMismatch("blocks outside component \(index)")
            }
            for y in range.rows {
                for x in range.columns {
                    let start = image.components[index].offset(x: x, y: y)
                    // Masked in place, through the array's own slice.
                    try CoefficientMask.apply(to: &image.components[index].coefficients[start..<(start + 64)], pad: &pad,
                                              membrane: membrane[used..<(used + 64)], positions: positions, inverse: inverse)
                    used += 64
                }
            }
        }
    }
}
