import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import MSAICore
import NIOCore

/// The latest frames of a camera, handed to every viewer of its MJPEG stream. Each viewer has
/// a buffer of `viewerBuffer` frames and loses the oldest when it reads too slowly, as a live
/// camera would; nobody waits for a slow viewer.
public actor MJPEGBroadcaster {
    public let viewerBuffer: Int
    private var viewers: [UUID: AsyncStream<[UInt8]>.Continuation] = [:]
    private var finished = false

    public init(viewerBuffer: Int = 2) { self.viewerBuffer = max(1, viewerBuffer) }

    public var viewerCount: Int { viewers.count }

    /// Returns once someone watches (or the broadcast is finished).
    public func waitForViewer() async {
        while viewers.isEmpty && !finished && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
    }

    public func publish(_ jpeg: [UInt8]) {
        for viewer in viewers.values { viewer.yield(jpeg) }
    }

    /// Ends every viewer's stream; later viewers get an empty one.
    public func finish() {
        finished = true
        for viewer in viewers.values { viewer.finish() }
        viewers = [:]
    }

    func subscribe() -> (UUID, AsyncStream<[UInt8]>) {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingNewest(viewerBuffer))
        let id = UUID()
        if finished { continuation.finish() } else { viewers[id] = continuation }
        return (id, stream)
    }

    func unsubscribe(_ id: UUID) { viewers[id]?.finish(); viewers[id] = nil }
}

/// `msai camera --mjpeg`: the camera's frames as an MJPEG stream.
///
///     GET /            multipart/x-mixed-replace; boundary=msaiframe, one JPEG per part
///     GET /stream.mjpg the same
public enum MJPEGService {
    public static func router(broadcaster: MJPEGBroadcaster) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = MJPEG.contentType
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                let (id, frames) = await broadcaster.subscribe()
                do {
                    for await jpeg in frames { try await writer.write(ByteBuffer(bytes: MJPEG.part(jpeg))) }
                    try await writer.write(ByteBuffer(string: "--\(MJPEG.boundary)--\r\n"))
                } catch {
                    // The viewer went away.
                    await broadcaster.unsubscribe(id)
                    throw error
                }
                await broadcaster.unsubscribe(id)
                try await writer.finish(nil)
            })
        }
        router.get("/", use: handler)
        router.get("/stream.mjpg", use: handler)
        return router
    }
}

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
            response = try await SharedHTTPClient.client.execute(request, deadline: .distantFuture)
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
