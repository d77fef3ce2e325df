import AsyncHTTPClient
import Foundation
import Glibc
import MSAICore
import MSAICrypto
import MSAIImageIO
import MSAINetwork
import MSAIPostgres
import MSAIRoles
import NIOCore
import NIOSSL
import Synchronization

/// `make load`: the data center and the cloud as their own processes on loopback, over TLS, and
/// at once: many enrolled edges sending frames, slow clients holding connections open, and
/// uploads far larger than their τ allows. Bounded in count and time. It prints accepted
/// frames/s, latency percentiles, how often the roles said "busy", the data center's peak RSS,
/// and checks that every frame acknowledged (201) is in the database and nothing else is.
@main
struct Load {
    struct Settings {
        var edges = 16
        var framesPerEdge = 12
        var slowClients = 48
        var oversized = 4
        var seconds = 240.0
        /// A PostgreSQL server's URL (its user may create databases): then the data centers on
        /// it, one and two processes, and one killed mid-run.
        var postgres: String?
        /// Frames per edge in those runs.
        var scaleFrames = 24
    }

    static func main() async throws {
        var settings = Settings()
        for argument in CommandLine.arguments.dropFirst() {
            let pair = argument.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 && pair[0] == "postgres" {
                settings.postgres = pair[1].isEmpty ? nil : pair[1]
                continue
            }
            guard pair.count == 2, let value = Double(pair[1]) else { usage() }
            switch pair[0] {
            case "scale-frames": settings.scaleFrames = Int(value)
            case "edges": settings.edges = Int(value)
            case "frames": settings.framesPerEdge = Int(value)
            case "slow": settings.slowClients = Int(value)
            case "oversized": settings.oversized = Int(value)
            case "seconds": settings.seconds = value
            default: usage()
            }
        }
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("msai").path
        guard FileManager.default.isExecutableFile(atPath: binary) else { fail("\(binary) is missing: make release builds it") }
        try await run(settings, msai: binary)
        if let postgres = settings.postgres { try await scaleOut(settings, msai: binary, postgres: postgres) }
    }

