import Foundation
import MSAICore
import MSAIEvaluation

/// The human-readable table `msai evaluate` prints per image.
enum ReportTable {
    static func render(_ r: EvaluationReport, outFolder: String, name: String) -> String {
        var lines: [String] = []
        lines.append("\(r.image)  \(r.width)x\(r.height)x\(r.channels)  mode \(r.mode)  block \(r.block)")
        if r.regions.isEmpty {
            lines.append("  areas: none found (only the scrambling protects this frame)")
        } else {
            let list = r.regions.map { "\($0.class) \(String(format: "%.2f", $0.confidence)) at \($0.x),\($0.y),\($0.w),\($0.h)" }
            lines.append("  areas (\(r.regions.count)): " + list.joined(separator: "; "))
        }
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        func num(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "-" }
        lines.append("  " + pad("", 22) + pad("whole image", 14) + pad("areas", 12) + "uniform expectation for areas")
        lines.append("  " + pad("NPCR %", 22) + pad(num(r.npcrWhole), 14) + pad(num(r.npcrAreas), 12) + num(r.expectedAreas?.npcr))
        lines.append("  " + pad("UACI %", 22) + pad(num(r.uaciWhole), 14) + pad(num(r.uaciAreas), 12) + num(r.expectedAreas?.uaci))
        func arrow(_ a: Double?, _ b: Double?) -> String { "\(num(a)) -> \(num(b))" }
        lines.append("  " + pad("entropy bits", 22) + pad(arrow(r.entropy["original_whole"], r.entropy["masked_whole"]), 22)
            + (r.npcrAreas == nil ? "" : "areas " + arrow(r.entropy["original_areas"], r.entropy["masked_areas"])))
        lines.append("  " + pad("local entropy bits", 22)
            + arrow(r.localEntropy["original_whole"] ?? nil, r.localEntropy["masked_whole"] ?? nil))
        if let original = r.correlation["original_areas"], let masked = r.correlation["masked_areas"] {
            let dirs = ["horizontal", "vertical", "diagonal"]
            let o = dirs.map { num(original[$0] ?? nil) }.joined(separator: "/"), m = dirs.map { num(masked[$0] ?? nil) }.joined(separator: "/")
            lines.append("  " + pad("correlation h/v/d", 22) + "areas \(o) -> \(m)")
        }
        if let edges = r.edgeCorrelationAreas {
            lines.append("  " + pad("edge maps", 22) + String(format: "areas: original against masked view %.4f (near 0: no outline shows)", edges))
        }
        for test in r.wuTests {
            lines.append("  " + pad("Wu test", 22) + "\(test.comparison): NPCR \(num(test.npcr)) \(test.npcrPass ? "pass" : "FAIL") (>= \(num(test.npcrCritical))), UACI \(num(test.uaci)) \(test.uaciPass ? "pass" : "FAIL") (\(num(test.uaciLower))..\(num(test.uaciUpper))), alpha \(test.alpha)")
        }
        // leak_share in the JSON is the same fraction, printed the same way.
        lines.append("  " + pad("leak share", 22) + String(format: "%.6f of the area samples left as they were", r.leakShare)
            + (r.mode == MaskingMode.gf251.rawValue ? " (gf251 leaves values 0 and 251..255 in place)" : ""))
        lines.append("  " + pad("recovery", 22) + "PSNR \(r.psnrRecovered.isInfinite ? "inf" : num(r.psnrRecovered)) dB, identical: \(r.recoveredIdentical ? "yes" : "NO")")
        let steps = ["detect", "membrane", "mask", "scramble", "encode", "seal", "open", "decode", "unscramble", "unmask"]
        lines.append("  " + pad("timings ms", 22) + steps.map { "\($0) \(String(format: "%.2f", r.timingsMs[$0] ?? 0))" }.joined(separator: "  "))
        lines.append("  wrote \(name).sealed, \(name).masked.\(r.mode == MaskingMode.jpeg.rawValue ? "jpg" : "png"), \(name).areas.png, \(name).recovered.png and \(name).metrics.json in \(outFolder)/")
        return lines.joined(separator: "\n")
    }
}
