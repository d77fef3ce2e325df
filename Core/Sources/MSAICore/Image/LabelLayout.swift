/// Where the labels of boxes drawn on an image go so that no two labels overlap: each label
/// tries, in order, just above its box, inside its top edge, just below it, and above its right
/// end; if all of those are taken it moves up (then down) a label's height at a time until it
/// is free, and failing that takes the free place nearest to its box. Every label stays inside
/// the image when it fits.
public enum LabelLayout {
    /// The top-left corner of each label, in the order of `boxes`; `sizes` are the labels' sizes.
    public static func place(boxes: [Rect], sizes: [(width: Int, height: Int)], imageWidth: Int, imageHeight: Int) -> [(x: Int, y: Int)] {
        precondition(boxes.count == sizes.count)
        var placed: [Rect] = []
        var result = [(x: Int, y: Int)](repeating: (0, 0), count: boxes.count)
        // Top to bottom, left to right: a label pushed up does not land on one already placed below.
        let order = boxes.indices.sorted { (boxes[$0].y, boxes[$0].x) < (boxes[$1].y, boxes[$1].x) }
        for i in order {
            let box = boxes[i], w = sizes[i].width, h = sizes[i].height
            func clamp(_ x: Int, _ y: Int) -> Rect {
                Rect(x: max(0, min(x, imageWidth - w)), y: max(0, min(y, imageHeight - h)), width: w, height: h)
            }
            func free(_ r: Rect) -> Bool { !placed.contains { $0.intersects(r) } }
            let candidates = [clamp(box.x, box.y - h), clamp(box.x, box.y), clamp(box.x, box.y + box.height),
                              clamp(box.x + box.width - w, box.y - h)]
            var chosen = candidates.first(where: free)
            if chosen == nil {
                let limit = imageHeight / max(1, h) + 2
                for step in 1...limit {
                    let up = clamp(box.x, box.y - h - step * h)
                    if free(up) { chosen = up; break }
                    let down = clamp(box.x, box.y + box.height + step * h)
                    if free(down) { chosen = down; break }
                }
            }
            if chosen == nil {
                // Crowded around the box: the free place nearest to it, anywhere in the image.
                var best: (Rect, Int)?
                for y in stride(from: 0, through: max(0, imageHeight - h), by: max(1, h)) {
                    for x in stride(from: 0, through: max(0, imageWidth - w), by: max(1, w / 4)) {
                        let r = Rect(x: x, y: y, width: w, height: h)
                        let distance = abs(x - box.x) + abs(y - (box.y - h))
                        if free(r), distance < (best?.1 ?? Int.max) { best = (r, distance) }
                    }
                }
                chosen = best?.0
            }
            // An image with no free place left for a label keeps the first choice.
            let label = chosen ?? candidates[0]
            placed.append(label)
            result[i] = (label.x, label.y)
        }
        return result
    }
}

extension Rect {
    /// Whether the two rectangles share at least one pixel.
    public func intersects(_ other: Rect) -> Bool {
        x < other.x + other.width && other.x < x + width && y < other.y + other.height && other.y < y + height
    }
}
