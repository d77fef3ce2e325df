import AsyncHTTPClient
import NIOSSL
import Synchronization
import Foundation
import MSAICore
import MSAICrypto
import MSAIRoles
import NIOCore
import NIOHTTP1
import NIOPosix

/// How hard a client tries: a deadline per attempt, and retries with exponential backoff for
/// transient failures (cannot connect, timed out, 5xx). Requests the server refused (4xx) are
/// never retried.
public struct RetryPolicy: Sendable {
    public var deadline: Duration = .seconds(10)
    public var attempts: Int = 3
    public var firstBackoff: Duration = .milliseconds(200)
    /// Told the status of each answer that asked to be retried later (503, 429), for a caller
    /// that counts them (`make load`).
    public var onBusy: (@Sendable (Int) -> Void)?

    public init(deadline: Duration = .seconds(10), attempts: Int = 3, firstBackoff: Duration = .milliseconds(200),
                onBusy: (@Sendable (Int) -> Void)? = nil) {
        self.deadline = deadline
        self.attempts = max(1, attempts)
        self.firstBackoff = firstBackoff
        self.onBusy = onBusy
    }
}

/// The process's HTTP clients: one for plain HTTP on loopback, one per pinned CA. None follows
/// redirects (a redirect could carry a token or a key elsewhere), and each fails a refused
/// connection at once so that our own retry policy decides. A client with a CA trusts that CA
/// alone, and checks the role's name or address against its certificate.
enum SharedHTTPClient {
    private static let clients = Mutex<[String: HTTPClient]>([:])

    static func make(_ tls: TLSConfiguration?) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow, timeout: HTTPClient.Configuration.Timeout(connect: .seconds(3)))
        configuration.connectionPool.retryConnectionEstablishment = false
        // Shorter than the roles' idle timeout (ServerLimits.headerTimeout, 10 s), so that a
        // pooled connection is dropped here before the server closes it under a request.
        configuration.connectionPool.idleTimeout = .seconds(5)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    static let plain = make(nil)

    /// The client that trusts the CA in `caFile` (read once per process) and, with `identity`,
    /// presents that client certificate; or the plain one.
    static func client(caFile: String?, identity: ClientIdentity? = nil) throws -> HTTPClient {
        guard let caFile else { return plain }
        let name = caFile + "\u{0}" + (identity.map { $0.certificate + "\u{0}" + $0.key } ?? "")
        if let client = clients.withLock({ $0[name] }) { return client }
        let roots: [NIOSSLCertificate]
        do {
            roots = try NIOSSLCertificate.fromPEMFile(caFile)
        } catch {
            throw MSAIError.invalidArgument("\(caFile): cannot read the CA certificate to trust (\(error)); msai init writes it as tls.ca")
        }
        guard !roots.isEmpty else { throw MSAIError.invalidArgument("\(caFile) holds no certificate") }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(roots)
        tls.certificateVerification = .fullVerification
        tls.minimumTLSVersion = .tlsv12
        if let identity {
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(identity.certificate).map { .certificate($0) }
            } catch {
                throw MSAIError.invalidArgument("\(identity.certificate): cannot read this edge's certificate (edge_certificate) (\(error))")
            }
            do {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: identity.key, format: .pem))
            } catch {
                throw MSAIError.invalidArgument("\(identity.key): cannot read this edge's private key (edge_key) (\(error))")
            }
        }
        return clients.withLock { clients in
            if let client = clients[name] { return client }
            let client = make(tls)
            clients[name] = client
            return client
        }
    }
}

/// A client certificate and its key (PEM files): how a camera enrolled with `msai device add
/// --certificate` identifies itself, over TLS, instead of by a token.
public struct ClientIdentity: Sendable, Hashable {
    public let certificate: String
    public let key: String

    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }
}

/// One role's HTTP client: its base URL (or several, comma-separated: the same role served by
/// several processes, as data centers sharing one PostgreSQL database) and the bearer token it
/// presents.
struct RoleClient: Sendable {
    let role: String
    /// As given, for messages.
    let baseURL: String
    let token: String
    let retry: RetryPolicy
    var setting: String? = nil
    /// The CA certificate pinned for an https:// role (nil: plain HTTP, loopback only).
    var caFile: String? = nil
    /// The client certificate presented over TLS (an edge enrolled with one).
    var identity: ClientIdentity? = nil
    /// The URLs to try, and which answered last: a request starts there, and moves on to the
    /// next when one cannot be reached or answers 5xx, so the rest of the role carries on when
    /// one of its processes is gone.
    let replicas: Replicas

    init(role: String, baseURL: String, token: String, retry: RetryPolicy, setting: String? = nil, caFile: String? = nil,
         identity: ClientIdentity? = nil) {
        self.role = role
        self.baseURL = baseURL
        self.token = token
        self.retry = retry
        self.setting = setting
        self.caFile = caFile
        self.identity = identity
        replicas = Replicas(baseURL)
    }

