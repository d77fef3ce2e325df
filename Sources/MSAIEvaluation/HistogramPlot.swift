import Foundation

/// 256-bin histograms drawn as inline SVG on labelled axes: one line per series, every plot of a
/// group on the same vertical scale so that they can be compared, and each drawn twice, on a
/// linear and on a logarithmic count axis (the page's "log scale" switch shows one or the other,
/// with CSS only).
enum HistogramPlot {
    struct Series {
        let label: String
        let colour: String
        /// A dash pattern for a line drawn over another (the recovered areas over the original).
        let dashed: Bool
        let bins: [Int]
    }

    static let plotWidth = 256.0, plotHeight = 110.0
    static let left = 44.0, top = 18.0, bottom = 30.0, right = 8.0

    /// The plot of `series` with counts up to `maximum` (shared by the plots it is compared with).
    static func svg(title: String, series: [Series], maximum: Int) -> String {
        let top = max(1, maximum)
        let width = left + plotWidth + right, height = self.top + plotHeight + bottom
        var out = "<svg class=\"histogram\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" "
            + "role=\"img\" aria-label=\"\(escape(title))\">"
        out += "<text x=\"\(left)\" y=\"\(self.top - 7)\" class=\"title\">\(escape(title))</text>"
        // Axes and their labels.
        let x0 = left, y0 = self.top + plotHeight
        out += "<line x1=\"\(x0)\" y1=\"\(y0)\" x2=\"\(x0 + plotWidth)\" y2=\"\(y0)\" class=\"axis\"/>"
        out += "<line x1=\"\(x0)\" y1=\"\(self.top)\" x2=\"\(x0)\" y2=\"\(y0)\" class=\"axis\"/>"
        for value in [0, 64, 128, 192, 255] {
            let x = x0 + Double(value)
            out += "<line x1=\"\(x)\" y1=\"\(y0)\" x2=\"\(x)\" y2=\"\(y0 + 3)\" class=\"axis\"/>"
            out += "<text x=\"\(x)\" y=\"\(y0 + 12)\" class=\"tick\" text-anchor=\"middle\">\(value)</text>"
        }
        out += "<text x=\"\(x0 + plotWidth / 2)\" y=\"\(y0 + 24)\" class=\"label\" text-anchor=\"middle\">sample value</text>"
        for (scale, ticks) in [("lin", linearTicks(top)), ("log", logTicks(top))] {
            out += "<g class=\"\(scale)\">"
            for tick in ticks {
                let y = y0 - fraction(tick, of: top, log: scale == "log") * plotHeight
                out += "<line x1=\"\(x0 - 3)\" y1=\(q(y)) x2=\"\(x0)\" y2=\(q(y)) class=\"axis\"/>"
                out += "<text x=\"\(x0 - 5)\" y=\(q(y + 3)) class=\"tick\" text-anchor=\"end\">\(compact(tick))</text>"
            }
            out += "<text x=\"10\" y=\"\(self.top + plotHeight / 2)\" class=\"label\" text-anchor=\"middle\" "
                + "transform=\"rotate(-90 10 \(self.top + plotHeight / 2))\">\(scale == "log" ? "count (log)" : "count")</text>"
            for s in series where s.bins.count == 256 {
                var path = ""
                for (i, count) in s.bins.enumerated() {
                    let y = y0 - fraction(count, of: top, log: scale == "log") * plotHeight
                    path += (i == 0 ? "M" : "L") + String(format: "%.1f %.1f", x0 + Double(i) + 0.5, y)
                }
                out += "<path d=\"\(path)\" stroke=\"\(s.colour)\"\(s.dashed ? " stroke-dasharray=\"3 2\"" : "") class=\"series\"/>"
            }
            out += "</g>"
        }
        out += "</svg>"
        return out
    }

    /// The largest count over every series of every plot in a group.
    static func maximum(_ groups: [[Series]]) -> Int {
        groups.flatMap { $0 }.flatMap(\.bins).max() ?? 1
    }

    private static func fraction(_ count: Int, of top: Int, log: Bool) -> Double {
        guard count > 0 else { return 0 }
        return log ? Foundation.log10(1 + Double(count)) / Foundation.log10(1 + Double(top)) : Double(count) / Double(top)
    }

    private static func linearTicks(_ top: Int) -> [Int] {
        // A round step: 1, 2 or 5 times a power of ten, about four ticks.
        let raw = Double(top) / 4
        let power = pow(10, floor(Foundation.log10(max(raw, 1))))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? power * 10
        return stride(from: 0.0, through: Double(top), by: step).map { Int($0) }
    }

    private static func logTicks(_ top: Int) -> [Int] {
        var ticks = [0]
        var t = 1
        while t <= top { ticks.append(t); t *= 10 }
        return ticks
    }

    private static func compact(_ n: Int) -> String {
        if n >= 1_000_000 { return String(format: "%gM", Double(n) / 1_000_000) }
        if n >= 1000 { return String(format: "%gk", Double(n) / 1000) }
        return "\(n)"
    }

    private static func q(_ x: Double) -> String { String(format: "\"%.1f\"", x) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
