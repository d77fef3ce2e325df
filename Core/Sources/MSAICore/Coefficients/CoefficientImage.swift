/// An image as the quantised DCT coefficients of its 8×8 blocks, per colour component, as a JPEG
/// holds them: what masking in the DCT domain changes. Pure data and geometry; reading and
/// writing JPEGs is MSAIImageIO's (`JPEGTranscoder`).
public struct CoefficientImage: Sendable, Equatable {
    /// One colour component: its sampling factors, its blocks (8×8 quantised coefficients each,
    /// natural order, row by row of blocks) and its quantisation table.
    public struct Component: Sendable, Equatable {
        public let horizontalSampling: Int
        public let verticalSampling: Int
        public let blocksWide: Int
        public let blocksHigh: Int
        public let quantization: [UInt16]
        public var coefficients: [Int16]

        public init(horizontalSampling: Int, verticalSampling: Int, blocksWide: Int, blocksHigh: Int, quantization: [UInt16],
                    coefficients: [Int16]) {
            self.horizontalSampling = horizontalSampling
            self.verticalSampling = verticalSampling
            self.blocksWide = blocksWide
            self.blocksHigh = blocksHigh
            self.quantization = quantization
            self.coefficients = coefficients
        }

        /// The 64 coefficients of block (`x`, `y`) start here in `coefficients`.
        public func offset(x: Int, y: Int) -> Int { (y * blocksWide + x) * 64 }
    }

    /// The block geometry (MCU grid, sampling, blocks), made once from the components.
    public let layout: CoefficientLayout
    public var components: [Component]

    public var width: Int { layout.width }
    public var height: Int { layout.height }
    public var maxHorizontalSampling: Int { layout.maxHorizontalSampling }
    public var maxVerticalSampling: Int { layout.maxVerticalSampling }

    public init(width: Int, height: Int, maxHorizontalSampling: Int, maxVerticalSampling: Int, components: [Component]) {
        layout = CoefficientLayout(
            width: width, height: height, maxHorizontalSampling: maxHorizontalSampling, maxVerticalSampling: maxVerticalSampling,
            components: components.map {
                .init(horizontalSampling: $0.horizontalSampling, verticalSampling: $0.verticalSampling, blocksWide: $0.blocksWide,
                      blocksHigh: $0.blocksHigh)
            })
        self.components = components
    }

    /// MCUs whose every block is stored (`CoefficientLayout.wholeMCUs`).
    public var wholeMCUs: (wide: Int, high: Int) { layout.wholeMCUs }

    /// Swaps the blocks of MCU `a` and MCU `b` (column, row), in every component.
    public mutating func swapMCUs(_ a: (x: Int, y: Int), _ b: (x: Int, y: Int)) {
        for index in components.indices {
            let h = components[index].horizontalSampling, v = components[index].verticalSampling
            for dy in 0..<v {
                for dx in 0..<h {
                    let first = components[index].offset(x: a.x * h + dx, y: a.y * v + dy)
                    let second = components[index].offset(x: b.x * h + dx, y: b.y * v + dy)
                    for k in 0..<64 { components[index].coefficients.swapAt(first + k, second + k) }
                }
            }
        }
    }

    /// The whole MCUs moved by `tau` (a permutation of wide × high of them, row by row): MCU i
    /// of the result is MCU tau[i] of this image, in every component. `tau.inverse` undoes it.
    public func permutingMCUs(_ tau: Permutation) throws -> CoefficientImage {
        let (wide, high) = wholeMCUs
        guard tau.count == wide * high else {
            throw MSAIError.shapeMismatch("tau of \(tau.count) entries for \(wide)x\(high) whole MCUs")
        }
        var out = self
        for index in components.indices {
            let component = components[index]
            let (h, v) = (component.horizontalSampling, component.verticalSampling)
            let run = h * 64
            component.coefficients.withUnsafeBufferPointer { source in
                out.components[index].coefficients.withUnsafeMutableBufferPointer { target in
                    for i in 0..<(wide * high) {
                        let from = tau[i]
                        for dy in 0..<v {
                            let to = component.offset(x: (i % wide) * h, y: (i / wide) * v + dy)
                            let at = component.offset(x: (from % wide) * h, y: (from / wide) * v + dy)
                            target.baseAddress!.advanced(by: to).update(from: source.baseAddress!.advanced(by: at), count: run)
                        }
                    }
                }
            }
        }
        return out
    }

    /// The MCUs that cover `area` (`CoefficientLayout.mcus(covering:)`).
    public func mcus(covering area: Rect) -> (columns: Range<Int>, rows: Range<Int>) { layout.mcus(covering: area) }
}
