import Foundation
import Synchronization
import MSAICore

/// Where the data center keeps membrane keys, taus, accepted frames and its audit log.
/// `InMemoryDataCenterStore` serves in-process evaluation; `SQLiteDataCenterStore` (MSAIStorage,
/// GRDB) the network service, where nothing acknowledged may be lost and every secret at rest is
/// wrapped under the master key.
///
/// What a store keeps of a frame is the sealed frame as received and its manifest: never a
/// recovered image. Recovery happens on read (`DataCenter.recoverOriginal`).
public protocol DataCenterStore: AnyObject, Sendable {
    /// Stores a key; throws `.replay` if a key with this id was ever stored.
    func insertKey(_ record: MembraneKeyRecord) throws
    func key(_ id: MembraneID) throws -> (record: MembraneKeyRecord, used: Bool)?
    func insertTau(_ grant: TauGrant) throws
    func tau(_ id: String) throws -> TauRecord?
    /// Forgets the taus and membrane keys issued before `date` that no frame used (used taus stay,
    /// without their seed once their frame is deleted, so that replays are still refused).
    func purgeUnused(issuedBefore date: Date) throws
    /// In one transaction: marks the frame's tau and membranes used, stores the frame and audits
    /// its acceptance by `actor`. Throws `.replay` (and changes nothing) if any was used meanwhile.
    func commit(_ frame: StoredFrame, tau: String, membranes: [MembraneID], actor: String) throws
    func frame(_ id: String) throws -> StoredFrame?
    func summary(_ id: String) throws -> FrameSummary?
    /// Every stored frame, oldest first.
    func summaries() throws -> [FrameSummary]
    func frameIDs() throws -> [String]
    /// Retention: deletes the frames received before `date` (except a background that a newer
    /// patch frame still needs), each with its τ seed and membrane keys, in one transaction, and
    /// audits it; returns how many.
    func deleteFrames(receivedBefore date: Date) throws -> Int
    /// Deletes one frame with its τ seed and membrane keys, audited; false if there is none.
    /// Refuses a frame that stored patch frames are composed onto.
    func deleteFrame(_ id: String, actor: String, reason: String) throws -> Bool
    func appendAudit(_ entry: AuditEntry) throws
    func auditLog(limit: Int) throws -> [AuditEntry]
}

/// A τ as the data center keeps it. `seed` is nil once the frame that used it was deleted: its
/// keys go with it, so nothing can recover it any more.
public struct TauRecord: Sendable, Equatable {
    public let id: String
    public let layout: BlockLayout
    public let seed: [UInt8]?
    public let used: Bool
    public let issuedAt: Date

    public init(id: String, layout: BlockLayout, seed: [UInt8]?, used: Bool, issuedAt: Date) {
        self.id = id
        self.layout = layout
        self.seed = seed
        self.used = used
        self.issuedAt = issuedAt
    }
}

/// A frame the data center accepted: sealed as it arrived, and its manifest.
public struct StoredFrame: Sendable {
    public let id: String
    /// The frame as received: sealed under a key derived from its τ seed.
    public let sealed: [UInt8]
    public let manifest: FrameManifest
    public let receivedAt: Date

    public init(id: String, sealed: [UInt8], manifest: FrameManifest, receivedAt: Date) {
        self.id = id
        self.sealed = sealed
        self.manifest = manifest
        self.receivedAt = receivedAt
    }

    public var summary: FrameSummary {
        FrameSummary(frameID: id, width: manifest.recoveredWidth, height: manifest.recoveredHeight, channels: manifest.channels,
                     areas: manifest.areas.count, receivedAt: receivedAt, background: manifest.composition?.base, bytes: sealed.count)
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

    public init(frameID: String, width: Int, height: Int, channels: Int, areas: Int, receivedAt: Date, background: String?, bytes: Int) {
        self.frameID = frameID
        self.width = width
        self.height = height
        self.channels = channels
        self.areas = areas
        self.receivedAt = receivedAt
        self.background = background
        self.bytes = bytes
    }

    enum CodingKeys: String, CodingKey {
        case width, height, channels, areas, background, bytes
        case frameID = "frame_id"
        case receivedAt = "received_at"
    }
}

/// Who did what to which frame, when, and why (a recoverer must say why).
public struct AuditEntry: Codable, Equatable, Sendable {
    public let at: Date
    public let actor: String
    public let action: String
    public let frameID: String?
    public let reason: String?

