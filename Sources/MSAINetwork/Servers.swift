import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MSAICore
import MSAIImageIO
import MSAIRoles
import NIOCore
import ServiceLifecycle

/// Limits on request bodies: a membrane request or key is a few hundred bytes; a masked frame
/// is a PNG of at most `maximumFrameBytes`.
public enum BodyLimits {
    public static let control = 64 * 1024
    public static let maximumFrameBytes = 256 * 1024 * 1024
}

/// Bearer-token checks, in constant time.
struct Authorizer: Sendable {
    let tokens: [String]
    let role: String

    /// Checks the bearer token and returns who presented it: the role and the first 8 hex digits of
    /// the token's SHA-256 (enough to tell enrolled devices apart in the audit log; not the token).
    @discardableResult
    func check(_ request: Request) throws -> String {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw HTTPError(.unauthorized, message: "missing bearer token: this endpoint needs the token of \(role)")
        }
        let given = Array(header.dropFirst(7).utf8)
        var match = false
        for token in tokens where !token.isEmpty {
            let expected = Array(token.utf8)
            guard expected.count == given.count else { continue }
            var difference: UInt8 = 0
            for i in 0..<expected.count { difference |= expected[i] ^ given[i] }
            if difference == 0 { match = true }
        }
        guard match else { throw HTTPError(.unauthorized, message: "wrong token: this endpoint needs the token of \(role)") }
        let fingerprint = Hex.encode(Array(SHA256.hash(data: given))).prefix(8)
        return "\(label):\(fingerprint)"
    }

    private var label: String { role.split(separator: " ").last.map(String.init) ?? role }
}

/// Reads a request body up to `limit` bytes, with a 400 naming the limit when it is larger.
func body(_ request: Request, limit: Int) async throws -> ByteBuffer {
    do {
        return try await request.body.collect(upTo: limit)
    } catch {
        throw HTTPError(.badRequest, message: "request body is larger than \(limit) bytes")
    }
}

func decodeJSON<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer, what: String) throws -> T {
    do {
        return try Wire.decoder().decode(T.self, from: Data(buffer: buffer))
    } catch {
        throw HTTPError(.badRequest, message: "\(what) is not valid JSON for this endpoint: \(describe(error))")
    }
}

func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: try Wire.encoder().encode(value))))
}

/// Library errors as HTTP: a replay is 409, anything the client sent wrong 400, the rest 500.
func httpError(_ error: Error) -> Error {
    guard let error = error as? MSAIError else { return error }
    switch error {
    case .replay: return HTTPError(.conflict, message: error.description)
    case .io: return HTTPError(.internalServerError, message: error.description)
    default: return HTTPError(.badRequest, message: error.description)
    }
}

/// The cloud platform as an HTTP service.
///
///     POST /v1/membranes   edge token   {"rows","cols","channels","mode"} → membrane bytes,
///                                       with msai-membrane-id / -shape / -mode headers
///     GET  /v1/health
public enum CloudService {
    public static func router(cloud: CloudPlatform, edgeTokens: [String]) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let edges = Authorizer(tokens: edgeTokens, role: "an enrolled edge")
        router.get("/v1/health") { _, _ in "ok" }
        router.post("/v1/membranes") { request, _ -> Response in
            try edges.check(request)
            let message = try decodeJSON(MembraneRequestBody.self, from: try await body(request, limit: BodyLimits.control), what: "membrane request")
            do {
                let shape = try MembraneShape(rows: message.rows, cols: message.cols, channels: message.channels)
                let grant = try await cloud.requestMembrane(MembraneRequest(shape: shape, mode: message.mode))
                var headers = HTTPFields()
                headers[.contentType] = "application/octet-stream"
                headers[HTTPField.Name(Wire.membraneID)!] = grant.id.rawValue
                headers[HTTPField.Name(Wire.membraneShape)!] = "\(shape.rows),\(shape.cols),\(shape.channels)"
                headers[HTTPField.Name(Wire.membraneMode)!] = grant.mode.rawValue
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: grant.values)))
            } catch {
                throw httpError(error)
            }
        }
        return router
    }
}

