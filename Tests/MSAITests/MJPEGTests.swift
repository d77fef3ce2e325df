import Foundation
import MSAICore
import MSAIImageIO
import MSAINetwork
import Testing

/// MJPEG over HTTP: the parser, and `msai camera --mjpeg`'s server read by the edge's receiver.
@Suite struct MJPEGTests {
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

    /// The camera's server and the edge's receiver over loopback: two viewers each get every
    /// frame published after they connected, byte for byte, and the end of the broadcast ends
    /// both streams.
    @Test func viewersReceiveEveryFramePublished() async throws {
        let broadcaster = MJPEGBroadcaster(viewerBuffer: 64)
        let server = try await RunningServer.start(MJPEGService.router(broadcaster: broadcaster), host: "127.0.0.1", port: 0, name: "test-camera")
        final class Collected: @unchecked Sendable {
            let lock = NSLock()
            var frames: [[UInt8]] = []
            func add(_ f: [UInt8]) { lock.withLock { frames.append(f) } }
        }
        let first = Collected(), second = Collected()
        let a = try await MJPEGReceiver.start(url: server.url + "/", onFrame: first.add, onEnd: {})
        let b = try await MJPEGReceiver.start(url: server.url + "/stream.mjpg", onFrame: second.add, onEnd: {})
        while await broadcaster.viewerCount < 2 { try await Task.sleep(for: .milliseconds(10)) }
        var random = SplitMix64(seed: 91)
        let frames = try (0..<12).map { _ in try JPEGCodec.encode(randomImage(width: 64, height: 48, channels: 3, using: &random), quality: 80) }
        for frame in frames { await broadcaster.publish(frame) }
        await broadcaster.finish()
        let countsA = await a.finished(), countsB = await b.finished()
        #expect(first.frames == frames && second.frames == frames)
        #expect(countsA.parts == 12 && countsB.parts == 12 && countsA.malformed == 0 && countsA.error == nil)
        await server.stop()
    }

    @Test func whatIsNotAnMJPEGStreamIsNamed() async throws {
        let broadcaster = MJPEGBroadcaster()
        let server = try await RunningServer.start(MJPEGService.router(broadcaster: broadcaster), host: "127.0.0.1", port: 0, name: "test-camera")
        try await stopping({ await server.stop() }) {
            await #expect(throws: MSAIError.io("MJPEG stream at \(server.url)/nothing answered 404 Not Found")) {
                _ = try await MJPEGReceiver.start(url: server.url + "/nothing", onFrame: { _ in }, onEnd: {})
            }
            await broadcaster.finish()
            do {
                _ = try await MJPEGReceiver.start(url: "http://127.0.0.1:1/", onFrame: { _ in }, onEnd: {})
                Issue.record("a closed port was read as a stream")
            } catch let error as MSAIError {
                #expect(error.description.hasPrefix("cannot read the MJPEG stream at http://127.0.0.1:1/"))
            }
        }
    }
}