    public init(at: Date = Date(), actor: String, action: String, frameID: String?, reason: String? = nil) {
        self.at = at
        self.actor = actor
        self.action = action
        self.frameID = frameID
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case at, actor, action, reason
        case frameID = "frame_id"
    }
}

/// Keeps everything in memory: for in-process evaluation and tests. Nothing reaches a disk.
public final class InMemoryDataCenterStore: DataCenterStore, Sendable {
    /// Everything the store holds, changed only under the lock.
    private struct State {
        var keys: [MembraneID: (record: MembraneKeyRecord, used: Bool, createdAt: Date)] = [:]
        var taus: [String: TauRecord] = [:]
        var frames: [String: StoredFrame] = [:]
        var membranesOfFrame: [String: [MembraneID]] = [:]
        var order: [String] = []
        var audit: [AuditEntry] = []

        /// Forgets a frame with its τ seed and membrane keys (the τ id stays, used, to refuse replays).
        mutating func destroy(_ id: String) {
            frames[id] = nil
            order.removeAll { $0 == id }
            for key in membranesOfFrame.removeValue(forKey: id) ?? [] { keys[key] = nil }
            if let t = taus[id] { taus[id] = TauRecord(id: t.id, layout: t.layout, seed: nil, used: true, issuedAt: t.issuedAt) }
        }
    }

    private let state = Mutex(State())

    public init() {}

    public func insertKey(_ record: MembraneKeyRecord) throws {
        try state.withLock { s in
            guard s.keys[record.id] == nil else { throw MSAIError.alreadyUsed(.membraneKey(record.id.rawValue)) }
            s.keys[record.id] = (record, false, Date())
        }
    }

    public func key(_ id: MembraneID) throws -> (record: MembraneKeyRecord, used: Bool)? {
        state.withLock { s in s.keys[id].map { ($0.record, $0.used) } }
    }

    public func insertTau(_ grant: TauGrant) throws {
        state.withLock { $0.taus[grant.id] = TauRecord(id: grant.id, layout: grant.layout, seed: grant.seed, used: false, issuedAt: Date()) }
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
            s.taus[tau] = TauRecord(id: t.id, layout: t.layout, seed: t.seed, used: true, issuedAt: t.issuedAt)
            for id in membranes { s.keys[id]?.used = true }
            s.frames[frame.id] = frame
            s.membranesOfFrame[frame.id] = membranes
            s.order.append(frame.id)
            s.audit.append(AuditEntry(actor: actor, action: "accepted", frameID: frame.id))
        }
    }

    public func frame(_ id: String) throws -> StoredFrame? { state.withLock { $0.frames[id] } }
    public func summary(_ id: String) throws -> FrameSummary? { state.withLock { $0.frames[id]?.summary } }
    public func summaries() throws -> [FrameSummary] { state.withLock { s in s.order.compactMap { s.frames[$0]?.summary } } }
    public func frameIDs() throws -> [String] { state.withLock { $0.order } }

    public func deleteFrames(receivedBefore date: Date) throws -> Int {
        state.withLock { s in
            let needed = Set(s.frames.values.filter { $0.receivedAt >= date }.compactMap { $0.manifest.composition?.base })
            let old = s.frames.values.filter { $0.receivedAt < date && !needed.contains($0.id) }.map(\.id)
            for id in old { s.destroy(id) }
            if !old.isEmpty { s.audit.append(AuditEntry(actor: "retention", action: "deleted \(old.count) frame(s)", frameID: nil)) }
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
            s.audit.append(AuditEntry(actor: actor, action: "deleted", frameID: id, reason: reason))
            return true
        }
    }

    public func appendAudit(_ entry: AuditEntry) throws { state.withLock { $0.audit.append(entry) } }

    public func auditLog(limit: Int) throws -> [AuditEntry] { state.withLock { Array($0.audit.suffix(limit)) } }
}
