import AsyncHTTPClient
import Foundation
import GRDB
import MSAICore
import MSAICoreTesting
import MSAICrypto
import MSAIImageIO
import MSAIRoles
import MSAIStorage
import Testing

@testable import MSAINetwork

extension EdgeCamera.MaskedFrame {
    /// The receipt a frame's data center gives when it stores it.
    var expectedReceipt: FrameReceipt {
        FrameReceipt(frameID: manifest.tauID, width: manifest.recoveredWidth, height: manifest.recoveredHeight, areaCount: manifest.areas.count)
    }
}

/// One identity per camera, an audit log that holds up, and listing by pages (issue 12).
@Suite struct DeviceIdentityTests {
    /// Roles with a device registry of two cameras, on loopback.
    struct Enrolled {
        let folder: URL
        let config: RoleConfiguration
        let dataCenter: DataCenterServer
        let cloud: CloudServer
        let tokens: [String: String]

        static func start() async throws -> Enrolled {
            let folder = try CommandLineTests().temporaryFolder()
            var config = NetworkTests.config
            config.devicesFile = folder.appendingPathComponent("devices.json").path
            var tokens: [String: String] = [:]
            for name in ["lobby", "gate"] { tokens[name] = try DeviceRegistry.add(name, to: config.devicesFile!) }
            let dc = try await DataCenterServer.start(
                config, store: try SQLiteDataCenterStore(path: folder.appendingPathComponent("dc.sqlite").path, masterKey: NetworkTests.masterKey),
                listen: "127.0.0.1:0", name: "test-dc")
            let cloud = try await CloudServer.start(config, dataCenterURL: dc.url, listen: "127.0.0.1:0", name: "test-cloud", retry: NetworkTests.quick)
            return Enrolled(folder: folder, config: config, dataCenter: dc, cloud: cloud, tokens: tokens)
        }

        /// An edge holding `membranes`' token for the cloud and `frames`' for the data center.
        func edge(membranes: String, frames: String, format: MaskedFrameCodec.Format = .png) -> EdgeCamera {
            EdgeCamera(membranes: HTTPCloudClient(url: cloud.url, edgeToken: tokens[membranes]!, retry: NetworkTests.quick),
                       scrambling: HTTPDataCenterClient(url: dataCenter.url, token: tokens[frames]!, retry: NetworkTests.quick),
                       egress: HTTPDataCenterClient(url: dataCenter.url, token: tokens[frames]!, retry: NetworkTests.quick), frameFormat: format)
        }

        func stop() async {
            await cloud.stop()
            await dataCenter.stop()
            try? FileManager.default.removeItem(at: folder)
        }
    }

