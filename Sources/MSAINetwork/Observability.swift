import CoreMetrics
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MSAICore
import NIOCore
import Prometheus
import Synchronization

/// What a role counts, through swift-metrics into a Prometheus registry of its own (one per
/// server, so that several roles in one process, as in the tests, count apart): every request by
/// route, method and status with its latency, and the role's own events. `GET /metrics` serves it
/// to a scraper holding the metrics token.
///
///     msai_http_requests_total{role, route, method, status}
///     msai_http_request_duration_seconds{role, route, method}     (histogram)
///     msai_frames_accepted_total{role}                            (acknowledged: stored)
///     msai_frames_refused_total{role, reason}
///     msai_taus_issued_total, msai_membrane_keys_deposited_total  (data center)
///     msai_membranes_issued_total                                 (cloud)
///     msai_retention_deleted_frames_total                         (data center)
public final class RoleMetrics: Sendable {
    public let role: String
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    public init(role: String) {
        self.role = role
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                                   .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                                   .milliseconds(2500), .seconds(5), .seconds(10)]
        self.factory = factory
    }

    /// Counts `value` on the counter `name` with `labels` (and the role's).
    public func count(_ name: String, _ labels: [(String, String)] = [], by value: Int = 1) {
        CoreMetrics.Counter(label: name, dimensions: [("role", role)] + labels, factory: factory).increment(by: value)
    }

    /// A finished request: counted, timed, and named for what it did to the role's own counters.
    func request(route: String, method: String, status: Int, duration: Duration) {
        count("msai_http_requests_total", [("route", route), ("method", method), ("status", "\(status)")])
        CoreMetrics.Timer(label: "msai_http_request_duration_seconds", dimensions: [("role", role), ("route", route), ("method", method)],
                          factory: factory).recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        let ok = (200..<300).contains(status)
        switch (method, route) {
        case ("POST", "/v1/frames"):
            if ok { count("msai_frames_accepted_total") } else { count("msai_frames_refused_total", [("reason", Self.reason(status))]) }
        case ("POST", "/v1/taus") where ok: count("msai_taus_issued_total")
        case ("POST", "/v1/keys") where ok: count("msai_membrane_keys_deposited_total")
        case ("POST", "/v1/membranes") where ok: count("msai_membranes_issued_total")
        default: break
        }
    }

    /// Why a frame was refused, from its status (the words the docs use).
    static func reason(_ status: Int) -> String {
        switch status {
        case 400: return "malformed"
        case 401: return "unauthenticated"
        case 403: return "forbidden"
        case 404: return "not_found"
        case 409: return "replay"
        case 413: return "too_large"
        case 429: return "rate_limited"
        case 503: return "busy"
        default: return status >= 500 ? "server_error" : "refused_\(status)"
        }
    }

    /// The exposition, as Prometheus reads it (text format 0.0.4).
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    /// A route as metrics and logs name it: a frame's id replaced by {id}, so that a label has a
    /// handful of values rather than one per frame; unknown paths as "other".
    static func route(of path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        if parts.count >= 3, parts[0] == "v1", parts[1] == "frames" {
            return "/v1/frames/{id}" + (parts.count > 3 ? "/" + parts[3...].joined(separator: "/") : "")
        }
        let known: Set<String> = ["/v1/frames", "/v1/taus", "/v1/keys", "/v1/membranes", "/v1/audit", "/v1/health", "/metrics"]
        return known.contains(path) ? path : "other"
    }
}

/// A role's metrics and the logger its requests and events go to.
public struct RoleObservation: Sendable {
    public let metrics: RoleMetrics
    public let logger: Logger

    /// `role` labels its metrics and names its logger (msai.datacenter, msai.cloud), unless
    /// `logger` is given.
    /// Unless `startLogging` chose a level for the process, its own logger logs refusals and
    /// errors only (swift-log's default would log every request: a role in a test or a program
    /// that did not ask would flood standard error).
    public init(role: String, logger: Logger? = nil) {
        metrics = RoleMetrics(role: role)
        if let logger {
            self.logger = logger
        } else {
            var own = Logger(label: "msai.\(role)")
            if !loggingStarted.load(ordering: .relaxed) { own.logLevel = .notice }
            self.logger = own
        }
    }
}

/// What the handlers learn about a request that its log line should carry (the device, τ,
/// frame, membrane): a reference shared by every copy of the request's context.
public final class RequestNotes: Sendable {
    private let notes = Mutex<[(String, String)]>([])
    public init() {}
    public func note(_ key: String, _ value: String) { notes.withLock { $0.append((key, value)) } }
    var all: [(String, String)] { notes.withLock { $0 } }
}

