import Foundation
import GRDB
import MSAICore
import MSAIRoles
import MSAIStorage
import Testing

/// The data center's SQLite store: what it acknowledged survives a restart, and nothing can be
/// used twice across restarts.
@Suite struct StorageTests {
    func databasePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("msai-db-\(UUID().uuidString)/datacenter.sqlite").path
    }

    /// Retention: frames older than the configured age are deleted from the database, newer
    /// ones stay, and the audit log says what was deleted.
    @Test func retentionDeletesOnlyFramesOlderThanTheAge() async throws {
        let path = databasePath()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        var random = SplitMix64(seed: 22)
        let dataCenter = DataCenter(store: try SQLiteDataCenterStore(path: path), random: SplitMix64(seed: 1))
        let edge = EdgeCamera(membranes: CloudPlatform(escrow: dataCenter, random: SplitMix64(seed: 2)), scrambling: dataCenter, egress: dataCenter)
        let image = randomImage(width: 32, height: 32, channels: 3, using: &random)
        let old = try await edge.send(try await edge.prepare(image, areas: [Rect(x: 0, y: 0, width: 8, height: 8)]))
        try await Task.sleep(for: .milliseconds(1200))
        let recent = try await edge.send(try await edge.prepare(image, areas: [Rect(x: 0, y: 0, width: 8, height: 8)]))
        #expect(try dataCenter.applyRetention(keeping: .seconds(3600)) == 0)
        #expect(try dataCenter.applyRetention(keeping: .seconds(1)) == 1)
        #expect(try DataCenter(store: try SQLiteDataCenterStore(path: path)).store.frameIDs() == [recent.frameID])
        #expect(try dataCenter.storedFrame(old.frameID) == nil)
        #expect(try dataCenter.store.auditLog(limit: 10).map(\.action).last == "deleted 1 frame(s)")
    }

    /// A database written before stream frames existed (recovered images in `recovered_png`)
    /// opens, and its frames read back; stream frames are stored with a QOI recovered image.
    @Test func anOlderDatabaseIsMigratedAndBothImageFormatsReadBack() async throws {
        let path = databasePath()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        var random = SplitMix64(seed: 23)
        let image = randomImage(width: 40, height: 24, channels: 3, using: &random)
        let pngID: String
        do {
            let dataCenter = DataCenter(store: try SQLiteDataCenterStore(path: path), random: SplitMix64(seed: 3))
            let edge = EdgeCamera(membranes: CloudPlatform(escrow: dataCenter, random: SplitMix64(seed: 4)), scrambling: dataCenter, egress: dataCenter)
            pngID = try await edge.send(try await edge.prepare(image, areas: [Rect(x: 0, y: 0, width: 8, height: 8)])).frameID
        }
        // Put the database back to the first schema, as an older msai left it.
        try runSQLite(path, "ALTER TABLE frame RENAME COLUMN recovered_image TO recovered_png; DELETE FROM grdb_migrations WHERE identifier = 'v2';")
        let dataCenter = DataCenter(store: try SQLiteDataCenterStore(path: path), random: SplitMix64(seed: 5))
        #expect(try dataCenter.storedFrame(pngID)?.recovered == image)
        let edge = EdgeCamera(membranes: CloudPlatform(escrow: dataCenter, random: SplitMix64(seed: 6)), scrambling: dataCenter, egress: dataCenter,
                              frameFormat: .qoi)
        let qoiID = try await edge.send(try await edge.prepare(image, areas: [Rect(x: 0, y: 0, width: 8, height: 8)])).frameID
        #expect(try DataCenter(store: try SQLiteDataCenterStore(path: path)).storedFrame(qoiID)?.recovered == image)
        #expect(try runSQLite(path, "SELECT hex(substr(recovered_image, 1, 4)) FROM frame WHERE id = '\(qoiID)';") == "716F6966")  // "qoif"
    }

    @Test func acknowledgedFramesSurviveARestartAndCannotBeReplayed() async throws {
        let path = databasePath()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        var random = SplitMix64(seed: 21)
        let image = randomImage(width: 40, height: 24, channels: 3, using: &random)
        let frame: [UInt8]
        let receipt: FrameReceipt
        do {
            let dataCenter = DataCenter(store: try SQLiteDataCenterStore(path: path), random: SplitMix64(seed: 1))
            let cloud = CloudPlatform(escrow: dataCenter, random: SplitMix64(seed: 2))
            let edge = EdgeCamera(membranes: cloud, scrambling: dataCenter, egress: dataCenter, mode: .hardened)
            let prepared = try await edge.prepare(image, areas: [Rect(x: 0, y: 0, width: 10, height: 10), Rect(x: 5, y: 5, width: 30, height: 12)])
            frame = prepared.encoded
            receipt = try await edge.send(prepared)
        }
        // A new process, the same file.
        let reopened = DataCenter(store: try SQLiteDataCenterStore(path: path))
        let stored = try #require(try reopened.storedFrame(receipt.frameID))
        #expect(stored.recovered == image)
        #expect(stored.maskedFrame == frame)
        #expect(try reopened.store.frameIDs() == [receipt.frameID])
        #expect(throws: MSAIError.replay("tau \(receipt.frameID) was already used by another frame")) {
            try reopened.submit(maskedFrame: frame)
        }
        #expect(try reopened.store.auditLog(limit: 10).map(\.action) == ["accepted"])
    }

    @Test func keysAndTausPersistAndDuplicatesAreRefused() async throws {
        let path = databasePath()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        let store = try SQLiteDataCenterStore(path: path)
        let record = MembraneKeyRecord(id: MembraneID(rawValue: "k1"), shape: try MembraneShape(rows: 2, cols: 3, channels: 1),
                                       mode: .vhe, k: 7, w: [0x80, 1, 2, 3, 4, 5, 6, 7], seed: [UInt8](repeating: 9, count: 32))
        try store.insertKey(record)
        #expect(throws: MSAIError.self) { try store.insertKey(record) }
        let grant = try TauGrant(id: "t1", seed: [UInt8](repeating: 3, count: 32), layout: BlockLayout(width: 30, height: 20, blockSize: 8))
        try store.insertTau(grant)
        let again = try SQLiteDataCenterStore(path: path)
        #expect(try again.key(record.id)?.record == record)
        #expect(try again.tau("t1")?.grant == grant)
        #expect(try again.tau("t1")?.used == false)
        #expect(try again.key(MembraneID(rawValue: "nope")) == nil)
        try again.appendAudit(actor: "reader", action: "read recovered", frameID: "t1")
        #expect(try store.auditLog(limit: 5).first?.actor == "reader")
    }

    @Test func theDatabaseAndItsFolderArePrivate() async throws {
        let path = databasePath()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
        let store = try SQLiteDataCenterStore(path: path)
        try store.insertTau(try TauGrant(id: "p", seed: [UInt8](repeating: 1, count: 32), layout: BlockLayout(width: 8, height: 8, blockSize: 8)))
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        #expect((try FileManager.default.attributesOfItem(atPath: folder)[.posixPermissions] as? Int) == 0o700)
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o600)
    }

    /// A tau waits at most `tauLifetime` for its frame; unused old ones are purged when new ones are issued.
    @Test func unusedTausExpireAndArePurged() async throws {
        let roles = Roles(seed: 31)
        roles.dataCenter.tauLifetime = .milliseconds(50)
        let image = try PixelBuffer(width: 32, height: 32, channels: 1, filling: 5)
        let frame = try await roles.edge.prepare(image, areas: [Rect(x: 0, y: 0, width: 8, height: 8)])
        try await Task.sleep(for: .milliseconds(120))
        do {
            _ = try roles.dataCenter.submit(maskedFrame: frame.encoded)
            Issue.record("an expired tau was accepted")
        } catch {
            #expect("\(error)".contains("expired"))
        }
        _ = try roles.dataCenter.issueTau(TauRequest(width: 32, height: 32, blockSize: 8))
        #expect(try roles.dataCenter.store.tau(frame.manifest.tauID) == nil)
    }

    @Test func anUnwritableDatabaseIsAClearError() {
        #expect(throws: MSAIError.self) { try SQLiteDataCenterStore(path: "/proc/msai/datacenter.sqlite") }
    }
}

/// Runs SQL on a database directly (GRDB); returns the first column of the first row, if any.
@discardableResult
func runSQLite(_ path: String, _ sql: String) throws -> String {
    let queue = try DatabaseQueue(path: path)
    return try queue.write { db in
        if sql.hasPrefix("SELECT") { return try String.fetchOne(db, sql: sql) ?? "" }
        try db.execute(sql: sql)
        return ""
    }
}
