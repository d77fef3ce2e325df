import Foundation
import MSAICore
import MSAICoreTesting
import MSAICrypto
import MSAIImageIO
import MSAINetwork
import MSAIRoles
@testable import MSAIPostgres
import PostgresNIO
import Testing

/// The test server `make test` starts (scripts/test-postgres.sh), and fresh databases on it.
enum TestPostgres {
    static let url = ProcessInfo.processInfo.environment["MSAI_TEST_POSTGRES"]

    /// A new, empty database on the test server: its URL.
    static func freshDatabase() throws -> String {
        try PostgresDataCenterStore.createDatabase(beside: url!, named: "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20))
    }

    /// Runs `text` on the database at `url` (as the test server's owner), as an operator would.
    @discardableResult
    static func sql(_ url: String, _ text: String) throws -> PostgresQueryResult {
        let connections = try PostgresConnections(try PostgresLocation(url: url), size: 1)
        defer { connections.close() }
        return try connections.with { try $0.execute(PostgresQuery(unsafeSQL: text)) }
    }
}

/// Where a PostgreSQL URL may point, and what a message shows of it. (No server needed.)
@Suite struct PostgresLocationTests {
    @Test func aDatabaseElsewhereNeedsTLSAndOnLoopbackMayGoWithout() throws {
        #expect(throws: MSAIError.invalidArgument(
            "postgres://msai:***@db.example.com/msai: a database on another machine needs sslmode=require: without TLS the data center's secrets would cross the network in the clear")) {
            try PostgresLocation(url: "postgres://msai:secret@db.example.com/msai")
        }
        let remote = try PostgresLocation(url: "postgresql://msai:secret@db.example.com:6432/msai?sslmode=require")
        #expect(remote.requiresTLS && remote.port == 6432 && remote.host == "db.example.com")
        #expect(try PostgresLocation(url: "postgres://msai@127.0.0.1/msai").requiresTLS == false)
        #expect(try PostgresLocation(url: "postgres://msai@/msai?host=/run/postgresql").unixSocket == "/run/postgresql")
    }

    @Test func badURLsSayWhatIsWrongWithoutThePassword() throws {
        #expect(throws: MSAIError.invalidArgument("postgres://msai:***@localhost/msai?sslmode=maybe: sslmode 'maybe' is not one of disable, require, verify-ca, verify-full (the last three check the server's certificate)")) {
            try PostgresLocation(url: "postgres://msai:hunter2@localhost/msai?sslmode=maybe")
        }
        #expect(throws: MSAIError.invalidArgument("postgres://msai@localhost: it names no database")) {
            try PostgresLocation(url: "postgres://msai@localhost")
        }
        #expect(throws: MSAIError.invalidArgument("postgres://localhost/msai: it names no user")) {
            try PostgresLocation(url: "postgres://localhost/msai")
        }
        #expect(throws: MSAIError.invalidArgument("postgres://msai@localhost/msai?application=x: unknown parameter 'application' (sslmode, sslrootcert and host are understood)")) {
            try PostgresLocation(url: "postgres://msai@localhost/msai?application=x")
        }
        #expect(PostgresLocation.redacted("postgres://msai:hunter2@localhost/msai") == "postgres://msai:***@localhost/msai")
        // A password with an unescaped / or # breaks the URL: it is still not shown.
        let broken = "postgres://msai:hun/ter#2@localhost/msai"
        #expect(throws: MSAIError.self) { try PostgresLocation(url: broken) }
        do { _ = try PostgresLocation(url: broken) } catch { #expect(!"\(error)".contains("ter#2"), "\(error)") }
        // An @ in the password is taken as the password's (the last @ ends it).
        #expect(try PostgresLocation(url: "postgres://msai:a@b@localhost/msai").password == "a@b")
        #expect(throws: MSAIError.self) { try PostgresLocation(url: "postgres://msai@/msai?host=db.internal") }
        #expect(throws: MSAIError.self) { try PostgresLocation(url: "postgres://msai@/msai?host=/run/postgresql&sslmode=require") }
        let location = try? PostgresLocation(url: "postgres://msai:hunter2@localhost/msai")
        var dumped = ""
        dump(location, to: &dumped)
        #expect(!dumped.contains("hunter2") && !"\(String(describing: location))".contains("hunter2"))
    }
}

