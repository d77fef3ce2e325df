import Foundation
import Synchronization
import MSAICore
import MSAICrypto

/// Where the data center keeps membrane keys, taus, accepted frames and its audit log.
/// `InMemoryDataCenterStore` serves in-process evaluation; `SQLiteDataCenterStore` (MSAIStorage,
/// GRDB) the network service, where nothing acknowledged may be lost and every secret at rest is
/// wrapped under the master key.
///
/// What a store keeps of a frame is the sealed frame as received and its manifest: never a
/// recovered image. Recovery happens on read (`DataCenter.recoverOriginal`).
public protocol DataCenterStore: AnyObject, Sendable {
    /// Stores a key made for `device` (and `audit`, in the same transaction); throws
    /// `.alreadyUsed` if a key with this id was ever stored.
    func insertKey(_ record: MembraneKeyRecord, device: String?, audit: AuditEntry?) throws
    func key(_ id: MembraneID) throws -> StoredKey?
    /// Stores a τ issued to `device` (and `audit`, in the same transaction).
    func insertTau(_ grant: TauGrant, device: String?, audit: AuditEntry?) throws
    func tau(_ id: String) throws -> TauRecord?
    /// Forgets the taus and membrane keys issued before `date` that no frame used (used taus stay,
    /// without their seed once their frame is deleted, so that replays are still refused).
    func purgeUnused(issuedBefore date: Date) throws
    /// In one transaction: marks the frame's tau and membranes used, stores the frame and audits
    /// its acceptance by `actor`. Throws `.replay` (and changes nothing) if any was used meanwhile.
    func commit(_ frame: StoredFrame, tau: String, membranes: [MembraneID], actor: String) throws
    func frame(_ id: String) throws -> StoredFrame?
    func summary(_ id: String) throws -> FrameSummary?
    /// Stored frames, oldest first: at most `limit` of them, after the one `after` names (a
    /// page; `FrameSummary.cursor` of the last one asks for the next). Read from summary columns:
    /// nothing is unwrapped or decoded to list.
    func summaries(after: String?, limit: Int) throws -> [FrameSummary]
    func frameIDs() throws -> [String]
    /// Retention: deletes the frames received before `date` (except a background that a newer
    /// patch frame still needs), each with its τ seed and membrane keys, in one transaction, and
    /// audits it; returns how many.
    func deleteFrames(receivedBefore date: Date) throws -> Int
    /// Deletes one frame with its τ seed and membrane keys, audited; false if there is none.
    /// Refuses a frame that stored patch frames are composed onto.
    func deleteFrame(_ id: String, actor: String, reason: String) throws -> Bool
    /// Appends an entry to the audit chain: each entry's MAC covers it and the MAC before it,
    /// under a key derived from the master key.
    func appendAudit(_ entry: AuditEntry) throws
    /// Audit entries after sequence number `after` (0: from the start), at most `limit`.
    func auditLog(after: Int, limit: Int) throws -> [AuditEntry]
    /// Checks the whole chain: every MAC, every link, no gap in the sequence.
    func verifyAudit() throws -> AuditVerification
}

extension DataCenterStore {
    /// A key no device is bound to, unaudited (one process).
    public func insertKey(_ record: MembraneKeyRecord) throws { try insertKey(record, device: nil, audit: nil) }
    /// A τ no device is bound to, unaudited (one process).
    public func insertTau(_ grant: TauGrant) throws { try insertTau(grant, device: nil, audit: nil) }

    /// Every stored frame, oldest first, page by page.
    public func summaries() throws -> [FrameSummary] {
        var all: [FrameSummary] = []
        while true {
            let page = try summaries(after: all.last?.cursor, limit: 1000)
            all += page
            if page.count < 1000 { return all }
        }
    }

