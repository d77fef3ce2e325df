import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import MSAICore
import MSAICrypto
import MSAIImageIO
import MSAIRoles
import NIOCore
import ServiceLifecycle

/// Limits on request bodies: a membrane request or key is a few hundred bytes. (A sealed frame
/// is bounded by its τ: `DataCenter.sealedFrameLimit`.)
public enum BodyLimits {
    public static let control = 64 * 1024
    /// The most a reader takes from its own data center for one frame (a PNG of the largest
    /// frame a data center can be set to accept is less).
    public static let frameReply = 1 << 30
}

/// Reads a request body up to `limit` bytes, with a 413 naming the limit when it is larger.
func body(_ request: Request, limit: Int) async throws -> ByteBuffer {
    do {
        return try await request.body.collect(upTo: limit)
    } catch {
        throw HTTPError(.contentTooLarge, message: "request body is larger than \(limit) bytes")
    }
}

/// Reads a sealed frame's body and hands it to `use`: first its clear header, which names the τ,
/// then no more than a frame under that τ can take (`limit`, which throws for a τ not issued
/// here before anything more is read). A 413 names the limit. The bytes it will hold (the
/// Content-Length, else the limit) are taken from `budget` before they are read and given back
/// once `use` is done: beyond the budget, 503 (uploads in flight cannot add up past it).
func withSealedFrameBody<T>(_ request: Request, limit: @Sendable (String) async throws -> Int, budget: ByteBudget = ByteBudget(.max),
                            _ use: ([UInt8]) async throws -> T) async throws -> T {
    var bytes: [UInt8] = []
    var reserved = 0
    defer { budget.give(reserved) }
    let declared = request.headers[.contentLength].flatMap(Int.init)
    var bound: Int?
    for try await chunk in request.body {
        var rest = chunk.readableBytesView[...]
        if bound == nil {
            let needed = SealedFrame.longestHeader - bytes.count
            bytes += rest.prefix(needed)
            rest = rest.dropFirst(needed)
            guard bytes.count >= SealedFrame.longestHeader else { continue }
            let most: Int
            do {
                most = try await limit(try SealedFrame.header(bytes).tauID)
            } catch {
                throw httpError(error)
            }
            bound = most
            if let declared, declared > most {
                throw HTTPError(.contentTooLarge, message: "a sealed frame under its τ is at most \(most) bytes")
            }
            let wanted = declared ?? most
            guard budget.take(wanted) else {
                throw HTTPError(.serviceUnavailable, headers: [.retryAfter: "1"], message: "busy: too many frame bytes in flight; retry after 1 s")
            }
            reserved = wanted
            bytes.reserveCapacity(wanted)
        }
        guard let bound, bytes.count + rest.count <= bound else {
            throw HTTPError(.contentTooLarge, message: "a sealed frame under its τ is at most \(bound ?? 0) bytes")
        }
        bytes += rest
    }
    return try await use(bytes)
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

/// Library errors as HTTP, in this one place: a replay is 409 (naming what was used up in the
/// msai-used-up header when it is known), no such frame 404, anything the client sent wrong 400,
/// the rest 500.
func httpError(_ error: Error) -> Error {
    guard let error = error as? MSAIError else { return error }
    switch error {
    case .alreadyUsed(let item):
        var headers = HTTPFields()
        headers[HTTPField.Name(Wire.usedUp)!] = item.field
        return HTTPError(.conflict, headers: headers, message: error.description)
    case .replay: return HTTPError(.conflict, message: error.description)
    case .refused(let status, let message) where (400..<500).contains(status):
        return HTTPError(HTTPResponse.Status(code: status), message: message)
    case .noSuchFrame(let id):
        var headers = HTTPFields()
        headers[HTTPField.Name(Wire.notFound)!] = "frame \(id)"
        return HTTPError(.notFound, headers: headers, message: error.description)
    case .io: return HTTPError(.internalServerError, message: error.description)
    default: return HTTPError(.badRequest, message: error.description)
    }
}

/// `GET /v1/health`'s answer: "ok", as text.
@Sendable func healthy() -> Response {
    Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "ok")))
}

