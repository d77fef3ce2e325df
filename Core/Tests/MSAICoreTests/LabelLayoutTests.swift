import MSAICore
import MSAICoreTesting
import Testing

/// Labels of annotated detections never cover one another, and stay inside the image.
@Suite struct LabelLayoutTests {
    @Test func labelsOfOverlappingBoxesDoNotOverlap() {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let width = 320 + Int(generator.next() % 960), height = 240 + Int(generator.next() % 720)
            let count = 1 + Int(generator.next() % 12)
            // Boxes crowded into one corner, as a group of faces and persons is.
            let boxes = (0..<count).map { _ in
                Rect(x: Int(generator.next() % UInt64(width / 3)), y: Int(generator.next() % UInt64(height / 3)),
                     width: 20 + Int(generator.next() % 200), height: 20 + Int(generator.next() % 200))
            }
            let sizes = boxes.map { _ in (width: 60 + Int(generator.next() % 60), height: 14 + Int(generator.next() % 8)) }
            let places = LabelLayout.place(boxes: boxes, sizes: sizes, imageWidth: width, imageHeight: height)
            let labels = zip(places, sizes).map { Rect(x: $0.x, y: $0.y, width: $1.width, height: $1.height) }
            for (i, a) in labels.enumerated() {
                #expect(a.x >= 0 && a.y >= 0 && a.x + a.width <= width && a.y + a.height <= height, "\(a) outside \(width)x\(height)")
                for b in labels[(i + 1)...] { #expect(!a.intersects(b), "\(a) and \(b) overlap") }
            }
        }
    }

    @Test func aLabelSitsJustAboveItsBoxWhenThereIsRoom() {
        let places = LabelLayout.place(boxes: [Rect(x: 100, y: 100, width: 50, height: 50)], sizes: [(width: 40, height: 16)],
                                       imageWidth: 640, imageHeight: 480)
        #expect(places[0].x == 100 && places[0].y == 84)
        // At the top edge, inside the box instead.
        let top = LabelLayout.place(boxes: [Rect(x: 10, y: 0, width: 50, height: 50)], sizes: [(width: 40, height: 16)],
                                    imageWidth: 640, imageHeight: 480)
        #expect(top[0].x == 10 && top[0].y == 0)
    }
}