    /// Checks the whole chain and, with `exported` (an earlier `msai audit export`), that the log
    /// still holds each of those entries as it was.
    public func verifyAudit(against exported: [AuditEntry]) throws -> AuditVerification {
        let result = try verifyAudit()
        guard result.firstBroken == nil, let broken = AuditVerification.holds(exported, in: try auditLog()) else { return result }
        return AuditVerification(entries: result.entries, firstBroken: broken)
    }

    /// The whole audit log, oldest first.
    public func auditLog() throws -> [AuditEntry] {
        var all: [AuditEntry] = []
        while true {
            let page = try auditLog(after: all.last?.seq ?? 0, limit: 10_000)
            all += page
            if page.count < 10_000 { return all }
        }
    }
}

/// What a stored secret is bound to when it is wrapped under the master key (`MasterKey.wrap`'s
/// context), the same in every store: a wrapped secret moved to another row does not open there.
public enum SecretContext {
    public static func tau(_ id: String) -> String { "tau-seed:\(id)" }
    public static func key(_ id: String) -> String { "membrane-key:\(id)" }
    public static func manifest(_ id: String) -> String { "frame-manifest:\(id)" }
}

/// A membrane key as the data center keeps it: whether a frame used it, and which device it
/// was made for.
public struct StoredKey: Sendable, Equatable {
    public let record: MembraneKeyRecord
    public let used: Bool
    public let device: String?

    public init(record: MembraneKeyRecord, used: Bool, device: String?) {
        self.record = record
        self.used = used
        self.device = device
    }
}

/// What checking the audit chain found.
public struct AuditVerification: Sendable, Equatable {
    /// Entries checked.
    public let entries: Int
    /// The first entry whose MAC or link does not hold, with why; nil when all do.
    public let firstBroken: (seq: Int, why: String)?

    public init(entries: Int, firstBroken: (seq: Int, why: String)?) {
        self.entries = entries
        self.firstBroken = firstBroken
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.entries == b.entries && a.firstBroken?.seq == b.firstBroken?.seq && a.firstBroken?.why == b.firstBroken?.why
    }

    /// Checks that the log still holds `exported` (entries written out earlier, `msai audit
    /// export`) as they were: each with its number and MAC, the last one included, so that a log
    /// cut short or rewritten since is found. `log` is the whole log, already checked by `check`.
    public static func holds(_ exported: [AuditEntry], in log: [AuditEntry]) -> (seq: Int, why: String)? {
        for entry in exported {
            guard let seq = entry.seq, let mac = entry.mac else { return (entry.seq ?? 0, "the export's entry has no number or MAC") }
            guard seq >= 1, seq <= log.count else {
                return (seq, "the log ends at entry \(log.count), and the export holds entry \(seq): the log was cut short")
            }
            guard log[seq - 1].mac == mac else { return (seq, "the log's entry \(seq) is not the one exported: the log was rewritten") }
        }
        return nil
    }

    /// Checks `entries` (the whole log, in order) against `chain`: numbered 1, 2, 3… with no gap,
    /// and each MAC the link of its entry to the one before.
    public static func check(_ entries: [AuditEntry], chain: AuditChain) -> AuditVerification {
        var previous = AuditChain.start
        for (index, entry) in entries.enumerated() {
            let seq = index + 1
            guard entry.seq == seq else {
                return AuditVerification(entries: index, firstBroken: (entry.seq ?? 0, "expected entry \(seq) here: entries are missing"))
            }
            let expected = chain.link(seq: seq, at: entry.at.timeIntervalSince1970, actor: entry.actor, action: entry.action,
                                      frameID: entry.frameID, reason: entry.reason, previous: previous)
            guard entry.mac == Hex.encode(expected) else {
                return AuditVerification(entries: index, firstBroken: (seq, "its MAC does not match: the entry, or one before it, was changed"))
            }
            previous = expected
        }
        return AuditVerification(entries: entries.count, firstBroken: nil)
    }
}