/// The cloud platform as an HTTP service.
///
///     POST /v1/membranes   edge token   {"rows","cols","channels","mode"} → membrane bytes,
///                                       with msai-membrane-id / -shape / -mode headers
///     GET  /v1/health
public enum CloudService {
    public static func router(cloud: CloudPlatform, edgeTokens: [String], metricsTokens: [String] = [], devices: DeviceRegistry? = nil,
                              limits: ServerLimits = ServerLimits(), heavy: HeavyWork, observation: RoleObservation? = nil) -> Router<RoleRequestContext> {
        let routes = RoleRoutes(tokens: [.edge: edgeTokens, .metrics: metricsTokens], devices: devices, limits: limits,
                                observation: observation.map { RequestObservation(metrics: $0.metrics, logger: $0.logger) })
        routes.on(.get, "/v1/health", access: .anyone) { _, _ in healthy() }
        routes.on(.post, "/v1/membranes", access: .only([.edge])) { request, context -> Response in
            let device = try context.caller().device
            let message = try decodeJSON(MembraneRequestBody.self, from: try await body(request, limit: BodyLimits.control), what: "membrane request")
            do {
                let shape = try MembraneShape(rows: message.rows, cols: message.cols, channels: message.channels)
                let request = MembraneRequest(shape: shape, mode: message.mode)
                let grant = try await cloud.issue(try await heavy.run(for: context.callerKey) { try cloud.makeMembrane(request, for: device) })
                context.notes.note("membrane_id", grant.id.rawValue)
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
        return routes.finished
    }
}

/// The data center as an HTTP service.
///
///     POST   /v1/keys                    cloud token       membrane key (JSON) → 204
///     POST   /v1/taus                    edge token        {"width","height","block_size"} → tau grant (JSON)
///     POST   /v1/frames                  edge token        sealed frame → receipt (JSON), 201
///     GET    /v1/frames                  viewer/recoverer  the stored frames (JSON)
///     GET    /v1/frames/{id}/masked      viewer/recoverer  the masked view (PNG: unscrambled, areas masked); audited
///     GET    /v1/frames/{id}/sealed      viewer/recoverer  the sealed frame as received; audited
///     GET    /v1/frames/{id}/recovered   recoverer         the original (PNG), with ?reason=… or msai-reason; audited with it
///     DELETE /v1/frames/{id}             recoverer         deletes the frame with its keys, with a reason; audited
///     GET    /v1/audit                   recoverer         the audit log (JSON)
///     GET    /v1/health
public enum DataCenterService {
    public static func router(dataCenter: DataCenter, cloudToken: String, edgeTokens: [String], viewerTokens: [String],
                              recovererTokens: [String], metricsTokens: [String] = [], devices: DeviceRegistry? = nil,
                              limits: ServerLimits = ServerLimits(), heavy: HeavyWork, storage: HeavyWork,
                              observation: RoleObservation? = nil) -> Router<RoleRequestContext>
    {
        let frameBytes = ByteBudget(limits.frameBytesInFlight)
        let routes = RoleRoutes(tokens: [.cloud: [cloudToken], .edge: edgeTokens, .viewer: viewerTokens, .recoverer: recovererTokens,
                                         .metrics: metricsTokens],
                                devices: devices, limits: limits,
                                audit: RefusalAudit { entry in
                                    do {
                                        try await storage.run(for: "refusal audit") { try dataCenter.store.appendAudit(entry) }
                                    } catch is HTTPError {
                                        try? dataCenter.store.appendAudit(entry)  // its queue is full: written here rather than lost
                                    } catch {}
                                }, observation: observation.map { RequestObservation(metrics: $0.metrics, logger: $0.logger) })
        /// A whole-number query parameter in `range`, or `fallback` when absent; a 400 naming it otherwise.
        @Sendable func number(_ request: Request, _ name: String, in range: ClosedRange<Int>, fallback: Int) throws -> Int {
            guard let text = request.uri.queryParameters.get(name) else { return fallback }
            guard let value = Int(text), range.contains(value) else {
                throw HTTPError(.badRequest, message: "\(name) must be a whole number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
            }
            return value
        }
        // Either kind of reader (a recoverer may do all a viewer may), named in the audit log as the kind it is.
        let readers = RoleRoutes.Access.only([.viewer, .recoverer])
        /// The msai-reason header (percent-encoded UTF-8, which keeps it out of access logs), or
        /// the reason query parameter.
        @Sendable func reason(_ request: Request) -> String {
            if let header = request.headers[HTTPField.Name(Wire.reason)!] { return header.removingPercentEncoding ?? header }
            return request.uri.queryParameters.get("reason") ?? ""
        }
        @Sendable func png(_ pixels: PixelBuffer) throws -> Response {
            var headers = HTTPFields()
            headers[.contentType] = "image/png"
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try PNGCodec.encode(pixels))))
        }
        routes.on(.get, "/v1/health", access: .anyone) { _, _ in healthy() }
        routes.on(.post, "/v1/keys", access: .only([.cloud])) { request, context -> Response in
            let key = try decodeJSON(MembraneKeyBody.self, from: try await body(request, limit: BodyLimits.control), what: "membrane key")
            do {
                let (record, actor) = (try key.record(), try context.caller().actor)
                context.notes.note("membrane_id", record.id.rawValue)
                try await storage.run(for: context.callerKey) { try dataCenter.depositKey(record, device: key.device, actor: actor) }
            } catch {
                throw httpError(error)
            }
            return Response(status: .noContent)
        }
        routes.on(.post, "/v1/taus", access: .only([.edge])) { request, context -> Response in
            let message = try decodeJSON(TauRequestBody.self, from: try await body(request, limit: BodyLimits.control), what: "tau request")
            let caller = try context.caller()
            do {
                let request = TauRequest(width: message.width, height: message.height, blockSize: message.blockSize)
                let grant = try await storage.run(for: context.callerKey) { try dataCenter.issueTau(request, device: caller.device, actor: caller.actor) }
                context.notes.note("tau_id", grant.id)
                return try json(TauGrantBody(grant))
            } catch {
                throw httpError(error)
            }
        }
        routes.on(.post, "/v1/frames", access: .only([.edge])) { request, context -> Response in
            let caller = try context.caller()
            let (actor, device) = (caller.actor, caller.device)
            let limit: @Sendable (String) async throws -> Int = { id in
                context.notes.note("tau_id", id)
                return try await storage.run(for: context.callerKey) { try dataCenter.sealedFrameLimit(tauID: id, device: device) }
            }
            return try await withSealedFrameBody(request, limit: limit, budget: frameBytes) { frame in
                do {
                    let receipt = try await heavy.run(for: context.callerKey) { try dataCenter.submit(maskedFrame: frame, actor: actor, device: device) }
                    context.notes.note("frame_id", receipt.frameID)
                    return try json(receipt, status: .created)
                } catch {
                    throw httpError(error)
                }
            }
        }
        routes.on(.get, "/v1/frames", access: readers) { request, context -> Response in
            let limit = try number(request, "limit", in: 1...1000, fallback: 100)
            let (after, actor) = (request.uri.queryParameters.get("after"), try context.caller().actor)
            let page: [FrameSummary]
            do {
                page = try await storage.run(for: context.callerKey) { try dataCenter.listFrames(after: after, limit: limit, actor: actor) }
            } catch {
                throw httpError(error)
            }
            var response = try json(page)
            if page.count == limit, let last = page.last { response.headers[HTTPField.Name(Wire.nextPage)!] = last.cursor }
            return response
        }
        routes.on(.get, "/v1/frames/:id/masked", access: readers) { _, context -> Response in
            do {
                let (id, actor) = (try context.parameters.require("id"), try context.caller().actor)
                context.notes.note("frame_id", id)
                return try await heavy.run(for: context.callerKey) { try png(try dataCenter.maskedView(id, actor: actor).pixels) }
            } catch {
                throw httpError(error)
            }
        }
        routes.on(.get, "/v1/frames/:id/sealed", access: readers) { _, context -> Response in
            do {
                let (id, actor) = (try context.parameters.require("id"), try context.caller().actor)
                context.notes.note("frame_id", id)
                let bytes = try await storage.run(for: context.callerKey) { try dataCenter.sealedFrame(id, actor: actor) }
                var headers = HTTPFields()
                headers[.contentType] = SealedFrame.mediaType
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            } catch {
                throw httpError(error)
            }
        }
        routes.on(.get, "/v1/frames/:id/recovered", access: .only([.recoverer])) { request, context -> Response in
            do {
                let (id, actor, reason) = (try context.parameters.require("id"), try context.caller().actor, reason(request))
                context.notes.note("frame_id", id)
                return try await heavy.run(for: context.callerKey) { try png(try dataCenter.recoverOriginal(id, actor: actor, reason: reason).pixels) }
            } catch {
                throw httpError(error)
            }
        }
        routes.on(.delete, "/v1/frames/:id", access: .only([.recoverer])) { request, context -> Response in
            do {
                let (id, actor, reason) = (try context.parameters.require("id"), try context.caller().actor, reason(request))
                context.notes.note("frame_id", id)
                try await storage.run(for: context.callerKey) { try dataCenter.deleteFrame(id, actor: actor, reason: reason) }
                return Response(status: .noContent)
            } catch {
                throw httpError(error)
            }
        }
        routes.on(.get, "/v1/audit", access: .only([.recoverer])) { request, context -> Response in
            let after = try number(request, "after", in: 0...Int.max, fallback: 0)
            let limit = try number(request, "limit", in: 1...10_000, fallback: 1000)
            let actor = try context.caller().actor
            return try json(try await storage.run(for: context.callerKey) { try dataCenter.readAudit(after: after, limit: limit, actor: actor) })
        }
        return routes.finished
    }
}