    final class Replicas: Sendable {
        let urls: [String]
        private let current = Atomic<Int>(0)

        init(_ list: String) {
            let urls = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            self.urls = urls.isEmpty ? [list] : urls
        }

        var preferred: Int { current.load(ordering: .relaxed) }
        func answered(_ index: Int) { current.store(index, ordering: .relaxed) }
    }

    struct Reply {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]
    }

    /// Sends a request, retrying transient failures; returns the reply of a 2xx, throws otherwise.
    /// `onAmbiguousRetry` is told when an attempt may have reached the server before failing.
    func send(_ method: HTTPMethod, _ path: String, contentType: String? = nil, headers extra: [(String, String)] = [], body: [UInt8]? = nil,
              responseLimit: Int, ambiguous: inout Bool) async throws -> Reply {
        var backoff = retry.firstBackoff
        var lastError = ""
        var unreachable = false
        var replica = replicas.preferred
        // With several URLs, each gets a try before any backoff, and no fewer attempts in all.
        let attempts = max(retry.attempts, replicas.urls.count)
        for attempt in 1...attempts {
            let url = replicas.urls[replica % replicas.urls.count]
            var request = HTTPClientRequest(url: url + path)
            request.method = method
            if !token.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
            for (name, value) in extra { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
            do {
                let response = try await SharedHTTPClient.client(caFile: caFile, identity: identity).execute(
                    request, deadline: .now() + .milliseconds(Int64(milliseconds(retry.deadline))))
                let bytes = Array(buffer: try await response.body.collect(upTo: responseLimit))
                let status = Int(response.status.code)
                if (200..<300).contains(status) {
                    replicas.answered(replica % replicas.urls.count)
                    return Reply(status: status, headers: response.headers, body: bytes)
                }
                let message = (try? JSONDecoder().decode(ServerError.self, from: Data(bytes)))?.error.message
                    ?? String(decoding: bytes.prefix(300), as: UTF8.self)
                if status == 503 || status == 429, let wait = response.headers.first(name: "Retry-After").flatMap(Int.init) {
                    // Refused before it was processed: not ambiguous; wait as long as asked (the
                    // backoff when that is longer), at most a few seconds.
                    lastError = "\(status): \(message)"
                    backoff = max(backoff, .seconds(min(5, max(0, wait))))
                    retry.onBusy?(status)
                } else if status >= 500 {
                    lastError = "\(status): \(message)"
                    ambiguous = true
                } else {
                    if status == 409, let field = response.headers.first(name: Wire.usedUp), let item = UsedUp(field: field) {
                        throw MSAIError.alreadyUsed(item)
                    }
                    if status == 404, let field = response.headers.first(name: Wire.notFound), field.hasPrefix("frame ") {
                        throw MSAIError.noSuchFrame(String(field.dropFirst("frame ".count)))
                    }
                    throw refusal(status: status, message: message)
                }
            } catch let error as MSAIError {
                throw error
            } catch {
                if let tls = TransportErrors.tlsFailure(error) {
                    // The same every time: no retry helps, and nothing was sent before TLS.
                    throw MSAIError.unreachable("cannot talk to the \(role) at \(baseURL) over TLS: \(tls)")
                }
                lastError = TransportErrors.plainWords(error)
                unreachable = TransportErrors.isUnreachable(error)
                // A request that never connected was not processed; anything later (a timeout, a
                // reset) may have been.
                if !Self.neverConnected(error) { ambiguous = true }
            }
            // The next URL (if there are several): a process of the role that is gone, or one
            // that failed, is not asked again at once. Back off once every URL has been tried.
            replica += 1
            if attempt < attempts && replica % replicas.urls.count == replicas.preferred {
                try await Task.sleep(for: backoff)
                backoff *= 2
            }
        }
        let tries = attempts == 1 ? "" : " (\(attempts) attempts)"
        if unreachable {
            throw MSAIError.unreachable("cannot reach the \(role) at \(baseURL)\(tries): \(lastError). "
                                        + "Is it running? `msai up` starts the cloud and the data center on this machine; "
                                        + "otherwise check the \(role)'s URL (\(urlSetting))")
        }
        throw MSAIError.io("the \(role) at \(baseURL) did not answer\(tries): \(lastError)")
    }

    /// Where a user changes this role's address.
    private var urlSetting: String {
        setting ?? (role == "cloud" ? "cloud_url or MSAI_CLOUD_URL in the configuration" : "datacenter_url or MSAI_DATACENTER_URL in the configuration")
    }

    static func neverConnected(_ error: Error) -> Bool {
        if error is NIOConnectionError { return true }
        if let e = error as? HTTPClientError, e == .connectTimeout { return true }
        if let e = error as? IOError, [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH].contains(e.errnoCode) { return true }
        return false
    }

    private func refusal(status: Int, message: String) -> MSAIError {
        switch status {
        case 401: return .refused(status: 401, message: "the \(role) at \(baseURL) refused our token (401: \(message)); an edge's token must be an enrolled, unrevoked device's (msai device list), and the other tokens the ones the roles were started with (one msai init, the same file for every role)")
        case 409: return .replay(message)
        case 404 where message.isEmpty || message.lowercased().contains("not found"):
            return .refused(status: 404, message: "the \(role) at \(baseURL) has no such endpoint (404): is that URL the \(role)'s? Check \(urlSetting)")
        default:
            return .refused(status: status, message: "the \(role) at \(baseURL) refused the request (\(status))" + (message.isEmpty ? "" : ": \(message)"))
        }
    }
}