/// The data center as an HTTP service.
///
///     POST /v1/keys                     cloud token    membrane key (JSON) → 204
///     POST /v1/taus                     edge token     {"width","height","block_size"} → tau grant (JSON)
///     POST /v1/frames                   edge token     masked frame (PNG or QOI container) → receipt (JSON), 201
///     GET  /v1/frames                   reader token   the stored frames (JSON)
///     GET  /v1/frames/{id}/recovered    reader token   the recovered image (PNG); audited
///     GET  /v1/frames/{id}/masked       reader token   the masked frame as received; audited
///     GET  /v1/audit                    reader token   the audit log (JSON)
///     GET  /v1/health
public enum DataCenterService {
    public static func router(dataCenter: DataCenter, cloudToken: String, edgeTokens: [String], readerTokens: [String])
        -> Router<BasicRequestContext>
    {
        let router = Router(context: BasicRequestContext.self)
        let cloud = Authorizer(tokens: [cloudToken], role: "the cloud")
        let edges = Authorizer(tokens: edgeTokens, role: "an enrolled edge")
        let readers = Authorizer(tokens: readerTokens, role: "a reader")
        router.get("/v1/health") { _, _ in "ok" }
        router.post("/v1/keys") { request, _ -> Response in
            try cloud.check(request)
            let key = try decodeJSON(MembraneKeyBody.self, from: try await body(request, limit: BodyLimits.control), what: "membrane key")
            do {
                try dataCenter.depositKey(try key.record())
            } catch {
                throw httpError(error)
            }
            return Response(status: .noContent)
        }
        router.post("/v1/taus") { request, _ -> Response in
            try edges.check(request)
            let message = try decodeJSON(TauRequestBody.self, from: try await body(request, limit: BodyLimits.control), what: "tau request")
            do {
                return try json(TauGrantBody(try dataCenter.issueTau(TauRequest(width: message.width, height: message.height, blockSize: message.blockSize))))
            } catch {
                throw httpError(error)
            }
        }
        router.post("/v1/frames") { request, _ -> Response in
            let actor = try edges.check(request)
            let frame = try await body(request, limit: BodyLimits.maximumFrameBytes)
            do {
                return try json(try dataCenter.submit(maskedFrame: Array(buffer: frame), actor: actor), status: .created)
            } catch {
                throw httpError(error)
            }
        }
        router.get("/v1/frames") { request, _ -> Response in
            try readers.check(request)
            let summaries = try dataCenter.store.frameIDs().compactMap { id -> FrameSummary? in
                guard let f = try dataCenter.store.frame(id) else { return nil }
                return FrameSummary(frameID: id, width: f.manifest.recoveredWidth, height: f.manifest.recoveredHeight, areas: f.manifest.areas.count,
                                    receivedAt: f.receivedAt, background: f.manifest.composition?.base)
            }
            return try json(summaries)
        }
        router.get("/v1/frames/:id/:kind") { request, context -> Response in
            let actor = try readers.check(request)
            let id = try context.parameters.require("id"), kind = try context.parameters.require("kind")
            guard kind == "recovered" || kind == "masked" else {
                throw HTTPError(.notFound, message: "no such resource: use /v1/frames/{id}/recovered or /masked")
            }
            guard let frame = try dataCenter.store.frame(id) else { throw HTTPError(.notFound, message: "no frame \(id)") }
            try dataCenter.store.appendAudit(actor: actor, action: "read \(kind)", frameID: id)
            let bytes = kind == "masked" ? frame.maskedFrame : try PNGCodec.encode(frame.recovered)
            var headers = HTTPFields()
            headers[.contentType] = kind == "masked" ? (MaskedFrameCodec.format(of: bytes) ?? .png).mediaType : "image/png"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("/v1/audit") { request, _ -> Response in
            try readers.check(request)
            return try json(try dataCenter.store.auditLog(limit: 1000))
        }
        return router
    }
}

/// A server started on a host and port (0 for any free port), running until stopped.
public final class RunningServer: Sendable {
    public let host: String
    public let port: Int
    private let task: Task<Void, Error>
    private let group: ServiceGroup

    init(host: String, port: Int, task: Task<Void, Error>, group: ServiceGroup) {
        self.host = host
        self.port = port
        self.task = task
        self.group = group
    }

    public var url: String { "http://\(host):\(port)" }

    /// Starts `router` and returns once it listens; throws if it cannot bind.
    public static func start(_ router: Router<BasicRequestContext>, host: String, port: Int, name: String,
                             logLevel: Logger.Level = .warning) async throws -> RunningServer {
        var logger = Logger(label: name)
        logger.logLevel = logLevel
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: name),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? port)
                continuation.finish()
            }, logger: logger)
        let group = ServiceGroup(services: [app], logger: logger)
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            do {
                try await task.value
            } catch {
                throw MSAIError.io("\(name) cannot listen on \(host):\(port): \(error)")
            }
            throw MSAIError.io("\(name) stopped before it listened on \(host):\(port)")
        }
        return RunningServer(host: host, port: bound, task: task, group: group)
    }

    /// Stops accepting requests, lets requests in flight finish, and waits for the server to end.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

}
