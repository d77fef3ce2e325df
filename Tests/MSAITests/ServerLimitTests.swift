import AsyncHTTPClient
import Foundation
import Glibc
import HTTPTypes
import Hummingbird
import NIOCore
import MSAICore
import MSAICoreTesting
import MSAICrypto
import MSAIImageIO
import MSAIRoles
import MSAIStorage
import Synchronization
import Testing

@testable import MSAINetwork

/// A TCP connection made by hand, for what no HTTP client would send: a head that never ends, a
/// body that trickles, a frame far larger than its τ allows.
final class RawConnection: Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw MSAIError.io("connect: \(errno)") }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)  // a bound on every read, for a broken server
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Sends bytes; false once the peer has closed (EPIPE or a reset).
    @discardableResult func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }
    func send(_ text: String) { send(Array(text.utf8)) }

    /// Waits for the peer to close the connection, reading and returning whatever it sent first.
    func readUntilClosed() -> (closed: Bool, text: String) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return (true, String(decoding: received, as: UTF8.self)) }
            if n < 0 { return (errno == ECONNRESET, String(decoding: received, as: UTF8.self)) }
            received += buffer[0..<n]
        }
    }

    /// Reads one reply's head and body (Content-Length), or what came before the peer closed.
    func readReply() -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let text = String(decoding: received, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let length = text[..<end.lowerBound].split(separator: "\r\n")
                    .first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.count - text.utf8.distance(from: text.utf8.startIndex, to: end.upperBound) >= length { return text }
            }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return text }
            received += buffer[0..<n]
        }
    }
}

/// Runs blocking socket work on a thread of its own: blocking one of the cooperative pool's few
/// threads (one a core) would starve the servers under test, which run their handlers there.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in Thread.detachNewThread { continuation.resume(returning: body()) } }
}

/// The limits that keep a role serving on a hostile network (issue 12): slow clients are closed,
/// connections per address and requests per caller are capped, a frame may be no larger than
/// its τ allows, heavy work is refused rather than queued without end.
@Suite struct ServerLimitTests {
    static let tight = ServerLimits(headerTimeout: .seconds(1), bodyTimeout: .seconds(1), connectionsPerAddress: 12,
                                    requestsInFlightPerCaller: 4, heavyWorkers: 1, heavyQueue: 1)

    func dataCenter(limits: ServerLimits = tight) async throws -> (DataCenterServer, URL) {
        let folder = try CommandLineTests().temporaryFolder()
        let server = try await DataCenterServer.start(
            NetworkTests.config, store: try SQLiteDataCenterStore(path: folder.appendingPathComponent("dc.sqlite").path, masterKey: NetworkTests.masterKey),
            listen: "127.0.0.1:0", name: "test-dc", limits: limits)
        return (server, folder)
    }

    /// On a connection of its own (the server closes idle ones after a second here). The bound is
    /// generous: the whole suite runs at once on 2 cores, and what is checked is that an answer
    /// comes while slow clients hang, not how fast.
    func health(_ url: String) async throws -> Int {
        var request = HTTPClientRequest(url: url + "/v1/health")
        request.headers.add(name: "Connection", value: "close")
        return Int(try await HTTPClient.shared.execute(request, timeout: .seconds(20)).status.code)
    }

