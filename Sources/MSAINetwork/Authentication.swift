import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import MSAICore
import NIOCore
import NIOSSL

/// Who presented a request's bearer token: every role whose token list holds it, and the first
/// 8 hex digits of its SHA-256 (enough to tell enrolled devices apart in the audit log; not the
/// token). `acting` is the role a route admitted it as.
public struct Caller: Sendable {
    public enum Role: String, Sendable, CaseIterable {
        case cloud, edge, viewer, recoverer, metrics

        /// As a route's error message names the token it needs.
        var article: String {
            switch self {
            case .cloud: return "the cloud"
            case .edge: return "an enrolled edge"
            case .viewer: return "a viewer"
            case .recoverer: return "a recoverer"
            case .metrics: return "a metrics scraper (metrics_tokens in the configuration)"
            }
        }
    }

    public let roles: Set<Role>
    public let fingerprint: String
    public var acting: Role?
    /// The enrolled camera, for an edge token from the device registry (the τs, membranes and
    /// backgrounds it asks for are bound to it).
    public var device: String?

    /// How the audit log names the caller: "edge:camera-7" for an enrolled device, else the
    /// role and the token's fingerprint, "viewer:1a2b3c4d".
    public var actor: String {
        let role = (acting ?? roles.sorted { $0.rawValue < $1.rawValue }.first!).rawValue
        return device.map { "\(role):\($0)" } ?? "\(role):\(fingerprint)"
    }
}

/// The request context of the role services: Hummingbird's, with the authenticated caller.
public struct RoleRequestContext: AuthRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Caller?
    /// The peer's address (what admission counts a caller without a token by).
    public let remoteAddress: String
    /// The connection, whose TLS handler holds the client certificate, if one was presented.
    let channel: any Channel
    /// What the handlers learn for the request's log line (shared by every copy of the context).
    public let notes = RequestNotes()

    public init(source: Source) {
        coreContext = .init(source: source)
        identity = nil
        remoteAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
        channel = source.channel
    }

    /// Whom limits count a request against: the caller's token fingerprint, or without one its address.
    var callerKey: String { identity?.fingerprint ?? remoteAddress }

    /// The caller a role-checked route admitted.
    func caller() throws -> Caller { try requireIdentity() }
}

/// Finds whose bearer token a request carries: an enrolled device's (by the token's hash, in the
/// device registry), or a role's, compared in constant time against every token of every role
/// (an empty token admits nobody). Without a token, the client certificate of the connection, if
/// it presented one (TLS has checked that the deployment's CA signed it): an enrolled device's
/// by its hash. It never refuses: the routes decide.
struct TokenAuthenticator: AuthenticatorMiddleware {
    typealias Context = RoleRequestContext
    let tokens: [(role: Caller.Role, token: [UInt8])]
    let devices: DeviceRegistry?

    init(_ tokens: [Caller.Role: [String]], devices: DeviceRegistry? = nil) {
        self.tokens = tokens.flatMap { role, list in list.filter { !$0.isEmpty }.map { (role, Array($0.utf8)) } }
        self.devices = devices
    }

    func authenticate(request: Request, context: Context) async throws -> Caller? {
        guard let given = bearerToken(request) else {
            guard let devices, let certificate = try? await context.channel.nioSSL_peerCertificate().get(),
                  let device = devices.device(presentingCertificate: try certificate.toDERBytes())
            else { return nil }
            return Caller(roles: [.edge], fingerprint: device.fingerprint, acting: nil, device: device.name)
        }
        if let device = devices?.device(presenting: given) {
            return Caller(roles: [.edge], fingerprint: device.fingerprint, acting: nil, device: device.name)
        }
        var roles = Set<Caller.Role>()
        for (role, expected) in tokens where expected.count == given.count {
            var difference: UInt8 = 0
            for i in 0..<expected.count { difference |= expected[i] ^ given[i] }
            if difference == 0 { roles.insert(role) }
        }
        guard !roles.isEmpty else { return nil }
        return Caller(roles: roles, fingerprint: String(Hex.encode(Array(SHA256.hash(data: given))).prefix(8)), acting: nil, device: nil)
    }
}

func bearerToken(_ request: Request) -> [UInt8]? {
    guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
    return Array(header.dropFirst(7).utf8)
}

