/// A JPEG's block geometry, as its header gives it: size, MCU grid, each component's sampling and
/// blocks. What both ends of the DCT-domain `jpeg` mode agree on before any coefficient is read:
/// which blocks an area touches, how many coefficients (membrane values) that is, and which MCUs
/// τ moves.
public struct CoefficientLayout: Sendable, Equatable {
    public struct Component: Sendable, Equatable {
        public let horizontalSampling: Int
        public let verticalSampling: Int
        public let blocksWide: Int
        public let blocksHigh: Int

        public init(horizontalSampling: Int, verticalSampling: Int, blocksWide: Int, blocksHigh: Int) {
            self.horizontalSampling = horizontalSampling
            self.verticalSampling = verticalSampling
            self.blocksWide = blocksWide
            self.blocksHigh = blocksHigh
        }
    }

    public let width: Int
    public let height: Int
    public let maxHorizontalSampling: Int
    public let maxVerticalSampling: Int
    public let components: [Component]

    public init(width: Int, height: Int, maxHorizontalSampling: Int, maxVerticalSampling: Int, components: [Component]) {
        self.width = width
        self.height = height
        self.maxHorizontalSampling = maxHorizontalSampling
        self.maxVerticalSampling = maxVerticalSampling
        self.components = components
    }

    /// An MCU's size in pixels (16×16 for 4:2:0, 16×8 for 4:2:2, 8×8 for 4:4:4 and grayscale).
    public var mcuWidth: Int { 8 * maxHorizontalSampling }
    public var mcuHeight: Int { 8 * maxVerticalSampling }

    /// Minimum coded units across and down, the partial ones at the right and bottom included.
    public var mcusWide: Int { (width + mcuWidth - 1) / mcuWidth }
    public var mcusHigh: Int { (height + mcuHeight - 1) / mcuHeight }

    /// MCUs whose every block is stored, across and down. A partial MCU at the right or bottom
    /// edge has blocks the encoder makes up (copies of its last DC), so it cannot move: what
    /// permutes MCUs leaves those in place.
    public var wholeMCUs: (wide: Int, high: Int) {
        var wide = mcusWide, high = mcusHigh
        for c in components {
            wide = min(wide, c.blocksWide / c.horizontalSampling)
            high = min(high, c.blocksHigh / c.verticalSampling)
        }
        return (wide, high)
    }

    /// The layout τ is derived for: one "block" per whole MCU (a grid of wide × high blocks of
    /// one pixel), so that τ's length is the number of MCUs that move. Both ends derive τ from
    /// the frame's scrambling key with this layout; fewer than two whole MCUs (an image less
    /// than two MCUs wide and high, or narrower or lower than one) give an empty τ: nothing moves.
    public var tauLayout: BlockLayout {
        get throws {
            let (wide, high) = wholeMCUs
            guard wide * high >= 2 else { return try BlockLayout(width: 1, height: 1, blockSize: 1) }
            return try BlockLayout(width: wide, height: high, blockSize: 1)
        }
    }

    /// The MCUs (column and row ranges) that cover `area` (pixels), clipped to the image's MCUs.
    public func mcus(covering area: Rect) -> (columns: Range<Int>, rows: Range<Int>) {
        let columns = max(0, area.x / mcuWidth)..<min(mcusWide, (area.maxX + mcuWidth - 1) / mcuWidth)
        let rows = max(0, area.y / mcuHeight)..<min(mcusHigh, (area.maxY + mcuHeight - 1) / mcuHeight)
        return (columns.isEmpty ? 0..<0 : columns, rows.isEmpty ? 0..<0 : rows)
    }

    /// Each component's blocks (column and row ranges of its stored blocks) inside MCUs `mcus`.
    public func blocks(of mcus: (columns: Range<Int>, rows: Range<Int>)) -> CoefficientBlocks {
        CoefficientBlocks(components.map { c in
            let (h, v) = (c.horizontalSampling, c.verticalSampling)
            return .init(columns: clip(mcus.columns.lowerBound * h, mcus.columns.upperBound * h, c.blocksWide),
                         rows: clip(mcus.rows.lowerBound * v, mcus.rows.upperBound * v, c.blocksHigh))
        })
    }