/// A τ as the data center keeps it. `seed` is nil once the frame that used it was deleted: its
/// keys go with it, so nothing can recover it any more.
public struct TauRecord: Sendable, Equatable {
    public let id: String
    public let layout: BlockLayout
    public let seed: [UInt8]?
    public let used: Bool
    public let issuedAt: Date
    /// The device it was issued to (nil in one process): only that device's frame may use it.
    public let device: String?

    public init(id: String, layout: BlockLayout, seed: [UInt8]?, used: Bool, issuedAt: Date, device: String? = nil) {
        self.id = id
        self.layout = layout
        self.seed = seed
        self.used = used
        self.issuedAt = issuedAt
        self.device = device
    }
}

/// A frame the data center accepted: sealed as it arrived, and its manifest.
public struct StoredFrame: Sendable {
    public let id: String
    /// The frame as received: sealed under a key derived from its τ seed.
    public let sealed: [UInt8]
    public let manifest: FrameManifest
    public let receivedAt: Date
    /// The device that sent it (nil in one process).
    public let device: String?

    public init(id: String, sealed: [UInt8], manifest: FrameManifest, receivedAt: Date, device: String? = nil) {
        self.id = id
        self.sealed = sealed
        self.manifest = manifest
        self.receivedAt = receivedAt
        self.device = device
    }

    public var summary: FrameSummary {
        FrameSummary(frameID: id, width: manifest.recoveredWidth, height: manifest.recoveredHeight, channels: manifest.channels,
                     areas: manifest.areas.count, receivedAt: receivedAt, background: manifest.composition?.base, bytes: sealed.count,
                     device: device)
    }
}

/// What a reader may list about a stored frame.
public struct FrameSummary: Codable, Equatable, Sendable {
    public let frameID: String
    /// The size of the recovered frame (the background's, for a patch frame).
    public let width: Int
    public let height: Int
    public let channels: Int
    public let areas: Int
    public let receivedAt: Date
    /// For a patch frame (ROI-only transmission): the full frame it is composed onto.
    public let background: String?
    /// Bytes of the sealed frame.
    public let bytes: Int
    /// The device that sent it.
    public let device: String?

    public init(frameID: String, width: Int, height: Int, channels: Int, areas: Int, receivedAt: Date, background: String?, bytes: Int,
                device: String? = nil) {
        self.frameID = frameID
        self.width = width
        self.height = height
        self.channels = channels
        self.areas = areas
        self.receivedAt = receivedAt
        self.background = background
        self.bytes = bytes
        self.device = device
    }

    /// Where the page after this frame starts (`summaries(after:limit:)`): its time and id.
    public var cursor: String { "\(receivedAt.timeIntervalSince1970.bitPattern):\(frameID)" }

    enum CodingKeys: String, CodingKey {
        case width, height, channels, areas, background, bytes, device
        case frameID = "frame_id"
        case receivedAt = "received_at"
    }
}

/// Who did what to which frame, when, and why (a recoverer must say why). As read back, an
/// entry carries its place in the log and its link in the chain.
public struct AuditEntry: Codable, Equatable, Sendable {
    public let at: Date
    /// "edge:NAME" for a device, "viewer:1a2b3c4d" (a token's fingerprint) for a reader, the
    /// cloud, "retention", or "unauthenticated:ADDRESS".
    public let actor: String
    public let action: String
    public let frameID: String?
    public let reason: String?
    /// Its place in the log (from 1), once stored.
    public let seq: Int?
    /// HMAC-SHA-256 (hex) over this entry and the previous entry's MAC, once stored.
    public let mac: String?

    public init(at: Date = Date(), actor: String, action: String, frameID: String?, reason: String? = nil, seq: Int? = nil,
                mac: String? = nil) {
        self.at = at
        self.actor = actor
        self.action = action
        self.frameID = frameID
        self.reason = reason
        self.seq = seq
        self.mac = mac
    }