    /// Heads that never end and bodies that trickle are cut off at their deadlines; while they
    /// hang, the server answers others; connections beyond the per-address cap are closed at once.
    @Test func slowClientsAreClosedAtTheirDeadlinesAndOthersStillServed() async throws {
        let (dc, folder) = try await dataCenter()
        defer { try? FileManager.default.removeItem(at: folder) }
        try await stopping({ await dc.stop() }) {
            let port = dc.server.port
            // Eight heads that stall half-way, two bodies that trickle (an edge's token, a τ's worth of body promised).
            let stalled = try (0..<8).map { _ in try RawConnection(port: port) }
            for connection in stalled { connection.send("GET /v1/frames HTTP/1.1\r\nHost: x\r\nAuthor") }
            let trickling = try (0..<2).map { _ in try RawConnection(port: port) }
            for connection in trickling {
                connection.send("POST /v1/taus HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(NetworkTests.config.edgeTokens[0])\r\n"
                                + "Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n{")
            }
            #expect(try await health(dc.url) == 200)
            // The per-address cap (12, with the 10 above open): the third of these is closed unread.
            let extra = try (0..<3).map { _ in try RawConnection(port: port) }
            #expect(await onOwnThread { extra[2].readUntilClosed().closed })
            // The tricklers send a byte every 200 ms, which keeps an idle timer from firing; the
            // body deadline (a second) closes them anyway, and the head deadline the stalled ones.
            let start = ContinuousClock.now
            for connection in trickling {
                Thread.detachNewThread {
                    for _ in 0..<150 {  // 30 s of drips at most
                        guard connection.send([0x20]) else { return }
                        usleep(200_000)
                    }
                }
            }
            for connection in stalled + trickling {
                #expect(await onOwnThread { connection.readUntilClosed().closed })
                // (Without the deadlines the tricklers would last the whole 30 s, and the stalled forever.)
                #expect(ContinuousClock.now - start < .seconds(10), "a slow connection was held far past its deadline")
            }
            #expect(try await health(dc.url) == 200)
        }
    }

