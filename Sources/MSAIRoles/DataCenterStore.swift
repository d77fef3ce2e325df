import Foundation
import MSAICore

/// Where the data center keeps membrane keys, taus, accepted frames and its audit log.
/// `InMemoryDataCenterStore` serves in-process evaluation; `SQLiteDataCenterStore` (MSAIStorage,
/// GRDB) the network service, where nothing acknowledged may be lost.
public protocol DataCenterStore: AnyObject {
    /// Stores a key; throws `.replay` if a key with this id was ever stored.
    func insertKey(_ record: MembraneKeyRecord) throws
    func key(_ id: MembraneID) throws -> (record: MembraneKeyRecord, used: Bool)?
    func insertTau(_ grant: TauGrant) throws
    func tau(_ id: String) throws -> (grant: TauGrant, used: Bool, issuedAt: Date)?
    /// Forgets taus issued before `date` that no frame used (used ones stay, to refuse replays).
    func purgeUnusedTaus(issuedBefore date: Date) throws
    /// In one transaction: marks the frame's tau and membranes used, stores the frame and audits
    /// its acceptance by `actor`. Throws `.replay` (and changes nothing) if any was used meanwhile.
    func commit(_ frame: StoredFrame, tau: String, membranes: [MembraneID], actor: String) throws
    func frame(_ id: String) throws -> StoredFrame?
    func frameIDs() throws -> [String]
    /// Retention: deletes the frames received before `date` and audits it; returns how many.
    func deleteFrames(receivedBefore date: Date) throws -> Int
    func appendAudit(actor: String, action: String, frameID: String?) throws
    func auditLog(limit: Int) throws -> [AuditEntry]
}

/// A frame the data center accepted: the masked frame as received and its recovery.
public struct StoredFrame: Sendable {
    public let id: String
    public let maskedFrame: [UInt8]
    public let recovered: PixelBuffer
    public let manifest: FrameManifest
    public let receivedAt: Date
    /// What recovering it cost, step by step (not persisted).
    public let timings: StepTimings

    public init(id: String, maskedFrame: [UInt8], recovered: PixelBuffer, manifest: FrameManifest, receivedAt: Date,
                timings: StepTimings) {
        self.id = id
        self.maskedFrame = maskedFrame
        self.recovered = recovered
        self.manifest = manifest
        self.receivedAt = receivedAt
        self.timings = timings
    }
}

/// Who did what to which frame, when.
public struct AuditEntry: Codable, Equatable, Sendable {
    public let at: Date
    public let actor: String
    public let action: String
    public let frameID: String?

    public init(at: Date, actor: String, action: String, frameID: String?) {
        self.at = at
        self.actor = actor
        self.action = action
        self.frameID = frameID
    }

    enum CodingKeys: String, CodingKey {
        case at, actor, action
        case frameID = "frame_id"
    }
}

/// Keeps everything in memory: for in-process evaluation and tests.
public final class InMemoryDataCenterStore: DataCenterStore, @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [MembraneID: (record: MembraneKeyRecord, used: Bool)] = [:]
    private var taus: [String: (grant: TauGrant, used: Bool, issuedAt: Date)] = [:]
    private var frames: [String: StoredFrame] = [:]
    private var order: [String] = []
    private var audit: [AuditEntry] = []

    public init() {}

    public func insertKey(_ record: MembraneKeyRecord) throws {
        try lock.withLock {
            guard keys[record.id] == nil else { throw MSAIError.replay("membrane key \(record.id) was already deposited") }
            keys[record.id] = (record, false)
        }
    }

    public func key(_ id: MembraneID) throws -> (record: MembraneKeyRecord, used: Bool)? { lock.withLock { keys[id] } }

    public func insertTau(_ grant: TauGrant) throws { lock.withLock { taus[grant.id] = (grant, false, Date()) } }

    public func tau(_ id: String) throws -> (grant: TauGrant, used: Bool, issuedAt: Date)? { lock.withLock { taus[id] } }

    public func purgeUnusedTaus(issuedBefore date: Date) throws {
        lock.withLock { taus = taus.filter { $0.value.used || $0.value.issuedAt >= date } }
    }

    public func commit(_ frame: StoredFrame, tau: String, membranes: [MembraneID], actor: String) throws {
        try lock.withLock {
            guard let t = taus[tau], !t.used else { throw MSAIError.replay("tau \(tau) was already used by another frame") }
            for id in membranes where keys[id]?.used != false {
                throw MSAIError.replay("membrane \(id) was already used")
            }
            taus[tau]?.used = true
            for id in membranes { keys[id]?.used = true }
            frames[frame.id] = frame
            order.append(frame.id)
            audit.append(AuditEntry(at: Date(), actor: actor, action: "accepted", frameID: frame.id))
        }
    }

    public func frame(_ id: String) throws -> StoredFrame? { lock.withLock { frames[id] } }
    public func frameIDs() throws -> [String] { lock.withLock { order } }

    public func deleteFrames(receivedBefore date: Date) throws -> Int {
        lock.withLock {
            let old = Set(frames.values.filter { $0.receivedAt < date }.map(\.id))
            for id in old { frames[id] = nil }
            order.removeAll { old.contains($0) }
            if !old.isEmpty { audit.append(AuditEntry(at: Date(), actor: "retention", action: "deleted \(old.count) frame(s)", frameID: nil)) }
            return old.count
        }
    }

    public func appendAudit(actor: String, action: String, frameID: String?) throws {
        lock.withLock { audit.append(AuditEntry(at: Date(), actor: actor, action: action, frameID: frameID)) }
    }

    public func auditLog(limit: Int) throws -> [AuditEntry] { lock.withLock { Array(audit.suffix(limit)) } }
}
