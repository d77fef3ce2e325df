import Foundation
import GRDB
import MSAICore
import MSAICrypto
import MSAIImageIO
import MSAIRoles

/// The data center's store in one SQLite file, through GRDB: WAL mode with synchronous = FULL,
/// so every frame the data center acknowledged survives a kill -9 (the acknowledgement is sent
/// only after the transaction commits). Created with its schema on first use.
///
/// At rest it holds nothing that recovers a frame without the master key: frames are kept sealed
/// as they arrived, and every secret (τ seeds, membrane keys, manifests) is wrapped under the
/// master key (`MasterKey`), which lives outside the database. No recovered image is stored.
/// Deleting a frame destroys its seed and keys in the same transaction, with `secure_delete` on
/// (freed space is zeroed), and then checkpoints and truncates the WAL, so no byte of them
/// remains in any of the database's files.
public final class SQLiteDataCenterStore: DataCenterStore, Sendable {
    public let path: String
    private let pool: DatabasePool
    private let masterKey: MasterKey
    private let auditChain: AuditChain
    /// Frames an msai 1 database held, sealed and wrapped when this store opened it (0 if none).
    public let migratedFrames: Int

    /// Opens (or creates) the database at `path`. A database another master key made is refused
    /// before anything in it changes; an msai 1 database is migrated (see `migrateFromVersion1`).
    public init(path: String, masterKey: MasterKey) throws {
        self.path = path
        self.masterKey = masterKey
        self.auditChain = masterKey.auditChain
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Deleted content is overwritten with zeros rather than left in free space.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        configuration.busyMode = .timeout(10)
        do {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let previous = umask(0o077)
            defer { umask(previous) }
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw MSAIError.io("\(path): cannot open the data center's database (\(error))")
        }
        try Self.checkMasterKey(masterKey, of: pool, at: path)
        do {
            var migrator = Self.migrator
            migrator.registerMigration("v3") { db in try Self.migrateFromVersion1(db, masterKey: masterKey) }
            migrator.registerMigration("v4") { db in try Self.migrateToVersion4(db, masterKey: masterKey) }
            let before = try pool.read { db in try migrator.appliedIdentifiers(db) }
            try migrator.migrate(pool)
            let migrated = before.contains("v2") && !before.contains("v3")
            migratedFrames = migrated ? try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM frame") ?? 0 } : 0
            for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
            }
        } catch let error as MSAIError {
            throw error
        } catch {
            throw MSAIError.io("\(path): cannot prepare the data center's database (\(error))")
        }
        // Plaintext the old tables held may linger in free pages (msai 1 did not zero them) and in
        // the WAL: rebuild the file. Until that has succeeded once, every start tries again and
        // the data center does not serve.
        let pending = try run { try pool.read { db in try Bool.fetchOne(db, sql: "SELECT vacuum_pending FROM vault") ?? false } }
        if pending {
            do {
                try pool.writeWithoutTransaction { db in
                    try db.execute(sql: "VACUUM")
                    try db.execute(sql: "UPDATE vault SET vacuum_pending = 0")
                }
                try truncateWAL()
            } catch {
                throw MSAIError.io(
                    "\(path): cannot rebuild the database after migrating it (\(error)); until that succeeds it may hold msai 1's plaintext in free pages. Free disk space (a rebuild needs the database's size again) and start again")
            }
        }
    }

    /// Version 4 (msai 2.1): τs, membrane keys and frames name the device they belong to; frames
    /// keep their area count, so that listing reads summary columns only (paged, by time and id);
    /// and the audit log becomes a chain: each entry's MAC (under a key from the master key)
    /// covers it and the entry before. Entries written before are chained now, in order.
    static func migrateToVersion4(_ db: Database, masterKey: MasterKey) throws {
        try db.execute(sql: """
            ALTER TABLE tau ADD COLUMN device TEXT;
            ALTER TABLE membrane_key ADD COLUMN device TEXT;
            ALTER TABLE frame ADD COLUMN device TEXT;
            ALTER TABLE frame ADD COLUMN area_count INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE audit ADD COLUMN mac BLOB;
            CREATE INDEX frame_by_time ON frame (received_at, id);
            """)
        for row in try Row.fetchAll(db, sql: "SELECT id, wrapped_manifest FROM frame") {
            let id: String = row["id"], wrapped: Data = row["wrapped_manifest"]
            let manifest = try JSONDecoder().decode(FrameManifest.self, from: Data(try masterKey.unwrap([UInt8](wrapped), context: manifestContext(id))))
            try db.execute(sql: "UPDATE frame SET area_count = ? WHERE id = ?", arguments: [manifest.areas.count, id])
        }
        let chain = masterKey.auditChain
        var previous = AuditChain.start
        for (index, row) in try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY seq").enumerated() {
            let old: Int = row["seq"]
            let mac = chain.link(seq: index + 1, at: row["at"], actor: row["actor"], action: row["action"], frameID: row["frame_id"],
                                 reason: row["reason"], previous: previous)
            try db.execute(sql: "UPDATE audit SET seq = ?, mac = ? WHERE seq = ?", arguments: [index + 1, Data(mac), old])
            previous = mac
        }
    }

    /// Refuses a master key other than the one the database was made with, before any change.
    private static func checkMasterKey(_ masterKey: MasterKey, of pool: DatabasePool, at path: String) throws {
        let stored: Data? = try catching(at: path) {
            try pool.read { db in try db.tableExists("vault") ? Data.fetchOne(db, sql: "SELECT check_value FROM vault") : nil }
        }
        if let stored, [UInt8](stored) != masterKey.checkValue {
            throw MSAIError.invalidArgument(
                "\(path): this master key does not open the database (it was made with another one); nothing was changed. Use the master key file or MSAI_MASTER_KEY it was made with")
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE membrane_key (
                    id TEXT PRIMARY KEY, mode TEXT NOT NULL, rows INTEGER NOT NULL, cols INTEGER NOT NULL,
                    channels INTEGER NOT NULL, k INTEGER NOT NULL, w BLOB NOT NULL, seed BLOB NOT NULL,
                    used INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
                CREATE TABLE tau (
                    id TEXT PRIMARY KEY, seed BLOB NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
                    block_size INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
                CREATE TABLE frame (
                    id TEXT PRIMARY KEY, masked BLOB NOT NULL, recovered_png BLOB NOT NULL, manifest TEXT NOT NULL,
                    received_at REAL NOT NULL);
                CREATE TABLE audit (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                    frame_id TEXT);
                """)
        }
        // msai 1 kept stream frames' recovered images as QOI.
        migrator.registerMigration("v2") { db in
            try db.execute(sql: "ALTER TABLE frame RENAME COLUMN recovered_png TO recovered_image")
        }
        return migrator
    }

    /// Version 3 (msai 2): secrets wrapped, frames sealed, no recovered images. The tables of
    /// msai 1 are rewritten: each τ seed and membrane key wrapped; each stored frame (format 1,
    /// whose masking the cloud's membranes undo) recovered with its old keys and masked again as
    /// format 2 under a fresh τ seed (`LegacyFrame.reprotect`), then sealed; the stored recovered
    /// images dropped. The file is then rebuilt (`vacuum_pending`), so none of it lingers.
    static func migrateFromVersion1(_ db: Database, masterKey: MasterKey) throws {
        try db.execute(sql: """
            CREATE TABLE vault (
                id INTEGER PRIMARY KEY CHECK (id = 1), check_value BLOB NOT NULL, created_at REAL NOT NULL,
                vacuum_pending INTEGER NOT NULL DEFAULT 1);
            CREATE TABLE membrane_key_v3 (
                id TEXT PRIMARY KEY, mode TEXT NOT NULL, rows INTEGER NOT NULL, cols INTEGER NOT NULL, channels INTEGER NOT NULL,
                wrapped BLOB, used INTEGER NOT NULL DEFAULT 0, frame_id TEXT, created_at REAL NOT NULL);
            CREATE TABLE tau_v3 (
                id TEXT PRIMARY KEY, wrapped_seed BLOB, width INTEGER NOT NULL, height INTEGER NOT NULL,
                block_size INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
            CREATE TABLE frame_v3 (
                id TEXT PRIMARY KEY, sealed BLOB NOT NULL, wrapped_manifest BLOB NOT NULL, width INTEGER NOT NULL,
                height INTEGER NOT NULL, channels INTEGER NOT NULL, background TEXT, received_at REAL NOT NULL);
            ALTER TABLE audit ADD COLUMN reason TEXT;
            """)
        try db.execute(sql: "INSERT INTO vault (id, check_value, created_at) VALUES (1, ?, ?)",
                       arguments: [Data(masterKey.checkValue), Date().timeIntervalSince1970])
        var seeds: [String: [UInt8]] = [:]
        var keys: [MembraneID: MembraneKeyRecord] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM tau") {
            let id: String = row["id"], seed: Data = row["seed"]
            seeds[id] = [UInt8](seed)
            try db.execute(
                sql: "INSERT INTO tau_v3 (id, wrapped_seed, width, height, block_size, used, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [id, Data(try masterKey.wrap([UInt8](seed), context: tauContext(id))), row["width"], row["height"],
                            row["block_size"], row["used"], row["created_at"]])
        }
        for row in try Row.fetchAll(db, sql: "SELECT * FROM membrane_key") {
            let id: String = row["id"], k: Int = row["k"], w: Data = row["w"], seed: Data = row["seed"]
            guard let mode = MaskingMode(rawValue: row["mode"]) else { throw MSAIError.io("membrane key \(id) of the msai 1 database has an unknown mode") }
            keys[MembraneID(rawValue: id)] = MembraneKeyRecord(
                id: MembraneID(rawValue: id), shape: try MembraneShape(rows: row["rows"], cols: row["cols"], channels: row["channels"]),
                mode: mode, k: UInt8(clamping: k), w: [UInt8](w), seed: [UInt8](seed))
            let secret = [UInt8(clamping: k), UInt8(w.count)] + [UInt8](w) + [UInt8](seed)
            try db.execute(
                sql: "INSERT INTO membrane_key_v3 (id, mode, rows, cols, channels, wrapped, used, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [id, row["mode"], row["rows"], row["cols"], row["channels"],
                            Data(try masterKey.wrap(secret, context: keyContext(id))), row["used"], row["created_at"]])
        }
        for row in try Row.fetchAll(db, sql: "SELECT id, masked, manifest, received_at FROM frame") {
            let id: String = row["id"], masked: Data = row["masked"], json: String = row["manifest"]
            guard let seed = seeds[id] else {
                throw MSAIError.io("frame \(id) of the msai 1 database has no τ; the database is damaged and was left as it was")
            }
            guard (try? JSONDecoder().decode(FrameManifest.self, from: Data(json.utf8))) != nil else {
                throw MSAIError.io("frame \(id) of the msai 1 database has unreadable metadata; the database was left as it was")
            }
            var random = SystemRandomNumberGenerator()  // getrandom(2): a cryptographic source
            let fresh = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
            let frame: LegacyFrame.Reprotected
            do {
                frame = try LegacyFrame.reprotect([UInt8](masked), id: id, seed: seed, freshSeed: fresh, keys: keys)
            } catch let error as MSAIError {
                throw MSAIError.io("\(error.description); the msai 1 database was left as it was")
            }
            try insertFrame(db, id: id, sealed: frame.sealed, manifest: frame.manifest, receivedAt: row["received_at"], masterKey: masterKey)
            try db.execute(sql: "UPDATE tau_v3 SET wrapped_seed = ? WHERE id = ?",
                           arguments: [Data(try masterKey.wrap(fresh, context: tauContext(id))), id])
            for (key, mode) in frame.modes {
                try db.execute(sql: "UPDATE membrane_key_v3 SET frame_id = ?, mode = ? WHERE id = ?", arguments: [id, mode.rawValue, key.rawValue])
            }
        }
        try db.execute(sql: """
            DROP TABLE frame; DROP TABLE tau; DROP TABLE membrane_key;
            ALTER TABLE frame_v3 RENAME TO frame; ALTER TABLE tau_v3 RENAME TO tau; ALTER TABLE membrane_key_v3 RENAME TO membrane_key;
            CREATE INDEX frame_received_at ON frame(received_at);
            CREATE INDEX frame_background ON frame(background);
            CREATE INDEX membrane_key_frame ON membrane_key(frame_id);
            """)
    }

    static func tauContext(_ id: String) -> String { SecretContext.tau(id) }
    static func keyContext(_ id: String) -> String { SecretContext.key(id) }
    static func manifestContext(_ id: String) -> String { SecretContext.manifest(id) }

    private static func insertFrame(_ db: Database, id: String, sealed: [UInt8], manifest: FrameManifest, receivedAt: Double,
                                    masterKey: MasterKey) throws {
        try db.execute(
            sql: "INSERT INTO frame_v3 (id, sealed, wrapped_manifest, width, height, channels, background, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [id, Data(sealed), Data(try masterKey.wrap(Array(manifest.encoded()), context: manifestContext(id))),
                        manifest.recoveredWidth, manifest.recoveredHeight, manifest.channels, manifest.composition?.base, receivedAt])
    }

    private func run<T>(_ body: () throws -> T) throws -> T { try Self.catching(at: path, body) }

    /// A database error as msai's, naming the file.
    private static func catching<T>(at path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as MSAIError {
            throw error
        } catch {
            throw MSAIError.io("\(path): database error: \(error)")
        }
    }

    /// Copies the WAL into the database file and truncates the WAL to nothing: afterwards the
    /// database file alone holds everything (for measuring what is stored, or before a copy).
    public func checkpoint() throws { try run { try truncateWAL() } }

    /// Copies the WAL into the database and truncates it to nothing, so that old page images
    /// (which may hold what was just deleted) leave the WAL file.
    private func truncateWAL() throws {
        try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    // MARK: membrane keys

    public func insertKey(_ record: MembraneKeyRecord, device: String?, audit entry: AuditEntry?) throws {
        guard record.w.count <= 255 else { throw MSAIError.invalidArgument("membrane key \(record.id): w is too long") }
        let secret = [record.k, UInt8(record.w.count)] + record.w + record.seed
        let wrapped = try masterKey.wrap(secret, context: Self.keyContext(record.id.rawValue))
        try run {
            try pool.write { db in
                guard try Row.fetchOne(db, sql: "SELECT 1 FROM membrane_key WHERE id = ?", arguments: [record.id.rawValue]) == nil else {
                    throw MSAIError.alreadyUsed(.membraneKey(record.id.rawValue))
                }
                try db.execute(
                    sql: "INSERT INTO membrane_key (id, mode, rows, cols, channels, wrapped, created_at, device) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: [record.id.rawValue, record.mode.rawValue, record.shape.rows, record.shape.cols, record.shape.channels,
                                Data(wrapped), Date().timeIntervalSince1970, device])
                if let entry { try audit(db, entry) }
            }
        }
    }

    public func key(_ id: MembraneID) throws -> StoredKey? {
        let row = try run { try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM membrane_key WHERE id = ?", arguments: [id.rawValue]) } }
        guard let row, let wrapped = row["wrapped"] as Data? else { return nil }
        guard let mode = MaskingMode(rawValue: row["mode"]) else { throw MSAIError.io("\(path): membrane key \(id) has an unknown mode") }
        let shape = try MembraneShape(rows: row["rows"], cols: row["cols"], channels: row["channels"])
        let secret = try masterKey.unwrap([UInt8](wrapped), context: Self.keyContext(id.rawValue))
        guard secret.count >= 2, secret.count == 2 + Int(secret[1]) + 32 else {
            throw MSAIError.integrityFailure("\(path): membrane key \(id) is malformed")
        }
        let wLength = Int(secret[1])
        let used: Int = row["used"]
        return StoredKey(record: MembraneKeyRecord(id: id, shape: shape, mode: mode, k: secret[0], w: Array(secret[2..<(2 + wLength)]),
                                                   seed: Array(secret[(2 + wLength)...])), used: used != 0, device: row["device"])
    }

    // MARK: taus

    public func insertTau(_ grant: TauGrant, device: String?, audit entry: AuditEntry?) throws {
        let wrapped = try masterKey.wrap(grant.seed, context: Self.tauContext(grant.id))
        try run {
            try pool.write { db in
                try db.execute(
                    sql: "INSERT INTO tau (id, wrapped_seed, width, height, block_size, created_at, device) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    arguments: [grant.id, Data(wrapped), grant.layout.width, grant.layout.height, grant.layout.blockSize,
                                Date().timeIntervalSince1970, device])
                if let entry { try audit(db, entry) }
            }
        }
    }

    public func purgeUnused(issuedBefore date: Date) throws {
        try run {
            try pool.write { db in
                try db.execute(sql: "DELETE FROM tau WHERE used = 0 AND created_at < ?", arguments: [date.timeIntervalSince1970])
                try db.execute(sql: "DELETE FROM membrane_key WHERE used = 0 AND created_at < ?", arguments: [date.timeIntervalSince1970])
            }
        }
    }

    public func tau(_ id: String) throws -> TauRecord? {
        let row = try run { try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM tau WHERE id = ?", arguments: [id]) } }
        guard let row else { return nil }
        let used: Int = row["used"]
        let layout = try BlockLayout(width: row["width"], height: row["height"], blockSize: row["block_size"])
        let seed = try (row["wrapped_seed"] as Data?).map { try masterKey.unwrap([UInt8]($0), context: Self.tauContext(id)) }
        return TauRecord(id: id, layout: layout, seed: seed, used: used != 0, issuedAt: Date(timeIntervalSince1970: row["created_at"]),
                         device: row["device"])
    }

    // MARK: frames

    public func commit(_ frame: StoredFrame, tau: String, membranes: [MembraneID], actor: String) throws {
        let wrappedManifest = try masterKey.wrap(Array(frame.manifest.encoded()), context: Self.manifestContext(frame.id))
        try run {
            try pool.write { db in
                try db.execute(sql: "UPDATE tau SET used = 1 WHERE id = ? AND used = 0", arguments: [tau])
                guard db.changesCount == 1 else { throw MSAIError.alreadyUsed(.tau(tau)) }
                for id in membranes {
                    try db.execute(sql: "UPDATE membrane_key SET used = 1, frame_id = ? WHERE id = ? AND used = 0",
                                   arguments: [frame.id, id.rawValue])
                    guard db.changesCount == 1 else { throw MSAIError.alreadyUsed(.membrane(id.rawValue)) }
                }
                try db.execute(
                    sql: """
                        INSERT INTO frame (id, sealed, wrapped_manifest, width, height, channels, background, received_at, device, area_count)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [frame.id, Data(frame.sealed), Data(wrappedManifest), frame.manifest.recoveredWidth,
                                frame.manifest.recoveredHeight, frame.manifest.channels, frame.manifest.composition?.base,
                                frame.receivedAt.timeIntervalSince1970, frame.device, frame.manifest.areas.count])
                try audit(db, AuditEntry(actor: actor, action: "accepted", frameID: frame.id))
            }
        }
    }

    private func manifest(_ row: Row) throws -> FrameManifest {
        let id: String = row["id"], wrapped: Data = row["wrapped_manifest"]
        let json = try masterKey.unwrap([UInt8](wrapped), context: Self.manifestContext(id))
        do {
            return try JSONDecoder().decode(FrameManifest.self, from: Data(json))
        } catch {
            throw MSAIError.integrityFailure("\(path): frame \(id)'s stored metadata is unreadable")
        }
    }

    public func frame(_ id: String) throws -> StoredFrame? {
        let row = try run { try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM frame WHERE id = ?", arguments: [id]) } }
        guard let row else { return nil }
        let sealed: Data = row["sealed"]
        return StoredFrame(id: id, sealed: [UInt8](sealed), manifest: try manifest(row), receivedAt: Date(timeIntervalSince1970: row["received_at"]),
                           device: row["device"])
    }

    private static let summaryColumns = "id, width, height, channels, area_count, background, received_at, length(sealed) AS bytes, device"

    private func summary(_ row: Row) throws -> FrameSummary {
        FrameSummary(frameID: row["id"], width: row["width"], height: row["height"], channels: row["channels"],
                     areas: row["area_count"], receivedAt: Date(timeIntervalSince1970: row["received_at"]),
                     background: row["background"], bytes: row["bytes"], device: row["device"])
    }

    public func summary(_ id: String) throws -> FrameSummary? {
        let row = try run {
            try pool.read { db in try Row.fetchOne(db, sql: "SELECT \(Self.summaryColumns) FROM frame WHERE id = ?", arguments: [id]) }
        }
        return try row.map(summary)
    }

    public func summaries(after cursor: String?, limit: Int) throws -> [FrameSummary] {
        var after: (time: Double, id: String) = (-Double.infinity, "")
        if let cursor {
            let parts = cursor.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let bits = UInt64(parts[0]) else { throw MSAIError.invalidArgument("'\(cursor.prefix(80))' is not a page cursor msai gave") }
            after = (Double(bitPattern: bits), parts[1])
        }
        let rows = try run {
            try pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT \(Self.summaryColumns) FROM frame WHERE received_at > ? OR (received_at = ? AND id > ?)
                    ORDER BY received_at, id LIMIT ?
                    """, arguments: [after.time, after.time, after.id, max(0, limit)])
            }
        }
        return try rows.map(summary)
    }

    public func frameIDs() throws -> [String] {
        try run { try pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM frame ORDER BY received_at, id") } }
    }

    // MARK: deletion destroys

    /// Deletes frames with their τ seeds (the τ id stays, used, so replays are still refused) and
    /// membrane keys. Runs inside the caller's transaction.
    private static func destroy(_ db: Database, frames ids: [String]) throws {
        for id in ids {
            try db.execute(sql: "DELETE FROM frame WHERE id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM membrane_key WHERE frame_id = ?", arguments: [id])
            try db.execute(sql: "UPDATE tau SET wrapped_seed = NULL WHERE id = ?", arguments: [id])
        }
    }

    public func deleteFrames(receivedBefore date: Date) throws -> Int {
        let deleted = try run {
            try pool.write { db -> Int in
                // A background stays while a newer patch frame is composed onto it.
                let ids = try String.fetchAll(db, sql: """
                    SELECT id FROM frame WHERE received_at < ?
                    AND id NOT IN (SELECT background FROM frame WHERE background IS NOT NULL AND received_at >= ?)
                    """, arguments: [date.timeIntervalSince1970, date.timeIntervalSince1970])
                try Self.destroy(db, frames: ids)
                if !ids.isEmpty { try audit(db, AuditEntry(actor: "retention", action: "deleted \(ids.count) frame(s)", frameID: nil)) }
                return ids.count
            }
        }
        if deleted > 0 { try run { try truncateWAL() } }
        return deleted
    }

    public func deleteFrame(_ id: String, actor: String, reason: String) throws -> Bool {
        let deleted = try run {
            try pool.write { db -> Bool in
                guard try Row.fetchOne(db, sql: "SELECT 1 FROM frame WHERE id = ?", arguments: [id]) != nil else { return false }
                let patches = try Int.fetchOne(db, sql: "SELECT count(*) FROM frame WHERE background = ?", arguments: [id]) ?? 0
                guard patches == 0 else {
                    throw MSAIError.invalidArgument("frame \(id) is the background of \(patches) stored patch frame(s); delete those first")
                }
                try Self.destroy(db, frames: [id])
                try audit(db, AuditEntry(actor: actor, action: "deleted", frameID: id, reason: reason))
                return true
            }
        }
        if deleted { try run { try truncateWAL() } }
        return deleted
    }

    // MARK: audit

    /// Appends `entry` to the chain, inside the caller's transaction: the next number, and the
    /// MAC linking it to the last entry.
    private func audit(_ db: Database, _ entry: AuditEntry) throws {
        let last = try Row.fetchOne(db, sql: "SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1")
        let seq = (last.map { $0["seq"] as Int } ?? 0) + 1
        let previous = (last?["mac"] as Data?).map { [UInt8]($0) } ?? AuditChain.start
        let at = entry.at.timeIntervalSince1970
        let mac = auditChain.link(seq: seq, at: at, actor: entry.actor, action: entry.action, frameID: entry.frameID, reason: entry.reason,
                                  previous: previous)
        try db.execute(sql: "INSERT INTO audit (seq, at, actor, action, frame_id, reason, mac) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       arguments: [seq, at, entry.actor, entry.action, entry.frameID, entry.reason, Data(mac)])
    }

    public func appendAudit(_ entry: AuditEntry) throws {
        try run { try pool.write { db in try audit(db, entry) } }
    }

    public func auditLog(after seq: Int, limit: Int) throws -> [AuditEntry] {
        try run {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [seq, max(0, limit)]).map(Self.entry)
            }
        }
    }

    public func verifyAudit() throws -> AuditVerification {
        let entries = try run { try pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY seq").map(Self.entry) } }
        return AuditVerification.check(entries, chain: auditChain)
    }

    private static func entry(_ row: Row) -> AuditEntry {
        AuditEntry(at: Date(timeIntervalSince1970: row["at"]), actor: row["actor"], action: row["action"], frameID: row["frame_id"],
                   reason: row["reason"], seq: row["seq"], mac: (row["mac"] as Data?).map { Hex.encode([UInt8]($0)) })
    }
}