    enum CodingKeys: String, CodingKey {
        case at, actor, action, reason, seq, mac
        case atUnix = "at_unix"
        case frameID = "frame_id"
    }

    /// `at` twice: as a date (to the second, for people) and as seconds since 1970 exactly as the
    /// MAC covers it, so that an exported entry can be checked against the log (`msai audit
    /// verify --against`).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(at, forKey: .at)
        try c.encode(at.timeIntervalSince1970, forKey: .atUnix)
        try c.encode(actor, forKey: .actor)
        try c.encode(action, forKey: .action)
        try c.encode(frameID, forKey: .frameID)
        try c.encode(reason, forKey: .reason)
        try c.encodeIfPresent(seq, forKey: .seq)
        try c.encodeIfPresent(mac, forKey: .mac)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let at = try c.decodeIfPresent(Double.self, forKey: .atUnix).map { Date(timeIntervalSince1970: $0) } ?? c.decode(Date.self, forKey: .at)
        self.init(at: at, actor: try c.decode(String.self, forKey: .actor), action: try c.decode(String.self, forKey: .action),
                  frameID: try c.decodeIfPresent(String.self, forKey: .frameID), reason: try c.decodeIfPresent(String.self, forKey: .reason),
                  seq: try c.decodeIfPresent(Int.self, forKey: .seq), mac: try c.decodeIfPresent(String.self, forKey: .mac))
    }
}

/// Keeps everything in memory: for in-process evaluation and tests. Nothing reaches a disk.
public final class InMemoryDataCenterStore: DataCenterStore, Sendable {
    /// Everything the store holds, changed only under the lock.
    private struct State {
        var keys: [MembraneID: (record: MembraneKeyRecord, used: Bool, createdAt: Date, device: String?)] = [:]
        var taus: [String: TauRecord] = [:]
        var frames: [String: StoredFrame] = [:]
        var membranesOfFrame: [String: [MembraneID]] = [:]
        var order: [String] = []
        var audit: [AuditEntry] = []
        var lastMAC = AuditChain.start

        mutating func append(_ entry: AuditEntry, chain: AuditChain) {
            let seq = audit.count + 1, at = entry.at.timeIntervalSince1970
            let mac = chain.link(seq: seq, at: at, actor: entry.actor, action: entry.action, frameID: entry.frameID, reason: entry.reason,
                                 previous: lastMAC)
            lastMAC = mac
            audit.append(AuditEntry(at: Date(timeIntervalSince1970: at), actor: entry.actor, action: entry.action, frameID: entry.frameID,
                                    reason: entry.reason, seq: seq, mac: Hex.encode(mac)))
        }

        /// Forgets a frame with its τ seed and membrane keys (the τ id stays, used, to refuse replays).
        mutating func destroy(_ id: String) {
            frames[id] = nil
            order.removeAll { $0 == id }
            for key in membranesOfFrame.removeValue(forKey: id) ?? [] { keys[key] = nil }
            if let t = taus[id] { taus[id] = TauRecord(id: t.id, layout: t.layout, seed: nil, used: true, issuedAt: t.issuedAt, device: t.device) }
        }
    }

    private let state = Mutex(State())
    /// The audit chain's key: fresh for each store (nothing outlives it).
    private let chain = AuditChain.random()

    public init() {}

    public func insertKey(_ record: MembraneKeyRecord, device: String?, audit: AuditEntry?) throws {
        try state.withLock { s in
            guard s.keys[record.id] == nil else { throw MSAIError.alreadyUsed(.membraneKey(record.id.rawValue)) }
            s.keys[record.id] = (record, false, Date(), device)
            if let audit { s.append(audit, chain: chain) }
        }
    }

    public func key(_ id: MembraneID) throws -> StoredKey? {
        state.withLock { s in s.keys[id].map { StoredKey(record: $0.record, used: $0.used, device: $0.device) } }
    }

