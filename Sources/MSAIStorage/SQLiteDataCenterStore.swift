import Foundation
import GRDB
import MSAICore
import MSAIImageIO
import MSAIRoles

/// The data center's store in one SQLite file, through GRDB: WAL mode with synchronous = FULL,
/// so every frame the data center acknowledged survives a kill -9 (the acknowledgement is sent
/// only after the transaction commits). Created with its schema on first use.
public final class SQLiteDataCenterStore: DataCenterStore, @unchecked Sendable {
    public let path: String
    private let pool: DatabasePool

    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        configuration.busyMode = .timeout(10)
        do {
            // Keys, tau seeds and recovered images: readable by this user only.
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let previous = umask(0o077)
            defer { umask(previous) }
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
            for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
            }
        } catch {
            throw MSAIError.io("\(path): cannot open the data center's database (\(error))")
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
        // The recovered image is PNG for single images and QOI for stream frames (told by its first bytes).
        migrator.registerMigration("v2") { db in
            try db.execute(sql: "ALTER TABLE frame RENAME COLUMN recovered_png TO recovered_image")
        }
        return migrator
    }

    private func run<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as MSAIError {
            throw error
        } catch {
            throw MSAIError.io("\(path): database error: \(error)")
        }
    }

    public func insertKey(_ record: MembraneKeyRecord) throws {
        try run {
            try pool.write { db in
                guard try Row.fetchOne(db, sql: "SELECT 1 FROM membrane_key WHERE id = ?", arguments: [record.id.rawValue]) == nil else {
                    throw MSAIError.replay("membrane key \(record.id) was already deposited")
                }
                try db.execute(
                    sql: "INSERT INTO membrane_key (id, mode, rows, cols, channels, k, w, seed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: [record.id.rawValue, record.mode.rawValue, record.shape.rows, record.shape.cols, record.shape.channels,
                                Int(record.k), Data(record.w), Data(record.seed), Date().timeIntervalSince1970])
            }
        }
    }

    public func key(_ id: MembraneID) throws -> (record: MembraneKeyRecord, used: Bool)? {
        try run {
            try pool.read { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM membrane_key WHERE id = ?", arguments: [id.rawValue]) else { return nil }
                guard let mode = MaskingMode(rawValue: row["mode"]) else {
                    throw MSAIError.io("\(path): membrane key \(id) has an unknown mode")
                }
                let shape = try MembraneShape(rows: row["rows"], cols: row["cols"], channels: row["channels"])
                let k: Int = row["k"]
                let w: Data = row["w"], seed: Data = row["seed"]
                let used: Int = row["used"]
                return (MembraneKeyRecord(id: id, shape: shape, mode: mode, k: UInt8(clamping: k), w: [UInt8](w), seed: [UInt8](seed)), used != 0)
            }
        }
    }

    public func insertTau(_ grant: TauGrant) throws {
        try run {
            try pool.write { db in
                try db.execute(
                    sql: "INSERT INTO tau (id, seed, width, height, block_size, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [grant.id, Data(grant.seed), grant.layout.width, grant.layout.height, grant.layout.blockSize,
                                Date().timeIntervalSince1970])
            }
        }
    }

    public func purgeUnusedTaus(issuedBefore date: Date) throws {
        try run {
            try pool.write { db in
                try db.execute(sql: "DELETE FROM tau WHERE used = 0 AND created_at < ?", arguments: [date.timeIntervalSince1970])
            }
        }
    }

    public func tau(_ id: String) throws -> (grant: TauGrant, used: Bool, issuedAt: Date)? {
        try run {
            try pool.read { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM tau WHERE id = ?", arguments: [id]) else { return nil }
                let seed: Data = row["seed"]
                let used: Int = row["used"]
                let layout = try BlockLayout(width: row["width"], height: row["height"], blockSize: row["block_size"])
                return (try TauGrant(id: id, seed: [UInt8](seed), layout: layout), used != 0,
                        Date(timeIntervalSince1970: row["created_at"]))
            }
        }
    }

    public func commit(_ frame: StoredFrame, tau: String, membranes: [MembraneID], actor: String) throws {
        // Encode outside the write transaction. The recovered image is stored losslessly, in the
        // format the frame came in: QOI for stream frames (6x faster to encode), PNG otherwise.
        let streamFrame = MaskedFrameCodec.format(of: frame.maskedFrame) == .qoi && QOICodec.supports(channels: frame.recovered.channels)
        let recoveredImage = streamFrame ? try QOICodec.encode(frame.recovered) : try PNGCodec.encode(frame.recovered)
        try run {
            try pool.write { db in
                try db.execute(sql: "UPDATE tau SET used = 1 WHERE id = ? AND used = 0", arguments: [tau])
                guard db.changesCount == 1 else { throw MSAIError.replay("tau \(tau) was already used by another frame") }
                for id in membranes {
                    try db.execute(sql: "UPDATE membrane_key SET used = 1 WHERE id = ? AND used = 0", arguments: [id.rawValue])
                    guard db.changesCount == 1 else { throw MSAIError.replay("membrane \(id) was already used") }
                }
                try db.execute(
                    sql: "INSERT INTO frame (id, masked, recovered_image, manifest, received_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [frame.id, Data(frame.maskedFrame), Data(recoveredImage),
                                String(decoding: frame.manifest.encoded(), as: UTF8.self), frame.receivedAt.timeIntervalSince1970])
                try db.execute(sql: "INSERT INTO audit (at, actor, action, frame_id) VALUES (?, ?, ?, ?)",
                               arguments: [Date().timeIntervalSince1970, actor, "accepted", frame.id])
            }
        }
    }

    public func frame(_ id: String) throws -> StoredFrame? {
        let row: Row? = try run { try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM frame WHERE id = ?", arguments: [id]) } }
        guard let row else { return nil }
        let masked: Data = row["masked"], recovered: Data = row["recovered_image"], manifest: String = row["manifest"]
        let image = [UInt8](recovered)
        let pixels = QOICodec.isQOI(image) ? try QOICodec.decode(image[...], name: "stored frame \(id)")
                                           : try PNGCodec.decode(image, name: "stored frame \(id)").pixels
        let decoded = try FrameManifest.decode(Data(manifest.utf8), recoveredWidth: pixels.width, recoveredHeight: pixels.height,
                                               channels: pixels.channels)
        return StoredFrame(id: id, maskedFrame: [UInt8](masked), recovered: pixels, manifest: decoded,
                           receivedAt: Date(timeIntervalSince1970: row["received_at"]), timings: StepTimings())
    }

    public func deleteFrames(receivedBefore date: Date) throws -> Int {
        try run {
            try pool.write { db in
                try db.execute(sql: "DELETE FROM frame WHERE received_at < ?", arguments: [date.timeIntervalSince1970])
                let deleted = db.changesCount
                if deleted > 0 {
                    try db.execute(sql: "INSERT INTO audit (at, actor, action, frame_id) VALUES (?, ?, ?, NULL)",
                                   arguments: [Date().timeIntervalSince1970, "retention", "deleted \(deleted) frame(s)"])
                }
                return deleted
            }
        }
    }

    public func frameIDs() throws -> [String] {
        try run { try pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM frame ORDER BY received_at, id") } }
    }

    public func appendAudit(actor: String, action: String, frameID: String?) throws {
        try run {
            try pool.write { db in
                try db.execute(sql: "INSERT INTO audit (at, actor, action, frame_id) VALUES (?, ?, ?, ?)",
                               arguments: [Date().timeIntervalSince1970, actor, action, frameID])
            }
        }
    }

    public func auditLog(limit: Int) throws -> [AuditEntry] {
        try run {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM (SELECT * FROM audit ORDER BY seq DESC LIMIT ?) ORDER BY seq", arguments: [limit]).map {
                    AuditEntry(at: Date(timeIntervalSince1970: $0["at"]), actor: $0["actor"], action: $0["action"], frameID: $0["frame_id"])
                }
            }
        }
    }
}
