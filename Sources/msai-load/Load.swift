import AsyncHTTPClient
import Foundation
import Glibc
import MSAICore
import MSAICrypto
import MSAIImageIO
import MSAINetwork
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
    }

    static func main() async throws {
        var settings = Settings()
        for argument in CommandLine.arguments.dropFirst() {
            let pair = argument.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, let value = Double(pair[1]) else { usage() }
            switch pair[0] {
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
    }

    static func usage() -> Never { fail("usage: msai-load [edges=N] [frames=N] [slow=N] [oversized=N] [seconds=S]") }

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
                     until deadline: ContinuousClock.Instant) async -> [Sent] {
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
            } catch {
                sent.append(Sent(frameID: nil, milliseconds: milliseconds(ContinuousClock.now - start), error: (error as? MSAIError)?.description ?? "\(error)"))
            }
        }
        return sent
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
