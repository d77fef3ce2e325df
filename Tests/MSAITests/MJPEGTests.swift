import Foundation
import MSAICore
import MSAICoreTesting
import MSAIImageIO
import MSAINetwork
import MSAIStreaming
import Testing

/// MJPEG over HTTP: the parser, and `msai camera --mjpeg`'s server read by the edge's receiver.
@Suite struct MJPEGTests {
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