    public func insertTau(_ grant: TauGrant, device: String?, audit: AuditEntry?) throws {
        state.withLock { s in
            s.taus[grant.id] = TauRecord(id: grant.id, layout: grant.layout, seed: grant.seed, used: false, issuedAt: Date(), device: device)
            if let audit { s.append(audit, chain: chain) }
        }
    }

    public func tau(_ id: String) throws -> TauRecord? { state.withLock { $0.taus[id] } }

    public func purgeUnused(issuedBefore date: Date) throws {
        state.withLock { s in
            s.taus = s.taus.filter { $0.value.used || $0.value.issuedAt >= date }
            s.keys = s.keys.filter { $0.value.used || $0.value.createdAt >= date }
        }
    }

    public func commit(_ frame: StoredFrame, tau: String, membranes: [MembraneID], actor: String) throws {
        try state.withLock { s in
            guard let t = s.taus[tau], !t.used else { throw MSAIError.alreadyUsed(.tau(tau)) }
            for id in membranes where s.keys[id]?.used != false {
                throw MSAIError.alreadyUsed(.membrane(id.rawValue))
            }
            s.taus[tau] = TauRecord(id: t.id, layout: t.layout, seed: t.seed, used: true, issuedAt: t.issuedAt, device: t.device)
            for id in membranes { s.keys[id]?.used = true }
            s.frames[frame.id] = frame
            s.membranesOfFrame[frame.id] = membranes
            s.order.append(frame.id)
            s.append(AuditEntry(actor: actor, action: "accepted", frameID: frame.id), chain: chain)
        }
    }

    public func frame(_ id: String) throws -> StoredFrame? { state.withLock { $0.frames[id] } }
    public func summary(_ id: String) throws -> FrameSummary? { state.withLock { $0.frames[id]?.summary } }
    public func summaries(after cursor: String?, limit: Int) throws -> [FrameSummary] {
        state.withLock { s in
            let all = s.order.compactMap { s.frames[$0]?.summary }
            let start = cursor.flatMap { c in all.firstIndex { $0.cursor == c }.map { $0 + 1 } } ?? (cursor == nil ? 0 : all.count)
            return Array(all[start...].prefix(max(0, limit)))
        }
    }
    public func frameIDs() throws -> [String] { state.withLock { $0.order } }

    public func deleteFrames(receivedBefore date: Date) throws -> Int {
        state.withLock { s in
            let needed = Set(s.frames.values.filter { $0.receivedAt >= date }.compactMap { $0.manifest.composition?.base })
            let old = s.frames.values.filter { $0.receivedAt < date && !needed.contains($0.id) }.map(\.id)
            for id in old { s.destroy(id) }
            if !old.isEmpty { s.append(AuditEntry(actor: "retention", action: "deleted \(old.count) frame(s)", frameID: nil), chain: chain) }
            return old.count
        }
    }

    public func deleteFrame(_ id: String, actor: String, reason: String) throws -> Bool {
        try state.withLock { s in
            guard s.frames[id] != nil else { return false }
            let patches = s.frames.values.filter { $0.manifest.composition?.base == id }.map(\.id)
            guard patches.isEmpty else {
                throw MSAIError.invalidArgument("frame \(id) is the background of \(patches.count) stored patch frame(s); delete those first")
            }
            s.destroy(id)
            s.append(AuditEntry(actor: actor, action: "deleted", frameID: id, reason: reason), chain: chain)
            return true
        }
    }

    public func appendAudit(_ entry: AuditEntry) throws { state.withLock { $0.append(entry, chain: chain) } }

    public func auditLog(after seq: Int, limit: Int) throws -> [AuditEntry] {
        state.withLock { Array($0.audit.dropFirst(max(0, seq)).prefix(max(0, limit))) }
    }

    public func verifyAudit() throws -> AuditVerification { AuditVerification.check(state.withLock { $0.audit }, chain: chain) }
}
