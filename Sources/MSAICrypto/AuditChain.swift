import Crypto
import Foundation
import MSAICore

/// The audit log's chain: each entry's MAC is HMAC-SHA-256, under a key only the master key
/// gives, over the entry's fields and the MAC of the entry before it. Whoever copies or edits the
/// database without the master key cannot change, drop or insert an entry (or cut the log short
/// before an exported copy's last entry) without breaking every MAC after it.
public struct AuditChain: Sendable {
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    public init(key: SymmetricKey) { keyBytes = key.withUnsafeBytes { Array($0) } }

    /// A chain under a fresh random key, for a log that lives in memory only.
    public static func random() -> AuditChain { AuditChain(key: SymmetricKey(size: .bits256)) }

    /// The MAC before the first entry.
    public static let start = [UInt8](repeating: 0, count: 32)

    /// The MAC of one entry: its fields, each with its length, then the previous MAC.
    public func link(seq: Int, at: Double, actor: String, action: String, frameID: String?, reason: String?, previous: [UInt8]) -> [UInt8] {
        var message: [UInt8] = Array("msai audit v1".utf8)
        func field(_ bytes: [UInt8]) {
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { message += $0 }
            message += bytes
        }
        withUnsafeBytes(of: Int64(seq).bigEndian) { message += $0 }
        withUnsafeBytes(of: at.bitPattern.bigEndian) { message += $0 }
        field(Array(actor.utf8))
        field(Array(action.utf8))
        field(frameID.map { [1] + Array($0.utf8) } ?? [0])
        field(reason.map { [1] + Array($0.utf8) } ?? [0])
        field(previous)
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }
}
