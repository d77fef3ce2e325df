/// A JPEG's block geometry, as its header gives it: size, MCU grid, each component's sampling and
/// blocks. What both ends of the DCT-domain `jpeg` mode agree on before any coefficient is read:
/// which MCUs an area covers, how many coefficients (membrane values) that is, and which MCUs τ
/// moves.
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

    /// The pixels of MCUs `mcus`, clipped to the image.
    public func rect(of mcus: (columns: Range<Int>, rows: Range<Int>)) -> Rect {
        let x = mcus.columns.lowerBound * mcuWidth, y = mcus.rows.lowerBound * mcuHeight
        return Rect(x: x, y: y, width: min(width, mcus.columns.upperBound * mcuWidth) - x,
                    height: min(height, mcus.rows.upperBound * mcuHeight) - y)
    }

    /// Whether `area` is exactly the pixels of the MCUs that cover it (what a `jpeg` area must be).
    public func isAligned(_ area: Rect) -> Bool {
        !area.isEmpty && area.fits(width: width, height: height) && rect(of: mcus(covering: area)) == area
    }

    /// The blocks of `component` inside MCUs `mcus`, row by row (a partial edge MCU's blocks
    /// that the file does not store are left out).
    public static func blocks(of component: Component, in mcus: (columns: Range<Int>, rows: Range<Int>)) -> [(x: Int, y: Int)] {
        let (h, v) = (component.horizontalSampling, component.verticalSampling)
        let xs = (mcus.columns.lowerBound * h)..<min(component.blocksWide, mcus.columns.upperBound * h)
        let ys = (mcus.rows.lowerBound * v)..<min(component.blocksHigh, mcus.rows.upperBound * v)
        return ys.flatMap { y in xs.map { x in (x, y) } }
    }

    /// The blocks of every component inside MCUs `mcus`: one membrane row of 64 values each.
    public func blockCount(in mcus: (columns: Range<Int>, rows: Range<Int>)) -> Int {
        components.reduce(0) { $0 + Self.blocks(of: $1, in: mcus).count }
    }

    /// The areas a frame's `areas` become in the `jpeg` mode, in order: each widened to the MCUs
    /// that cover it (clipped to the image; an area outside it is dropped) and cut into bands of
    /// whole MCU rows of at most `maximumBlocks` blocks, so that each band's membrane
    /// (blocks × 64 values) stays within a membrane's shape. Areas may overlap: each is masked
    /// in turn, and unmasked in the reverse order.
    public func maskedAreas(for areas: [Rect], maximumBlocks: Int = MembraneShape.maximumSide) -> [Rect] {
        var out: [Rect] = []
        for area in areas {
            let mcus = mcus(covering: area)
            guard !mcus.columns.isEmpty, !mcus.rows.isEmpty else { continue }
            let perRow = max(1, blockCount(in: (mcus.columns, mcus.rows.lowerBound..<(mcus.rows.lowerBound + 1))))
            let rowsPerBand = max(1, maximumBlocks / perRow)
            var row = mcus.rows.lowerBound
            while row < mcus.rows.upperBound {
                let end = min(mcus.rows.upperBound, row + rowsPerBand)
                out.append(rect(of: (mcus.columns, row..<end)))
                row = end
            }
        }
        return out
    }

    /// The membrane an area of this layout needs: one row of 64 values per block it covers.
    public func membraneShape(for area: Rect) throws -> MembraneShape {
        try MembraneShape(rows: blockCount(in: mcus(covering: area)), cols: 64, channels: 1)
    }
}
