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
    /// Who waits for the first viewer, woken by it (or by the end of the broadcast).
    private var waitingForViewer: [CheckedContinuation<Void, Never>] = []

    public init(viewerBuffer: Int = 2) { self.viewerBuffer = max(1, viewerBuffer) }

    public var viewerCount: Int { viewers.count }

    /// Returns once someone watches (or the broadcast is finished).
    public func waitForViewer() async {
        guard viewers.isEmpty && !finished else { return }
        await withCheckedContinuation { waitingForViewer.append($0) }
    }

    private func wakeWaiters() {
        for waiter in waitingForViewer { waiter.resume() }
        waitingForViewer = []
    }

    public func publish(_ jpeg: [UInt8]) {
        for viewer in viewers.values { viewer.yield(jpeg) }
    }

    /// Ends every viewer's stream; later viewers get an empty one.
    public func finish() {
        finished = true
        for viewer in viewers.values { viewer.finish() }
        viewers = [:]
        wakeWaiters()
    }

    func subscribe() -> (UUID, AsyncStream<[UInt8]>) {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingNewest(viewerBuffer))
        let id = UUID()
        if finished { continuation.finish() } else { viewers[id] = continuation }
        wakeWaiters()
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
