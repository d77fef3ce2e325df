/// ROI-only transmission (seed 002): the areas of a frame packed into one small image, so an
/// edge can send a background once and then only its masked areas.
///
/// Areas are packed on shelves no wider than the frame, tallest first, which keeps the mosaic
/// close to the areas' total size; the pieces keep the areas' order, which is the masking
/// order. Overlapping areas are each copied whole: laying them back writes the same samples
/// twice. A frame with no areas packs into a single zero pixel.
public struct RegionMosaic: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// One piece per area, in the areas' order.
    public let pieces: [FrameComposition.Piece]

    public init(packing areas: [Rect], frameWidth: Int) {
        var places = [(x: Int, y: Int)](repeating: (0, 0), count: areas.count)
        var shelfY = 0, shelfHeight = 0, cursorX = 0, widest = 0
        let tallestFirst = areas.indices.sorted { (areas[$0].height, areas[$0].width) > (areas[$1].height, areas[$1].width) }
        for i in tallestFirst {
            let area = areas[i]
            if cursorX > 0 && cursorX + area.width > frameWidth {
                shelfY += shelfHeight
                shelfHeight = 0
                cursorX = 0
            }
            places[i] = (cursorX, shelfY)
            cursorX += area.width
            shelfHeight = max(shelfHeight, area.height)
            widest = max(widest, cursorX)
        }
        pieces = zip(areas, places).map { FrameComposition.Piece(frame: $0, mosaicX: $1.x, mosaicY: $1.y) }
        width = max(1, widest)
        height = max(1, shelfY + shelfHeight)
    }

    /// The mosaic of `frame`: every area's samples at its piece's place, zero elsewhere.
    public func extract(from frame: PixelBuffer) throws -> PixelBuffer {
        var mosaic = try PixelBuffer(width: width, height: height, channels: frame.channels)
        for piece in pieces {
            try mosaic.copy(piece.frameRect, of: frame, to: piece.mosaicRect)
        }
        return mosaic
    }

    /// `background` with each piece of `mosaic` laid at its place in the frame.
    public static func compose(_ mosaic: PixelBuffer, pieces: [FrameComposition.Piece], onto background: PixelBuffer) throws
        -> PixelBuffer
    {
        guard mosaic.channels == background.channels else {
            throw MSAIError.shapeMismatch(
                "patch frame has \(mosaic.channels) channel(s) but its background frame has \(background.channels)")
        }
        var frame = background
        for piece in pieces {
            try frame.copy(piece.mosaicRect, of: mosaic, to: piece.frameRect)
        }
        return frame
    }
}

extension PixelBuffer {
    /// Copies the samples of `source` inside `from` onto this image's `to` (the same size).
    public mutating func copy(_ from: Rect, of source: PixelBuffer, to: Rect) throws {
        try source.checkContains(from)
        try checkContains(to)
        guard from.width == to.width, from.height == to.height, source.channels == channels else {
            throw MSAIError.shapeMismatch("cannot copy \(from) of a \(source.sizeDescription) image onto \(to) of a \(sizeDescription) one")
        }
        let channels = channels, rowLength = from.width * channels
        source.samples.withUnsafeBufferPointer { input in
            withRows(of: to) { row, out in
                let start = ((from.y + row) * source.width + from.x) * channels
                out.baseAddress!.update(from: input.baseAddress! + start, count: rowLength)
            }
        }
    }
}
