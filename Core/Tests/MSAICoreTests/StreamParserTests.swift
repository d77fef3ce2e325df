import Foundation
import MSAICore
import MSAICoreTesting
import Testing

/// The sans-I/O stream parsers and planners, fed bytes and values: UDP reassembly, the MJPEG
/// parser, the area carrier and the ROI mosaic.
@Suite struct StreamParserTests {
    @Test func reassemblyToleratesReorderingDuplicatesAndGarbage() throws {
        let frame = (0..<5000).map { UInt8($0 % 251) }
        let packets = try FramePackets.split(frame, number: 9)
        #expect(packets.count == 4 && packets.allSatisfy { $0.count <= FramePackets.headerSize + FramePackets.payloadSize })
        var r = FrameReassembler()
        var forged = packets[0]
        forged[11] = 200  // a packet count that disagrees with its frame's other packets
        for p in [Array("hello".utf8), packets[3], packets[1], packets[1], forged, packets[2]] {
            let delivered = r.accept(p)
            #expect(delivered == nil)
        }
        let last = r.accept(packets[0])
        let done = try #require(last)
        #expect(done.number == 9 && done.bytes == frame)
        #expect(r.counts.datagramsRejected == 2 && r.counts.framesDelivered == 1)
        // A late packet of a delivered frame is ignored; an impossible header is refused.
        let late = r.accept(packets[0])
        #expect(late == nil)
        var huge = packets[0]
        huge.replaceSubrange(12..<16, with: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: MSAIError.self) { try FramePackets.Header(parsing: huge) }
        #expect(throws: MSAIError.self) { try FramePackets.split([], number: 0) }
    }