/// Hummingbird's error body: {"error": {"message": "..."}}.
private struct ServerError: Decodable {
    struct Inner: Decodable { let message: String }
    let error: Inner
}

/// The cloud, reached over HTTP: what an edge holds.
public final class HTTPCloudClient: MembraneService {
    private let client: RoleClient

    /// `setting` is where the user gave `url` (a configuration key or an option), for messages.
    /// `caFile` is the deployment's CA, pinned for an https:// URL; `identity` the edge's client
    /// certificate, for an edge enrolled with one (its token may then be empty).
    public init(url: String, edgeToken: String, retry: RetryPolicy = RetryPolicy(), setting: String? = nil, caFile: String? = nil,
                identity: ClientIdentity? = nil) {
        client = RoleClient(role: "cloud", baseURL: url, token: edgeToken, retry: retry, setting: setting, caFile: caFile, identity: identity)
    }

    public func requestMembrane(_ request: MembraneRequest) async throws -> MembraneGrant {
        let body = try Wire.encoder().encode(MembraneRequestBody(rows: request.shape.rows, cols: request.shape.cols,
                                                                 channels: request.shape.channels, mode: request.mode))
        var ambiguous = false
        let expected = request.shape.sampleCount * request.mode.bytesPerSample
        let reply = try await client.send(.POST, "/v1/membranes", contentType: "application/json", body: Array(body),
                                          responseLimit: expected + 1, ambiguous: &ambiguous)
        guard let id = reply.headers.first(name: Wire.membraneID), !id.isEmpty,
            let mode = reply.headers.first(name: Wire.membraneMode).flatMap(MaskingMode.init(rawValue:)),
            let shapeText = reply.headers.first(name: Wire.membraneShape)
        else { throw MSAIError.invalidArgument("cloud reply lacks the membrane id, shape or mode headers") }
        let parts = shapeText.split(separator: ",").compactMap { Int($0) }
        guard parts.count == 3 else { throw MSAIError.invalidArgument("cloud reply has a malformed shape '\(shapeText)'") }
        let shape = try MembraneShape(rows: parts[0], cols: parts[1], channels: parts[2])
        return try MembraneGrant(id: MembraneID(rawValue: id), shape: shape, mode: mode, values: reply.body)
    }
}

/// The data center, reached over HTTP. Which token it holds decides what the data center lets
/// it do: the cloud's token deposits keys; an edge's token asks for taus and sends frames.
public final class HTTPDataCenterClient: MembraneKeyEscrow, ScrambleService, FrameSink {
    private let client: RoleClient

    /// `setting` is where the user gave `url` (a configuration key or an option), for messages.
    /// `caFile` is the deployment's CA, pinned for an https:// URL; `identity` the edge's client
    /// certificate, for an edge enrolled with one (its token may then be empty).
    public init(url: String, token: String, retry: RetryPolicy = RetryPolicy(), setting: String? = nil, caFile: String? = nil,
                identity: ClientIdentity? = nil) {
        client = RoleClient(role: "data center", baseURL: url, token: token, retry: retry, setting: setting, caFile: caFile, identity: identity)
    }

    public func depositKey(_ record: MembraneKeyRecord, device: String?) async throws {
        var ambiguous = false
        do {
            _ = try await client.send(.POST, "/v1/keys", contentType: "application/json",
                                      body: Array(try Wire.encoder().encode(MembraneKeyBody(record, device: device))), responseLimit: 4096,
                                      ambiguous: &ambiguous)
        } catch MSAIError.alreadyUsed(.membraneKey(let id)) where ambiguous && id == record.id.rawValue {
            // An earlier attempt got through before its reply was lost: the key is there.
        }
    }