/// A server started on a host and port (0 for any free port), running until stopped.
public final class RunningServer: Sendable {
    public let host: String
    public let port: Int
    private let task: Task<Void, Error>
    private let group: ServiceGroup

    init(host: String, port: Int, secure: Bool, task: Task<Void, Error>, group: ServiceGroup) {
        self.host = host
        self.port = port
        self.secure = secure
        self.task = task
        self.group = group
    }

    /// Whether it serves HTTPS.
    public let secure: Bool

    public var url: String { "\(secure ? "https" : "http")://\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    /// Starts `router` and returns once it listens; throws if it cannot bind.
    /// `services` run beside the server in its service group (the data center's retention) and
    /// stop with it; `role` names the server in errors ("the data center"), `name` in its logs.
    /// `limits` close slow connections and cap how many are open (all, and per address); `tls`
    /// (a certificate chain and its key, PEM files) makes it serve HTTPS.
    public static func start<Context: RequestContext>(_ router: Router<Context>, host: String, port: Int, name: String,
                             role: String? = nil, limits: ServerLimits = ServerLimits(), tls: ServerTLSFiles? = nil,
                             logLevel: Logger.Level = .warning, services: [any Service] = []) async throws -> RunningServer
    where Context.Source == ApplicationRequestContextSource {
        var logger = Logger(label: name)
        logger.logLevel = logLevel
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let perAddress = ConnectionsPerAddress(limit: limits.connectionsPerAddress)
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [perAddress.handler(), BodyDeadlineHandler(timeout: limits.bodyTimeout)],
            idleTimeout: .nanoseconds(Int64(milliseconds(limits.headerTimeout) * 1_000_000)))
        let server: HTTPServerBuilder = try tls.map { try .tls(.http1(configuration: http1), tlsConfiguration: try serverTLS($0)) }
            ?? .http1(configuration: http1)
        let app = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: name,
                                 availableConnectionsDelegate: MaximumAvailableConnections(limits.maximumConnections)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? port)
                continuation.finish()
            }, logger: logger)
        let group = ServiceGroup(services: [app] + services, logger: logger)
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            do {
                try await task.value
            } catch {
                throw MSAIError.io("\(role ?? name) cannot listen on \(host):\(port): \(TransportErrors.bindFailure(error, host: host, port: port))")
            }
            throw MSAIError.io("\(name) stopped before it listened on \(host):\(port)")
        }
        return RunningServer(host: host, port: bound, secure: tls != nil, task: task, group: group)
    }

    /// Stops accepting requests, lets requests in flight finish, and waits for the server to end.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

}

