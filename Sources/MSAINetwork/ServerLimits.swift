import Foundation
import HTTPTypes
import Hummingbird
import MSAICore
import MSAIRoles
import NIOCore
import NIOHTTPTypes
import NIOPosix
import ServiceLifecycle
import Synchronization

/// What a role server lets a peer cost it, set once for the server's life. Each limit answers an
/// attack that worked on msai 2.0: slow clients holding connections (`headerTimeout`,
/// `bodyTimeout`, `maximumConnections`, `connectionsPerAddress`), many requests at once
/// (`requestsInFlight`, `requestsInFlightPerCaller`, `requestsPerSecondPerCaller`), and heavy work
/// starving the rest (`heavyWorkers`: decoding, unscrambling and storing frames, making membranes,
/// run on a bounded pool of threads, never on Swift's cooperative pool that answers `/v1/health`).
public struct ServerLimits: Sendable, Equatable {
    /// A request's head must have arrived this long after the connection opened or after the
    /// previous reply; an idle connection is closed after it too.
    public var headerTimeout: Duration
    /// A request's body must have arrived this long after its head.
    public var bodyTimeout: Duration
    /// Open connections at most; beyond, new ones wait in the listen backlog.
    public var maximumConnections: Int
    /// Open connections from one address at most; more are closed at once.
    public var connectionsPerAddress: Int
    /// Requests being handled at once, in all; more are answered 503 with Retry-After.
    public var requestsInFlight: Int
    /// Requests being handled at once for one caller (a device or role token); more get 503.
    public var requestsInFlightPerCaller: Int
    /// Requests a second one caller may make, as a bucket refilled at this rate holding as many;
    /// more are answered 429 with Retry-After.
    public var requestsPerSecondPerCaller: Double
    /// Bytes of frames being uploaded that the data center holds at once, in all; an upload that
    /// would pass it (its Content-Length, else the most its τ allows) gets 503 with Retry-After.
    public var frameBytesInFlight: Int
    /// Threads for heavy work, and how many more heavy requests may wait for one (beyond: 503).
    public var heavyWorkers: Int
    public var heavyQueue: Int
    /// Threads for the data center's database calls outside heavy work, and how many may wait.
    public static let storageWorkers = 2
    public static let storageQueue = 128

    public init(headerTimeout: Duration = .seconds(10), bodyTimeout: Duration = .seconds(60), maximumConnections: Int = ServerLimits.connectionBudget(),
                connectionsPerAddress: Int = 64, requestsInFlight: Int = 64, requestsInFlightPerCaller: Int = 8,
                requestsPerSecondPerCaller: Double = 200, heavyWorkers: Int = max(2, ProcessInfo.processInfo.activeProcessorCount),
                heavyQueue: Int = 8, frameBytesInFlight: Int = 512 << 20) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.maximumConnections = max(1, maximumConnections)
        self.connectionsPerAddress = max(1, connectionsPerAddress)
        self.requestsInFlight = max(1, requestsInFlight)
        self.requestsInFlightPerCaller = max(1, requestsInFlightPerCaller)
        self.requestsPerSecondPerCaller = max(0.1, requestsPerSecondPerCaller)
        self.heavyWorkers = max(1, heavyWorkers)
        self.heavyQueue = max(0, heavyQueue)
        self.frameBytesInFlight = max(1 << 20, frameBytesInFlight)
    }

    /// Half the process's file descriptors (the rest are the database's, the models', the
    /// clients'), between 16 and 1024: a flood of connections cannot take the last descriptor.
    public static func connectionBudget() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 128 }
        return Int(min(1024, max(16, limit.rlim_cur / 2)))
    }
}

/// Closes a connection whose request body has not fully arrived `bodyTimeout` after its head
/// (Hummingbird's idle timeout covers the head itself: it closes a connection on which no
/// request part arrives in time, but each trickled body byte would keep it alive). And closes a
/// connection once a refusal (4xx, 5xx) is written before its request's body was all read:
/// otherwise the server would go on reading, and discarding, whatever the peer sends.
final class BodyDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    private var bodyUnread = false
    private var closeAfterReply = false

    init(timeout: Duration) { self.timeout = .nanoseconds(Int64(milliseconds(timeout) * 1_000_000)) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            deadline?.cancel()
            bodyUnread = true
            let channel = context.channel
            deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        case .end:
            deadline?.cancel()
            deadline = nil
            bodyUnread = false
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where bodyUnread && head.status.code >= 400:
            closeAfterReply = true
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where closeAfterReply:
            closeAfterReply = false
            let channel = context.channel
            let written = promise ?? context.eventLoop.makePromise()
            context.writeAndFlush(data, promise: written)
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        default:
            context.write(data, promise: promise)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) { deadline?.cancel() }
    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }
}

