import Crypto
import Foundation
import MSAICore
import Synchronization

/// The enrolled cameras, one identity each: a name and the SHA-256 of its token. The token is
/// shown once, when the device is added (`msai device add`), and kept by the camera alone; the
/// roles hold only hashes, so a copy of their files lets nobody act as a camera. The file (JSON,
/// mode 0600) is re-read when it changes, so a revocation takes effect within a second, without
/// a restart.
public final class DeviceRegistry: Sendable {
    public struct Device: Codable, Equatable, Sendable {
        public let name: String
        /// SHA-256 of the token, hex.
        public let tokenSHA256: String
        public let added: Date
        public var revoked: Date?

        /// How the audit log and listings tell devices' tokens apart without naming them.
        public var fingerprint: String { String(tokenSHA256.prefix(8)) }

        enum CodingKeys: String, CodingKey {
            case name, added, revoked
            case tokenSHA256 = "token_sha256"
        }
    }

    private struct File: Codable {
        var devices: [Device]
    }

    public let path: String
    /// How often the file is looked at for changes.
    public let recheck: Duration
    private struct Cache {
        var byHash: [String: Device] = [:]
        var modified: Date?
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
        return cache.withLock { cache in
            let now = ContinuousClock.now
            if cache.checked.map({ now - $0 >= recheck }) ?? true {
                cache.checked = now
                let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate]) as? Date
                if modified != cache.modified || cache.modified == nil, let devices = try? Self.read(path) {
                    cache.byHash = Dictionary(devices.filter { $0.revoked == nil }.map { ($0.tokenSHA256, $0) }, uniquingKeysWith: { a, _ in a })
                    cache.modified = modified
                }
            }
            return cache.byHash[hash]
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
        try checkName(name)
        var devices = FileManager.default.fileExists(atPath: path) ? try read(path) : []
        guard !devices.contains(where: { $0.name == name }) else {
            throw MSAIError.invalidArgument("device \(name) is already enrolled (msai device list); revoke it, or choose another name")
        }
        let token = Hex.encode(Array(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }))
        devices.append(Device(name: name, tokenSHA256: Hex.encode(Array(SHA256.hash(data: Array(token.utf8)))), added: now, revoked: nil))
        try write(devices, to: path)
        return token
    }

    /// Revokes device `name`: its token is refused from then on (the entry stays, for the record).
    public static func revoke(_ name: String, in path: String, now: Date = Date()) throws {
        var devices = try read(path)
        guard let index = devices.firstIndex(where: { $0.name == name }) else {
            throw MSAIError.invalidArgument("no device \(name) in \(path) (msai device list)")
        }
        guard devices[index].revoked == nil else { throw MSAIError.invalidArgument("device \(name) was already revoked") }
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