/// The data center's store in PostgreSQL, on the private server `make test` starts: the same
/// promises as SQLite's, kept by the database when several data centers share it.
@Suite(.enabled(if: TestPostgres.url != nil, "MSAI_TEST_POSTGRES names no server: make test starts one (scripts/test-postgres.sh)"))
struct PostgresStoreTests {
    /// A data center on the database at `url` (a process of its own, in effect: its own
    /// connections) and an edge whose τs, membranes and egress go to `dataCenter`.
    func roles(_ url: String, seed: UInt64, format: MaskedFrameCodec.Format = .png) throws -> (DataCenter, EdgeCamera) {
        let dataCenter = DataCenter(store: try PostgresDataCenterStore(url: url, masterKey: testMasterKey), random: SplitMix64(seed: seed))
        return (dataCenter, edge(tausFrom: dataCenter, sendingTo: dataCenter, seed: seed + 1, format: format))
    }

    func edge(tausFrom scrambling: DataCenter, sendingTo egress: DataCenter, seed: UInt64, format: MaskedFrameCodec.Format = .png) -> EdgeCamera {
        EdgeCamera(membranes: CloudPlatform(escrow: scrambling, random: SplitMix64(seed: seed)), scrambling: scrambling, egress: egress,
                   mode: .standard, frameFormat: format)
    }

    @Test func acknowledgedFramesSurviveANewProcessAndCannotBeReplayed() async throws {
        let url = try TestPostgres.freshDatabase()
        var random = SplitMix64(seed: 31)
        let image = randomImage(width: 40, height: 24, channels: 3, using: &random)
        let (_, edge) = try roles(url, seed: 1)
        let prepared = try await edge.prepare(image, areas: [Rect(x: 0, y: 0, width: 10, height: 10), Rect(x: 5, y: 5, width: 30, height: 12)])
        let receipt = try await edge.send(prepared)

        let reopened = DataCenter(store: try PostgresDataCenterStore(url: url, masterKey: testMasterKey))
        #expect(try reopened.original(receipt.frameID) == image)
        #expect(try reopened.store.frame(receipt.frameID)?.sealed == prepared.sealed)
        #expect(try reopened.store.frameIDs() == [receipt.frameID])
        #expect(throws: MSAIError.alreadyUsed(.tau(receipt.frameID))) { try reopened.submit(maskedFrame: prepared.sealed) }
        #expect(try reopened.store.auditLog().filter { $0.frameID != nil }.map(\.action) == ["accepted", "recovered"])
        #expect(try reopened.store.verifyAudit() == AuditVerification(entries: 5, firstBroken: nil), "τ, two keys, accepted, recovered, chained")
        #expect(try reopened.store.summary(receipt.frameID) == reopened.store.summaries(after: nil, limit: 10).first)
    }