    /// The registry keeps hashes, never tokens; names are checked; a revoked token is refused.
    @Test func theRegistryKeepsHashesAndRevocationTakesEffect() throws {
        let folder = try CommandLineTests().temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("devices.json").path
        let token = try DeviceRegistry.add("lobby", to: path)
        let other = try DeviceRegistry.add("gate-2", to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains(token) && !text.contains(other), "a token is stored in the clear")
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o600)
        #expect(throws: MSAIError.self) { try DeviceRegistry.add("lobby", to: path) }
        for bad in ["", "a b", "x/y", String(repeating: "a", count: 65)] {
            #expect(throws: MSAIError.self, "\(bad)") { try DeviceRegistry.add(bad, to: path) }
        }
        let registry = try DeviceRegistry(path: path, recheck: .zero)
        #expect(registry.device(presenting: Array(token.utf8))?.name == "lobby")
        #expect(registry.device(presenting: Array("not a token".utf8)) == nil)
        try DeviceRegistry.revoke("lobby", in: path)
        #expect(registry.device(presenting: Array(token.utf8)) == nil)
        #expect(registry.device(presenting: Array(other.utf8))?.name == "gate-2")
        #expect(try DeviceRegistry.read(path).first { $0.name == "lobby" }?.revoked != nil)
        // A registry spoilt by a hand edit admits nobody (a revocation must not fail open); fixed, it admits again.
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        try Data("{\"devices\": [".utf8).write(to: URL(fileURLWithPath: path))
        #expect(registry.device(presenting: Array(other.utf8)) == nil)
        try good.write(to: URL(fileURLWithPath: path))
        #expect(registry.device(presenting: Array(other.utf8))?.name == "gate-2")
        try FileManager.default.removeItem(atPath: path)
        #expect(registry.device(presenting: Array(other.utf8)) == nil)
    }

    /// A τ, a membrane and a background frame serve only the device that asked for them; the
    /// data center says so (403), and nothing of the other device's is stored or used up.
    @Test func tausMembranesAndBackgroundsAreBoundToTheirDevice() async throws {
        let d = try await Enrolled.start()
        try await stopping({ await d.stop() }) {
            var random = SplitMix64(seed: 60)
            let image = randomImage(width: 64, height: 48, channels: 3, using: &random)
            let areas = [Rect(x: 8, y: 8, width: 16, height: 16)]
            // Lobby's frame (its τ, its membrane) sent with gate's token.
            let lobbys = try await d.edge(membranes: "lobby", frames: "lobby").prepare(image, areas: areas)
            let gate = HTTPDataCenterClient(url: d.dataCenter.url, token: d.tokens["gate"]!, retry: NetworkTests.quick)
            await #expect(throws: MSAIError.refused(status: 403, message: "the data center at \(d.dataCenter.url) refused the request (403): tau \(lobbys.manifest.tauID) was issued to another device")) {
                try await gate.submit(maskedFrame: lobbys.sealed, expected: lobbys.expectedReceipt)
            }
            // Gate's τ with lobby's membrane.
            let mixed = try await d.edge(membranes: "lobby", frames: "gate").prepare(image, areas: areas)
            await #expect(throws: MSAIError.self) { try await gate.submit(maskedFrame: mixed.sealed, expected: mixed.expectedReceipt) }
            #expect(try d.dataCenter.dataCenter.store.frameIDs().isEmpty)
            // Lobby's own frame goes through, and is listed as lobby's.
            let lobby = d.edge(membranes: "lobby", frames: "lobby", format: .qoi)
            let background = try await lobby.send(lobbys).frameID
            #expect(try d.dataCenter.dataCenter.store.summary(background)?.device == "lobby")
            // A patch onto lobby's background from gate: refused.
            let patch = try await d.edge(membranes: "gate", frames: "gate", format: .qoi).preparePatches(image, areas: areas, background: background)
            await #expect(throws: MSAIError.self) { try await gate.submit(maskedFrame: patch.sealed, expected: patch.expectedReceipt) }
            let ownPatch = try await lobby.preparePatches(image, areas: areas, background: background)
            #expect(try await lobby.send(ownPatch).frameID.count == 32)
            // The audit log names the device, not a shared token.
            let audit = try d.dataCenter.dataCenter.store.auditLog()
            #expect(audit.contains { $0.actor == "edge:lobby" && $0.action == "accepted" && $0.frameID == background })
            #expect(audit.contains { $0.actor == "edge:gate" && $0.action.hasPrefix("refused 403 POST /v1/frames") })
        }
    }

    /// What the log records: a failed authentication, a refusal, τs, keys, listings, audit reads,
    /// a recovery and a deletion, each with who; and the whole of it is one intact chain.
    @Test func everyEventIsAuditedAndTheChainHolds() async throws {
        let d = try await Enrolled.start()
        try await stopping({ await d.stop() }) {
            var random = SplitMix64(seed: 61)
            let lobby = d.edge(membranes: "lobby", frames: "lobby")
            let id = try await lobby.send(try await lobby.prepare(randomImage(width: 40, height: 32, channels: 3, using: &random),
                                                                   areas: [Rect(x: 0, y: 0, width: 8, height: 8)])).frameID
            let reader = HTTPReaderClient(url: d.dataCenter.url, token: d.config.recovererTokens[0], retry: NetworkTests.quick)
            let wrong = HTTPReaderClient(url: d.dataCenter.url, token: String(repeating: "w", count: 64), retry: NetworkTests.quick)
            await #expect(throws: MSAIError.self) { try await wrong.frames() }
            _ = try await reader.frames()
            _ = try await reader.recovered(frameID: id, reason: "case 12")
            await #expect(throws: MSAIError.self) { try await reader.recovered(frameID: id, reason: " ") }
            _ = try await reader.audit()
            try await reader.delete(frameID: id, reason: "request 3")
            let actions = try d.dataCenter.dataCenter.store.auditLog().map { "\($0.actor) \($0.action)" }
            for expected in ["edge:lobby issued tau", "deposited membrane key", "for device lobby", "edge:lobby accepted",
                             "unauthenticated:127.0.0.1 refused 401 GET /v1/frames", "listed 1 frame(s)", "recovered",
                             "refused 400 GET /v1/frames/\(id)/recovered", "read ", "deleted"] {
                #expect(actions.contains { $0.contains(expected) }, "no '\(expected)' in \(actions)")
            }
            #expect(try d.dataCenter.dataCenter.store.verifyAudit().firstBroken == nil)
        }
    }

    /// Whoever edits, drops or forges an entry without the master key breaks the chain there,
    /// and `msai audit verify` says where (exit 65); `msai audit export` writes every entry.
    @Test func tamperingWithTheAuditLogIsFound() async throws {
        let folder = try CommandLineTests().temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("dc.sqlite").path
        do {
            let store = try SQLiteDataCenterStore(path: path, masterKey: NetworkTests.masterKey)
            for i in 1...6 { try store.appendAudit(AuditEntry(actor: "recoverer:x", action: "recovered", frameID: "f\(i)", reason: "r\(i)")) }
            #expect(try store.verifyAudit() == AuditVerification(entries: 6, firstBroken: nil))
        }
        let config = RoleConfiguration.fresh(database: path, masterKeyFile: NetworkTests.masterKeyFile)
        let configPath = folder.appendingPathComponent("msai.json").path
        try config.write(to: configPath)
        let cli = CommandLineTests()
        let exported = try cli.msai(["audit", "export", "--config", configPath])
        #expect(exported.status == 0 && exported.stdout.split(separator: "\n").count == 6 && exported.stdout.contains("\"mac\""))
        #expect(try cli.msai(["audit", "verify", "--config", configPath]).stdout.contains("6 audit entries, chain intact"))
        let exportPath = folder.appendingPathComponent("audit.jsonl").path
        try exported.stdout.write(toFile: exportPath, atomically: true, encoding: .utf8)
        #expect(try cli.msai(["audit", "verify", "--against", exportPath, "--config", configPath]).stdout
            .contains("6 audit entries, chain intact, holding the 6 entries of"))
        // An export is checked by the exact instant the MAC covers, not the date to the second.
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let first = try decoder.decode(AuditEntry.self, from: Data(exported.stdout.split(separator: "\n")[0].utf8))
        let link = try SQLiteDataCenterStore(path: path, masterKey: NetworkTests.masterKey).auditLog(after: 0, limit: 1)[0]
        #expect(first.at == link.at && first.mac == link.mac)

        // Cutting the log's tail keeps the chain whole, but not what was exported.
        let tail = try DatabaseQueue(path: path)
        try await tail.write { try $0.execute(sql: "DELETE FROM audit WHERE seq = 6") }
        #expect(try cli.msai(["audit", "verify", "--config", configPath]).status == 0, "the chain alone cannot see a cut tail")
        let cut = try cli.msai(["audit", "verify", "--against", exportPath, "--config", configPath])
        #expect(cut.status == 65 && cut.stderr.contains("the log ends at entry 5, and the export holds entry 6: the log was cut short"), "\(cut.stderr)")
        try tail.close()
        do {
            let store = try SQLiteDataCenterStore(path: path, masterKey: NetworkTests.masterKey)
            try store.appendAudit(AuditEntry(actor: "recoverer:x", action: "recovered", frameID: "f6", reason: "r6"))
        }

        // Without the master key: a reason changed, then an entry dropped, then a forged MAC.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { try $0.execute(sql: "UPDATE audit SET reason = 'nothing to see' WHERE seq = 3") }
        let edited = try cli.msai(["audit", "verify", "--config", configPath])
        #expect(edited.status == 65 && edited.stderr.contains("breaks at entry 3 (2 entries before it hold)"), "\(edited.stderr)")
        try await queue.write { try $0.execute(sql: "UPDATE audit SET reason = 'r3' WHERE seq = 3; DELETE FROM audit WHERE seq = 5") }
        #expect(try cli.msai(["audit", "verify", "--config", configPath]).stderr.contains("breaks at entry 6"))
        let forger = AuditChain.random()
        try await queue.write { db in
            try db.execute(sql: "DELETE FROM audit WHERE seq = 6")
            let previous = [UInt8](try Data.fetchOne(db, sql: "SELECT mac FROM audit WHERE seq = 4")!)
            let mac = forger.link(seq: 5, at: 0, actor: "recoverer:x", action: "nothing", frameID: nil, reason: nil, previous: previous)
            try db.execute(sql: "INSERT INTO audit (seq, at, actor, action, mac) VALUES (5, 0, 'recoverer:x', 'nothing', ?)", arguments: [Data(mac)])
        }
        #expect(try cli.msai(["audit", "verify", "--config", configPath]).stderr.contains("breaks at entry 5"))
    }

    /// The list comes in pages read from summary columns, with the next page's cursor in a
    /// header; the client reads them all.
    @Test func framesAreListedInPages() async throws {
        let d = try await Enrolled.start()
        try await stopping({ await d.stop() }) {
            var random = SplitMix64(seed: 62)
            let lobby = d.edge(membranes: "lobby", frames: "lobby")
            var sent: [String] = []
            for _ in 0..<5 {
                sent.append(try await lobby.send(try await lobby.prepare(randomImage(width: 24, height: 16, channels: 3, using: &random),
                                                                         areas: [Rect(x: 0, y: 0, width: 4, height: 4)])).frameID)
            }
            let reader = HTTPReaderClient(url: d.dataCenter.url, token: d.config.viewerTokens[0], retry: NetworkTests.quick)
            var pages: [[String]] = [], cursor: String?
            repeat {
                let page = try await reader.frames(after: cursor, limit: 2)
                pages.append(page.frames.map(\.frameID))
                cursor = page.next
            } while cursor != nil
            #expect(pages.map(\.count) == [2, 2, 1])
            #expect(pages.flatMap { $0 } == sent)
            #expect(try await reader.frames().map(\.frameID) == sent)
            let bad = try await NetworkTests().raw(d.dataCenter.url + "/v1/frames?limit=100000", method: .GET, token: d.config.viewerTokens[0])
            #expect(bad.status == 400 && bad.body.contains("limit must be"))
        }
    }
}
