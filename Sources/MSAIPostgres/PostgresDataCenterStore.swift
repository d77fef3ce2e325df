import Foundation
import MSAICore
import MSAICrypto
import MSAIRoles
import PostgresNIO
import Synchronization

/// The data center's store in PostgreSQL, for deployments beyond one machine: several
/// data-center processes may serve one database at once. Same semantics as
/// `SQLiteDataCenterStore`, enforced by the database rather than by one process:
///
/// - a τ and a membrane key are used once: acceptance marks them used with
///   `UPDATE … WHERE NOT used`, and a second process accepting the same τ waits on the row's
///   lock and then changes nothing, so exactly one frame is stored; a membrane key id is a
///   primary key;
/// - a frame is accepted in one transaction (τ and keys marked used, the frame stored, the
///   acceptance audited), acknowledged only after it commits;
/// - the audit chain stays one chain: appending takes a transaction-scoped advisory lock, so
///   entries from every process are numbered and linked in one order.
///
/// Frames are partitioned by day (UTC) of receipt: retention drops a day whose frames are all
/// due as a whole table, with their τ seeds and membrane keys in the same transaction.
///
/// At rest, as with SQLite, nothing recovers a frame without the master key: frames are stored
/// sealed, τ seeds, membrane keys and manifests wrapped. What PostgreSQL does not do is zero what
/// a deletion frees: a deleted row stays in its table's file until VACUUM reuses the space, and in
/// the WAL and any backup or replica until they turn over (a dropped day's files are unlinked at
/// once). Against someone who holds both a copy of those files and the master key, a frame deleted
/// within the last VACUUM cycle may still be recoverable; see docs/THREAT-MODEL.md.
public final class PostgresDataCenterStore: DataCenterStore, Sendable {
    public let location: PostgresLocation
    private let connections: PostgresConnections
    private let masterKey: MasterKey
    private let auditChain: AuditChain
    /// Days (since 1970, UTC) whose partition this process knows exists.
    private let knownDays = Mutex<Set<Int>>([])

    /// The advisory lock that orders audit entries across processes.
    static let auditLock: Int64 = 0x6D73_6169_0001
    /// The advisory lock held while the schema or a partition is created.
    static let schemaLock: Int64 = 0x6D73_6169_0002

    /// Connects to the database `url` names, creating the schema on first use. A database another
    /// master key made is refused before anything in it changes. `connections` bounds the
    /// connections this process holds: the data center's heavy and storage workers and its
    /// retention all read and write, so the default covers them on machines of up to 5 cores.
    public convenience init(url: String, masterKey: MasterKey, connections: Int = 8) throws {
        try self.init(location: PostgresLocation(url: url), masterKey: masterKey, connections: connections)
    }

    public init(location: PostgresLocation, masterKey: MasterKey, connections: Int = 8) throws {
        self.location = location
        self.masterKey = masterKey
        self.auditChain = masterKey.auditChain
        self.connections = try PostgresConnections(location, size: connections)
        try self.connections.transaction { db in
            // Creating an index on the partitioned table locks every partition even when the
            // index exists: a database already made is only read.
            let made = try db.execute("SELECT to_regclass('audit') IS NOT NULL AND to_regclass('frame_by_background') IS NOT NULL").first
                .map { try $0.decode(Bool.self) } ?? false
            if !made {
                try db.execute("SELECT pg_advisory_xact_lock(\(Self.schemaLock))")
                for statement in Self.schema { try db.execute(PostgresQuery(unsafeSQL: statement)) }
            }
            let stored = try db.execute("SELECT check_value FROM vault WHERE id = 1").first.map { try $0.decode(Data.self) }
            if let stored {
                guard [UInt8](stored) == masterKey.checkValue else {
                    throw MSAIError.invalidArgument(
                        "\(location.description): this master key does not open the database (it was made with another one); nothing was changed. Use the master key file or MSAI_MASTER_KEY it was made with")
                }
            } else {
                try db.execute("INSERT INTO vault (id, check_value, created_at) VALUES (1, \(Data(masterKey.checkValue)), \(Date().timeIntervalSince1970))")
            }
        }
    }