/// Counts open connections per remote address across a server's channels, and closes a new one
/// over `limit` as soon as it is set up.
final class ConnectionsPerAddress: Sendable {
    let limit: Int
    private let open = Mutex<[String: Int]>([:])

    init(limit: Int) { self.limit = limit }

    /// Registers a connection from `address`; false when that address already has `limit`.
    func admit(_ address: String) -> Bool {
        open.withLock { open in
            guard open[address, default: 0] < limit else { return false }
            open[address, default: 0] += 1
            return true
        }
    }

    func release(_ address: String) {
        open.withLock { open in
            open[address, default: 1] -= 1
            if open[address] == 0 { open[address] = nil }
        }
    }

    /// The channel handler that does it for one connection.
    func handler() -> ConnectionAdmission { ConnectionAdmission(counter: self) }
}

final class ConnectionAdmission: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    private let counter: ConnectionsPerAddress
    private var admitted: String?

    init(counter: ConnectionsPerAddress) { self.counter = counter }

    func handlerAdded(context: ChannelHandlerContext) {
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        if counter.admit(address) {
            admitted = address
        } else {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let admitted { counter.release(admitted) }
        admitted = nil
    }
}

/// Admission of requests: in flight in all and per caller, and a rate per caller. What is over
/// a limit is answered at once, before its body is read: 503 (busy) or 429 (too fast), each with
/// Retry-After, which msai's clients honour.
final class Admission: Sendable {
    struct State {
        var inFlight = 0
        var perCaller: [String: Int] = [:]
        var buckets: [String: (tokens: Double, at: ContinuousClock.Instant)] = [:]
        var pruned: ContinuousClock.Instant?
    }
    /// Past this many callers' buckets, the table is pruned (at most once a second) of the ones
    /// that have refilled; past `maximumBuckets` even then, it is cleared.
    static let pruneAbove = 4096
    static let maximumBuckets = 65_536
    let limits: ServerLimits
    private let state = Mutex(State())

    init(limits: ServerLimits) { self.limits = limits }

    enum Decision: Equatable {
        case admitted
        case busy
        case tooFast(retryAfter: Int)
    }

    func admit(caller: String, now: ContinuousClock.Instant = .now) -> Decision {
        state.withLock { s in
            // The bucket first: a caller over its rate does not count against the others.
            var bucket = s.buckets[caller] ?? (limits.requestsPerSecondPerCaller, now)
            let refill = milliseconds(bucket.at.duration(to: now)) / 1000 * limits.requestsPerSecondPerCaller
            bucket = (min(limits.requestsPerSecondPerCaller, bucket.tokens + refill), now)
            guard bucket.tokens >= 1 else {
                s.buckets[caller] = bucket
                return .tooFast(retryAfter: max(1, Int(((1 - bucket.tokens) / limits.requestsPerSecondPerCaller).rounded(.up))))
            }
            guard s.inFlight < limits.requestsInFlight, s.perCaller[caller, default: 0] < limits.requestsInFlightPerCaller else {
                s.buckets[caller] = bucket
                return .busy
            }
            bucket.tokens -= 1
            s.buckets[caller] = bucket
            s.inFlight += 1
            s.perCaller[caller, default: 0] += 1
            if s.buckets.count > Self.maximumBuckets {
                // That many callers within a second: rates go unenforced for a moment, memory stays bounded.
                s.buckets = [:]
            } else if s.buckets.count > Self.pruneAbove, s.pruned.map({ $0.duration(to: now) >= .seconds(1) }) ?? true {
                prune(&s, now: now)
            }
            return .admitted
        }
    }