/// Admits a request only when its caller holds one of `roles` (tried in order; the first held is
/// the one it acts as): 401 without a token or with an unknown one; a viewer's token where only a
/// recoverer's will do is a 403 that says so.
struct RequireRole: RouterMiddleware {
    typealias Context = RoleRequestContext
    let roles: [Caller.Role]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let needed = roles.map(\.article).joined(separator: " or ")
        guard var caller = context.identity else {
            if bearerToken(request) == nil, (try? await context.channel.nioSSL_peerCertificate().get()) != nil {
                throw HTTPError(.unauthorized, message: "this connection's client certificate is no enrolled, unrevoked device's (msai device list)")
            }
            throw HTTPError(.unauthorized, message: bearerToken(request) == nil
                ? "missing bearer token: this endpoint needs the token of \(needed)"
                : "wrong token: this endpoint needs the token of \(needed)")
        }
        guard let role = roles.first(where: caller.roles.contains) else {
            if caller.roles.contains(.viewer) && roles == [.recoverer] {
                throw HTTPError(.forbidden, message: "a viewer token gets the masked view only; this needs a recoverer token")
            }
            throw HTTPError(.unauthorized, message: "wrong token: this endpoint needs the token of \(needed)")
        }
        caller.acting = role
        context.notes.note("caller", caller.actor)
        if let device = caller.device { context.notes.note("device", device) }
        var context = context
        context.identity = caller
        return try await next(request, context)
    }
}

/// The only way the role services register a route: each names who may call it, so that no route
/// is open by mistake; `.anyone` is written out where a route is meant to be open.
final class RoleRoutes {
    enum Access {
        case anyone
        case only([Caller.Role])
    }

    let router: Router<RoleRequestContext>
    /// The methods registered on each path, so that `finished` can answer the others with 405.
    private var methods: [String: Set<HTTPRequest.Method>] = [:]
    private var order: [String] = []

    /// A router that identifies each request's caller from `tokens` and `devices`, then admits
    /// the request within `limits` (in flight, per caller, rate) before any route reads its body;
    /// with `audit`, every request refused after that (401, 403, 4xx, 409) goes into the audit log.
    ///
    /// With `observation`, every request is first timed, counted and logged (outermost, so that
    /// refusals are counted too), and `GET /metrics` serves the counts to a metrics token.
    init(tokens: [Caller.Role: [String]], devices: DeviceRegistry? = nil, limits: ServerLimits = ServerLimits(),
         audit: RefusalAudit? = nil, observation: RequestObservation? = nil) {
        router = Router(context: RoleRequestContext.self)
        if let observation { router.add(middleware: observation) }
        router.add(middleware: TokenAuthenticator(tokens, devices: devices))
        router.add(middleware: AdmissionMiddleware(admission: Admission(limits: limits)))
        if let audit { router.add(middleware: audit) }
        if let metrics = observation?.metrics {
            on(.get, "/metrics", access: .only([.metrics])) { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                         body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
            }
        }
    }

    func on(_ method: HTTPRequest.Method, _ path: RouterPath, access: Access,
            use handler: @escaping @Sendable (Request, RoleRequestContext) async throws -> Response) {
        let key = path.description
        if methods[key] == nil { order.append(key) }
        methods[key, default: []].insert(method)
        switch access {
        case .anyone:
            router.on(path, method: method, use: handler)
        case .only(let roles):
            router.group().add(middleware: RequireRole(roles: roles)).on(path, method: method, use: handler)
        }
    }

    /// The router, every other method on a registered path answered 405 with the Allow header
    /// (as the OpenAPI documents say), before any authentication is asked for.
    var finished: Router<RoleRequestContext> {
        let all: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options, .trace, HTTPRequest.Method("QUERY")!]
        for key in order {
            let allowed = methods[key] ?? []
            let allow = all.filter(allowed.contains).map(\.rawValue).joined(separator: ", ")
            for method in all where !allowed.contains(method) {
                router.on(RouterPath(key), method: method) { _, _ -> Response in
                    throw HTTPError(.methodNotAllowed, headers: [.allow: allow], message: "\(method.rawValue) is not allowed here; \(allow) is")
                }
            }
        }
        return router
    }
}