    /// The tables, created if absent (one statement each: the extended protocol runs one at a time).
    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS vault (
            id integer PRIMARY KEY CHECK (id = 1), check_value bytea NOT NULL, created_at double precision NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS membrane_key (
            id text PRIMARY KEY, mode text NOT NULL, rows integer NOT NULL, cols integer NOT NULL, channels integer NOT NULL,
            wrapped bytea, used boolean NOT NULL DEFAULT false, frame_id text, created_at double precision NOT NULL, device text)
        """,
        "CREATE INDEX IF NOT EXISTS membrane_key_frame ON membrane_key (frame_id)",
        """
        CREATE TABLE IF NOT EXISTS tau (
            id text PRIMARY KEY, wrapped_seed bytea, width integer NOT NULL, height integer NOT NULL, block_size integer NOT NULL,
            used boolean NOT NULL DEFAULT false, created_at double precision NOT NULL, device text)
        """,
        // A frame's id is its τ's, which acceptance uses once: unique without a global index.
        """
        CREATE TABLE IF NOT EXISTS frame (
            id text NOT NULL, sealed bytea NOT NULL, wrapped_manifest bytea NOT NULL, width integer NOT NULL, height integer NOT NULL,
            channels integer NOT NULL, background text, received_at double precision NOT NULL, device text, area_count integer NOT NULL,
            PRIMARY KEY (received_at, id)) PARTITION BY RANGE (received_at)
        """,
        "CREATE INDEX IF NOT EXISTS frame_by_id ON frame (id)",
        "CREATE INDEX IF NOT EXISTS frame_by_background ON frame (background)",
        """
        CREATE TABLE IF NOT EXISTS audit (
            seq bigint PRIMARY KEY, at double precision NOT NULL, actor text NOT NULL, action text NOT NULL, frame_id text,
            reason text, mac bytea NOT NULL)
        """,
    ]

    /// The database's size on disk (`pg_database_size`), for sizing figures.
    public func databaseBytes() throws -> Int {
        try connections.with { db in try db.execute("SELECT pg_database_size(current_database())").first.map { try $0.decode(Int.self) } ?? 0 }
    }

    /// Makes an empty database beside the one `url` names (whose user must be allowed to create
    /// databases) and returns its URL: for tests and `make load`.
    public static func createDatabase(beside url: String, named name: String) throws -> String {
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }), var components = URLComponents(string: url) else {
            throw MSAIError.invalidArgument("'\(name)' is not a database name msai makes")
        }
        let connections = try PostgresConnections(try PostgresLocation(url: url), size: 1)
        defer { connections.close() }
        try connections.with { db in try db.execute(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
        components.path = "/\(name)"
        return components.string!
    }

    /// Closes the connections (they close on their own when the store goes away).
    public func close() { connections.close() }

    // MARK: membrane keys

    public func insertKey(_ record: MembraneKeyRecord, device: String?, audit entry: AuditEntry?) throws {
        guard record.w.count <= 255 else { throw MSAIError.invalidArgument("membrane key \(record.id): w is too long") }
        let secret = [record.k, UInt8(record.w.count)] + record.w + record.seed
        let wrapped = Data(try masterKey.wrap(secret, context: SecretContext.key(record.id.rawValue)))
        try connections.transaction { db in
            let inserted = try db.changes("""
                INSERT INTO membrane_key (id, mode, rows, cols, channels, wrapped, created_at, device)
                VALUES (\(record.id.rawValue), \(record.mode.rawValue), \(record.shape.rows), \(record.shape.cols), \(record.shape.channels),
                        \(wrapped), \(Date().timeIntervalSince1970), \(device))
                ON CONFLICT (id) DO NOTHING
                """)
            guard inserted == 1 else { throw MSAIError.alreadyUsed(.membraneKey(record.id.rawValue)) }
            if let entry { try audit(db, entry) }
        }
    }

    public func key(_ id: MembraneID) throws -> StoredKey? {
        let row = try connections.with { db in
            try db.execute("SELECT mode, rows, cols, channels, wrapped, used, device FROM membrane_key WHERE id = \(id.rawValue)").first
        }
        guard let row else { return nil }
        let (modeName, rows, cols, channels, wrapped, used, device) = try decoding {
            try row.decode((String, Int, Int, Int, Data?, Bool, String?).self)
        }
        guard let wrapped else { return nil }
        guard let mode = MaskingMode(rawValue: modeName) else { throw MSAIError.io("\(location.description): membrane key \(id) has an unknown mode") }
        let secret = try masterKey.unwrap([UInt8](wrapped), context: SecretContext.key(id.rawValue))
        guard secret.count >= 2, secret.count == 2 + Int(secret[1]) + 32 else {
            throw MSAIError.integrityFailure("\(location.description): membrane key \(id) is malformed")
        }
        let wLength = Int(secret[1])
        return StoredKey(record: MembraneKeyRecord(id: id, shape: try MembraneShape(rows: rows, cols: cols, channels: channels), mode: mode,
                                                   k: secret[0], w: Array(secret[2..<(2 + wLength)]), seed: Array(secret[(2 + wLength)...])),
                         used: used, device: device)
    }

    // MARK: taus

    public func insertTau(_ grant: TauGrant, device: String?, audit entry: AuditEntry?) throws {
        let wrapped = Data(try masterKey.wrap(grant.seed, context: SecretContext.tau(grant.id)))
        try connections.transaction { db in
            let inserted = try db.changes("""
                INSERT INTO tau (id, wrapped_seed, width, height, block_size, created_at, device)
                VALUES (\(grant.id), \(wrapped), \(grant.layout.width), \(grant.layout.height), \(grant.layout.blockSize),
                        \(Date().timeIntervalSince1970), \(device))
                ON CONFLICT (id) DO NOTHING
                """)
            guard inserted == 1 else { throw MSAIError.alreadyUsed(.tau(grant.id)) }
            if let entry { try audit(db, entry) }
        }
    }

    public func tau(_ id: String) throws -> TauRecord? {
        let row = try connections.with { db in
            try db.execute("SELECT wrapped_seed, width, height, block_size, used, created_at, device FROM tau WHERE id = \(id)").first
        }
        guard let row else { return nil }
        let (wrapped, width, height, blockSize, used, createdAt, device) = try decoding {
            try row.decode((Data?, Int, Int, Int, Bool, Double, String?).self)
        }
        let seed = try wrapped.map { try masterKey.unwrap([UInt8]($0), context: SecretContext.tau(id)) }
        return TauRecord(id: id, layout: try BlockLayout(width: width, height: height, blockSize: blockSize), seed: seed, used: used,
                         issuedAt: Date(timeIntervalSince1970: createdAt), device: device)
    }

    public func purgeUnused(issuedBefore date: Date) throws {
        let cutoff = date.timeIntervalSince1970
        try connections.transaction { db in
            try db.execute("DELETE FROM tau WHERE NOT used AND created_at < \(cutoff)")
            try db.execute("DELETE FROM membrane_key WHERE NOT used AND created_at < \(cutoff)")
        }
    }

    // MARK: frames

    public func commit(_ frame: StoredFrame, tau: String, membranes: [MembraneID], actor: String) throws {
        let wrappedManifest = Data(try masterKey.wrap(Array(frame.manifest.encoded()), context: SecretContext.manifest(frame.id)))
        let receivedAt = frame.receivedAt.timeIntervalSince1970
        try ensurePartition(forTime: receivedAt)
        func accept() throws {
            try connections.transaction { db in
                // Another process accepting the same τ holds its row until it commits; then this
                // UPDATE finds it used and changes nothing.
                guard try db.changes("UPDATE tau SET used = true WHERE id = \(tau) AND NOT used") == 1 else {
                    throw MSAIError.alreadyUsed(.tau(tau))
                }
                // In one order everywhere, so that two acceptances of the same keys cannot deadlock.
                for id in membranes.sorted(by: { $0.rawValue < $1.rawValue }) {
                    guard try db.changes("UPDATE membrane_key SET used = true, frame_id = \(frame.id) WHERE id = \(id.rawValue) AND NOT used") == 1 else {
                        throw MSAIError.alreadyUsed(.membrane(id.rawValue))
                    }
                }
                try db.execute("""
                    INSERT INTO frame (id, sealed, wrapped_manifest, width, height, channels, background, received_at, device, area_count)
                    VALUES (\(frame.id), \(Data(frame.sealed)), \(wrappedManifest), \(frame.manifest.recoveredWidth), \(frame.manifest.recoveredHeight),
                            \(frame.manifest.channels), \(frame.manifest.composition?.base), \(receivedAt), \(frame.device), \(frame.manifest.areas.count))
                    """)
                // A patch frame's background was checked before; another data center may have
                // deleted it since. Held with a key-share lock to the commit, which deletion waits on.
                if let base = frame.manifest.composition?.base {
                    guard try db.execute("SELECT 1 FROM frame WHERE id = \(base) FOR KEY SHARE").first != nil else {
                        throw MSAIError.unknownKey(
                            "patch frame's background \(base) is not held by this data center (never received, or deleted by retention); send a full frame")
                    }
                }
                try audit(db, AuditEntry(actor: actor, action: "accepted", frameID: frame.id))
            }
        }
        do {
            try accept()
        } catch let error as MSAIError where Self.isMissingPartition(error) {
            // Another process's retention dropped the day this process believed it had made.
            knownDays.withLock { _ = $0.remove(Self.day(of: receivedAt)) }
            try ensurePartition(forTime: receivedAt)
            try accept()
        }
    }

    /// PostgreSQL's refusal of a row no partition takes: SQLSTATE 23514 (the message itself is in
    /// the server's language). The frame table has no CHECK constraint that could say it instead.
    static func isMissingPartition(_ error: MSAIError) -> Bool {
        error.description.contains("(SQLSTATE 23514)")
    }

    public func frame(_ id: String) throws -> StoredFrame? {
        let row = try connections.with { db in
            try db.execute("SELECT sealed, wrapped_manifest, received_at, device FROM frame WHERE id = \(id)").first
        }
        guard let row else { return nil }
        let (sealed, wrapped, receivedAt, device) = try decoding { try row.decode((Data, Data, Double, String?).self) }
        let json = try masterKey.unwrap([UInt8](wrapped), context: SecretContext.manifest(id))
        let manifest: FrameManifest
        do {
            manifest = try JSONDecoder().decode(FrameManifest.self, from: Data(json))
        } catch {
            throw MSAIError.integrityFailure("\(location.description): frame \(id)'s stored metadata is unreadable")
        }
        return StoredFrame(id: id, sealed: [UInt8](sealed), manifest: manifest, receivedAt: Date(timeIntervalSince1970: receivedAt), device: device)
    }

    private static let summaryColumns = "id, width, height, channels, area_count, background, received_at, octet_length(sealed), device"

    private func summary(_ row: PostgresRow) throws -> FrameSummary {
        let (id, width, height, channels, areas, background, receivedAt, bytes, device) = try decoding {
            try row.decode((String, Int, Int, Int, Int, String?, Double, Int, String?).self)
        }
        return FrameSummary(frameID: id, width: width, height: height, channels: channels, areas: areas,
                            receivedAt: Date(timeIntervalSince1970: receivedAt), background: background, bytes: bytes, device: device)
    }

    public func summary(_ id: String) throws -> FrameSummary? {
        try connections.with { db in
            try db.execute(PostgresQuery(unsafeSQL: "SELECT \(Self.summaryColumns) FROM frame WHERE id = $1", binds: binds(id))).first
        }.map(summary)
    }

    public func summaries(after cursor: String?, limit: Int) throws -> [FrameSummary] {
        var after: (time: Double, id: String) = (-Double.greatestFiniteMagnitude, "")
        if let cursor {
            let parts = cursor.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let bits = UInt64(parts[0]) else { throw MSAIError.invalidArgument("'\(cursor.prefix(80))' is not a page cursor msai gave") }
            after = (Double(bitPattern: bits), parts[1])
        }
        var bindings = PostgresBindings()
        bindings.append(after.time)
        bindings.append(after.id)
        bindings.append(max(0, limit))
        let query = PostgresQuery(unsafeSQL: """
            SELECT \(Self.summaryColumns) FROM frame WHERE (received_at, id) > ($1, $2)
            ORDER BY received_at, id LIMIT $3
            """, binds: bindings)
        return try connections.with { db in try db.execute(query).rows }.map(summary)
    }

    public func frameIDs() throws -> [String] {
        try connections.with { db in try db.execute("SELECT id FROM frame ORDER BY received_at, id").rows }
            .map { row in try decoding { try row.decode(String.self) } }
    }

    private func binds(_ value: String) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(value)
        return bindings
    }

    // MARK: partitions by day

    /// The day (since 1970, UTC) of a time in seconds since 1970.
    static func day(of time: Double) -> Int { Int((time / 86_400).rounded(.down)) }

    /// The partition holding day `day`'s frames, as `frame_d20261204`.
    static func partitionName(day: Int) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(day) * 86_400))
        return String(format: "frame_d%04d%02d%02d", c.year!, c.month!, c.day!)
    }

    /// Creates the partition for the day of `time` unless this process knows it exists; several
    /// processes may try at once, and the advisory lock lets one create it.
    private func ensurePartition(forTime time: Double) throws {
        let day = Self.day(of: time)
        guard !knownDays.withLock({ $0.contains(day) }) else { return }
        let name = Self.partitionName(day: day)
        try connections.transaction { db in
            try db.execute("SELECT pg_advisory_xact_lock(\(Self.schemaLock))")
            try db.execute(PostgresQuery(unsafeSQL: """
                CREATE TABLE IF NOT EXISTS "\(name)" PARTITION OF frame
                FOR VALUES FROM (\(Double(day) * 86_400)) TO (\(Double(day + 1) * 86_400))
                """))
        }
        knownDays.withLock { _ = $0.insert(day) }
    }

    /// The day partitions that exist, by day.
    func partitions(_ db: Session) throws -> [Int: String] {
        let rows = try db.execute("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'frame'::regclass
            """).rows
        var found: [Int: String] = [:]
        for row in rows {
            let name = try decoding { try row.decode(String.self) }
            let digits = name.dropFirst(7)
            guard name.hasPrefix("frame_d"), digits.count == 8, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { continue }
            var c = DateComponents()
            c.year = Int(digits.prefix(4)); c.month = Int(digits.dropFirst(4).prefix(2)); c.day = Int(digits.suffix(2))
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            if let date = calendar.date(from: c) { found[Self.day(of: date.timeIntervalSince1970)] = name }
        }
        return found
    }

    // MARK: deletion destroys

    /// Deletes frames' τ seeds (the τ id stays, used, so replays are still refused) and membrane
    /// keys, inside the caller's transaction. The frames' rows are the caller's to remove.
    private func destroyKeys(_ db: Session, frames ids: [String]) throws {
        guard !ids.isEmpty else { return }
        try db.execute("DELETE FROM membrane_key WHERE frame_id = ANY(\(ids))")
        try db.execute("UPDATE tau SET wrapped_seed = NULL WHERE id = ANY(\(ids))")
    }

    public func deleteFrames(receivedBefore date: Date) throws -> Int {
        let cutoff = date.timeIntervalSince1970
        let dropped = try connections.transaction { db -> [Int] in
            // Every data center runs retention: one pass at a time, and no frame stored or deleted
            // during it, so what is counted is what goes (readers carry on).
            try db.execute("LOCK TABLE frame IN SHARE ROW EXCLUSIVE MODE")
            // A background stays while a newer patch frame is composed onto it.
            let due = try db.execute("""
                SELECT id, received_at FROM frame WHERE received_at < \(cutoff)
                AND id NOT IN (SELECT background FROM frame WHERE background IS NOT NULL AND received_at >= \(cutoff))
                """).rows.map { row in try decoding { try row.decode((String, Double).self) } }
            try destroyKeys(db, frames: due.map(\.0))
            // A day wholly before the cut-off whose frames are all due goes as a table: its file
            // is unlinked rather than left to VACUUM.
            var dueByDay: [Int: Int] = [:]
            for (_, time) in due { dueByDay[Self.day(of: time), default: 0] += 1 }
            var droppedDays: [Int] = []
            var deleted = 0
            for (day, name) in try partitions(db) where Double(day + 1) * 86_400 <= cutoff {
                let held = try db.execute(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \"\(name)\"")).first.map { row in
                    try decoding { try row.decode(Int.self) }
                } ?? 0
                guard held == dueByDay[day, default: 0] else { continue }
                try db.execute(PostgresQuery(unsafeSQL: "DROP TABLE \"\(name)\""))
                droppedDays.append(day)
                deleted += held
            }
            let rest = due.filter { !droppedDays.contains(Self.day(of: $0.1)) }.map(\.0)
            if !rest.isEmpty { deleted += try db.changes("DELETE FROM frame WHERE id = ANY(\(rest))") }
            if deleted > 0 { try audit(db, AuditEntry(actor: "retention", action: "deleted \(deleted) frame(s)", frameID: nil)) }
            return droppedDays + [deleted]
        }
        knownDays.withLock { $0.subtract(dropped.dropLast()) }
        return dropped.last ?? 0
    }

    public func deleteFrame(_ id: String, actor: String, reason: String) throws -> Bool {
        try connections.transaction { db -> Bool in
            // The table lock first, as retention takes it: one order of locks for every deletion.
            try db.execute("LOCK TABLE frame IN SHARE ROW EXCLUSIVE MODE")
            guard try db.execute("SELECT 1 FROM frame WHERE id = \(id) FOR UPDATE").first != nil else { return false }
            let patches = try db.execute("SELECT count(*) FROM frame WHERE background = \(id)").first.map { row in
                try decoding { try row.decode(Int.self) }
            } ?? 0
            guard patches == 0 else {
                throw MSAIError.invalidArgument("frame \(id) is the background of \(patches) stored patch frame(s); delete those first")
            }
            try destroyKeys(db, frames: [id])
            try db.execute("DELETE FROM frame WHERE id = \(id)")
            try audit(db, AuditEntry(actor: actor, action: "deleted", frameID: id, reason: reason))
            return true
        }
    }

    // MARK: audit

    /// Appends `entry` to the chain inside the caller's transaction, last thing before it commits:
    /// the advisory lock orders appends from every process (held to the commit, so take it last,
    /// after any row lock, and no two transactions wait on each other).
    private func audit(_ db: Session, _ entry: AuditEntry) throws {
        try db.execute("SELECT pg_advisory_xact_lock(\(Self.auditLock))")
        let last = try db.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").first.map { row in
            try decoding { try row.decode((Int, Data).self) }
        }
        let seq = (last?.0 ?? 0) + 1
        let previous = last.map { [UInt8]($0.1) } ?? AuditChain.start
        let at = entry.at.timeIntervalSince1970
        let mac = auditChain.link(seq: seq, at: at, actor: entry.actor, action: entry.action, frameID: entry.frameID, reason: entry.reason,
                                  previous: previous)
        try db.execute("""
            INSERT INTO audit (seq, at, actor, action, frame_id, reason, mac)
            VALUES (\(seq), \(at), \(entry.actor), \(entry.action), \(entry.frameID), \(entry.reason), \(Data(mac)))
            """)
    }

    public func appendAudit(_ entry: AuditEntry) throws {
        try connections.transaction { db in try audit(db, entry) }
    }

    public func auditLog(after seq: Int, limit: Int) throws -> [AuditEntry] {
        try connections.with { db in
            try db.execute("SELECT seq, at, actor, action, frame_id, reason, mac FROM audit WHERE seq > \(seq) ORDER BY seq LIMIT \(max(0, limit))").rows
        }.map(entry)
    }

    public func verifyAudit() throws -> AuditVerification { AuditVerification.check(try auditLog(), chain: auditChain) }

    private func entry(_ row: PostgresRow) throws -> AuditEntry {
        let (seq, at, actor, action, frameID, reason, mac) = try decoding {
            try row.decode((Int, Double, String, String, String?, String?, Data).self)
        }
        return AuditEntry(at: Date(timeIntervalSince1970: at), actor: actor, action: action, frameID: frameID, reason: reason, seq: seq,
                          mac: Hex.encode([UInt8](mac)))
    }

    /// A row that does not decode as this schema says is a damaged or foreign database.
    private func decoding<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw MSAIError.integrityFailure("\(location.description): a row does not have the form msai wrote (\(error))")
        }
    }
}
