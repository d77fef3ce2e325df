/// How much of what a reference detection found was masked: the privacy figure of a fast path.
///
/// A stream's fast path (detection every Nth frame, carried and grown areas, smaller detector
/// inputs) is only worth its speed if it still masks what full detection on every frame would
/// have found. For each frame, every reference box is compared with the union of the areas
/// actually masked on that frame: a box counts as covered when every one of its pixels was
/// masked, and the pixel share is kept beside it (a box missed by one pixel row is not the same
/// failure as a box missed whole).
public struct MaskCoverage: Sendable, Equatable {
    /// Reference boxes seen.
    public private(set) var boxes = 0
    /// Boxes every pixel of which was masked.
    public private(set) var boxesCovered = 0
    /// Boxes not one pixel of which was masked.
    public private(set) var boxesMissed = 0
    /// Pixels of the reference boxes (a pixel inside two boxes counts twice).
    public private(set) var pixels = 0
    /// Those of them that were masked.
    public private(set) var pixelsCovered = 0

    public init() {}

    /// The share of boxes covered whole, 1 when there were none.
    public var boxShare: Double { boxes == 0 ? 1 : Double(boxesCovered) / Double(boxes) }
    /// The share of box pixels masked, 1 when there were none.
    public var pixelShare: Double { pixels == 0 ? 1 : Double(pixelsCovered) / Double(pixels) }

    /// Counts one frame: the reference's boxes against the areas masked on it.
    public mutating func add(reference: [Rect], masked: [Rect]) {
        for box in reference where !box.isEmpty {
            let inside = Self.pixelsCovered(of: box, by: masked)
            boxes += 1
            pixels += box.area
            pixelsCovered += inside
            if inside == box.area { boxesCovered += 1 }
            if inside == 0 { boxesMissed += 1 }
        }
    }

    /// The pixels of `box` inside the union of `areas`, counted row by row over merged spans so
    /// that overlapping areas are not counted twice.
    public static func pixelsCovered(of box: Rect, by areas: [Rect]) -> Int {
        let clipped = areas.compactMap { $0.intersection(box) }
        guard !clipped.isEmpty else { return 0 }
        // Rows change only where an area starts or ends: count each band of rows once.
        let edges = Array(Set(clipped.flatMap { [$0.y, $0.maxY] } + [box.y, box.maxY])).sorted()
        var total = 0
        for (top, bottom) in zip(edges, edges.dropFirst()) where top >= box.y && bottom <= box.maxY {
            let spans = clipped.filter { $0.y <= top && $0.maxY >= bottom }.map { ($0.x, $0.maxX) }.sorted { $0.0 < $1.0 }
            var width = 0, reach = Int.min
            for (start, end) in spans {
                if start >= reach {
                    width += end - start
                } else if end > reach {
                    width += end - reach
                }
                reach = max(reach, end)
            }
            total += width * (bottom - top)
        }
        return total
    }
}