    static func usage() -> Never { fail("usage: msai-load [edges=N] [frames=N] [slow=N] [oversized=N] [seconds=S] [postgres=URL] [scale-frames=N]") }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("msai-load: \(message)\n".utf8))
        exit(1)
    }

    static func run(_ settings: Settings, msai: String) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let keyFile = folder.appendingPathComponent("msai.master.key").path
        try RoleConfiguration.writeMasterKey(to: keyFile)
        var config = RoleConfiguration.fresh(cloudPort: 0, dataCenterPort: 0, database: folder.appendingPathComponent("dc.sqlite").path,
                                             masterKeyFile: keyFile, tls: try PrivateCA.create(in: folder.appendingPathComponent("tls").path, hosts: []))
        config.devicesFile = folder.appendingPathComponent("devices.json").path
        let tokens = try (0..<settings.edges).map { try DeviceRegistry.add("camera-\($0)", to: config.devicesFile!) }
        config.edgeTokens = []
        let configPath = folder.appendingPathComponent("msai.json").path
        try config.write(to: configPath)

        // The roles, each a process of its own (the data center's memory is measured alone).
        let dataCenter = try Role.start(msai, ["datacenter", "serve", "--config", configPath], in: folder, announcing: "data center listening on ")
        defer { dataCenter.stop() }
        let cloud = try Role.start(msai, ["cloud", "serve", "--config", configPath], in: folder, announcing: "cloud listening on ",
                                   environment: ["MSAI_DATACENTER_URL": dataCenter.url])
        defer { cloud.stop() }
        config.dataCenterURL = dataCenter.url
        config.cloudURL = cloud.url
        let ca = config.tls!.trust(for: "data center")
        print("data center \(dataCenter.url) (pid \(dataCenter.process.processIdentifier)), cloud \(cloud.url); "
              + "\(settings.edges) edges × \(settings.framesPerEdge) frames, \(settings.slowClients) slow clients, \(settings.oversized) oversized uploads")

        let busy = Mutex<[Int: Int]>([:])
        let retry = RetryPolicy(deadline: .seconds(30), attempts: 6, onBusy: { status in busy.withLock { $0[status, default: 0] += 1 } })
        let deadline = ContinuousClock.now + .seconds(settings.seconds)
        let start = ContinuousClock.now

        async let slow = slowClients(settings.slowClients, port: dataCenter.port)
        async let oversize = oversizedUploads(settings.oversized, url: dataCenter.url, token: tokens[0], ca: ca)
        let (roles, frames) = (config, settings.framesPerEdge)
        let results = await withTaskGroup(of: [Sent].self) { group in
            for (index, token) in tokens.enumerated() {
                group.addTask {
                    await edge(index, token: token, config: roles, ca: ca, retry: retry, frames: frames, until: deadline)
                }
            }
            var all: [Sent] = []
            for await sent in group { all += sent }
            return all
        }
        let elapsed = milliseconds(ContinuousClock.now - start) / 1000
        let (slowClosed, slowTotal) = await slow
        let oversizedAnswers = await oversize

        // Every acknowledged frame is stored, and nothing else.
        let reader = HTTPReaderClient(url: dataCenter.url, token: config.recovererTokens[0], retry: RetryPolicy(deadline: .seconds(60)), caFile: ca)
        let stored = Set(try await reader.frames().map(\.frameID))
        let acknowledged = Set(results.compactMap(\.frameID))
        let peak = dataCenter.peakResidentMiB()

        let latencies = results.filter { $0.frameID != nil }.map(\.milliseconds).sorted()
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        let failures = results.filter { $0.frameID == nil }
        print(String(format: "accepted %d of %d frames in %.1f s: %.1f frames/s; latency p50 %.0f ms, p99 %.0f ms",
                     acknowledged.count, results.count, elapsed, Double(acknowledged.count) / elapsed, percentile(0.5), percentile(0.99)))
        let counts = busy.withLock { $0 }
        print("busy answers the edges retried after: \(counts[503] ?? 0) × 503, \(counts[429] ?? 0) × 429")
        print("slow clients: \(slowClosed) of \(slowTotal) closed by the data center; oversized uploads answered: \(oversizedAnswers)")
        print(String(format: "data center peak RSS: %.0f MiB", peak))
        if !failures.isEmpty { print("not sent: \(failures.count); first: \(failures.first!.error ?? "")") }
        let missing = acknowledged.subtracting(stored), extra = stored.subtracting(acknowledged)
        print("database: \(stored.count) frames; acknowledged but missing: \(missing.count); stored but never acknowledged: \(extra.count)")
        if !missing.isEmpty || !extra.isEmpty || acknowledged.isEmpty { exit(1) }
    }

    struct Sent: Sendable {
        let frameID: String?
        let milliseconds: Double
        let error: String?
    }

    /// One camera: masks and sends its frames one after another, as fast as the roles take them.
    static func edge(_ index: Int, token: String, config: RoleConfiguration, ca: String, retry: RetryPolicy, frames: Int,
                     until deadline: ContinuousClock.Instant, onAcknowledged: @Sendable () -> Void = {}) async -> [Sent] {
        let camera = EdgeCamera(membranes: HTTPCloudClient(url: config.cloudURL, edgeToken: token, retry: retry, caFile: config.tls?.trust(for: "cloud")),
                                scrambling: HTTPDataCenterClient(url: config.dataCenterURL, token: token, retry: retry, caFile: ca),
                                egress: HTTPDataCenterClient(url: config.dataCenterURL, token: token, retry: retry, caFile: ca),
                                frameFormat: .qoi)
        var random = SplitMix64(seed: UInt64(index + 1))
        let samples = (0..<(320 * 240 * 3)).map { _ in UInt8.random(in: 0...255, using: &random) }
        let image = try! PixelBuffer(width: 320, height: 240, channels: 3, samples: samples)
        var sent: [Sent] = []
        for _ in 0..<frames where ContinuousClock.now < deadline {
            let start = ContinuousClock.now
            do {
                let frame = try await camera.prepare(image, areas: [Rect(x: 40, y: 30, width: 64, height: 80), Rect(x: 200, y: 100, width: 48, height: 48)])
                let receipt = try await camera.send(frame)
                sent.append(Sent(frameID: receipt.frameID, milliseconds: milliseconds(ContinuousClock.now - start), error: nil))
                onAcknowledged()
            } catch {
                sent.append(Sent(frameID: nil, milliseconds: milliseconds(ContinuousClock.now - start), error: (error as? MSAIError)?.description ?? "\(error)"))
            }
        }
        return sent
    }

    /// A value shared by the edges' tasks.
    final class Shared<Value: Sendable>: Sendable {
        private let mutex: Mutex<Value>
        init(_ value: Value) { mutex = Mutex(value) }
        func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
    }

    /// A count shared by the edges' tasks.
    final class Count: Sendable {
        private let value = Atomic<Int>(0)
        func add() -> Int { value.add(1, ordering: .relaxed).newValue }
    }

    /// What one run of the data centers on PostgreSQL measured.
    struct ScaleRun {
        let acknowledged: Int
        let attempted: Int
        let seconds: Double
        let p50: Double
        let p99: Double
        let dataCenterCPUPerFrame: Double
        let databaseCPUPerFrame: Double?
        let databaseBytesPerFrame: Double
        let missing: Int
        let extra: Int
        var rate: Double { Double(acknowledged) / seconds }
    }

    /// The data center as several processes on one PostgreSQL database: the edges against one,
    /// then two (half the edges preferring each, every edge knowing both), then two with one
    /// killed (SIGKILL) a third of the way through: every acknowledged frame must be stored, and
    /// nothing else.
    static func scaleOut(_ settings: Settings, msai: String, postgres: String) async throws {
        print("\nData centers on one PostgreSQL (\(PostgresLocation.redacted(postgres))): \(settings.edges) edges × \(settings.scaleFrames) frames of 320x240")
        let sqlite = try await scaleRun(settings, msai: msai, postgres: nil, dataCenters: 1, kill: false)
        let one = try await scaleRun(settings, msai: msai, postgres: postgres, dataCenters: 1, kill: false)
        let two = try await scaleRun(settings, msai: msai, postgres: postgres, dataCenters: 2, kill: false)
        let killed = try await scaleRun(settings, msai: msai, postgres: postgres, dataCenters: 2, kill: true)
        print("| data centers | accepted | frames/s | vs one on PostgreSQL | p50 | p99 | data-center CPU per frame | database CPU per frame | database bytes per frame | acknowledged but missing | stored, never acknowledged |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for (name, run) in [("one, on SQLite", sqlite), ("one", one), ("two", two), ("two, one killed mid-run", killed)] {
            print(String(format: "| %@ | %d of %d | %.1f | %.2fx | %.0f ms | %.0f ms | %.2f ms | %@ | %.0f KiB | %d | %d |", name, run.acknowledged, run.attempted,
                         run.rate, run.rate / one.rate, run.p50, run.p99, run.dataCenterCPUPerFrame,
                         run.databaseCPUPerFrame.map { String(format: "%.2f ms", $0) } ?? "(in the data center)",
                         run.databaseBytesPerFrame / 1024, run.missing, run.extra))
        }
        print("(all on these 2 cores: the edges, the cloud, the data centers and PostgreSQL share them, so a second process buys a ratio, not a second machine)")
        if [sqlite, one, two, killed].contains(where: { $0.missing > 0 || $0.extra > 0 || $0.acknowledged == 0 }) { exit(1) }
    }

    /// One run: `count` data-center processes on a fresh database beside `postgres` (nil: one on
    /// a SQLite file, for comparison).
    static func scaleRun(_ settings: Settings, msai: String, postgres: String?, dataCenters count: Int, kill: Bool) async throws -> ScaleRun {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let sqliteFile = folder.appendingPathComponent("dc.sqlite").path
        let database = try postgres.map {
            try PostgresDataCenterStore.createDatabase(beside: $0, named: "load_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))
        } ?? sqliteFile
        let keyFile = folder.appendingPathComponent("msai.master.key").path
        try RoleConfiguration.writeMasterKey(to: keyFile)
        var config = RoleConfiguration.fresh(cloudPort: 0, dataCenterPort: 0, database: database, masterKeyFile: keyFile,
                                             tls: try PrivateCA.create(in: folder.appendingPathComponent("tls").path, hosts: []))
        config.devicesFile = folder.appendingPathComponent("devices.json").path
        let tokens = try (0..<settings.edges).map { try DeviceRegistry.add("camera-\($0)", to: config.devicesFile!) }
        config.edgeTokens = []
        let configPath = folder.appendingPathComponent("msai.json").path
        try config.write(to: configPath)
        let dataCenters = try (0..<count).map { _ in
            try Role.start(msai, ["datacenter", "serve", "--config", configPath, "--listen", "127.0.0.1:0"], in: folder, announcing: "data center listening on ")
        }
        defer { for dataCenter in dataCenters { dataCenter.stop() } }
        let all = dataCenters.map(\.url).joined(separator: ",")
        let cloud = try Role.start(msai, ["cloud", "serve", "--config", configPath], in: folder, announcing: "cloud listening on ",
                                   environment: ["MSAI_DATACENTER_URL": all])
        defer { cloud.stop() }
        config.cloudURL = cloud.url
        let ca = config.tls!.trust(for: "data center")
        let store = try postgres.map { _ in try PostgresDataCenterStore(url: database, masterKey: try config.masterKey(), connections: 1) }
        func databaseBytes() throws -> Int {
            if let store { return try store.databaseBytes() }
            return [sqliteFile, sqliteFile + "-wal"].reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        }
        let bytesBefore = try databaseBytes(), cpuBefore = postgresCPUSeconds()
        let dataCenterCPUBefore = dataCenters.map { cpuSeconds(of: $0.process.processIdentifier) }
        let victimCPU = Shared<Double?>(nil)

        let total = settings.edges * settings.scaleFrames
        let acknowledgedSoFar = Count()
        let victim = kill ? dataCenters.last : nil
        let retry = RetryPolicy(deadline: .seconds(30), attempts: 6)
        let deadline = ContinuousClock.now + .seconds(settings.seconds)
        let start = ContinuousClock.now
        let results = await withTaskGroup(of: [Sent].self) { group in
            for (index, token) in tokens.enumerated() {
                // Each edge knows every data center and prefers its own: half start at each.
                var edgeConfig = config
                let urls = dataCenters.map(\.url)
                edgeConfig.dataCenterURL = (urls[(index % count)...] + urls[..<(index % count)]).joined(separator: ",")
                group.addTask { [edgeConfig] in
                    await edge(index, token: token, config: edgeConfig, ca: ca, retry: retry, frames: settings.scaleFrames, until: deadline) {
                        let done = acknowledgedSoFar.add()
                        if let victim, done == total / 3 {
                            victimCPU.withLock { $0 = cpuSeconds(of: victim.process.processIdentifier) }
                            Glibc.kill(victim.process.processIdentifier, SIGKILL)
                            print("  killed data center pid \(victim.process.processIdentifier) (SIGKILL) after \(done) of \(total) frames were acknowledged")
                        }
                    }
                }
            }
            var all: [Sent] = []
            for await sent in group { all += sent }
            return all
        }
        let seconds = milliseconds(ContinuousClock.now - start) / 1000
        let cpu = postgresCPUSeconds() - cpuBefore
        var dataCenterCPU = 0.0
        for (index, dataCenter) in dataCenters.enumerated() {
            let now = dataCenter === victim ? (victimCPU.withLock { $0 } ?? 0) : cpuSeconds(of: dataCenter.process.processIdentifier)
            dataCenterCPU += now - dataCenterCPUBefore[index]
        }
        let reader = HTTPReaderClient(url: dataCenters[0].url, token: config.recovererTokens[0], retry: RetryPolicy(deadline: .seconds(60)), caFile: ca)
        let stored = Set(try await reader.frames().map(\.frameID))
        let acknowledged = Set(results.compactMap(\.frameID))
        let bytes = try databaseBytes() - bytesBefore
        store?.close()
        let latencies = results.filter { $0.frameID != nil }.map(\.milliseconds).sorted()
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        if let failure = results.first(where: { $0.frameID == nil }) {
            print("  \(count) data center(s)\(kill ? ", one killed" : ""): \(results.count - acknowledged.count) not sent; first: \(failure.error ?? "")")
        }
        let frames = Double(max(1, acknowledged.count))
        return ScaleRun(acknowledged: acknowledged.count, attempted: results.count, seconds: seconds, p50: percentile(0.5), p99: percentile(0.99),
                        dataCenterCPUPerFrame: dataCenterCPU * 1000 / frames, databaseCPUPerFrame: postgres == nil ? nil : cpu * 1000 / frames,
                        databaseBytesPerFrame: Double(bytes) / frames,
                        missing: acknowledged.subtracting(stored).count, extra: stored.subtracting(acknowledged).count)
    }

    /// CPU seconds (user + system) a process has used so far (0 once it is gone).
    static func cpuSeconds(of pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// CPU seconds (user + system) of every process named postgres on this machine: the server
    /// and its backends (make load's server is the only one here).
    static func postgresCPUSeconds() -> Double {
        var total = 0.0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where entry.allSatisfy(\.isNumber) {
            guard let name = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8), name == "postgres\n",
                  let pid = Int32(entry) else { continue }
            total += cpuSeconds(of: pid)
        }
        return total
    }

    /// Connections that never finish a request (a TLS handshake begun, then silence): how many
    /// the data center closed on its own within 30 s.
    static func slowClients(_ count: Int, port: Int) async -> (closed: Int, total: Int) {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var sockets: [Int32] = []
                for _ in 0..<count {
                    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                    var address = sockaddr_in()
                    address.sin_family = sa_family_t(AF_INET)
                    address.sin_port = in_port_t(UInt16(port).bigEndian)
                    address.sin_addr.s_addr = inet_addr("127.0.0.1")
                    let ok = withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                    }
                    guard ok == 0 else { close(fd); continue }
                    _ = [UInt8]([0x16, 0x03, 0x01, 0x02]).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    var timeout = timeval(tv_sec: 30, tv_usec: 0)
                    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                    sockets.append(fd)
                }
                var closed = 0
                var buffer = [UInt8](repeating: 0, count: 4096)
                for fd in sockets {
                    while true {
                        let n = recv(fd, &buffer, buffer.count, 0)
                        if n > 0 { continue }
                        if n == 0 || errno == ECONNRESET { closed += 1 }
                        break
                    }
                    close(fd)
                }
                continuation.resume(returning: (closed, count))
            }
        }
    }

    /// Uploads that claim 64 MiB for a small frame's τ: what the data center answered each.
    static func oversizedUploads(_ count: Int, url: String, token: String, ca: String) async -> String {
        let client = HTTPDataCenterClient(url: url, token: token, caFile: ca)
        var answers: [String] = []
        for _ in 0..<count {
            do {
                let grant = try await client.issueTau(TauRequest(width: 64, height: 48, blockSize: 8))
                var request = HTTPClientRequest(url: url + "/v1/frames")
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
                request.headers.add(name: "Content-Type", value: SealedFrame.mediaType)
                var header = Array(SealedFrame.magic) + [SealedFrame.version, UInt8(grant.id.utf8.count)] + Array(grant.id.utf8)
                header += [UInt8](repeating: 0, count: 12)
                let total = 64 << 20
                let chunks = [ByteBuffer(bytes: header)] + (0..<((total - header.count) / 65_536)).map { _ in ByteBuffer(repeating: 0xAB, count: 65_536) }
                let (stream, feed) = AsyncStream<ByteBuffer>.makeStream()
                for chunk in chunks { feed.yield(chunk) }
                feed.finish()
                request.body = .stream(stream, length: .known(Int64(chunks.reduce(0) { $0 + $1.readableBytes })))
                var tls = TLSConfiguration.makeClientConfiguration()
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
                let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
                defer { _ = http.shutdown() }
                let response = try await http.execute(request, timeout: .seconds(60))
                answers.append("\(response.status.code)")
            } catch {
                answers.append("closed")
            }
        }
        return answers.joined(separator: ", ")
    }
}

/// A role's process, started from the msai binary, and the URL it announced.
final class Role: Sendable {
    let process: Process
    let url: String
    var port: Int { Int(url.split(separator: ":").last!)! }

    private init(process: Process, url: String) {
        self.process = process
        self.url = url
    }

    static func start(_ msai: String, _ arguments: [String], in folder: URL, announcing prefix: String,
                      environment extra: [String: String] = [:]) throws -> Role {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: msai)
        process.arguments = arguments
        process.currentDirectoryURL = folder
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        var seen = Data()
        while true {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { Load.fail("\(arguments.joined(separator: " ")) ended: \(String(decoding: seen, as: UTF8.self))") }
            seen += chunk
            let text = String(decoding: seen, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) {
                let url = String(line.dropFirst(prefix.count).split(separator: " ")[0])
                return Role(process: process, url: url)
            }
        }
    }

    /// The process's peak resident set (VmHWM), in MiB.
    func peakResidentMiB() -> Double {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