    public func issueTau(_ request: TauRequest) async throws -> TauGrant {
        var ambiguous = false
        let body = try Wire.encoder().encode(TauRequestBody(width: request.width, height: request.height, blockSize: request.blockSize))
        let reply = try await client.send(.POST, "/v1/taus", contentType: "application/json", body: Array(body),
                                          responseLimit: 4096, ambiguous: &ambiguous)
        do {
            return try Wire.decoder().decode(TauGrantBody.self, from: Data(reply.body)).grant()
        } catch {
            throw MSAIError.invalidArgument("data center sent a malformed tau: \(describe(error))")
        }
    }

    public func submit(maskedFrame: [UInt8], expected: FrameReceipt) async throws -> FrameReceipt {
        var ambiguous = false
        do {
            let reply = try await client.send(.POST, "/v1/frames", contentType: SealedFrame.mediaType, body: maskedFrame,
                                              responseLimit: 64 * 1024, ambiguous: &ambiguous)
            return try Wire.decoder().decode(FrameReceipt.self, from: Data(reply.body))
        } catch MSAIError.alreadyUsed(.tau(let id)) where ambiguous && id == expected.frameID {
            // An earlier attempt reached the data center but its acknowledgement was lost; the
            // data center names this frame's own τ as used up, which proves the frame is stored.
            // Report it as accepted. (Another τ, or a membrane, is someone else's replay.)
            return expected
        }
    }
}

/// A reader of the data center. With a viewer token it lists frames and fetches their masked
/// view; with a recoverer token it also recovers originals (each read audited with the reason
/// given), deletes frames and reads the audit log.
public final class HTTPReaderClient: Sendable {
    private let client: RoleClient

    /// `setting` is where the user gave `url` (a configuration key or an option), for messages.
    /// `caFile` is the deployment's CA, pinned for an https:// URL.
    public init(url: String, token: String, retry: RetryPolicy = RetryPolicy(), setting: String? = nil, caFile: String? = nil) {
        client = RoleClient(role: "data center", baseURL: url, token: token, retry: retry, setting: setting, caFile: caFile)
    }

    /// The original of a stored frame (PNG bytes). `reason` goes into the audit log; it travels in
    /// a header, not the URL, so that proxies' access logs do not keep it.
    public func recovered(frameID: String, reason: String) async throws -> [UInt8] {
        try await get("/v1/frames/\(frameID)/recovered", reason: reason)
    }

    /// The masked view of a stored frame (PNG bytes): unscrambled, its areas still masked.
    public func masked(frameID: String) async throws -> [UInt8] { try await get("/v1/frames/\(frameID)/masked") }

    /// The sealed frame as the data center received it.
    public func sealed(frameID: String) async throws -> [UInt8] { try await get("/v1/frames/\(frameID)/sealed") }

    /// A page of the stored frames, oldest first, after `cursor`; and the next page's cursor
    /// when there may be more.
    public func frames(after cursor: String?, limit: Int) async throws -> (frames: [FrameSummary], next: String?) {
        var ambiguous = false
        var query = "?limit=\(limit)"
        if let cursor { query += "&after=" + (cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor) }
        let reply = try await client.send(.GET, "/v1/frames" + query, responseLimit: 64 * 1024 * 1024, ambiguous: &ambiguous)
        return (try Wire.decoder().decode([FrameSummary].self, from: Data(reply.body)), reply.headers.first(name: Wire.nextPage))
    }

    /// Every stored frame, oldest first, page by page.
    public func frames() async throws -> [FrameSummary] {
        var all: [FrameSummary] = [], cursor: String?
        repeat {
            let page = try await frames(after: cursor, limit: 1000)
            all += page.frames
            cursor = page.next
        } while cursor != nil
        return all
    }

    /// The stored frames' ids, oldest first.
    public func frameIDs() async throws -> [String] { try await frames().map(\.frameID) }

    /// Deletes a frame with its keys; `reason` goes into the audit log.
    public func delete(frameID: String, reason: String) async throws {
        var ambiguous = false
        _ = try await client.send(.DELETE, "/v1/frames/\(frameID)", headers: [(Wire.reason, Self.escape(reason))], responseLimit: 64 * 1024,
                                  ambiguous: &ambiguous)
    }

    /// Audit entries after sequence number `after`, at most `limit`, oldest first.
    public func audit(after: Int = 0, limit: Int = 1000) async throws -> [AuditEntry] {
        try Wire.decoder().decode([AuditEntry].self, from: Data(try await get("/v1/audit?after=\(after)&limit=\(limit)", limit: 64 * 1024 * 1024)))
    }

    private func get(_ path: String, reason: String? = nil, limit: Int = BodyLimits.frameReply) async throws -> [UInt8] {
        var ambiguous = false
        return try await client.send(.GET, path, headers: reason.map { [(Wire.reason, Self.escape($0))] } ?? [], responseLimit: limit,
                                     ambiguous: &ambiguous).body
    }

    /// A reason percent-encoded (UTF-8), as the msai-reason header carries it.
    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }
}
