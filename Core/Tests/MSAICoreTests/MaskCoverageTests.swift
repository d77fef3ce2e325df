import MSAICore
import MSAICoreTesting
import Testing

/// The stream coverage figure: how much of a reference detection's boxes the fast path masked.
@Suite struct MaskCoverageTests {
    /// Against counting pixel by pixel, over random boxes and overlapping, touching and
    /// out-of-frame areas.
    @Test func coveredPixelsAreThoseOfTheUnionCountedOnce() {
        var random = SplitMix64(seed: 251)
        for _ in 0..<400 {
            let box = randomRect(width: 60, height: 40, using: &random)
            let areas = (0..<Int(random.next() % 5)).map { _ in
                var r = randomRect(width: 60, height: 40, using: &random)
                r.x -= 10
                r.y -= 10
                return r
            }
            var brute = 0
            for y in box.y..<box.maxY {
                for x in box.x..<box.maxX where areas.contains(where: { x >= $0.x && x < $0.maxX && y >= $0.y && y < $0.maxY }) {
                    brute += 1
                }
            }
            #expect(MaskCoverage.pixelsCovered(of: box, by: areas) == brute, "\(box) by \(areas)")
        }
    }

    @Test func aBoxCountsAsCoveredOnlyWhenEveryPixelWasMasked() {
        var coverage = MaskCoverage()
        let box = Rect(x: 10, y: 10, width: 20, height: 10)
        coverage.add(reference: [box], masked: [Rect(x: 0, y: 0, width: 100, height: 100)])
        coverage.add(reference: [box], masked: [Rect(x: 10, y: 10, width: 20, height: 9)])  // one row short
        coverage.add(reference: [box], masked: [Rect(x: 10, y: 10, width: 10, height: 10), Rect(x: 20, y: 10, width: 10, height: 10)])
        coverage.add(reference: [box], masked: [Rect(x: 40, y: 40, width: 5, height: 5)])
        coverage.add(reference: [], masked: [])
        #expect(coverage.boxes == 4 && coverage.boxesCovered == 2 && coverage.boxesMissed == 1)
        #expect(coverage.pixels == 800 && coverage.pixelsCovered == 200 + 180 + 200)
        #expect(MaskCoverage().boxShare == 1 && MaskCoverage().pixelShare == 1)
    }

    /// Carried areas are merged where they overlap: the result is disjoint and covers every
    /// input whole, so merging never unmasks a pixel.
    @Test func mergedAreasAreDisjointAndCoverEveryInput() {
        var random = SplitMix64(seed: 7)
        for _ in 0..<300 {
            let rects = (0..<Int(random.next() % 8)).map { _ in randomRect(width: 200, height: 120, using: &random) }
            let merged = Rect.mergingOverlaps(rects)
            for (i, a) in merged.enumerated() {
                for b in merged[(i + 1)...] { #expect(a.intersection(b) == nil, "\(merged)") }
            }
            for r in rects { #expect(MaskCoverage.pixelsCovered(of: r, by: merged) == r.area, "\(r) in \(merged)") }
        }
    }
}