    @Test func duplicatesAreRefusedAndAWrappedSecretOpensOnlyInItsOwnRow() throws {
        let url = try TestPostgres.freshDatabase()
        let store = try PostgresDataCenterStore(url: url, masterKey: testMasterKey)
        let record = MembraneKeyRecord(id: MembraneID(rawValue: "k1"), shape: try MembraneShape(rows: 2, cols: 3, channels: 1),
                                       mode: .vhe, k: 7, w: [0x80, 1, 2, 3, 4, 5, 6, 7], seed: [UInt8](repeating: 9, count: 32))
        try store.insertKey(record)
        #expect(throws: MSAIError.alreadyUsed(.membraneKey("k1"))) { try store.insertKey(record) }
        let grant = try TauGrant(id: "t1", seed: [UInt8](repeating: 3, count: 32), layout: BlockLayout(width: 30, height: 20, blockSize: 8))
        try store.insertTau(grant, device: "camera-1", audit: nil)
        #expect(throws: MSAIError.alreadyUsed(.tau("t1"))) { try store.insertTau(grant) }
        let again = try PostgresDataCenterStore(url: url, masterKey: testMasterKey)
        #expect(try again.key(record.id)?.record == record)
        #expect(try again.tau("t1") == TauRecord(id: "t1", layout: grant.layout, seed: grant.seed, used: false,
                                                issuedAt: try again.tau("t1")!.issuedAt, device: "camera-1"))
        #expect(try again.key(MembraneID(rawValue: "nope")) == nil)
        // What is stored is wrapped: the seed's bytes are nowhere in the row.
        let raw = try TestPostgres.sql(url, "SELECT encode(wrapped_seed, 'hex') FROM tau").first!.decode(String.self)
        #expect(!raw.contains(Hex.encode(grant.seed)))
        try TestPostgres.sql(url, "UPDATE tau SET id = 't2' WHERE id = 't1'")
        #expect(throws: MSAIError.self) { try again.tau("t2") }
    }

    @Test func aWrongMasterKeyIsRefusedAndChangesNothing() throws {
        let url = try TestPostgres.freshDatabase()
        let store = try PostgresDataCenterStore(url: url, masterKey: testMasterKey)
        try store.appendAudit(AuditEntry(actor: "test", action: "made", frameID: nil))
        let other = try MasterKey(hex: MasterKey.generateHex(), source: "another")
        #expect(throws: MSAIError.self) { try PostgresDataCenterStore(url: url, masterKey: other) }
        #expect(try store.verifyAudit() == AuditVerification(entries: 1, firstBroken: nil))
    }

    /// Two data centers on one database: the same frame sent to both at once is stored once,
    /// and either recovers what the other accepted.
    @Test func twoDataCentersAcceptATauOnce() async throws {
        let url = try TestPostgres.freshDatabase()
        var random = SplitMix64(seed: 32)
        let (first, edge) = try roles(url, seed: 3)
        let second = DataCenter(store: try PostgresDataCenterStore(url: url, masterKey: testMasterKey))
        for round in 0..<6 {
            let image = randomImage(width: 48, height: 32, channels: 3, using: &random)
            let prepared = try await edge.prepare(image, areas: [Rect(x: 4, y: 4, width: 16, height: 12)])
            let outcomes = await withTaskGroup(of: Result<FrameReceipt, Error>.self) { group in
                for dataCenter in [first, second] {
                    group.addTask { Result { try dataCenter.submit(maskedFrame: prepared.sealed) } }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let accepted = outcomes.compactMap { try? $0.get() }
            #expect(accepted.count == 1, "round \(round): exactly one data center stores the frame")
            // The other is refused as a replay: at the τ, or, when it read the τ before the winner
            // committed, at one of the frame's membranes.
            for case .failure(let error) in outcomes {
                switch error as? MSAIError {
                case .alreadyUsed(.tau(let id)): #expect(id == accepted.first?.frameID)
                case .alreadyUsed(.membrane): break
                default: Issue.record("round \(round): \(error)")
                }
            }
            #expect(try second.original(prepared.manifest.tauID) == image)
            #expect(try first.original(prepared.manifest.tauID) == image)
        }
        #expect(try first.store.frameIDs().count == 6)
    }

    /// Frames flowing through two data centers at once keep one audit chain, numbered without gap
    /// or repeat, that either data center verifies.
    @Test func twoDataCentersUnderLoadKeepOneAuditChain() async throws {
        let url = try TestPostgres.freshDatabase()
        var random = SplitMix64(seed: 33)
        let a = DataCenter(store: try PostgresDataCenterStore(url: url, masterKey: testMasterKey), random: SplitMix64(seed: 5))
        let b = DataCenter(store: try PostgresDataCenterStore(url: url, masterKey: testMasterKey), random: SplitMix64(seed: 6))
        let edges = [edge(tausFrom: a, sendingTo: b, seed: 7), edge(tausFrom: b, sendingTo: a, seed: 8)]
        let images = (0..<8).map { _ in randomImage(width: 32, height: 32, channels: 3, using: &random) }
        let sent = try await withThrowingTaskGroup(of: Int.self) { group in
            for (index, edge) in edges.enumerated() {
                group.addTask {
                    for image in images { _ = try await edge.send(try await edge.prepare(image, areas: [Rect(x: 0, y: 0, width: 8 + index, height: 8)])) }
                    return images.count
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(sent == 16)
        #expect(try a.store.frameIDs().count == 16)
        let log = try b.store.auditLog()
        #expect(log.map(\.seq) == Array(1...log.count).map(Optional.some))
        #expect(log.filter { $0.action == "accepted" }.count == 16)
        #expect(try a.store.verifyAudit() == AuditVerification(entries: log.count, firstBroken: nil))
    }

    /// Two data-center services on one database behind one comma-separated URL: the edge goes on
    /// through the second when the first stops mid-stream, and every frame it was told was stored
    /// is there, recoverable through either.
    @Test func anEdgeCarriesOnWithTheOtherDataCenterWhenOneStops() async throws {
        let url = try TestPostgres.freshDatabase()
        let folder = try CommandLineTests().temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var config = RoleConfiguration.fresh(cloudPort: 0, dataCenterPort: 0, database: url, masterKeyFile: "",
                                             tls: try PrivateCA.create(in: folder.appendingPathComponent("tls").path, hosts: []))
        let first = try await DataCenterServer.start(config, store: try PostgresDataCenterStore(url: url, masterKey: testMasterKey), name: "dc-1")
        let second = try await DataCenterServer.start(config, store: try PostgresDataCenterStore(url: url, masterKey: testMasterKey), name: "dc-2")
        config.dataCenterURL = "\(first.url),\(second.url)"
        #expect(try config.transport(config.dataCenterURL, role: "data center") == config.tls!.trust(for: "data center"))
        let cloud = try await CloudServer.start(config, dataCenterURL: config.dataCenterURL, name: "cloud", retry: NetworkTests.quick)
        let token = config.edgeTokens[0], ca = config.tls!.trust(for: "data center")
        let dataCenters = HTTPDataCenterClient(url: config.dataCenterURL, token: token, retry: NetworkTests.quick, caFile: ca)
        let edge = EdgeCamera(membranes: HTTPCloudClient(url: cloud.url, edgeToken: token, retry: NetworkTests.quick, caFile: config.tls!.trust(for: "cloud")),
                              scrambling: dataCenters, egress: dataCenters)
        var random = SplitMix64(seed: 34)
        var sent: [(String, PixelBuffer)] = []
        for index in 0..<8 {
            if index == 4 { await first.stop() }
            let image = randomImage(width: 40, height: 32, channels: 3, using: &random)
            sent.append((try await edge.send(try await edge.prepare(image, areas: [Rect(x: 2, y: 2, width: 12, height: 10)])).frameID, image))
        }
        // The first is gone: the last four frames went through the second.
        await #expect(throws: MSAIError.self) {
            try await HTTPReaderClient(url: first.url, token: config.recovererTokens[0], retry: NetworkTests.quick, caFile: ca).frames()
        }
        let reader = HTTPReaderClient(url: config.dataCenterURL, token: config.recovererTokens[0], retry: NetworkTests.quick, caFile: ca)
        #expect(try await reader.frames().map(\.frameID).sorted() == sent.map(\.0).sorted())
        for (id, image) in sent { #expect(try PNGCodec.decode(try await reader.recovered(frameID: id, reason: "test")).pixels == image) }
        await cloud.stop()
        await second.stop()
    }

    /// The command line on a PostgreSQL database: `msai init --database postgres://…` writes it
    /// (its messages hide the password), `msai audit` reads that database, and a wrong password
    /// stops the data center with a message naming the database, not the password.
    @Test func theCommandLineRunsOnAPostgreSQLDatabase() throws {
        let url = try TestPostgres.freshDatabase()
        let folder = try CommandLineTests().temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let cli = CommandLineTests()
        let config = folder.appendingPathComponent("msai.json").path
        let made = try cli.msai(["init", "--config", config, "--database", url, "--cloud-port", "0", "--datacenter-port", "0"], in: folder)
        let password = try #require(URLComponents(string: url)?.password)
        #expect(made.status == 0 && made.stdout.contains("database postgres://msai:***@"), "\(made.stdout)\(made.stderr)")
        #expect(!made.stdout.contains(password) && !made.stderr.contains(password))
        #expect(try RoleConfiguration.load(config).database == url)
        let store = try PostgresDataCenterStore(url: url, masterKey: try RoleConfiguration.load(config).masterKey())
        try store.appendAudit(AuditEntry(actor: "recoverer:x", action: "recovered", frameID: "f1", reason: "case 1"))
        #expect(try cli.msai(["audit", "verify", "--config", config], in: folder).stdout.contains("1 audit entries, chain intact"))
        var wrong = URLComponents(string: url)!
        wrong.password = "not-the-password"
        let refused = try cli.msai(["datacenter", "serve", "--config", config, "--database", wrong.string!, "--listen", "127.0.0.1:0"], in: folder)
        #expect(refused.status != 0 && refused.stderr.contains("cannot connect to the database") && !refused.stderr.contains("not-the-password"),
                "\(refused.stderr)")
    }

    /// One data center's retention drops a day another still believes it made: the other's next
    /// frame for that day makes the day again rather than failing.
    @Test func aDayDroppedByAnotherDataCenterIsMadeAgain() throws {
        let url = try TestPostgres.freshDatabase()
        let first = try PostgresDataCenterStore(url: url, masterKey: testMasterKey)
        let second = try PostgresDataCenterStore(url: url, masterKey: testMasterKey)
        let old = Date().addingTimeInterval(-3 * 86_400)
        for id in ["a", "b"] {
            try first.insertTau(try TauGrant(id: id, seed: [UInt8](repeating: 1, count: 32), layout: BlockLayout(width: 16, height: 16, blockSize: 8)))
            if id == "b" { #expect(try second.deleteFrames(receivedBefore: Date()) == 1) }
            try first.commit(StoredFrame(id: id, sealed: [1, 2, 3], manifest: FrameManifest(width: 16, height: 16, channels: 3, blockSize: 8, tauID: id, areas: []),
                                         receivedAt: old), tau: id, membranes: [], actor: "test")
        }
        #expect(try second.frameIDs() == ["b"])
    }

    /// Retention drops a day whose frames are all due as a whole partition, deletes single
    /// frames of a day the cut-off splits, and destroys their τ seeds and membrane keys.
    @Test func retentionDropsWholeDaysWithTheirKeys() throws {
        let url = try TestPostgres.freshDatabase()
        let store = try PostgresDataCenterStore(url: url, masterKey: testMasterKey)
        let day = 86_400.0, now = Date().timeIntervalSince1970
        let today = (now / day).rounded(.down) * day
        // Three days ago (two frames), two days ago at 06:00 and 18:00, and now.
        let times = [today - 3 * day + 100, today - 3 * day + 200, today - 2 * day + 6 * 3600, today - 2 * day + 18 * 3600, now]
        for (index, time) in times.enumerated() {
            let id = "f\(index)"
            try store.insertTau(try TauGrant(id: id, seed: [UInt8](repeating: UInt8(index), count: 32), layout: BlockLayout(width: 16, height: 16, blockSize: 8)))
            let key = MembraneKeyRecord(id: MembraneID(rawValue: "k\(index)"), shape: try MembraneShape(rows: 2, cols: 2, channels: 3),
                                        mode: .standard, k: 0, w: [], seed: [UInt8](repeating: 1, count: 32))
            try store.insertKey(key)
            let manifest = FrameManifest(width: 16, height: 16, channels: 3, blockSize: 8, tauID: id, areas: [])
            try store.commit(StoredFrame(id: id, sealed: [UInt8](repeating: 7, count: 64), manifest: manifest, receivedAt: Date(timeIntervalSince1970: time)),
                             tau: id, membranes: [key.id], actor: "test")
        }
        func partitions() throws -> [String] {
            try TestPostgres.sql(url, "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'frame'::regclass ORDER BY 1").rows
                .map { try $0.decode(String.self) }
        }
        #expect(try partitions().count == 3)
        // The cut-off at noon two days ago: day -3 goes whole, day -2 loses its morning frame.
        #expect(try store.deleteFrames(receivedBefore: Date(timeIntervalSince1970: today - 2 * day + 12 * 3600)) == 3)
        #expect(try partitions() == [PostgresDataCenterStore.partitionName(day: Int(today / day) - 2), PostgresDataCenterStore.partitionName(day: Int(today / day))])
        #expect(try store.frameIDs() == ["f3", "f4"])
        for id in ["f0", "f1", "f2"] {
            #expect(try store.tau(id)?.seed == nil && store.tau(id)?.used == true, "\(id)'s τ stays, used, without its seed")
        }
        #expect(try store.key(MembraneID(rawValue: "k0")) == nil && store.key(MembraneID(rawValue: "k2")) == nil)
        #expect(try store.key(MembraneID(rawValue: "k3")) != nil)
        #expect(try store.auditLog().last?.action == "deleted 3 frame(s)")
        // A frame arriving for a dropped day again gets a new partition.
        try store.insertTau(try TauGrant(id: "late", seed: [UInt8](repeating: 9, count: 32), layout: BlockLayout(width: 16, height: 16, blockSize: 8)))
        try store.commit(StoredFrame(id: "late", sealed: [1], manifest: FrameManifest(width: 16, height: 16, channels: 3, blockSize: 8, tauID: "late", areas: []),
                                     receivedAt: Date(timeIntervalSince1970: today - 3 * day + 50)), tau: "late", membranes: [], actor: "test")
        #expect(try store.frameIDs().first == "late")
        // Paging reads the partitions in time order.
        let firstPage = try store.summaries(after: nil, limit: 2)
        #expect(firstPage.map(\.frameID) == ["late", "f3"])
        #expect(try store.summaries(after: firstPage.last!.cursor, limit: 2).map(\.frameID) == ["f4"])
        #expect(try store.verifyAudit().firstBroken == nil)
    }
}
