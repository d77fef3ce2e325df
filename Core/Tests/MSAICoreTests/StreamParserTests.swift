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
        let carrier = AreaCarrier(settings: .init(margin: 0.2, growth: 0.1, minimumGrowth: 2, maximumAge: .milliseconds(400)))
        let detection = AreaCarrier.Detected(frame: 10, time: .seconds(1), areas: [Rect(x: 100, y: 100, width: 50, height: 20)])
        // On its own frame an area is what was detected.
        #expect(carrier.decide(frame: 10, time: .seconds(1), width: 640, height: 480, detection: detection)
            == .areas([Rect(x: 100, y: 100, width: 50, height: 20)], detectedAt: 10, age: 0))
        // 3 frames later: the margin once (20 % of 50: 10 px), then 5 px (10 % of 50) per frame, on every side.
        #expect(carrier.decide(frame: 13, time: .milliseconds(1300), width: 640, height: 480, detection: detection)
            == .areas([Rect(x: 75, y: 75, width: 100, height: 70)], detectedAt: 10, age: 3))
        // Grown areas are clamped to the frame; growth is at least 2 px a frame.
        let corner = AreaCarrier.Detected(frame: 0, time: .zero, areas: [Rect(x: 0, y: 0, width: 10, height: 10)])
        #expect(carrier.decide(frame: 2, time: .milliseconds(100), width: 640, height: 480, detection: corner)
            == .areas([Rect(x: 0, y: 0, width: 16, height: 16)], detectedAt: 0, age: 2))
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

    /// A sender cannot make the reassembler hold more than its frames' lengths, nor more than its
    /// cap in all: 6,000 datagrams of 56 KB claiming packets of 16 MiB frames (msai 2.0 held
    /// 277 MB of such) keep it under its cap, older frames given up; payloads that cannot be
    /// their frame's are refused.
    @Test func reassemblyHoldsNoMoreThanTheFramesClaimAndItsCap() throws {
        var r = FrameReassembler(window: 64, maximumBytesHeld: 16 << 20)
        for frame in UInt32(0)..<100 {
            for index in 0..<60 {
                var datagram = try FramePackets.split([1], number: frame)[0]
                // A header claiming packet `index` of 300 of a 16 MiB frame, and a payload of the
                // size such a packet has (56,000 bytes: 299 of them are less than 16 MiB).
                datagram.replaceSubrange(8..<16, with: [UInt8(index >> 8), UInt8(index & 255), 1, 44, 1, 0, 0, 0])
                datagram += [UInt8](repeating: 9, count: 56_000 - 1)
                _ = r.accept(datagram)
                #expect(r.bytesHeld <= 16 << 20)
                // 60 KB could not be a packet of that frame: refused, nothing held.
                let held = r.bytesHeld
                _ = r.accept(datagram + [UInt8](repeating: 9, count: 4_000))
                #expect(r.bytesHeld == held)
            }
        }
        #expect(r.counts.datagramsRejected == 6_000 && r.counts.framesDelivered == 0 && r.counts.framesLost > 50)
        // Any split that is the same size but for the last packet is taken, in any order.
        let frame = (0..<10_000).map { UInt8($0 % 256) }
        for size in [1400, 999, 4096, 10_000] {
            var fresh = FrameReassembler()
            let packets = try FramePackets.split(frame, number: 1, payloadSize: size)
            var delivered: [UInt8]?
            for packet in packets.reversed() { if let done = fresh.accept(packet) { delivered = done.bytes } }
            #expect(delivered == frame && fresh.bytesHeld == 0, "packets of \(size)")
        }
        // A packet of another size than its siblings is refused, whichever came first.
        let packets = try FramePackets.split(frame, number: 2)
        var mixed = FrameReassembler()
        _ = mixed.accept(packets[0])
        #expect(mixed.accept(Array(packets[1].dropLast())) == nil && mixed.counts.datagramsRejected == 1)
    }

    /// Whether a boundary line's padding is too long is decided by the bytes, not by how they
    /// arrive: the same stream gives the same parts fed whole, byte by byte, or in any pieces.
    @Test func theParserGivesTheSamePartsHoweverTheStreamIsSplit() {
        var random = SplitMix64(seed: 91)
        for padding in [0, 100, 255, 256, 257, 300, 1000] {
            let body = (0..<500).map { _ in UInt8.random(in: 0...255, using: &random) }
            let stream = Array("--xyz".utf8) + [UInt8](repeating: 32, count: padding) + Array("\r\nContent-Length: 500\r\n\r\n".utf8)
                + body + Array("\r\n--xyz--\r\n".utf8)
            func parse(pieces: Int) -> [[UInt8]] {
                var parser = MJPEGParser(boundary: "xyz")
                var parts: [[UInt8]] = []
                var offset = 0
                while offset < stream.count {
                    let n = pieces == 1 ? stream.count : Int.random(in: 1...pieces, using: &random)
                    parts += parser.feed(stream[offset..<min(stream.count, offset + n)])
                    offset += n
                }
                return parts
            }
            let whole = parse(pieces: 1)
            #expect(whole == (padding <= 256 ? [body] : []), "padding \(padding)")
            for pieces in [1, 2, 7, 64, 300] { #expect(parse(pieces: pieces) == whole, "padding \(padding), pieces of up to \(pieces)") }
        }
    }
}