    /// A frame's body is bounded by its τ, read from the clear header before the rest: for a τ not
    /// issued here the answer comes before the body is read; past what the τ allows, a 413.
    @Test func aFrameBodyIsBoundedByItsTau() async throws {
        let (dc, folder) = try await dataCenter(limits: ServerLimits(bodyTimeout: .seconds(120)))
        defer { try? FileManager.default.removeItem(at: folder) }
        try await stopping({ await dc.stop() }) {
            let grant = try dc.dataCenter.issueTau(TauRequest(width: 64, height: 48, blockSize: 8))
            let limit = try dc.dataCenter.sealedFrameLimit(tauID: grant.id, device: nil)
            #expect(limit < 6 << 20, "a 64x48 frame's limit is its pixels and a fixed allowance: \(limit)")
            for (tau, expected) in [(grant.id, "413"), (String(repeating: "f", count: 32), "400")] {
                let connection = try RawConnection(port: dc.server.port)
                let forged = try SealedFrame.seal([], tauID: tau, key: try FrameKeys(tauSeed: grant.seed).sealing).prefix(SealedFrame.longestHeader)
                let total = 64 << 20  // far more than any 64x48 frame
                connection.send("POST /v1/frames HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(NetworkTests.config.edgeTokens[0])\r\n"
                                + "Content-Type: \(SealedFrame.mediaType)\r\nContent-Length: \(total)\r\n\r\n")
                connection.send(Array(forged))
                // Send on in pieces until the server answers (read as it comes: once the server
                // closes on unread bytes, a reset may discard what was not yet read) and closes; it
                // must not take all 64 MiB.
                let answered = Mutex<String?>(nil)
                Thread.detachNewThread {
                    let reply = connection.readReply()
                    answered.withLock { $0 = reply }
                }
                let (sent, reply) = await onOwnThread { () -> (Int, String) in
                    var sent = forged.count
                    let piece = [UInt8](repeating: 0xAB, count: 1 << 16)
                    // A breath between pieces lets the reading thread take the answer before more
                    // bytes after the server's close make the kernel reset the connection.
                    while sent < total, answered.withLock({ $0 == nil }), connection.send(piece) {
                        sent += piece.count
                        usleep(500)
                    }
                    while answered.withLock({ $0 == nil }) { usleep(10_000) }  // bounded by the socket's 30 s read timeout
                    return (sent, answered.withLock { $0 } ?? "")
                }
                #expect(reply.hasPrefix("HTTP/1.1 \(expected)"), "\(reply.prefix(200))")
                #expect(sent < total, "the server read the whole oversized body before answering")
                if expected == "400" { #expect(reply.contains("did not issue")) }
            }
        }
    }

    /// However the body arrives (whole, or in pieces of any size), what is read is the frame
    /// sent, byte for byte. (The first version dropped the rest of a first piece longer than the
    /// header; TLS delivered such pieces.)
    @Test func aFrameBodyIsReadWholeHoweverItArrives() async throws {
        let roles = Roles(seed: 40)
        var random = SplitMix64(seed: 40)
        let frame = try await roles.edge.prepare(randomImage(width: 200, height: 150, channels: 3, using: &random),
                                                 areas: [Rect(x: 0, y: 0, width: 20, height: 20)])
        let sealed = frame.sealed
        #expect(sealed.count > SealedFrame.longestHeader + (1 << 16))
        for piece in [sealed.count, 1 << 17, 16_384, 101, 7, 1] {
            let chunks = stride(from: 0, to: sealed.count, by: piece).map { ByteBuffer(bytes: sealed[$0..<min(sealed.count, $0 + piece)]) }
            let request = Request(head: HTTPRequest(method: .post, scheme: "http", authority: "x", path: "/v1/frames"),
                                  body: RequestBody(asyncSequence: chunks.async))
            let read = try await withSealedFrameBody(request, limit: { _ in sealed.count }) { $0 }
            #expect(read == sealed, "pieces of \(piece)")
        }
    }

    /// Frames being uploaded hold at most the budget in all: an upload that would pass it is
    /// refused (503) before its bytes are read, and what one took is given back when it is done.
    @Test func uploadsInFlightHoldNoMoreThanTheBudget() async throws {
        let roles = Roles(seed: 41)
        var random = SplitMix64(seed: 41)
        let sealed = try await roles.edge.prepare(randomImage(width: 64, height: 48, channels: 3, using: &random),
                                                  areas: [Rect(x: 0, y: 0, width: 16, height: 16)]).sealed
        let budget = ByteBudget(sealed.count + 10)
        func request() -> Request {
            var head = HTTPRequest(method: .post, scheme: "http", authority: "x", path: "/v1/frames")
            head.headerFields[.contentLength] = "\(sealed.count)"
            return Request(head: head, body: RequestBody(asyncSequence: [ByteBuffer(bytes: sealed)].async))
        }
        try await withSealedFrameBody(request(), limit: { _ in 1 << 30 }, budget: budget) { first in
            #expect(first == sealed && budget.inUse == sealed.count, "the Content-Length is taken, not the τ's limit")
            do {
                _ = try await withSealedFrameBody(request(), limit: { _ in 1 << 30 }, budget: budget) { $0 }
                Issue.record("a second upload passed the budget")
            } catch let error as HTTPError {
                #expect(error.status == .serviceUnavailable && error.headers[.retryAfter] == "1")
            }
        }
        #expect(budget.inUse == 0)
        // A Content-Length past the τ's limit is refused before the body is read.
        await #expect(throws: HTTPError.self) { try await withSealedFrameBody(request(), limit: { _ in 100 }, budget: budget) { $0 } }
        #expect(budget.inUse == 0)
    }

    /// A caller may have only so many requests in flight, and make only so many a second; what
    /// is over is answered at once with Retry-After, and the others are not affected.
    @Test func admissionCapsInFlightAndRatePerCaller() {
        let admission = Admission(limits: ServerLimits(requestsInFlight: 5, requestsInFlightPerCaller: 2, requestsPerSecondPerCaller: 3))
        let t0 = ContinuousClock.now
        #expect(admission.admit(caller: "a", now: t0) == .admitted)
        #expect(admission.admit(caller: "a", now: t0) == .admitted)
        #expect(admission.admit(caller: "a", now: t0) == .busy, "two in flight for a")
        #expect(admission.admit(caller: "b", now: t0) == .admitted, "another caller is not held up")
        admission.release(caller: "a")
        #expect(admission.admit(caller: "a", now: t0) == .admitted, "a's third, once one ended")
        admission.release(caller: "a")
        // a has spent its 3 tokens; at 3 a second the next is a second away.
        #expect(admission.admit(caller: "a", now: t0) == .tooFast(retryAfter: 1))
        #expect(admission.admit(caller: "a", now: t0 + .milliseconds(400)) == .admitted)
        for caller in ["c", "d", "e"] { _ = admission.admit(caller: caller, now: t0) }
        #expect(admission.admit(caller: "f", now: t0) == .busy, "five in flight in all")
    }

    /// Many callers (addresses without a token) cannot grow the rate table without bound: once a
    /// caller's bucket has refilled it is forgotten, and the table never passes its ceiling.
    @Test func theRateTableForgetsCallersThatWentAway() {
        let admission = Admission(limits: ServerLimits(requestsInFlight: 1_000_000, requestsInFlightPerCaller: 10, requestsPerSecondPerCaller: 50))
        let t0 = ContinuousClock.now
        for i in 0..<(Admission.pruneAbove + 100) {
            #expect(admission.admit(caller: "10.0.\(i / 256).\(i % 256)", now: t0) == .admitted)
            admission.release(caller: "10.0.\(i / 256).\(i % 256)")
        }
        #expect(admission.trackedCallers > Admission.pruneAbove, "within a second nothing has refilled")
        // A second later every one of those buckets is full again: the next admission prunes them.
        #expect(admission.admit(caller: "late", now: t0 + .seconds(2)) == .admitted)
        #expect(admission.trackedCallers == 1)
        // Even callers arriving all within one second never hold more than the ceiling.
        let t1 = t0 + .seconds(10)
        for i in 0..<(Admission.maximumBuckets + 10) {
            _ = admission.admit(caller: "c\(i)", now: t1 + .milliseconds(i % 2 == 0 ? 0 : 1100))
            admission.release(caller: "c\(i)")
        }
        #expect(admission.trackedCallers <= Admission.maximumBuckets)
    }

    /// Heavy work beyond the workers and the queue is refused at once with 503, not piled up; and
    /// one caller cannot take every worker, nor fill the queue, so another's job starts at once.
    @Test func heavyWorkBeyondTheQueueIsRefused() async throws {
        let heavy = HeavyWork(workers: 1, queue: 1)
        let release = DispatchSemaphore(value: 0)
        let first = Task { try await heavy.run(for: "a") { release.wait(); return 1 } }
        let second = Task { try await heavy.run(for: "b") { 2 } }
        await settle(until: { heavy.inUse == 2 })
        await #expect(throws: HTTPError.self) { try await heavy.run(for: "c") { 3 } }
        release.signal()
        let (one, two) = (try await first.value, try await second.value)
        #expect(one == 1 && two == 2)
        #expect(try await heavy.run { 4 } == 4)

        let fair = HeavyWork(workers: 2, queue: 8)
        let slow = DispatchSemaphore(value: 0)
        let hog = (0..<8).map { _ in Task { try await fair.run(for: "hog") { slow.wait(); return 0 } } }
        await settle(until: { fair.inUse == 5 })
        await #expect(throws: HTTPError.self, "the hog holds its share: half the workers and queue") {
            try await fair.run(for: "hog") { 0 }
        }
        // The hog runs on one worker only: another camera's job takes the other, now.
        #expect(try await fair.run(for: "camera") { 7 } == 7)
        for _ in 0..<5 { slow.signal() }
        var refused = 0
        for task in hog { if (try? await task.value) == nil { refused += 1 } }
        #expect(refused == 3, "8 asked, 5 held")
    }

    /// The largest frame is a setting, and a τ for more is refused naming it.
    @Test func aTauLargerThanTheDataCenterAcceptsIsRefusedByName() async throws {
        let store = InMemoryDataCenterStore()
        let small = DataCenter(store: store, maximumFramePixels: 640 * 480)
        #expect(throws: MSAIError.invalidArgument("frame 641x480 is larger than this data center accepts (307200 pixels: max_frame_pixels)")) {
            try small.issueTau(TauRequest(width: 641, height: 480, blockSize: 8))
        }
        #expect(try small.issueTau(TauRequest(width: 640, height: 480, blockSize: 8)).id.count == 32)
        let environment = ["MSAI_EDGE_TOKEN": String(repeating: "e", count: 64), "MSAI_MAX_FRAME_PIXELS": "1000"]
        #expect(try RoleConfiguration.load("/nonexistent/msai.json", environment: environment).maxFramePixels == 1000)
        #expect(throws: MSAIError.self) {
            try RoleConfiguration.load("/nonexistent/msai.json", environment: environment.merging(["MSAI_MAX_FRAME_PIXELS": "0"]) { $1 })
        }
    }
}