/// Outermost on every role's router: times each request, counts it (`RoleMetrics`), and logs one
/// structured line for it with what the handlers noted. Failures log the message the client got.
struct RequestObservation: RouterMiddleware {
    typealias Context = RoleRequestContext
    let metrics: RoleMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let route = RoleMetrics.route(of: request.uri.path)
        do {
            let response = try await next(request, context)
            finish(request, context, route: route, status: Int(response.status.code), start: start, error: nil)
            return response
        } catch {
            let status = (error as? HTTPResponseError)?.status.code ?? 500
            finish(request, context, route: route, status: Int(status), start: start, error: error)
            throw error
        }
    }

    private func finish(_ request: Request, _ context: Context, route: String, status: Int, start: ContinuousClock.Instant, error: Error?) {
        let elapsed = ContinuousClock.now - start
        metrics.request(route: route, method: request.method.rawValue, status: status, duration: elapsed)
        var metadata: Logger.Metadata = [
            "method": "\(request.method.rawValue)", "route": "\(route)", "status": "\(status)",
            "ms": "\(String(format: "%.1f", Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000))",
            "peer": "\(context.remoteAddress)",
        ]
        for (key, value) in context.notes.all { metadata[key] = "\(value)" }
        if let error { metadata["error"] = "\(String(describing: (error as? HTTPError)?.body ?? "\(error)").prefix(300))" }
        logger.log(level: status >= 500 ? .error : (status >= 400 ? .notice : .info), "request", metadata: metadata)
    }
}

/// How the services write their log: swift-log's plain lines, or one JSON object per line.
public enum LogFormat: String, CaseIterable, Sendable {
    case text, json
}

/// Sends every logger of the process to standard error in `format`, at `level` and above (once
/// per process, before any role starts). A request is logged at info, a refusal at notice, a
/// server error at error.
/// Whether `startLogging` ran in this process.
private let loggingStarted = Atomic<Bool>(false)

public func startLogging(format: LogFormat, level: String) throws {
    guard let level = Logger.Level(rawValue: level) else {
        throw MSAIError.invalidArgument("log level '\(level)' is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    LoggingSystem.bootstrap { label in
        var handler: any LogHandler = format == .json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
    loggingStarted.store(true, ordering: .relaxed)
}

/// One JSON object per line (`--log-format json`): time, level, logger, message and metadata as
/// flat fields, for log systems that read JSON lines. Written whole under a lock, so lines from
/// concurrent requests never interleave.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let write: @Sendable (Data) -> Void
    private static let output = Mutex<Void>(())

    /// Writes `line` to standard error, whole.
    @Sendable public static func standardError(_ line: Data) { output.withLock { _ in FileHandle.standardError.write(line) } }

    /// Writes each line with `write` (standard error unless given).
    public init(label: String, write: @escaping @Sendable (Data) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let (level, message) = (event.level, event.message)
        var fields: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { fields[key] = "\(value)" }
        if let error = event.error { fields["error"] = "\(error)" }
        fields["ts"] = Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        fields["level"] = level.rawValue
        fields["logger"] = label
        fields["message"] = message.description
        guard var data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        data.append(0x0A)
        write(data)
    }
}

/// `GET /metrics` for a process that is no role (the edge, `msai edge --metrics-listen`): on a
/// loopback address only, for a scraper on the camera's own machine, and behind the
/// configuration's metrics tokens when it has any. Each scrape renders `counters()` (name and
/// value of counters the caller keeps) through a Prometheus registry of its own.
public enum MetricsEndpoint {
    public static func start(listen: String, tokens: [String], counters: @escaping @Sendable () async -> [(name: String, value: Double)])
        async throws -> RunningServer
    {
        let (host, port) = try HostAndPort.parse(listen, field: "--metrics-listen")
        guard LoopbackHost.contains(host) else {
            throw MSAIError.invalidArgument("--metrics-listen \(listen): the edge serves its metrics on loopback only (a scraper on this machine); got \(host)")
        }
        let accepted = tokens.filter { !$0.isEmpty }.map { Array($0.utf8) }
        let router = Router()
        router.get("/metrics") { request, _ -> Response in
            if !accepted.isEmpty {
                let given = bearerToken(request) ?? []
                let known = accepted.contains { expected in
                    expected.count == given.count && zip(expected, given).reduce(0 as UInt8) { $0 | ($1.0 ^ $1.1) } == 0
                }
                guard known else { throw HTTPError(.unauthorized, message: "this endpoint needs a metrics token (metrics_tokens in the configuration)") }
            }
            let registry = PrometheusCollectorRegistry()
            for (name, value) in await counters() { registry.makeCounter(name: name).increment(by: value) }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        return try await RunningServer.start(router, host: host, port: port, name: "msai-edge-metrics", role: "the edge's metrics endpoint")
    }
}
