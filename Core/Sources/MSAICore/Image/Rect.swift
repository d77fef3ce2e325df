import Foundation

/// An axis-aligned rectangle of whole pixels: `x`, `y` of the top-left corner, `width` × `height`.
public struct Rect: Hashable, Codable, Sendable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var area: Int { width * height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }

    public var description: String { "\(x),\(y),\(width),\(height)" }

    /// Parses "x,y,w,h" as users type it on the command line.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, let x = parts[0], let y = parts[1], let w = parts[2], let h = parts[3] else {
            throw MSAIError.invalidArgument("region '\(text)' is not of the form x,y,w,h with integers")
        }
        guard w > 0, h > 0 else {
            throw MSAIError.invalidArgument("region '\(text)' has a zero or negative size")
        }
        guard [x, y, w, h].allSatisfy({ abs($0) <= Rect.coordinateLimit }) else {
            throw MSAIError.invalidArgument("region '\(text)' has a coordinate beyond \(Rect.coordinateLimit)")
        }
        self.init(x: x, y: y, width: w, height: h)
    }

    /// The overlap of two rectangles, or nil when they do not overlap.
    public func intersection(_ other: Rect) -> Rect? {
        guard [x, y, width, height, other.x, other.y, other.width, other.height].allSatisfy({ abs($0) <= Rect.coordinateLimit })
        else { return nil }
        let left = max(x, other.x), top = max(y, other.y)
        let right = min(maxX, other.maxX), bottom = min(maxY, other.maxY)
        guard right > left, bottom > top else { return nil }
        return Rect(x: left, y: top, width: right - left, height: bottom - top)
    }

    /// `rects` with every two that overlap replaced by their bounding box, until none overlap:
    /// disjoint rectangles covering at least what `rects` covered.
    public static func mergingOverlaps(_ rects: [Rect]) -> [Rect] {
        var out = rects.filter { !$0.isEmpty }
        var merged = true
        while merged {
            merged = false
            search: for i in out.indices {
                for j in out.indices where j > i && out[i].intersection(out[j]) != nil {
                    let a = out[i], b = out[j]
                    let x = min(a.x, b.x), y = min(a.y, b.y)
                    out[i] = Rect(x: x, y: y, width: max(a.maxX, b.maxX) - x, height: max(a.maxY, b.maxY) - y)
                    out.remove(at: j)
                    merged = true
                    break search
                }
            }
        }
        return out
    }

    /// Intersection over union, 0 for disjoint rectangles.
    public func iou(_ other: Rect) -> Double {
        guard let overlap = intersection(other) else { return 0 }
        return Double(overlap.area) / Double(area + other.area - overlap.area)
    }

    /// True when the rectangle lies wholly inside an image of the given size.
    /// Written without x + width so hostile values cannot overflow.
    public func fits(width imageWidth: Int, height imageHeight: Int) -> Bool {
        !isEmpty && x >= 0 && y >= 0 && x <= imageWidth && y <= imageHeight && width <= imageWidth - x
            && height <= imageHeight - y
    }

    /// The largest coordinate or size a rectangle may have (2^24); larger values are refused
    /// where they enter, so sums of them cannot overflow.
    public static let coordinateLimit = 1 << 24
}