    /// Forgets the buckets that have refilled since their caller's last request (a caller coming
    /// back gets a full one anyway), so that many callers (addresses) cannot grow the table.
    private func prune(_ s: inout State, now: ContinuousClock.Instant) {
        let rate = limits.requestsPerSecondPerCaller
        s.buckets = s.buckets.filter { $0.value.tokens + milliseconds($0.value.at.duration(to: now)) / 1000 * rate < rate }
        s.pruned = now
    }

    /// How many callers' rates are being tracked.
    var trackedCallers: Int { state.withLock { $0.buckets.count } }

    func release(caller: String) {
        state.withLock { s in
            s.inFlight -= 1
            s.perCaller[caller, default: 1] -= 1
            if s.perCaller[caller] == 0 { s.perCaller[caller] = nil }
        }
    }
}

/// The middleware that applies `Admission` to every request but the health check, keyed by the
/// authenticated caller (a device or role token's fingerprint) or, without one, the address.
struct AdmissionMiddleware: RouterMiddleware {
    typealias Context = RoleRequestContext
    let admission: Admission

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/v1/health" { return try await next(request, context) }
        let caller = context.callerKey
        switch admission.admit(caller: caller) {
        case .admitted:
            defer { admission.release(caller: caller) }
            return try await next(request, context)
        case .busy:
            throw HTTPError(.serviceUnavailable, headers: [.retryAfter: "1"], message: "busy: too many requests in flight; retry after 1 s")
        case .tooFast(let seconds):
            throw HTTPError(.tooManyRequests, headers: [.retryAfter: "\(seconds)"],
                            message: "too many requests from this caller; retry after \(seconds) s")
        }
    }
}

/// Heavy work (decoding, unscrambling and storing a frame, recovering one, making a membrane)
/// runs here: on a fixed set of threads, never on Swift's cooperative pool, so that it cannot
/// delay the requests that are cheap (health). Work beyond the threads and the queue is refused
/// with 503 rather than piled up. The data center has a second, `storage`, for the database
/// calls of the cheap routes (τs, keys, listings, the audit log): SQLite blocks its thread while it
/// waits for the one writer, and a frame's commit can hold that for a while.
public final class HeavyWork: Service, Sendable {
    private struct Job {
        let caller: String
        let work: @Sendable () -> Void
        /// When the pool has shut down before the job could run.
        let cancel: @Sendable () -> Void
    }
    /// Jobs waiting, per caller, and the callers in the order they are served (round robin).
    private struct State {
        var waiting: [String: [Job]] = [:]
        var turn: [String] = []
        var running: [String: Int] = [:]
        var idle: Int
        var taken = 0
        var held: [String: Int] = [:]
    }
    private let pool: NIOThreadPool
    private let capacity: Int
    /// Jobs one caller may have running at once: all workers but one, so that a caller with a
    /// queue of slow jobs (64 MiB membranes) cannot keep another waiting for a worker.
    private let runningPerCaller: Int
    /// Jobs one caller may have running or waiting: half the capacity, so that one caller cannot
    /// fill the queue either; beyond, 503.
    private let heldPerCaller: Int
    private let state: Mutex<State>

    public init(workers: Int, queue: Int) {
        pool = NIOThreadPool(numberOfThreads: workers)
        pool.start()
        capacity = workers + queue
        runningPerCaller = max(1, workers - 1)
        heldPerCaller = max(runningPerCaller, (workers + queue) / 2)
        state = Mutex(State(idle: workers))
    }

