import AsyncHTTPClient
import Foundation
import MSAICore

/// The client that reads cameras' MJPEG streams: connects within 3 s, follows no redirect.
private let cameraClient: HTTPClient = {
    var configuration = HTTPClient.Configuration(
        certificateVerification: .fullVerification, redirectConfiguration: .disallow,
        timeout: HTTPClient.Configuration.Timeout(connect: .seconds(3)))
    configuration.connectionPool.retryConnectionEstablishment = false
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}()

/// Reads an MJPEG stream over HTTP(S) and hands each JPEG part to `onFrame` as it completes.
/// The stream ends when the camera closes it, or on `stop()`.
public final class MJPEGReceiver: Sendable {
    public struct Counts: Sendable {
        public var parts = 0
        public var bytes = 0
        public var malformed = 0
        /// Why the stream ended early (the connection failed), if it did.
        public var error: String?
    }

    private let task: Task<Counts, Never>

    private init(task: Task<Counts, Never>) { self.task = task }

    /// Connects and checks that the reply is an MJPEG stream before it returns; throws a
    /// message naming the URL otherwise. `onEnd` is called once the stream is over.
    public static func start(url: String, onFrame: @escaping @Sendable ([UInt8]) -> Void,
                             onEnd: @escaping @Sendable () -> Void) async throws -> MJPEGReceiver {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "multipart/x-mixed-replace, image/jpeg")
        let response: HTTPClientResponse
        do {
            // No deadline: a camera streams for as long as it runs.
            response = try await cameraClient.execute(request, deadline: .distantFuture)
        } catch {
            throw MSAIError.io("cannot read the MJPEG stream at \(url): \(error)")
        }
        guard response.status == .ok else {
            throw MSAIError.io("MJPEG stream at \(url) answered \(response.status.code) \(response.status.reasonPhrase)")
        }
        let contentType = response.headers.first(name: "Content-Type") ?? "none"
        guard let boundary = MJPEG.boundary(fromContentType: contentType) else {
            throw MSAIError.invalidArgument("\(url) is not an MJPEG stream (Content-Type: \(contentType); expected multipart/x-mixed-replace with a boundary)")
        }
        let task = Task<Counts, Never> {
            defer { onEnd() }
            var parser = MJPEGParser(boundary: boundary)
            var counts = Counts()
            do {
                for try await buffer in response.body {
                    counts.bytes += buffer.readableBytes
                    for part in parser.feed(buffer.readableBytesView) {
                        counts.parts += 1
                        onFrame(part)
                    }
                    counts.malformed = parser.malformedParts
                    if parser.ended { break }
                }
            } catch {
                if !Task.isCancelled { counts.error = "\(error)" }
            }
            return counts
        }
        return MJPEGReceiver(task: task)
    }

    /// Waits for the stream to end by itself.
    public func finished() async -> Counts { await task.value }

    /// Stops reading; returns what was read.
    public func stop() async -> Counts {
        task.cancel()
        return await task.value
    }
}
