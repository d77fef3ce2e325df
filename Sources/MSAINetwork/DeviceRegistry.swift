import Crypto
import Foundation
import MSAICore
import Synchronization

/// The enrolled cameras, one identity each: a name and the SHA-256 of its token, or of its client
/// certificate (`msai device add --certificate`: mutual TLS, under the deployment's CA). A token
/// is shown once, when the device is added, and a certificate's key is written once, for the
/// camera alone; the roles hold only hashes, so a copy of their files lets nobody act as a
/// camera. The file (JSON, mode 0600) is re-read when it changes, so a revocation takes effect
/// within a second, without a restart (a revoked certificate still completes a TLS handshake,
/// since the CA signed it; every request on that connection is refused).
public final class DeviceRegistry: Sendable {
    public struct Device: Codable, Equatable, Sendable {
        public let name: String
        /// SHA-256 of the token, hex (a device enrolled by token).
        public let tokenSHA256: String?
        /// SHA-256 of the client certificate's DER, hex (a device enrolled with a certificate).
        public let certificateSHA256: String?
        public let added: Date
        public var revoked: Date?

        /// How the audit log and listings tell devices' credentials apart without naming them.
        public var fingerprint: String { String((tokenSHA256 ?? certificateSHA256 ?? "").prefix(8)) }
        /// "token" or "certificate": how the device identifies itself.
        public var credential: String { certificateSHA256 != nil ? "certificate" : "token" }

        enum CodingKeys: String, CodingKey {
            case name, added, revoked
            case tokenSHA256 = "token_sha256"
            case certificateSHA256 = "certificate_sha256"
        }
    }

    private struct File: Codable {
        var devices: [Device]
    }

    public let path: String
    /// How often the file is looked at for changes.
    public let recheck: Duration
    private struct Stamp: Equatable {
        let inode: Int?
        let size: Int?
        let modified: Date?
    }

    private struct Cache {
        var byHash: [String: Device] = [:]
        var byCertificate: [String: Device] = [:]
        /// What the file was when last read: replaced (inode), resized or touched means read again.
        var stamp: Stamp?
        var checked: ContinuousClock.Instant?
    }
    private let cache = Mutex(Cache())

    /// The registry at `path`; it must exist (`msai init` or `msai device add` makes it).
    public init(path: String, recheck: Duration = .seconds(1)) throws {
        self.path = path
        self.recheck = recheck
        _ = try Self.read(path)
    }

    /// The enrolled, unrevoked device whose token is `token`, if any.
    public func device(presenting token: [UInt8]) -> Device? {
        let hash = Hex.encode(Array(SHA256.hash(data: token)))
        return current { $0.byHash[hash] }
    }

    /// The enrolled, unrevoked device whose client certificate (DER) this is, if any.
    public func device(presentingCertificate der: [UInt8]) -> Device? {
        let hash = Hex.encode(Array(SHA256.hash(data: der)))
        return current { $0.byCertificate[hash] }
    }

    /// Reads `lookup` from the devices as the file holds them, looked at again once `recheck` has passed.
    private func current(_ lookup: (Cache) -> Device?) -> Device? {
        cache.withLock { cache in
            let now = ContinuousClock.now
            if cache.checked.map({ now - $0 >= recheck }) ?? true {
                cache.checked = now
                let attributes = try? FileManager.default.attributesOfItem(atPath: path)
                let stamp = Stamp(inode: (attributes?[.systemFileNumber] as? NSNumber)?.intValue,
                                  size: (attributes?[.size] as? NSNumber)?.intValue, modified: attributes?[.modificationDate] as? Date)
                if stamp != cache.stamp || attributes == nil {
                    // A file that cannot be read or parsed (a slip in a hand edit, a deleted file)
                    // admits no device until it is fixed: a revocation must not fail open.
                    let active = ((try? Self.read(path)) ?? []).filter { $0.revoked == nil }
                    cache.byHash = Dictionary(active.compactMap { d in d.tokenSHA256.map { ($0, d) } }, uniquingKeysWith: { a, _ in a })
                    cache.byCertificate = Dictionary(active.compactMap { d in d.certificateSHA256.map { ($0, d) } },
                                                     uniquingKeysWith: { a, _ in a })
                    cache.stamp = stamp
                }
            }
            return lookup(cache)
        }
    }