    /// Runs `body` on a worker, for `caller` (a device, a role token, an address): callers with
    /// work waiting take turns for the workers. Throws a 503 at once when the workers and the
    /// queue are full, or this caller holds its share of them.
    func run<T: Sendable>(for caller: String = "", _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let job = Job(caller: caller, work: { continuation.resume(with: Result { try body() }) },
                          cancel: { continuation.resume(throwing: CancellationError()) })
            let admitted = state.withLock { s in
                guard s.taken < capacity, s.held[caller, default: 0] < heldPerCaller else { return false }
                s.taken += 1
                s.held[caller, default: 0] += 1
                if s.waiting[caller] == nil { s.turn.append(caller) }
                s.waiting[caller, default: []].append(job)
                return true
            }
            guard admitted else {
                continuation.resume(throwing: HTTPError(.serviceUnavailable, headers: [.retryAfter: "1"],
                                                        message: "busy: too much heavy work queued; retry after 1 s"))
                return
            }
            dispatch()
        }
    }

    /// Starts waiting jobs on idle workers, taking callers in turn.
    private func dispatch() {
        let ready: [Job] = state.withLock { s in
            var ready: [Job] = []
            var passed = 0
            while s.idle > 0, !s.turn.isEmpty, passed < s.turn.count {
                let caller = s.turn.removeFirst()
                guard s.running[caller, default: 0] < runningPerCaller, var jobs = s.waiting[caller], !jobs.isEmpty else {
                    s.turn.append(caller)
                    passed += 1
                    continue
                }
                passed = 0
                ready.append(jobs.removeFirst())
                s.running[caller, default: 0] += 1
                s.idle -= 1
                if jobs.isEmpty { s.waiting[caller] = nil } else { s.waiting[caller] = jobs; s.turn.append(caller) }
            }
            return ready
        }
        for job in ready {
            pool.submit { [self] workState in
                if workState == .cancelled { job.cancel() } else { job.work() }
                state.withLock { s in
                    s.idle += 1
                    s.taken -= 1
                    s.running[job.caller, default: 1] -= 1
                    if s.running[job.caller] == 0 { s.running[job.caller] = nil }
                    s.held[job.caller, default: 1] -= 1
                    if s.held[job.caller] == 0 { s.held[job.caller] = nil }
                }
                dispatch()
            }
        }
    }

    /// Jobs running or waiting.
    var inUse: Int { state.withLock { $0.taken } }

    /// As a service beside the server: the threads end when the server's group shuts down.
    public func run() async throws {
        try? await gracefulShutdown()
        try? await pool.shutdownGracefully()
    }
}

/// Every request refused after admission goes into the data center's audit log: who (the
/// caller, or the address when no token was accepted), what it asked (method and path, never the
/// query, which may hold a reason), the status and why. At most one entry a second per caller;
/// the refusals between are counted in the next, so a flood of bad requests cannot make the
/// log write at its pace. (Requests turned away for load, 429 and 503, come before this.)
final class RefusalAudit: RouterMiddleware, Sendable {
    typealias Context = RoleRequestContext
    private let append: @Sendable (AuditEntry) async -> Void
    private let recent = Mutex<[String: (last: ContinuousClock.Instant, suppressed: Int)]>([:])

    init(append: @escaping @Sendable (AuditEntry) async -> Void) { self.append = append }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            if response.status.code >= 400 { await record(request, context, status: response.status.code, message: "") }
            return response
        } catch {
            let status = (error as? HTTPResponseError)?.status.code ?? 500
            await record(request, context, status: status, message: (error as? HTTPError)?.body ?? "")
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, status: Int, message: String) async {
        let actor = context.identity?.actor ?? "unauthenticated:\(context.remoteAddress)"
        let now = ContinuousClock.now
        let suppressed: Int? = recent.withLock { recent in
            if let last = recent[actor], now - last.last < .seconds(1) {
                recent[actor]!.suppressed += 1
                return nil
            }
            let suppressed = recent[actor]?.suppressed ?? 0
            recent[actor] = (now, 0)
            if recent.count > 4096 { recent = recent.filter { now - $0.value.last < .seconds(1) } }
            return suppressed
        }
        guard let suppressed else { return }
        let why = message.isEmpty ? "" : ": " + String(message.prefix(200))
        // The path as asked, cut short: a peer chooses it, and must not choose the log's size.
        let path = request.uri.path.count > 120 ? request.uri.path.prefix(120) + "…" : Substring(request.uri.path)
        await append(AuditEntry(actor: actor, action: "refused \(status) \(request.method.rawValue) \(path)\(why)"
                          + (suppressed > 0 ? " (and \(suppressed) more refused in the second before)" : ""), frameID: nil))
    }
}

/// Bytes that requests in flight may hold at once, in all (`ServerLimits.frameBytesInFlight`).
public final class ByteBudget: Sendable {
    public let total: Int
    private let used = Mutex(0)

    public init(_ total: Int) { self.total = total }

    func take(_ count: Int) -> Bool {
        used.withLock { used in
            guard count <= total - used else { return false }
            used += count
            return true
        }
    }

    func give(_ count: Int) { used.withLock { $0 -= count } }

    var inUse: Int { used.withLock { $0 } }
}