    @Test func carriedAreasGrowWithAgeAndGoWholeWhenStale() {
        let carrier = AreaCarrier(settings: .init(growth: 0.1, minimumGrowth: 2, maximumAge: .milliseconds(400)))
        let detection = AreaCarrier.Detected(frame: 10, time: .seconds(1), areas: [Rect(x: 100, y: 100, width: 50, height: 20)])
        #expect(carrier.decide(frame: 10, time: .seconds(1), width: 640, height: 480, detection: detection)
            == .areas([Rect(x: 100, y: 100, width: 50, height: 20)], detectedAt: 10, age: 0))
        // 3 frames later: 5 px (10 % of 50) per frame on every side.
        #expect(carrier.decide(frame: 13, time: .milliseconds(1300), width: 640, height: 480, detection: detection)
            == .areas([Rect(x: 85, y: 85, width: 80, height: 50)], detectedAt: 10, age: 3))
        // Grown areas are clamped to the frame.
        let corner = AreaCarrier.Detected(frame: 0, time: .zero, areas: [Rect(x: 0, y: 0, width: 10, height: 10)])
        #expect(carrier.decide(frame: 2, time: .milliseconds(100), width: 640, height: 480, detection: corner)
            == .areas([Rect(x: 0, y: 0, width: 14, height: 14)], detectedAt: 0, age: 2))
        #expect(carrier.decide(frame: 15, time: .milliseconds(1500), width: 640, height: 480, detection: detection).isWholeFrame)
        #expect(carrier.decide(frame: 0, time: .zero, width: 640, height: 480, detection: nil).isWholeFrame)
    }

    @Test func boundariesAreReadFromTheContentType() {
        #expect(MJPEG.boundary(fromContentType: MJPEG.contentType) == "msaiframe")
        #expect(MJPEG.boundary(fromContentType: "multipart/x-mixed-replace;boundary=\"--myboundary\"") == "myboundary")
        #expect(MJPEG.boundary(fromContentType: "Multipart/X-Mixed-Replace; charset=x; Boundary=123456789000000000000987654321") == "123456789000000000000987654321")
        #expect(MJPEG.boundary(fromContentType: "image/jpeg") == nil)
        #expect(MJPEG.boundary(fromContentType: "multipart/x-mixed-replace") == nil)
    }

    /// Parts with and without lengths, garbage between them, an oversized and a malformed part,
    /// fed in random pieces: every good part comes out once, whole, in order.
    @Test func theParserFindsEveryPartHoweverTheBytesArrive() {
        var random = SplitMix64(seed: 90)
        for round in 0..<100 {
            var stream: [UInt8] = Array("preamble junk\r\n".utf8)
            var expected: [[UInt8]] = []
            var malformed = 0
            for i in 0..<Int.random(in: 1...8, using: &random) {
                let body = (0..<Int.random(in: 0...3000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                switch (round + i) % 5 {
                case 0, 1:
                    stream += MJPEG.part(body, boundary: "xyz")
                    expected.append(body)
                case 2:
                    // No Content-Length: the part ends before the next boundary. (A body that
                    // happened to hold "\r\n--xyz" would be cut there; random bytes do not.)
                    // Every other such part has no headers at all, which multipart allows.
                    stream += Array((i % 2 == 0 ? "--xyz\r\nContent-Type: image/jpeg\r\n\r\n" : "--xyz\r\n\r\n").utf8) + body + [13, 10]
                    expected.append(body)
                case 3:
                    stream += Array("--xyz\r\nContent-Length: 99999999999\r\n\r\n".utf8) + body + [13, 10]
                    malformed += 1
                default:
                    stream += Array("some bytes between parts".utf8)
                    stream += MJPEG.part(body, boundary: "xyz")
                    expected.append(body)
                }
            }
            stream += Array("--xyz--\r\n".utf8)
            var parser = MJPEGParser(boundary: "xyz", maximumPartBytes: 1 << 20)
            var parts: [[UInt8]] = []
            var offset = 0
            while offset < stream.count {
                let n = min(stream.count - offset, Int.random(in: 1...700, using: &random))
                parts += parser.feed(stream[offset..<(offset + n)])
                offset += n
            }
            #expect(parts == expected, "round \(round)")
            #expect(parser.malformedParts == malformed && parser.ended, "round \(round)")
        }
    }

    @Test func theMosaicHoldsEveryAreaOnceAndComposesBack() throws {
        var random = SplitMix64(seed: 70)
        for round in 0..<200 {
            let width = Int.random(in: 1...90, using: &random), height = Int.random(in: 1...70, using: &random)
            let frame = randomImage(width: width, height: height, channels: round % 2 == 0 ? 3 : 1, using: &random)
            let background = randomImage(width: width, height: height, channels: frame.channels, using: &random)
            let areas = (0..<Int.random(in: 0...6, using: &random)).map { _ in randomRect(width: width, height: height, using: &random) }
            let mosaic = RegionMosaic(packing: areas, frameWidth: width)
            #expect(mosaic.pieces.map(\.frameRect) == areas)
            #expect(mosaic.width <= width)
            for (i, a) in mosaic.pieces.enumerated() {
                #expect(a.mosaicRect.fits(width: mosaic.width, height: mosaic.height))
                for b in mosaic.pieces[(i + 1)...] { #expect(a.mosaicRect.intersection(b.mosaicRect) == nil) }
            }
            // Shelves waste at most the space beside shorter areas: never more than the frame.
            #expect(mosaic.width * mosaic.height <= max(1, width * height * max(1, areas.count)))
            let composed = try RegionMosaic.compose(try mosaic.extract(from: frame), pieces: mosaic.pieces, onto: background)
            for y in 0..<height {
                for x in 0..<width {
                    let inside = areas.contains { $0.intersection(Rect(x: x, y: y, width: 1, height: 1)) != nil }
                    let i = (y * width + x) * frame.channels
                    let expected = inside ? frame.samples[i..<(i + frame.channels)] : background.samples[i..<(i + frame.channels)]
                    #expect(composed.samples[i..<(i + frame.channels)] == expected, "round \(round) at \(x),\(y)")
                }
            }
        }
    }
}