    // MARK: managing the file (msai device)

    /// Every device in the file, revoked ones too.
    public static func read(_ path: String) throws -> [Device] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MSAIError.io("\(path): no device registry (msai init makes one; msai device add adds to it)")
        }
        do {
            return try JSONDecoder.withDates.decode(File.self, from: data).devices
        } catch {
            throw MSAIError.invalidArgument("\(path): not an msai device registry: \(describe(error))")
        }
    }

    /// Adds device `name` with a fresh 256-bit token, which it returns: the only time it is seen.
    public static func add(_ name: String, to path: String, now: Date = Date()) throws -> String {
        let token = Hex.encode(Array(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }))
        try enroll(Device(name: name, tokenSHA256: Hex.encode(Array(SHA256.hash(data: Array(token.utf8)))), certificateSHA256: nil,
                          added: now, revoked: nil), in: path)
        return token
    }

    /// Adds device `name` with a client certificate the deployment's CA (`tls`, with its key)
    /// signs for it: writes `NAME.pem` and `NAME-key.pem` (0600) into `folder` and returns their
    /// paths. The registry keeps the certificate's hash; the key is nowhere else.
    public static func addWithCertificate(_ name: String, to path: String, tls: PrivateCA.Files, folder: String,
                                          now: Date = Date()) throws -> ClientIdentity {
        try checkName(name)
        guard !(try existing(path)).contains(where: { $0.name == name }) else { throw alreadyEnrolled(name) }
        let (identity, der) = try PrivateCA.issueDevice(name, tls: tls, folder: folder, now: now)
        try enroll(Device(name: name, tokenSHA256: nil, certificateSHA256: Hex.encode(Array(SHA256.hash(data: der))), added: now,
                          revoked: nil), in: path)
        return identity
    }

    private static func enroll(_ device: Device, in path: String) throws {
        try checkName(device.name)
        var devices = try existing(path)
        guard !devices.contains(where: { $0.name == device.name }) else { throw alreadyEnrolled(device.name) }
        devices.append(device)
        try write(devices, to: path)
    }

    private static func existing(_ path: String) throws -> [Device] {
        FileManager.default.fileExists(atPath: path) ? try read(path) : []
    }

    private static func alreadyEnrolled(_ name: String) -> MSAIError {
        .invalidArgument("device \(name) is already enrolled (msai device list); revoke it, or choose another name")
    }

    /// Revokes device `name`: its token is refused from then on (the entry stays, for the record).
    public static func revoke(_ name: String, in path: String, now: Date = Date()) throws {
        var devices = try read(path)
        guard let index = devices.firstIndex(where: { $0.name == name }) else {
            throw MSAIError.invalidArgument("no device \(name) in \(path) (msai device list)")
        }
        guard devices[index].revoked == nil else { throw MSAIError.invalidArgument("device \(name) was already revoked") }
        // Revoked devices keep their names, so a name cannot be reused for a new camera.
        devices[index].revoked = now
        try write(devices, to: path)
    }

    static func write(_ devices: [Device], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        try RoleConfiguration.writePrivately(try encoder.encode(File(devices: devices)), to: path)
    }

    /// A device's name: what the audit log and the listings show; 1 to 64 letters, digits, '.', '_' or '-'.
    static func checkName(_ name: String) throws {
        guard (1...64).contains(name.count), name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw MSAIError.invalidArgument("'\(name)' cannot name a device: use 1 to 64 letters, digits, '.', '_' or '-'")
        }
    }
}

extension JSONDecoder {
    static var withDates: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
