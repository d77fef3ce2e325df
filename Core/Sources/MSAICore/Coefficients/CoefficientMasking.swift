/// Masking an area of a coefficient image (the DCT-domain `jpeg` mode): every coefficient of every
/// block, in every component, of the whole MCUs that cover the area is shifted by `CoefficientMask`
/// with the next pad value and the next membrane value; the masked image is then moved by τ over
/// whole MCUs (`CoefficientImage.permutingMCUs`). Unmasking runs the same with `inverse`, areas in
/// the reverse order when they share MCUs.
public enum CoefficientMasking {
    /// The blocks of `component` inside MCUs `mcus`, row by row (a partial edge MCU's blocks that
    /// the file does not store are left out).
    public static func blocks(of component: CoefficientImage.Component, in mcus: (columns: Range<Int>, rows: Range<Int>)) -> [(x: Int, y: Int)] {
        CoefficientLayout.blocks(of: .init(horizontalSampling: component.horizontalSampling, verticalSampling: component.verticalSampling,
                                           blocksWide: component.blocksWide, blocksHigh: component.blocksHigh), in: mcus)
    }

    /// How many coefficients an area of `mcus` masks: one membrane value is needed for each.
    public static func coefficientCount(in mcus: (columns: Range<Int>, rows: Range<Int>), of image: CoefficientImage) -> Int {
        image.components.reduce(0) { $0 + blocks(of: $1, in: mcus).count * 64 }
    }

    /// Whether every coefficient of the area of `mcus` lies within its quantiser's bound
    /// (`CoefficientMask.boundedRange`; with `bounded` false, the whole baseline range), so that
    /// the area can be masked, or unmasked, over those ranges.
    public static func fitsQuantiserBounds(_ image: CoefficientImage, mcus: (columns: Range<Int>, rows: Range<Int>), bounded: Bool = true) -> Bool {
        for component in image.components {
            let ranges = bounded ? CoefficientMask.boundedRanges(quantization: component.quantization) : CoefficientMask.baselineRanges
            let lows = ranges.map { Int16($0.lowerBound) }, highs = ranges.map { Int16($0.upperBound) }
            for block in blocks(of: component, in: mcus) {
                let start = component.offset(x: block.x, y: block.y)
                for k in 0..<64 where component.coefficients[start + k] < lows[k] || component.coefficients[start + k] > highs[k] { return false }
            }
        }
        return true
    }

    /// Masks (or with `inverse`, unmasks) the area of `mcus` in place: component by component,
    /// block by block, each coefficient shifted within its range (its quantiser's bound when
    /// `bounded`, else the whole baseline range) by the next value of `pad` and of `membrane`.
    @inlinable
    public static func apply<S: Keystream>(to image: inout CoefficientImage, mcus: (columns: Range<Int>, rows: Range<Int>),
                                           pad: inout UniformSampler<S>, membrane: [UInt8], bounded: Bool, inverse: Bool = false) throws {
        let needed = coefficientCount(in: mcus, of: image)
        guard membrane.count == needed else {
            throw MSAIError.shapeMismatch("a membrane of \(membrane.count) values for an area of \(needed) coefficients")
        }
        var used = 0
        for index in image.components.indices {
            // Only what the loop needs is taken from the component: a copy of it would share the
            // coefficients and make the first write copy all of them.
            let ranges = bounded ? CoefficientMask.boundedRanges(quantization: image.components[index].quantization) : CoefficientMask.baselineRanges
            let starts = blocks(of: image.components[index], in: mcus).map { image.components[index].offset(x: $0.x, y: $0.y) }
            for start in starts {
                // Masked in place, through the array's own slice.
                try CoefficientMask.apply(to: &image.components[index].coefficients[start..<(start + 64)], pad: &pad,
                                          membrane: membrane[used..<(used + 64)], ranges: ranges, inverse: inverse)
                used += 64
            }
        }
    }
}