    /// Each component's blocks that hold any pixel of `area`: a full-resolution component's 8×8
    /// blocks that touch it, a subsampled one's larger blocks (16×16 pixels for 4:2:0 chroma)
    /// that touch it. Masking these masks every sample of every pixel of the area, and no more
    /// than the blocks it needs.
    public func blocks(covering area: Rect) -> CoefficientBlocks {
        guard !area.isEmpty else { return CoefficientBlocks(components.map { _ in .init(columns: 0..<0, rows: 0..<0) }) }
        let byMCU = blocks(of: mcus(covering: area))
        return CoefficientBlocks(components.indices.map { i in
            let c = components[i]
            // A sampling factor that does not divide the largest (3 against 2, say) has blocks
            // that do not tile pixels evenly: such a component is masked by whole MCUs.
            guard maxHorizontalSampling % c.horizontalSampling == 0, maxVerticalSampling % c.verticalSampling == 0 else { return byMCU.components[i] }
            let (bw, bh) = (8 * maxHorizontalSampling / c.horizontalSampling, 8 * maxVerticalSampling / c.verticalSampling)
            return .init(columns: clip(area.x / bw, (area.maxX + bw - 1) / bw, c.blocksWide),
                         rows: clip(area.y / bh, (area.maxY + bh - 1) / bh, c.blocksHigh))
        })
    }

    private func clip(_ lower: Int, _ upper: Int, _ count: Int) -> Range<Int> {
        let l = max(0, lower), u = min(count, upper)
        return l < u ? l..<u : 0..<0
    }

    /// The areas a frame's `areas` become in the `jpeg` mode, in order: each clipped to the image
    /// (an area outside it is dropped) and cut, at MCU row boundaries, into bands of at most
    /// `maximumBlocks` blocks, so that each band's membrane (blocks × 64 values) stays within a
    /// membrane's shape. Areas may overlap: each is masked in turn, and unmasked in the reverse
    /// order.
    public func maskedAreas(for areas: [Rect], maximumBlocks: Int = MembraneShape.maximumSide) -> [Rect] {
        let image = Rect(x: 0, y: 0, width: width, height: height)
        var out: [Rect] = []
        for area in areas {
            let clipped = area.intersection(image)
            guard let clipped, !clipped.isEmpty else { continue }
            let rows = mcus(covering: clipped).rows
            // The blocks of one whole MCU row across the area's columns: no row of the area
            // touches more (its first and last may touch fewer).
            let perRow = max(1, blocks(covering: Rect(x: clipped.x, y: rows.lowerBound * mcuHeight, width: clipped.width, height: mcuHeight)).count)
            let rowsPerBand = max(1, maximumBlocks / perRow)
            var row = rows.lowerBound
            while row < rows.upperBound {
                let end = min(rows.upperBound, row + rowsPerBand)
                let band = Rect(x: 0, y: row * mcuHeight, width: width, height: (end - row) * mcuHeight)
                if let piece = clipped.intersection(band), !piece.isEmpty { out.append(piece) }
                row = end
            }
        }
        return out
    }

    /// The membrane an area of this layout needs: one row of 64 values per block it touches.
    public func membraneShape(for area: Rect) throws -> MembraneShape {
        try MembraneShape(rows: blocks(covering: area).count, cols: 64, channels: 1)
    }
}

/// Each component's blocks an area masks: a column and a row range of its stored blocks, in
/// the components' order. Masking walks them component by component, row by row.
public struct CoefficientBlocks: Sendable, Equatable {
    public struct Range2D: Sendable, Equatable {
        public let columns: Range<Int>
        public let rows: Range<Int>
        public var count: Int { columns.count * rows.count }
    }

    public let components: [Range2D]

    public init(_ components: [Range2D]) { self.components = components }

    /// Blocks in all: one membrane row of 64 values each.
    public var count: Int { components.reduce(0) { $0 + $1.count } }
}
