import Foundation
import Logging
import MSAICore
import MSAICoreTesting
import MSAINetwork
import MSAIRoles
import MSAIStorage
import Synchronization
import Testing

/// What the roles tell an operator: Prometheus counters behind a metrics token, and one
/// structured log line per request naming the device, τ and frame.
@Suite struct ObservabilityTests {
    /// Log lines written by the roles' handlers, parsed.
    final class CapturedLog: Sendable {
        private let lines = Mutex<[[String: String]]>([])
        func logger(_ label: String) -> Logger {
            Logger(label: label) { label in
                var handler = JSONLogHandler(label: label) { data in
                    if let object = try? JSONSerialization.jsonObject(with: data) as? [String: String] { self.lines.withLock { $0.append(object) } }
                }
                handler.logLevel = .info
                return handler
            }
        }
        var all: [[String: String]] { lines.withLock { $0 } }
    }

    /// GET on a role with a bearer token: the status and the body as text.
    func get(_ url: String, token: String?, ca: String) async throws -> (Int, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "--cacert", ca] + (token.map { ["-H", "Authorization: Bearer \($0)"] } ?? []) + [url]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let status = Int(text.split(separator: "\n").last ?? "") ?? 0
        return (status, String(text.dropLast(String(status).count)))
    }

    /// The value of the sample `name{…}` whose labels include every one of `labels`.
    func sample(_ exposition: String, _ name: String, _ labels: [String]) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(name + "{") {
            let text = String(line)
            guard labels.allSatisfy({ text.contains($0) }), let value = text.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            return value
        }
        return nil
    }

    @Test func metricsCountFramesRefusalsAndMembranesBehindTheMetricsToken() async throws {
        let folder = try CommandLineTests().temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var config = RoleConfiguration.fresh(cloudPort: 0, dataCenterPort: 0, database: folder.appendingPathComponent("dc.sqlite").path,
                                             masterKeyFile: "", tls: try PrivateCA.create(in: folder.appendingPathComponent("tls").path, hosts: []))
        #expect(config.metricsTokens.count == 1 && config.metricsTokens[0].count == 64)
        config.devicesFile = folder.appendingPathComponent("devices.json").path
        let token = try DeviceRegistry.add("camera-9", to: config.devicesFile!)
        let log = CapturedLog()
        let dc = try await DataCenterServer.start(config, store: try SQLiteDataCenterStore(path: config.database, masterKey: NetworkTests.masterKey),
                                                  name: "dc", observation: RoleObservation(role: "datacenter", logger: log.logger("msai.datacenter")))
        // One attempt each, with time to spare: a retry on a loaded machine would count twice.
        let once = RetryPolicy(deadline: .seconds(60), attempts: 1)
        let cloud = try await CloudServer.start(config, dataCenterURL: dc.url, name: "cloud", retry: once)
        config.dataCenterURL = dc.url
        let dcCA = config.tls!.trust(for: "data center")
        let dataCenter = HTTPDataCenterClient(url: dc.url, token: token, retry: once, caFile: dcCA)
        let edge = EdgeCamera(membranes: HTTPCloudClient(url: cloud.url, edgeToken: token, retry: once, caFile: config.tls!.trust(for: "cloud")),
                              scrambling: dataCenter, egress: dataCenter)
        var random = SplitMix64(seed: 41)
        var receipts: [FrameReceipt] = []
        var replay: [UInt8] = []
        for _ in 0..<2 {
            let prepared = try await edge.prepare(randomImage(width: 48, height: 32, channels: 3, using: &random),
                                                  areas: [Rect(x: 0, y: 0, width: 8, height: 8), Rect(x: 16, y: 8, width: 8, height: 8)])
            receipts.append(try await edge.send(prepared))
            replay = prepared.sealed
        }
        await #expect(throws: MSAIError.self) { try await dataCenter.submit(maskedFrame: replay, expected: receipts[1]) }

        #expect(try await get(dc.url + "/metrics", token: nil, ca: dcCA).0 == 401)
        #expect(try await get(dc.url + "/metrics", token: token, ca: dcCA).0 == 401, "an edge's token does not read metrics")
        let (status, text) = try await get(dc.url + "/metrics", token: config.metricsTokens[0], ca: dcCA)
        #expect(status == 200)
        #expect(sample(text, "msai_frames_accepted_total", [#"role="datacenter""#]) == 2)
        #expect(sample(text, "msai_frames_refused_total", [#"reason="replay""#]) == 1)
        #expect(sample(text, "msai_taus_issued_total", []) == 2)
        #expect(sample(text, "msai_membrane_keys_deposited_total", []) == 4)
        #expect(sample(text, "msai_http_requests_total", [#"route="/v1/frames""#, #"status="201""#]) == 2)
        #expect(sample(text, "msai_http_request_duration_seconds_count", [#"route="/v1/frames""#, #"method="POST""#]) == 3)
        let (cloudStatus, cloudText) = try await get(cloud.url + "/metrics", token: config.metricsTokens[0], ca: config.tls!.trust(for: "cloud"))
        #expect(cloudStatus == 200 && sample(cloudText, "msai_membranes_issued_total", [#"role="cloud""#]) == 4)

        // One line per request, with what it concerned; the replay's says why it was refused.
        let accepted = log.all.filter { $0["route"] == "/v1/frames" && $0["status"] == "201" }
        #expect(accepted.map { $0["frame_id"] } == receipts.map(\.frameID))
        #expect(accepted.allSatisfy { $0["tau_id"] == $0["frame_id"] && $0["caller"]?.hasPrefix("edge:") == true && $0["device"] == "camera-9" && $0["logger"] == "msai.datacenter" })
        let refused = log.all.first { $0["route"] == "/v1/frames" && $0["status"] == "409" }
        #expect(refused?["level"] == "notice" && refused?["error"]?.contains("already used") == true && refused?["tau_id"] == receipts.last?.frameID)
        #expect(log.all.contains { $0["route"] == "/v1/taus" && $0["tau_id"] != nil })
        #expect(!log.all.contains { $0.values.contains(token) || $0.values.contains(config.metricsTokens[0]) }, "no token is logged")
        await cloud.stop()
        await dc.stop()
    }

    /// The edge's endpoint: loopback only, behind a metrics token, each scrape showing the
    /// counters as they are then.
    @Test func theEdgesMetricsAreServedOnLoopbackBehindTheToken() async throws {
        await #expect(throws: MSAIError.self) {
            try await MetricsEndpoint.start(listen: "0.0.0.0:0", tokens: []) { [] }
        }
        let sent = Mutex<Double>(3)
        let endpoint = try await MetricsEndpoint.start(listen: "127.0.0.1:0", tokens: ["scraper-token"]) {
            [("msai_edge_frames_sent_total", sent.withLock { $0 }), ("msai_edge_detection_seconds_total", 1.5)]
        }
        func scrape(_ token: String?) throws -> (Int, String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            process.arguments = ["-s", "-w", "\n%{http_code}"] + (token.map { ["-H", "Authorization: Bearer \($0)"] } ?? []) + [endpoint.url + "/metrics"]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            let status = Int(text.split(separator: "\n").last ?? "") ?? 0
            return (status, text)
        }
        #expect(try scrape(nil).0 == 401 && scrape("wrong").0 == 401)
        #expect(try sample(scrape("scraper-token").1, "msai_edge_frames_sent_total", []) == nil, "a counter without labels has no braces")
        #expect(try scrape("scraper-token").1.contains("msai_edge_frames_sent_total 3"))
        sent.withLock { $0 = 5 }
        let (status, text) = try scrape("scraper-token")
        #expect(status == 200 && text.contains("msai_edge_frames_sent_total 5") && text.contains("msai_edge_detection_seconds_total 1.5"))
        await endpoint.stop()
    }

    @Test func jsonLogLinesAreOneObjectEachWithTheEventsFields() throws {
        let lines = Mutex<[Data]>([])
        var logger = Logger(label: "msai.test") { label in JSONLogHandler(label: label) { data in lines.withLock { $0.append(data) } } }
        logger[metadataKey: "device"] = "camera-3"
        logger.info("frame accepted", metadata: ["frame_id": "abc", "note": "a \"quoted\"\nline"])
        logger.debug("not at info")
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        #expect(written[0].last == 0x0A && written[0].dropLast().allSatisfy { $0 != 0x0A }, "one line, ending in a newline")
        let object = try #require(try JSONSerialization.jsonObject(with: written[0]) as? [String: String])
        #expect(object["message"] == "frame accepted" && object["level"] == "info" && object["logger"] == "msai.test")
        #expect(object["device"] == "camera-3" && object["frame_id"] == "abc" && object["note"] == "a \"quoted\"\nline")
        #expect(object["ts"].flatMap { try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse($0) } != nil)
    }
}
