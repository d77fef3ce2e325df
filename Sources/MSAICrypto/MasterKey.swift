import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MSAICore

/// The data center's master key: 256 bits kept outside its database (a 0600 file named in the
/// configuration, or MSAI_MASTER_KEY), under which every secret the database holds is wrapped:
/// τ seeds, membrane keys and frame manifests. A copy of the database without this key
/// recovers nothing.
///
///     wrapping key = HKDF-SHA-256(ikm = master, salt = "msai master key v1", info = "wrap")
///     check value  = HMAC-SHA-256(HKDF(…, info = "check"), "msai master key check")
///     wrapped(x)   = nonce (12) ‖ AES-256-GCM(wrapping key, nonce, x, associated data = context) ‖ tag (16)
///
/// The context names the row a secret belongs to ("tau-seed:ID", "membrane-key:ID", …), so a
/// wrapped value moved to another row does not open.
public struct MasterKey: Sendable {
    private let wrappingBytes: [UInt8]
    private var wrapping: SymmetricKey { SymmetricKey(data: wrappingBytes) }
    /// The audit chain's key (HKDF, info "audit chain").
    private let auditBytes: [UInt8]
    /// Stored in the database so that the wrong key is refused at start, before anything changes.
    public let checkValue: [UInt8]

    public init(bytes: [UInt8]) throws {
        guard bytes.count == 32 else { throw MSAIError.invalidArgument("a master key is 32 bytes (64 hex digits), got \(bytes.count) bytes") }
        let master = SymmetricKey(data: bytes)
        let salt = Array("msai master key v1".utf8)
        wrappingBytes = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, salt: salt, info: Array("wrap".utf8), outputByteCount: 32)
            .withUnsafeBytes { Array($0) }
        auditBytes = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, salt: salt, info: Array("audit chain".utf8), outputByteCount: 32)
            .withUnsafeBytes { Array($0) }
        let check = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, salt: salt, info: Array("check".utf8), outputByteCount: 32)
        checkValue = Array(HMAC<SHA256>.authenticationCode(for: Array("msai master key check".utf8), using: check))
    }

    /// The audit chain under this master key.
    public var auditChain: AuditChain { AuditChain(key: SymmetricKey(data: auditBytes)) }

    /// A key as 64 hex digits (surrounding whitespace ignored).
    public init(hex text: String, source: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count == 64, let bytes = Hex.decode(trimmed) else {
            throw MSAIError.invalidArgument("\(source): a master key is 64 hex digits; this is not one")
        }
        try self.init(bytes: bytes)
    }

    /// A fresh random key, as hex for its file.
    public static func generateHex() -> String {
        Hex.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    /// Reads a key file, refusing one that others can read (as ssh does with private keys).
    public static func load(file path: String) throws -> MasterKey {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw MSAIError.io("\(path): the data center's master key file does not exist (msai init makes one; see master_key_file)")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw MSAIError.io(
                "\(path): the master key file can be read by others (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 on it")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw MSAIError.io("\(path): cannot be read") }
        return try MasterKey(hex: String(decoding: data, as: UTF8.self), source: path)
    }

    public func wrap(_ secret: [UInt8], context: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(secret, using: wrapping, authenticating: Array(context.utf8))
        return Array(box.nonce) + Array(box.ciphertext) + Array(box.tag)
    }

    public func unwrap(_ wrapped: [UInt8], context: String) throws -> [UInt8] {
        guard wrapped.count >= 28 else { throw MSAIError.integrityFailure("\(context): the wrapped secret is truncated") }
        do {
            let box = try AES.GCM.SealedBox(
                nonce: try AES.GCM.Nonce(data: wrapped[..<12]), ciphertext: wrapped[12..<(wrapped.count - 16)],
                tag: wrapped[(wrapped.count - 16)...])
            return Array(try AES.GCM.open(box, using: wrapping, authenticating: Array(context.utf8)))
        } catch {
            throw MSAIError.integrityFailure("\(context): the wrapped secret does not open under this master key (altered, or moved from another row)")
        }
    }
}