/// What a role serves HTTPS with: its certificate chain and key (PEM files), and the CA whose
/// client certificates it accepts from cameras enrolled with one (`msai device add --certificate`).
public struct ServerTLSFiles: Sendable, Equatable {
    public var certificate: String
    public var key: String
    /// The deployment's CA: a client certificate, when one is presented, must chain to it (a
    /// connection without one is accepted, and its requests need a token).
    public var clientCA: String?

    public init(certificate: String, key: String, clientCA: String? = nil) {
        self.certificate = certificate
        self.key = key
        self.clientCA = clientCA
    }
}

/// A server's TLS from its certificate chain and key (PEM files), with a message naming the file
/// that cannot be read. With a client CA, a certificate the client presents must chain to it, or
/// the handshake fails; which device it is, the device registry says per request.
func serverTLS(_ files: ServerTLSFiles) throws -> TLSConfiguration {
    let chain: [NIOSSLCertificate]
    let key: NIOSSLPrivateKey
    do {
        chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
    } catch {
        throw MSAIError.invalidArgument("\(files.certificate): cannot read the certificate (\(error))")
    }
    do {
        key = try NIOSSLPrivateKey(file: files.key, format: .pem)
    } catch {
        throw MSAIError.invalidArgument("\(files.key): cannot read the private key (\(error))")
    }
    guard !chain.isEmpty else { throw MSAIError.invalidArgument("\(files.certificate) holds no certificate") }
    var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    configuration.minimumTLSVersion = .tlsv12
    if let clientCA = files.clientCA {
        do {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(clientCA))
        } catch {
            throw MSAIError.invalidArgument("\(clientCA): cannot read the CA certificate that client certificates must chain to (\(error))")
        }
        configuration.certificateVerification = .optionalVerification
    }
    return configuration
}
