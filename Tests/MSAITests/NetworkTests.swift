import AsyncHTTPClient
import Foundation
import MSAICore
import MSAICoreTesting
import MSAICrypto
import MSAIImageIO
import MSAINetwork
import MSAIRoles
import MSAIStreaming
import MSAIStorage
import MSAIVision
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// The three roles as HTTP services on real loopback sockets (port 0), with the real SQLite store.
@Suite(.serialized) struct NetworkTests {
    /// The data center's master key, in a 0600 file as `msai init` writes it.
    static let masterKeyFile: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("msai-test-\(UUID().uuidString).master.key").path
        try! RoleConfiguration.writeMasterKey(to: path)
        return path
    }()
    static let masterKey = try! MasterKey.load(file: masterKeyFile)
    static let config = RoleConfiguration.fresh(masterKeyFile: masterKeyFile)
    /// Short enough that a test of a role that cannot be reached ends soon, long enough for a TLS
    /// handshake, a membrane and a deposit on two busy cores (make test runs suites side by side).
    static let quick = RetryPolicy(deadline: .seconds(6), attempts: 2, firstBackoff: .milliseconds(50))

    /// A data center (SQLite in a temporary folder) and a cloud that reaches it.
    struct Deployment {
        let folder: URL
        /// The data center object behind the service (tests use its store to reseal frames as an edge could).
        let center: DataCenter
        let dataCenter: RunningServer
        let cloud: RunningServer

        static func start(database: String? = nil, dataCenterPort: Int = 0) async throws -> Deployment {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-net-\(UUID().uuidString)")
            let path = database ?? folder.appendingPathComponent("dc.sqlite").path
            // Built as msai up builds them, on ports of their own.
            let dc = try await DataCenterServer.start(config, store: try SQLiteDataCenterStore(path: path, masterKey: masterKey),
                                                      listen: "127.0.0.1:\(dataCenterPort)", name: "test-dc")
            let cloud = try await CloudServer.start(config, dataCenterURL: dc.url, listen: "127.0.0.1:0", name: "test-cloud", retry: quick)
            return Deployment(folder: folder, center: dc.dataCenter, dataCenter: dc.server, cloud: cloud.server)
        }

        /// An edge of this deployment; `retry` is quick by default, for the tests of roles that are down.
        func edge(mode: MaskingMode = .standard, format: MaskedFrameCodec.Format = .png, cloudURL: String? = nil, dataCenterURL: String? = nil,
                  retry: RetryPolicy = quick) -> EdgeCamera
        {
            let dcURL = dataCenterURL ?? dataCenter.url
            return EdgeCamera(membranes: HTTPCloudClient(url: cloudURL ?? cloud.url, edgeToken: config.edgeTokens[0], retry: retry),
                              scrambling: HTTPDataCenterClient(url: dcURL, token: config.edgeTokens[0], retry: retry),
                              egress: HTTPDataCenterClient(url: dcURL, token: config.edgeTokens[0], retry: retry), mode: mode,
                              frameFormat: format)
        }

        /// A recoverer of this deployment (originals, audited with a reason).
        var reader: HTTPReaderClient { HTTPReaderClient(url: dataCenter.url, token: config.recovererTokens[0], retry: quick) }
        /// A viewer of this deployment (the masked view only).
        var viewer: HTTPReaderClient { HTTPReaderClient(url: dataCenter.url, token: config.viewerTokens[0], retry: quick) }

        /// Seals `inner` under the τ of `frame`, as the edge that holds it could.
        func reseal(_ inner: [UInt8], like frame: EdgeCamera.MaskedFrame) throws -> [UInt8] {
            let seed = try #require(try center.store.tau(frame.manifest.tauID)?.seed)
            return try SealedFrame.seal(inner, tauID: frame.manifest.tauID, key: try FrameKeys(tauSeed: seed).sealing)
        }

        /// An msai.json naming this deployment, for msai processes; returns its path.
        func configFile() throws -> String {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("msai-\(UUID().uuidString).json").path
            var config = NetworkTests.config
            config.cloudURL = cloud.url
            config.dataCenterURL = dataCenter.url
            try config.write(to: path)
            return path
        }

        func stop() async {
            await cloud.stop()
            await dataCenter.stop()
            try? FileManager.default.removeItem(at: folder)
        }
    }

    /// An msai process started by a test, its output (stdout and stderr) captured.
    final class Launched {
        let process: Process
        let output: Pipe
        private var seen = Data()

        init(process: Process, output: Pipe) {
            self.process = process
            self.output = output
        }

        /// Reads what the process prints until a line holds `marker` (the process says it is ready,
        /// and where), and returns that line; nil when the process ends first. No sleeping.
        func line(containing marker: String) -> String? {
            while true {
                if let text = String(data: seen, encoding: .utf8),
                    let line = text.split(separator: "\n").first(where: { $0.contains(marker) }) {
                    return String(line)
                }
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { return nil }
                seen.append(chunk)
            }
        }

        /// Waits for the process to end; returns its exit status and everything it printed.
        func finish() -> (status: Int32, text: String) {
            let text = String(decoding: seen + output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }
    }

    /// The port in "…127.0.0.1:PORT…" of a line a process printed.
    static func announcedPort(_ line: String?) -> Int? {
        guard let line, let range = line.range(of: "127.0.0.1:") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    /// Starts `msai ARGUMENTS` in the repository (or `folder`); its output, stdout and stderr, is read through the result.
    func launch(_ arguments: [String], in folder: URL = repositoryRoot) throws -> Launched {
        let process = Process()
        process.executableURL = CommandLineTests.executable
        process.arguments = arguments
        process.currentDirectoryURL = folder
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        return Launched(process: process, output: out)
    }

    /// A raw request, for what no client of ours would send.
    func raw(_ url: String, method: HTTPMethod = .POST, token: String?, body: [UInt8] = [], contentType: String = "application/json")
        async throws -> (status: Int, body: String)
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: "Content-Type", value: contentType)
        if method == .POST { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    @Test func framesTravelThroughTheRolesAndComeBackBitExact() async throws {
        let deployment = try await Deployment.start()
        try await stopping({ await deployment.stop() }) {
            let cases = [("lena.png", MaskingMode.gf251), ("zidane.jpg", .hardened), ("camera.png", .vhe)]
            for format in [MaskedFrameCodec.Format.png, .qoi] {
            for (file, mode) in cases {
                let image = try ImageFile.read(dataset(file))
                let areas = [Rect(x: 10, y: 20, width: 100, height: 80), Rect(x: 50, y: 60, width: 120, height: 40)]
                // A VHE membrane can take seconds on a loaded machine: this test is about the round trip, not deadlines.
                let edge = deployment.edge(mode: mode, format: format, retry: RetryPolicy(deadline: .seconds(60)))
                let frame = try await edge.prepare(image, areas: areas)
                // camera.png is gray, which QOI cannot hold: it goes as PNG whatever was asked.
                #expect(frame.format == format.effective(channels: image.channels))
                #expect(MaskedFrameCodec.format(of: frame.encoded) == frame.format)
                let receipt = try await edge.send(frame)
                #expect(receipt.areaCount == 2)
                let recovered = try PNGCodec.decode(try await deployment.reader.recovered(frameID: receipt.frameID, reason: "test")).pixels
                #expect(recovered == image, "\(file) \(mode)")
                #expect(try await deployment.viewer.sealed(frameID: receipt.frameID) == frame.sealed)
                // A viewer sees the frame unscrambled with its areas still masked: exactly what the edge masked.
                #expect(try PNGCodec.decode(try await deployment.viewer.masked(frameID: receipt.frameID)).pixels == frame.maskedAreas)
            }
            }
            // The jpeg mode: the camera's JPEG masked in the DCT domain, the camera's pixels back.
            let camera = Array(try Data(contentsOf: URL(fileURLWithPath: dataset("zidane.jpg"))))
            let jpegEdge = deployment.edge(mode: .jpeg, format: .qoi, retry: RetryPolicy(deadline: .seconds(60)))
            let frame = try await jpegEdge.prepareJPEG(camera, areas: [Rect(x: 10, y: 20, width: 100, height: 80)])
            #expect(frame.format == .jpeg && MaskedFrameCodec.format(of: frame.encoded) == .jpeg)
            let receipt = try await jpegEdge.send(frame)
            let recovered = try PNGCodec.decode(try await deployment.reader.recovered(frameID: receipt.frameID, reason: "test")).pixels
            #expect(recovered == (try JPEGCodec.decodeAsStored(camera)))
            #expect(try PNGCodec.decode(try await deployment.viewer.masked(frameID: receipt.frameID)).pixels == frame.maskedAreas)
            #expect(try await deployment.reader.frameIDs().count == 2 * cases.count + 1)
        }
    }

    /// What the edge gets from the cloud is λ and nothing else: one byte per sample in 1...250,
    /// and only the id, shape and mode headers; the key (k, w, seed) goes to the data center,
    /// which has no endpoint that gives it to an edge.
    @Test func theEdgeGetsOnlyLambdaFromTheCloud() async throws {
        let d = try await Deployment.start()
        try await stopping({ await d.stop() }) {
            var request = HTTPClientRequest(url: d.cloud.url + "/v1/membranes")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(NetworkTests.config.edgeTokens[0])")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: Array(#"{"rows":6,"cols":5,"channels":3,"mode":"hardened"}"#.utf8)))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            let body = Array(try await response.body.collect(upTo: 1 << 20).readableBytesView)
            #expect(response.status.code == 200 && body.count == 6 * 5 * 3 && body.allSatisfy { (1...250).contains($0) })
            let msaiHeaders = Set(response.headers.map { $0.name.lowercased() }.filter { $0.hasPrefix("msai-") })
            #expect(msaiHeaders == ["msai-membrane-id", "msai-membrane-shape", "msai-membrane-mode"])
            let id = try #require(response.headers.first(name: "msai-membrane-id"))
            // The data center holds the key; an edge's token reads nothing back from it.
            #expect(try d.center.store.key(MembraneID(rawValue: id)) != nil)
            for path in ["/v1/keys", "/v1/keys/\(id)", "/v1/frames", "/v1/audit"] {
                let reply = try await raw(d.dataCenter.url + path, method: .GET, token: NetworkTests.config.edgeTokens[0])
                #expect([401, 404, 405].contains(reply.status), "\(path): \(reply.status)")
            }
        }
    }

    @Test func cloudDownMeansNothingIsSent() async throws {
        let deployment = try await Deployment.start()
        try await stopping({ await deployment.stop() }) {
            let closed = try await RunningServer.start(.init(), host: "127.0.0.1", port: 0, name: "closed")
            let deadURL = closed.url
            await closed.stop()
            let edge = deployment.edge(cloudURL: deadURL)
            let image = try ImageFile.read(dataset("lena.png"))
            await #expect(throws: MSAIError.self) { try await edge.prepare(image, areas: [Rect(x: 0, y: 0, width: 50, height: 50)]) }
            #expect(try await deployment.reader.frameIDs().isEmpty)
        }
    }

    /// The data center goes down mid-batch and comes back on the same port with the same database:
    /// frames sent while it was down fail and are reported; everything accepted before is still there.
    @Test func dataCenterDownThenUpLosesNothingAccepted() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-net-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = folder.appendingPathComponent("dc.sqlite").path
        let first = try await Deployment.start(database: database)
        let image = try ImageFile.read(dataset("coffee.png"))
        let area = [Rect(x: 100, y: 100, width: 64, height: 64)]
        let accepted = try await first.edge().send(try await first.edge().prepare(image, areas: area))
        let port = first.dataCenter.port
        let cloudURL = first.cloud.url
        await first.dataCenter.stop()
        await #expect(throws: MSAIError.self) {
            try await first.edge().prepare(image, areas: area)
        }
        let second = try await Deployment.start(database: database, dataCenterPort: port)
        try await stopping({ await first.cloud.stop(); await second.stop() }) {
            _ = cloudURL
            let again = try await second.edge().send(try await second.edge().prepare(image, areas: area))
            #expect(try await second.reader.frameIDs() == [accepted.frameID, again.frameID])
            let recovered = try PNGCodec.decode(try await second.reader.recovered(frameID: accepted.frameID, reason: "test")).pixels
            #expect(recovered == image)
        }
    }

    /// `msai edge` with the cloud unreachable: no frame is sent, the error says in plain words
    /// what is wrong and what to run, the edge stops rather than failing every image the same way,
    /// the exit status says so, and nothing is written.
    @Test func edgeCommandStopsAndSaysWhatToRunWhenTheCloudIsDown() async throws {
        let d = try await Deployment.start()
        try await stopping({ await d.stop() }) {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-edge-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let configPath = folder.appendingPathComponent("msai.json").path
            var config = NetworkTests.config
            config.dataCenterURL = d.dataCenter.url
            config.cloudURL = "http://127.0.0.1:9"  // discard port: nothing listens
            try config.write(to: configPath)
            let run = try CommandLineTests().msai(["edge", "Datasets/lena.png", "Datasets/coffee.png", "--config", configPath,
                                                   "--region", "0,0,16,16", "--deadline", "5", "--attempts", "1"])
            #expect(run.stdout.contains("0 of 2 frame(s) sent"), "\(run.stdout)")
            // Normally the cloud's refusal; under heavy load the tau call's deadline may expire first,
            // which is the same fail-closed outcome and is not a reason to stop.
            #expect(run.stderr.contains("msai: error: Datasets/lena.png: not sent: "), "\(run.stderr)")
            if run.stderr.contains("lena.png: not sent: cannot reach the cloud") {
                #expect(run.status == 69, "a role that cannot be reached ends msai with 69")
                #expect(run.stderr.contains("cannot reach the cloud at http://127.0.0.1:9: connection refused"), "\(run.stderr)")
                #expect(run.stderr.contains("`msai up`") && run.stderr.contains("cloud_url"), "\(run.stderr)")
                #expect(!run.stderr.contains("errno") && !run.stderr.contains("error set"), "\(run.stderr)")
                #expect(run.stdout.contains("stopped: the other 1 image(s) were not tried"), "\(run.stdout)")
                #expect(!run.stderr.contains("coffee.png"), "\(run.stderr)")
            } else {
                #expect(run.status == 1, "\(run.stderr)")
            }
            // One line per failure, never the same failure twice.
            #expect(run.stderr.components(separatedBy: "lena.png").count == 2, "\(run.stderr)")
            #expect(try await d.reader.frameIDs().isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["msai.json"])
        }
    }

    /// `msai edge --preview`: beside each image, exactly the masked view a viewer gets from the
    /// data center; beside a video, a video of the masked view with a frame per frame sent.
    @Test func edgePreviewShowsWhatAViewerWillSee() async throws {
        let d = try await Deployment.start()
        try await stopping({ await d.stop() }) {
            let folder = try CommandLineTests().temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let configPath = folder.appendingPathComponent("msai.json").path
            var config = NetworkTests.config
            config.dataCenterURL = d.dataCenter.url
            config.cloudURL = d.cloud.url
            try config.write(to: configPath)
            let image = folder.appendingPathComponent("coffee.png").path
            try FileManager.default.copyItem(atPath: dataset("coffee.png"), toPath: image)
            let run = try CommandLineTests().msai(["edge", image, "--config", configPath, "--region", "20,30,64,48", "--preview"])
            #expect(run.status == 0, "\(run.stderr)")
            let preview = folder.appendingPathComponent("coffee.masked-view.png").path
            #expect(run.stdout.contains("its masked view in \(preview)"), "\(run.stdout)")
            let id = try #require(try await d.reader.frameIDs().first)
            let viewer = HTTPReaderClient(url: d.dataCenter.url, token: config.viewerTokens[0], retry: NetworkTests.quick)
            #expect(try ImageFile.read(preview) == (try PNGCodec.decode(try await viewer.masked(frameID: id)).pixels))
            #expect(try ImageFile.read(preview) != (try ImageFile.read(image)))

            let areasLog = folder.appendingPathComponent("areas.jsonl").path
            let video = try CommandLineTests().msai(["edge", dataset("vtest.avi"), "--config", configPath, "--region", "0,0,64,64",
                                                     "--frames", "6", "--no-status", "--preview", "--preview-folder", folder.path,
                                                     "--areas-log", areasLog])
            #expect(video.status == 0, "\(video.stderr)")
            // The areas log: one line per frame, what was masked on it and where that came from.
            let entries = try MaskedAreasLog.read(areasLog)
            #expect(entries.map(\.frame) == Array(0..<6) && entries.allSatisfy { $0.sent && !$0.whole && $0.error == nil })
            #expect(entries.allSatisfy { MaskCoverage.pixelsCovered(of: Rect(x: 0, y: 0, width: 64, height: 64), by: $0.rects) == 64 * 64 })
            // Areas given by hand are taken as they are on every frame, not carried and grown.
            #expect(entries.allSatisfy { $0.rects == [Rect(x: 0, y: 0, width: 64, height: 64)] && $0.age == 0 && $0.detectedAt == $0.sequence })
            let avi = folder.appendingPathComponent("vtest.masked-view.avi").path
            #expect(video.stdout.contains("wrote the masked view of the 6 frame(s) sent to \(avi)"), "\(video.stdout)")
            let reader = try VideoReader(path: avi)
            var frames = 0
            while let frame = try reader.next() {
                frames += 1
                #expect(frame.width == 768 && frame.height == 576)
            }
            #expect(frames == 6)
        }
    }

    /// Retention as the data center's service runs it (msai up's wiring), on a clock the test
    /// moves: a pass at start, then one every interval; a frame older than the period is deleted
    /// by the service itself at the first pass after it is due, and stopping the server stops it.
    @Test func retentionRunsAsAServiceBesideTheDataCenter() async throws {
        let folder = try CommandLineTests().temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var config = NetworkTests.config
        config.retentionSeconds = 30  // a pass every 3 s of the clock
        let clock = ManualClock()
        let later = Mutex(Duration.zero)  // how far the test has moved the calendar on
        let (passes, reporter) = AsyncStream<Result<Int, Error>>.makeStream()
        let dc = try await DataCenterServer.start(
            config, store: try SQLiteDataCenterStore(path: folder.appendingPathComponent("dc.sqlite").path, masterKey: NetworkTests.masterKey),
            listen: "127.0.0.1:0", name: "test-dc", clock: clock, now: { Date().addingTimeInterval(milliseconds(later.withLock { $0 }) / 1000) },
            onRetention: { reporter.yield($0) })
        var pass = passes.makeAsyncIterator()
        #expect(try await pass.next()?.get() == 0, "the pass at start finds nothing")
        let cloud = try await CloudServer.start(config, dataCenterURL: dc.url, listen: "127.0.0.1:0", name: "test-cloud", retry: NetworkTests.quick)
        let edge = EdgeCamera(membranes: HTTPCloudClient(url: cloud.url, edgeToken: config.edgeTokens[0], retry: NetworkTests.quick),
                              scrambling: HTTPDataCenterClient(url: dc.url, token: config.edgeTokens[0], retry: NetworkTests.quick),
                              egress: HTTPDataCenterClient(url: dc.url, token: config.edgeTokens[0], retry: NetworkTests.quick))
        let image = try ImageFile.read(dataset("coffee.png"))
        let id = try await edge.send(try await edge.prepare(image, areas: [Rect(x: 0, y: 0, width: 16, height: 16)])).frameID

        // 3 s on: a pass, but the frame is not 30 s old.
        await clock.sleepers(atLeast: 1)
        later.withLock { $0 = .seconds(3) }
        clock.advance(by: .seconds(3))
        #expect(try await pass.next()?.get() == 0)
        #expect(try dc.dataCenter.store.frame(id) != nil)
        // 33 s on: the next pass deletes it.
        await clock.sleepers(atLeast: 1)
        later.withLock { $0 = .seconds(33) }
        clock.advance(by: .seconds(3))
        #expect(try await pass.next()?.get() == 1)
        #expect(try dc.dataCenter.store.frame(id) == nil)

        await cloud.stop()
        await dc.stop()
        #expect(clock.sleeping == 0, "retention still waits for its next pass after the server stopped")
    }

    /// Configuration and listening errors in one line each, naming the setting and the way out:
    /// ports out of range or shared are refused by `msai init` and `msai up`, a taken port is
    /// named as taken, and `msai frames` with no data center says to run `msai up`.
    @Test func configurationAndListeningErrorsSayWhatToDo() async throws {
        let cli = CommandLineTests()
        let folder = try cli.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let configPath = folder.appendingPathComponent("msai.json").path

        let outOfRange = try cli.msai(["init", "--config", configPath, "--cloud-port", "99999"])
        #expect(outOfRange.status != 0)
        #expect(outOfRange.stderr.contains("--cloud-port 99999: a port must lie in 1…65535"), "\(outOfRange.stderr)")
        let shared = try cli.msai(["init", "--config", configPath, "--cloud-port", "8801", "--datacenter-port", "8801"])
        #expect(shared.status != 0)
        #expect(shared.stderr.contains("both 8801"), "\(shared.stderr)")
        #expect(!FileManager.default.fileExists(atPath: configPath))

        // A port another process holds.
        let d = try await Deployment.start()
        try await stopping({ await d.stop() }) {
            let holder = d.cloud
            var config = RoleConfiguration.fresh(cloudPort: holder.port, dataCenterPort: 9, masterKeyFile: folder.appendingPathComponent("k").path)
            config.dataCenterListen = "127.0.0.1:0"
            config.database = folder.appendingPathComponent("datacenter.sqlite").path
            try RoleConfiguration.writeMasterKey(to: folder.appendingPathComponent("k").path)
            try config.write(to: configPath)
            let taken = try cli.msai(["up", "--config", configPath])
            #expect(taken.status == 74)
            #expect(taken.stderr.contains("cannot listen on 127.0.0.1:\(holder.port): port \(holder.port) is taken by another process"),
                    "\(taken.stderr)")
            #expect(taken.stderr.contains("cloud_listen") && !taken.stderr.contains("errno"), "\(taken.stderr)")

            // Listen addresses edited by hand.
            config.cloudListen = "127.0.0.1:70000"
            try config.write(to: configPath, overwrite: true)
            let edited = try cli.msai(["up", "--config", configPath])
            #expect(edited.stderr.contains("cloud_listen '127.0.0.1:70000': port 70000 is out of range; a port must lie in 1…65535 (0 in a listen address: any free port)"),
                    "\(edited.stderr)")
            config.cloudListen = "127.0.0.1:8801"
            config.dataCenterListen = "127.0.0.1:8801"
            try config.write(to: configPath, overwrite: true)
            let same = try cli.msai(["up", "--config", configPath])
            #expect(same.stderr.contains("cloud_listen and datacenter_listen are both 127.0.0.1:8801"), "\(same.stderr)")

            // No data center.
            config.dataCenterURL = "http://127.0.0.1:9"
            try config.write(to: configPath, overwrite: true)
            let list = try cli.msai(["frames", "list", "--config", configPath])
            #expect(list.status == 69)
            #expect(list.stderr.contains("cannot reach the data center at http://127.0.0.1:9"), "\(list.stderr)")
            #expect(list.stderr.contains("`msai up`") && !list.stderr.contains("errno"), "\(list.stderr)")
            #expect(list.stderr.split(separator: "\n").count == 1, "\(list.stderr)")

            // A role URL with a port out of range (it once crashed the client), and one that is the
            // wrong role's.
            config.dataCenterURL = "http://127.0.0.1:99999"
            try config.write(to: configPath, overwrite: true)
            let badURL = try cli.msai(["frames", "list", "--config", configPath])
            #expect(badURL.status == 64 && badURL.stderr == "msai: error: data center URL 'http://127.0.0.1:99999': port 99999 is out of range; a port must lie in 1…65535\n",
                    "\(badURL.stderr)")
            config.dataCenterURL = d.cloud.url
            try config.write(to: configPath, overwrite: true)
            let wrongRole = try cli.msai(["frames", "list", "--config", configPath])
            #expect(wrongRole.stderr.contains("has no such endpoint (404): is that URL the data center's?"), "\(wrongRole.stderr)")

            // A batch through roles that cannot be reached stops at the first image and names the option.
            let run = folder.appendingPathComponent("run").path
            config.dataCenterURL = "http://127.0.0.1:9"
            try config.write(to: configPath, overwrite: true)
            let batch = try cli.msai(["batch", dataset("lena.png"), dataset("coffee.png"), "--out", run, "--paper-size", "none", "--jobs", "1",
                                      "--config", configPath, "--cloud", "http://127.0.0.1:9", "--datacenter", "http://127.0.0.1:9"])
            #expect(batch.status == 69)
            #expect(batch.stdout.contains("0 evaluated, 1 failed") && batch.stdout.contains("stopped: the other 1 image(s) were not tried"),
                    "\(batch.stdout)")
            #expect(batch.stdout.contains("(--datacenter)") || batch.stdout.contains("(--cloud)") || batch.stderr.contains("(--"), "\(batch.stdout)\(batch.stderr)")
        }
    }

    /// `msai frames` as a viewer and a recoverer use it, against a running data center: the list,
    /// the masked view (a viewer-only configuration is enough), an original with its reason in
    /// the audit log, and deletion; a viewer-only configuration cannot recover.
    @Test func framesCommandGivesViewersTheMaskedViewAndRecoverersTheOriginal() async throws {
        let d = try await Deployment.start()
        try await stopping({ await d.stop() }) {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-frames-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let image = try ImageFile.read(dataset("coffee.png"))
            let frame = try await d.edge().prepare(image, areas: [Rect(x: 20, y: 30, width: 64, height: 48)])
            let id = try await d.edge().send(frame).frameID
            var viewerOnly = NetworkTests.config
            viewerOnly.dataCenterURL = d.dataCenter.url
            viewerOnly.recovererTokens = []
            let viewerConfig = folder.appendingPathComponent("viewer.json").path, recovererConfig = try d.configFile()
            defer { try? FileManager.default.removeItem(atPath: recovererConfig) }
            try viewerOnly.write(to: viewerConfig)

            let list = try launch(["frames", "list", "--config", viewerConfig]).finish()
            #expect(list.status == 0 && list.text.contains("1 frame(s)") && list.text.contains("\(id)  \(image.width)x\(image.height)x3  1 area(s)"),
                    "\(list.text)")
            let view = folder.appendingPathComponent("view.png").path
            let masked = try launch(["frames", "masked", id, "--config", viewerConfig, "--out", view]).finish()
            #expect(masked.status == 0, "\(masked.text)")
            #expect(try ImageFile.read(view) == frame.maskedAreas)
            let refused = try launch(["frames", "recover", id, "--config", viewerConfig, "--reason", "x", "--out", view]).finish()
            #expect(refused.status != 0 && refused.text.contains("no recoverer token"), "\(refused.text)")

            let original = folder.appendingPathComponent("original.png").path
            let recovered = try launch(["frames", "recover", id, "--config", recovererConfig, "--reason", "case 2026-114", "--out", original]).finish()
            #expect(recovered.status == 0, "\(recovered.text)")
            #expect(try ImageFile.read(original) == image)
            let noReason = try launch(["frames", "recover", id, "--config", recovererConfig, "--reason", " ", "--out", original]).finish()
            #expect(noReason.status != 0 && noReason.text.contains("needs a reason"), "\(noReason.text)")
            let audit = try launch(["frames", "audit", "--config", recovererConfig]).finish()
            #expect(audit.status == 0 && audit.text.contains("recovered \(id)  (case 2026-114)") && audit.text.contains("viewed masked \(id)"),
                    "\(audit.text)")

            let deleted = try launch(["frames", "delete", id, "--config", recovererConfig, "--reason", "subject's request"]).finish()
            #expect(deleted.status == 0, "\(deleted.text)")
            let gone = try launch(["frames", "masked", id, "--config", viewerConfig, "--out", view]).finish()
            #expect(gone.status == 66 && gone.text.contains("no frame \(id)"), "\(gone.text)")
        }
    }

    /// `msai batch --cloud URL --datacenter URL`: the images go through the running roles, and the
    /// metrics come from the recovered images fetched back with the reader token.
    @Test func batchThroughRunningRolesMeasuresWhatTheDataCenterStored() async throws {
        let d = try await Deployment.start()
        try await stopping({ await d.stop() }) {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-batch-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let configPath = folder.appendingPathComponent("msai.json").path
            try NetworkTests.config.write(to: configPath)
            let run = folder.appendingPathComponent("run").path
            let process = Process()
            process.executableURL = CommandLineTests.executable
            process.arguments = ["batch", "Datasets/lena.png", "Datasets/coffee.png", "--out", run, "--config", configPath,
                                 "--cloud", d.cloud.url, "--datacenter", d.dataCenter.url, "--paper-size", "none"]
            process.currentDirectoryURL = repositoryRoot
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(text)\(errors)")
            #expect(text.contains("through the roles at \(d.cloud.url)") && text.contains("2 evaluated, 0 failed"), "\(text)")
            // Both frames are in the data center's database, and each recovered one matched the original.
            #expect(try await d.reader.frameIDs().count == 2)
            for name in ["lena", "coffee"] {
                let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/images/\(name).metrics.json"))) as! [String: Any]
                #expect(metrics["recovered_identical"] as? Bool == true && metrics["psnr_recovered"] as? String == "inf", "\(name)")
            }
        }
    }

    /// The issue's scenario: `msai camera vtest.avi --udp` in one process, `msai edge udp://…`
    /// with the roles up in another; every frame the edge sends recovers bit-exactly to the frame
    /// it received, and the data center holds exactly those.
    @Test func cameraStreamsOverUDPAndTheEdgeMasksItLive() async throws {
        let d = try await Deployment.start()
        try await stopping({ await d.stop() }) {
            let configPath = try d.configFile()
            defer { try? FileManager.default.removeItem(atPath: configPath) }
            // Port 0: the edge binds a free port and says which, once it listens.
            let edge = try launch(["edge", "udp://127.0.0.1:0", "--config", configPath, "--idle-timeout", "4",
                                   "--detect-every", "5", "--verify", "--no-status", "--live-buffer", "64"])
            let port = try #require(Self.announcedPort(edge.line(containing: "masking udp://")), "\(edge.finish().text)")
            let camera = try launch(["camera", "Datasets/vtest.avi", "--udp", "127.0.0.1:\(port)", "--frames", "20", "--fps", "10"]).finish()
            #expect(camera.status == 0 && camera.text.contains("20 frames sent"), "\(camera.text)")
            let (status, text) = edge.finish()
            #expect(status == 0, "\(text)")
            #expect(text.contains("received 20,") && text.contains("sent 20") && text.contains("20 frame(s) verified bit-exact"), "\(text)")
            #expect(text.contains("20 frames reassembled, 0 lost"), "\(text)")
            #expect(try await d.reader.frameIDs().count == 20)
        }
    }

    /// `msai camera --mjpeg` serving vtest.avi and `msai edge http://…` reading it with ROI-only
    /// transmission: a full frame every 8th, areas only between, every frame verified against
    /// what the data center composes, and the stream ends when the camera's does.
    @Test func cameraServesMJPEGAndTheEdgeSendsOnlyAreas() async throws {
        let d = try await Deployment.start()
        try await stopping({ await d.stop() }) {
            let configPath = try d.configFile()
            defer { try? FileManager.default.removeItem(atPath: configPath) }
            let camera = try launch(["camera", "Datasets/vtest.avi", "--mjpeg", "127.0.0.1:0", "--frames", "20", "--fps", "10"])
            let port = try #require(Self.announcedPort(camera.line(containing: "as MJPEG at")), "\(camera.finish().text)")
            let edge = try launch(["edge", "http://127.0.0.1:\(port)/", "--config", configPath, "--roi-only", "--background-every", "8",
                                   "--verify", "--no-status", "--live-buffer", "64",
                                   // Detections stay trusted however slow a loaded machine makes them:
                                   // a frame masked whole would go as a full frame, not a patch.
                                   "--max-age", "30"])
            let cameraResult = camera.finish()
            #expect(cameraResult.status == 0 && cameraResult.text.contains("20 frames sent"), "\(cameraResult.text)")
            let (status, text) = edge.finish()
            #expect(status == 0, "\(text)")
            #expect(text.contains("received 20,") && text.contains("sent 20 (17 areas only)") && text.contains("20 frame(s) verified bit-exact"),
                    "\(text)")
            #expect(text.contains("mjpeg: 20 frames read"), "\(text)")
            #expect(try await d.reader.frameIDs().count == 20)
        }
    }

    /// Plain HTTP only on loopback, and only when the configuration asks for it; https only with
    /// the deployment's CA to pin; a server reachable from elsewhere only with TLS.
    @Test func plainHTTPOnlyOnLoopbackAndOnlyWhenAskedFor() throws {
        var c = RoleConfiguration.fresh()
        #expect(c.plaintextOnLoopback == true)
        for url in ["http://127.0.0.1:8702", "http://localhost:1", "http://127.8.9.10:8702", "http://[::1]:8702", "http://LOCALHOST:1"] {
            #expect(throws: Never.self, "\(url)") { try c.transport(url, role: "data center") }
        }
        // Another machine, or a name that only looks like loopback: refused, saying why.
        for url in ["http://10.0.0.5:8702", "http://127.attacker.example:8702", "http://127.0.0.1.nip.io:8702", "http://localhost.example:1",
                    "http://[::2]:8702"] {
            #expect(throws: MSAIError.self, "\(url)") { try c.transport(url, role: "data center") }
        }
        #expect(throws: MSAIError.invalidArgument(
            "data center URL 'http://10.0.0.5:8702' is plain HTTP to another machine: τ seeds, keys and tokens would travel in the clear. Use https:// with the deployment's certificates (msai init makes them)")) {
            try c.transport("http://10.0.0.5:8702", role: "data center")
        }
        #expect(throws: MSAIError.self) { try c.transport("not a url", role: "cloud") }
        #expect(throws: MSAIError.self) { try c.transport("ftp://127.0.0.1:21", role: "cloud") }
        // https needs the CA to pin.
        #expect(throws: MSAIError.self) { try c.transport("https://10.0.0.5:8702", role: "data center") }
        c.tls = PrivateCA.Files(ca: "ca.pem", caKey: nil, cloudCertificate: nil, cloudKey: nil, dataCenterCertificate: nil, dataCenterKey: nil)
        #expect(try c.transport("https://10.0.0.5:8702", role: "data center") == "ca.pem")
        // Not asked for: plain HTTP is refused even on loopback.
        c.plaintextOnLoopback = nil
        #expect(throws: MSAIError.self) { try c.transport("http://127.0.0.1:8702", role: "data center") }
        #expect(throws: MSAIError.self) { try c.listening("127.0.0.1:8702", role: "data center", field: "datacenter_listen") }
        // A listener without TLS on an address other machines reach is refused at start.
        c.plaintextOnLoopback = true
        #expect(try c.listening("127.0.0.1:8702", role: "data center", field: "datacenter_listen").tls == nil)
        #expect(throws: MSAIError.invalidArgument(
            "the data center would listen on 0.0.0.0:8702 (datacenter_listen) without TLS: τ seeds, keys and tokens would cross the network in the clear. Give it a certificate (msai init makes them: tls in the configuration), or listen on 127.0.0.1")) {
            try c.listening("0.0.0.0:8702", role: "data center", field: "datacenter_listen")
        }
        // msai 1's escape hatch is gone, and says so.
        #expect(throws: MSAIError.self) {
            try RoleConfiguration.load("/nonexistent", environment: ["MSAI_EDGE_TOKEN": String(repeating: "e", count: 64), "MSAI_ALLOW_PLAINTEXT": "1"])
        }
    }

    @Test func wrongOrMissingTokensGet401() async throws {
        let d = try await Deployment.start()
        try await stopping({ await d.stop() }) {
            let membrane = Array(#"{"rows":2,"cols":2,"channels":1,"mode":"gf251"}"#.utf8)
            let tau = Array(#"{"width":64,"height":64,"block_size":8}"#.utf8)
            let viewerToken = NetworkTests.config.viewerTokens[0], recovererToken = NetworkTests.config.recovererTokens[0]
            for token in [nil, "wrong", viewerToken, recovererToken, NetworkTests.config.cloudToken] {
                #expect(try await raw(d.cloud.url + "/v1/membranes", token: token, body: membrane).status == 401)
                #expect(try await raw(d.dataCenter.url + "/v1/taus", token: token, body: tau).status == 401)
                #expect(try await raw(d.dataCenter.url + "/v1/frames", token: token, body: [1, 2, 3], contentType: "image/png").status == 401)
            }
            // Keys only from the cloud; frames only for readers; originals, deletion and the audit log only for recoverers.
            #expect(try await raw(d.dataCenter.url + "/v1/keys", token: NetworkTests.config.edgeTokens[0], body: [1]).status == 401)
            #expect(try await raw(d.dataCenter.url + "/v1/frames", method: .GET, token: NetworkTests.config.edgeTokens[0]).status == 401)
            #expect(try await raw(d.dataCenter.url + "/v1/audit", method: .GET, token: nil).status == 401)
            #expect(try await raw(d.dataCenter.url + "/v1/frames", method: .GET, token: viewerToken).status == 200)
            let forbidden = try await raw(d.dataCenter.url + "/v1/frames/x/recovered?reason=r", method: .GET, token: viewerToken)
            #expect(forbidden.status == 403 && forbidden.body.contains("recoverer token"), "\(forbidden)")
            #expect(try await raw(d.dataCenter.url + "/v1/audit", method: .GET, token: viewerToken).status == 403)
            #expect(try await raw(d.dataCenter.url + "/v1/frames/x", method: .DELETE, token: viewerToken).status == 403)
            #expect(try await raw(d.dataCenter.url + "/v1/frames/x/recovered?reason=r", method: .GET, token: recovererToken).status == 404)
            let reply = try await raw(d.cloud.url + "/v1/membranes", token: "wrong", body: membrane)
            #expect(reply.body.contains("wrong token"))
        }
    }

    @Test func replayedFramesAndMembranesAreRejected() async throws {
        let d = try await Deployment.start()
        try await stopping({ await d.stop() }) {
            let image = try ImageFile.read(dataset("lena.png"))
            let frame = try await d.edge().prepare(image, areas: [Rect(x: 0, y: 0, width: 30, height: 30)])
            let edgeToken = NetworkTests.config.edgeTokens[0]
            #expect(try await raw(d.dataCenter.url + "/v1/frames", token: edgeToken, body: frame.sealed, contentType: SealedFrame.mediaType).status == 201)
            let replay = try await raw(d.dataCenter.url + "/v1/frames", token: edgeToken, body: frame.sealed, contentType: SealedFrame.mediaType)
            #expect(replay.status == 409 && replay.body.contains("already used"))
            #expect(try await d.reader.frameIDs().count == 1)
            // The 409 names what was used up, for clients to read without parsing the message; the
            // edge's client turns it into the typed error, and only its own frame's τ counts as
            // its own lost acknowledgement (tested above by resending with attempts that time out).
            var again = HTTPClientRequest(url: d.dataCenter.url + "/v1/frames")
            again.method = .POST
            again.headers.add(name: "Authorization", value: "Bearer \(edgeToken)")
            again.headers.add(name: "Content-Type", value: SealedFrame.mediaType)
            again.body = .bytes(ByteBuffer(bytes: frame.sealed))
            let conflict = try await HTTPClient.shared.execute(again, timeout: .seconds(10))
            #expect(conflict.status.code == 409 && conflict.headers.first(name: "msai-used-up") == "tau \(frame.manifest.tauID)")
            let client = HTTPDataCenterClient(url: d.dataCenter.url, token: edgeToken, retry: NetworkTests.quick)
            let someoneElses = FrameReceipt(frameID: "0123456789abcdef0123456789abcdef", width: 512, height: 512, areaCount: 1)
            await #expect(throws: MSAIError.alreadyUsed(.tau(frame.manifest.tauID))) {
                try await client.submit(maskedFrame: frame.sealed, expected: someoneElses)
            }

            // A membrane id used by an accepted frame, named again by a new frame under a fresh tau.
            final class ReplayingCloud: MembraneService, @unchecked Sendable {
                let real: HTTPCloudClient
                var first: MembraneGrant?
                init(_ real: HTTPCloudClient) { self.real = real }
                func requestMembrane(_ request: MembraneRequest) async throws -> MembraneGrant {
                    if let first { return first }
                    first = try await real.requestMembrane(request)
                    return first!
                }
            }
            let replaying = ReplayingCloud(HTTPCloudClient(url: d.cloud.url, edgeToken: edgeToken))
            let sink = HTTPDataCenterClient(url: d.dataCenter.url, token: edgeToken)
            let edge = EdgeCamera(membranes: replaying, scrambling: sink, egress: sink)
            let area = [Rect(x: 5, y: 5, width: 20, height: 20)]
            _ = try await edge.send(try await edge.prepare(image, areas: area))
            let second = try await edge.prepare(image, areas: area)
            #expect(second.manifest.tauID != frame.manifest.tauID)
            let reused = try await raw(d.dataCenter.url + "/v1/frames", token: edgeToken, body: second.sealed, contentType: SealedFrame.mediaType)
            #expect(reused.status == 409 && reused.body.contains("membrane") && reused.body.contains("already used"), "\(reused)")
            #expect(try await d.reader.frameIDs().count == 2)
        }
    }

    /// What an enrolled edge could do to exhaust a role: a huge membrane, or a small PNG claiming a
    /// huge image, sealed under its own τ (refused from its header, before any pixel is decoded).
    @Test func hugeMembranesAndDecompressionBombsAreRefusedCheaply() async throws {
        let d = try await Deployment.start()
        try await stopping({ await d.stop() }) {
            let edgeToken = NetworkTests.config.edgeTokens[0]
            let huge = try await raw(d.cloud.url + "/v1/membranes", token: edgeToken,
                                     body: Array(#"{"rows":5000,"cols":5000,"channels":3,"mode":"gf251"}"#.utf8))
            #expect(huge.status == 400 && huge.body.contains("larger than 64 MiB"), "\(huge)")
            let frame = try await d.edge().prepare(try ImageFile.read(dataset("lena.png")), areas: [Rect(x: 0, y: 0, width: 30, height: 30)])
            var bomb = frame.encoded
            bomb[16...23] = [0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10]  // IHDR: 10000 x 10000
            let crc = crc32PNG(Array(bomb[12..<29]))
            bomb[29...32] = [UInt8(crc >> 24), UInt8((crc >> 16) & 255), UInt8((crc >> 8) & 255), UInt8(crc & 255)]
            // Refused by the header check, which names the claimed size before a pixel is decoded
            // (no wall-time bound: that would flake on a loaded machine).
            let reply = try await raw(d.dataCenter.url + "/v1/frames", token: edgeToken, body: try d.reseal(bomb, like: frame),
                                      contentType: SealedFrame.mediaType)
            #expect(reply.status == 400 && reply.body.contains("10000x10000"), "\(reply)")
            // The genuine frame is still accepted, and the audit log names who did what by token fingerprint.
            _ = try await d.edge().send(frame)
            _ = try await d.reader.recovered(frameID: frame.manifest.tauID, reason: "incident 42")
            _ = try await d.reader.recovered(frameID: frame.manifest.tauID, reason: "Fall 42 — Prüfung, 50% sicher")
            _ = try await d.viewer.masked(frameID: frame.manifest.tauID)
            let recovererToken = NetworkTests.config.recovererTokens[0]
            let audit = try await raw(d.dataCenter.url + "/v1/audit", method: .GET, token: recovererToken)
            #expect(audit.body.contains("\"actor\":\"edge:") && audit.body.contains("\"actor\":\"recoverer:")
                    && audit.body.contains("\"actor\":\"viewer:"), "\(audit.body)")
            #expect(audit.body.contains("\"reason\":\"incident 42\"") && audit.body.contains("\"reason\":\"Fall 42 — Prüfung, 50% sicher\""),
                    "\(audit.body)")
            #expect(!audit.body.contains(edgeToken) && !audit.body.contains(recovererToken))
        }
    }

    @Test func malformedTruncatedAndOversizedBodiesAreRefusedAndTheServerLives() async throws {
        let d = try await Deployment.start()
        try await stopping({ await d.stop() }) {
            let edgeToken = NetworkTests.config.edgeTokens[0]
            let cases: [(url: String, body: [UInt8], message: String)] = [
                (d.cloud.url + "/v1/membranes", Array("{".utf8), "not valid JSON"),
                (d.cloud.url + "/v1/membranes", Array(#"{"rows":0,"cols":2,"channels":1,"mode":"gf251"}"#.utf8), "zero or negative side"),
                (d.cloud.url + "/v1/membranes", Array(#"{"rows":2,"cols":2,"channels":4,"mode":"gf251"}"#.utf8), "channels"),
                (d.cloud.url + "/v1/membranes", [UInt8](repeating: 32, count: 200_000), "larger than"),
                (d.dataCenter.url + "/v1/taus", Array(#"{"width":-1,"height":5,"block_size":8}"#.utf8), "zero size"),
                (d.dataCenter.url + "/v1/taus", Array(#"{"width":64,"height":64,"block_size":99999}"#.utf8), "block size"),
            ]
            for (url, body, message) in cases {
                let reply = try await raw(url, token: edgeToken, body: body)
                #expect(reply.status == (message == "larger than" ? 413 : 400), "\(url) \(message): \(reply)")
                #expect(reply.body.contains(message), "\(reply.body)")
            }
            let frame = try await d.edge().prepare(try ImageFile.read(dataset("lena.png")), areas: [Rect(x: 0, y: 0, width: 30, height: 30)])
            for bad in [Array(frame.sealed.prefix(frame.sealed.count / 2)), [UInt8](repeating: 7, count: 1000), [], frame.encoded] {
                let reply = try await raw(d.dataCenter.url + "/v1/frames", token: edgeToken, body: bad, contentType: SealedFrame.mediaType)
                #expect(reply.status == 400, "\(reply)")
            }
            // A frame whose seal fails is a 400 that names the seal, and uses up nothing: its τ still takes the genuine frame.
            var altered = frame.sealed
            altered[altered.count - 40] ^= 0x20
            let refused = try await raw(d.dataCenter.url + "/v1/frames", token: edgeToken, body: altered, contentType: SealedFrame.mediaType)
            #expect(refused.status == 400 && refused.body.contains("its seal does not open"), "\(refused)")
            // Still serving, and the good frame still goes through.
            #expect(try await raw(d.dataCenter.url + "/v1/health", method: .GET, token: nil).body == "ok")
            #expect(try await d.edge().send(frame).areaCount == 1)
        }
    }

    /// `msai datacenter serve` as its own process, killed with SIGKILL in the middle of a batch and
    /// started again on the same port and database: every frame it acknowledged is still there and
    /// recovers bit-exactly; frames in flight at the kill are reported as failed, never half-stored.
    @Test func killingTheDataCenterMidBatchLosesNoAcknowledgedFrame() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let configPath = folder.appendingPathComponent("msai.json").path
        var config = NetworkTests.config
        config.database = folder.appendingPathComponent("dc.sqlite").path
        config.dataCenterListen = "127.0.0.1:0"
        try config.write(to: configPath)

        /// Starts the data center process and returns it with the URL it printed.
        func launch(listen: String) throws -> (Process, String) {
            let announced = Flag()
            let process = Process()
            process.executableURL = CommandLineTests.executable
            process.arguments = ["datacenter", "serve", "--config", configPath]
            process.environment = ProcessInfo.processInfo.environment.merging(["MSAI_DATACENTER_LISTEN": listen]) { $1 }
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            // A watchdog: a process that never says it listens is stopped, which ends the read below.
            let pid = process.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + 30) { if process.isRunning && !announced.isSet { kill(pid, SIGKILL) } }
            var text = ""
            let deadline = Date().addingTimeInterval(20)
            while !text.contains("listening on"), Date() < deadline {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            announced.set()
            guard let range = text.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) else {
                process.terminate()
                throw MSAIError.io("the data center did not start: \(text)")
            }
            return (process, String(text[range]))
        }

        var (process, url) = try launch(listen: "127.0.0.1:0")
        let cloud = try await CloudServer.start(config, dataCenterURL: url, listen: "127.0.0.1:0", name: "test-cloud", retry: NetworkTests.quick)
        let once = RetryPolicy(deadline: .seconds(2), attempts: 1)
        let edge = EdgeCamera(membranes: HTTPCloudClient(url: cloud.url, edgeToken: config.edgeTokens[0], retry: once),
                              scrambling: HTTPDataCenterClient(url: url, token: config.edgeTokens[0], retry: once),
                              egress: HTTPDataCenterClient(url: url, token: config.edgeTokens[0], retry: once))
        var random = SplitMix64(seed: 99)
        var acknowledged: [(String, PixelBuffer)] = []
        var failed = 0
        for i in 0..<12 {
            let image = randomImage(width: 320, height: 240, channels: 3, using: &random)
            if i == 6 {
                // Kill -9 while this frame is on its way.
                let frame = try await edge.prepare(image, areas: [Rect(x: 10, y: 10, width: 100, height: 80)])
                let sink = HTTPDataCenterClient(url: url, token: config.edgeTokens[0], retry: once)
                let bytes = frame.sealed
                let expected = FrameReceipt(frameID: frame.manifest.tauID, width: 320, height: 240, areaCount: 1)
                let send = Task { try await sink.submit(maskedFrame: bytes, expected: expected) }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                if let receipt = try? await send.value { acknowledged.append((receipt.frameID, image)) } else { failed += 1 }
                continue
            }
            do {
                let frame = try await edge.prepare(image, areas: [Rect(x: 10, y: 10, width: 100, height: 80)])
                acknowledged.append((try await edge.send(frame).frameID, image))
            } catch {
                failed += 1
            }
        }
        #expect(acknowledged.count >= 6)
        #expect(failed >= 1)
        // Restart on the same port and database.
        let port = URL(string: url)!.port!
        (process, url) = try launch(listen: "127.0.0.1:\(port)")
        defer { process.terminate(); process.waitUntilExit() }
        await cloud.stop()
        let reader = HTTPReaderClient(url: url, token: config.recovererTokens[0], retry: NetworkTests.quick)
        let stored = Set(try await reader.frameIDs())
        for (id, image) in acknowledged {
            #expect(stored.contains(id), "acknowledged frame \(id) was lost")
            #expect(try PNGCodec.decode(try await reader.recovered(frameID: id, reason: "test")).pixels == image)
        }
    }
}

/// The OpenAPI documents in docs/openapi/ describe what the servers do: every documented
/// operation exists; those marked secured answer 401 without a token and the others 200; a
/// path the documents do not name answers 404.
@Suite(.serialized) struct OpenAPIConformanceTests {
    @Test(arguments: ["cloud", "datacenter"])
    func documentedOperationsExistAndAreSecuredAsDocumented(role: String) async throws {
        let url = repositoryRoot.appendingPathComponent("docs/openapi/\(role).json")
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let paths = document["paths"] as! [String: [String: Any]]
        let d = try await NetworkTests.Deployment.start()
        try await stopping({ await d.stop() }) {
            let base = role == "cloud" ? d.cloud.url : d.dataCenter.url
            var checked = 0
            for (path, operations) in paths {
                for (method, value) in operations {
                    let operation = value as! [String: Any]
                    let concrete = path.replacingOccurrences(of: "{id}", with: "x")
                    var request = HTTPClientRequest(url: base + concrete)
                    request.method = ["post": .POST, "delete": .DELETE][method] ?? .GET
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
                    let secured = operation["security"] != nil
                    #expect(Int(response.status.code) == (secured ? 401 : 200), "\(role) \(method.uppercased()) \(path)")
                    if !secured {
                        #expect(response.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true, "\(role) \(path) names its type")
                    }
                    let documented = (operation["responses"] as! [String: Any]).keys
                    #expect(documented.contains(String(response.status.code)), "\(role) \(method) \(path) answers an undocumented \(response.status.code)")
                    checked += 1
                }
            }
            #expect(checked >= (role == "cloud" ? 2 : 10))
            // A method a path does not declare: 405, naming the ones it does, before any token is asked for.
            for (path, operations) in paths {
                for method in [HTTPMethod.GET, .POST, .PUT, .DELETE, .PATCH, .OPTIONS, .TRACE] where operations[method.rawValue.lowercased()] == nil {
                    var request = HTTPClientRequest(url: base + path.replacingOccurrences(of: "{id}", with: "x"))
                    request.method = method
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
                    #expect(response.status.code == 405, "\(role) \(method) \(path)")
                    let allow = Set((response.headers.first(name: "Allow") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
                    #expect(allow == Set(operations.keys), "\(role) \(method) \(path): Allow \(allow)")
                }
            }
            var unknown = HTTPClientRequest(url: base + "/v1/nothing-here")
            unknown.method = .GET
            #expect(try await HTTPClient.shared.execute(unknown, timeout: .seconds(10)).status.code == 404)
        }
    }
}

/// A thread-safe one-way flag.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// CRC-32 as PNG uses it, for crafting test files.
func crc32PNG(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
    }
    return crc ^ 0xFFFF_FFFF
}
