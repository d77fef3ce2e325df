import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MSAICore

/// Where the roles listen and the credentials each holds: written by `msai init` with fresh
/// random tokens; every field can be overridden by an environment variable.
///
/// Tokens: the cloud's (accepted by the data center for membrane keys), the enrolled edges'
/// (accepted by the cloud for membranes and by the data center for taus and frames), and the
/// readers' (accepted by the data center for recovered frames and the audit log).
public struct RoleConfiguration: Codable, Equatable, Sendable {
    public var cloudListen: String
    public var cloudURL: String
    public var dataCenterListen: String
    public var dataCenterURL: String
    public var database: String
    public var cloudToken: String
    public var edgeTokens: [String]
    public var readerTokens: [String]
    /// Retention: the data center deletes frames older than this many seconds (nil: keeps them).
    public var retentionSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case database
        case cloudListen = "cloud_listen"
        case cloudURL = "cloud_url"
        case dataCenterListen = "datacenter_listen"
        case dataCenterURL = "datacenter_url"
        case cloudToken = "cloud_token"
        case edgeTokens = "edge_tokens"
        case readerTokens = "reader_tokens"
        case retentionSeconds = "retention_seconds"
    }

    /// A fresh configuration for one machine: loopback addresses, 256-bit random tokens.
    public static func fresh(cloudPort: Int = 8701, dataCenterPort: Int = 8702, database: String = "msai-data/datacenter.sqlite")
        -> RoleConfiguration
    {
        func token() -> String { Hex.encode(Array(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })) }
        return RoleConfiguration(
            cloudListen: "127.0.0.1:\(cloudPort)", cloudURL: "http://127.0.0.1:\(cloudPort)",
            dataCenterListen: "127.0.0.1:\(dataCenterPort)", dataCenterURL: "http://127.0.0.1:\(dataCenterPort)",
            database: database, cloudToken: token(), edgeTokens: [token()], readerTokens: [token()])
    }

    /// Reads the file (if it exists) and applies the environment: MSAI_CLOUD_URL,
    /// MSAI_DATACENTER_URL, MSAI_CLOUD_LISTEN, MSAI_DATACENTER_LISTEN, MSAI_DATABASE,
    /// MSAI_CLOUD_TOKEN, MSAI_EDGE_TOKEN, MSAI_READER_TOKEN, MSAI_RETENTION_SECONDS.
    public static func load(_ path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> RoleConfiguration
    {
        var configuration: RoleConfiguration
        if let data = FileManager.default.contents(atPath: path) {
            do {
                configuration = try JSONDecoder().decode(RoleConfiguration.self, from: data)
            } catch {
                throw MSAIError.invalidArgument("\(path): not an msai configuration: \(describe(error))")
            }
        } else if environment["MSAI_EDGE_TOKEN"] != nil || environment["MSAI_CLOUD_TOKEN"] != nil || environment["MSAI_READER_TOKEN"] != nil {
            configuration = RoleConfiguration(cloudListen: "127.0.0.1:8701", cloudURL: "http://127.0.0.1:8701",
                                              dataCenterListen: "127.0.0.1:8702", dataCenterURL: "http://127.0.0.1:8702",
                                              database: "msai-data/datacenter.sqlite", cloudToken: "", edgeTokens: [], readerTokens: [])
        } else {
            throw MSAIError.io("\(path): no configuration (run `msai init` first, or set MSAI_* variables)")
        }
        if let v = environment["MSAI_CLOUD_URL"] { configuration.cloudURL = v }
        if let v = environment["MSAI_DATACENTER_URL"] { configuration.dataCenterURL = v }
        if let v = environment["MSAI_CLOUD_LISTEN"] { configuration.cloudListen = v }
        if let v = environment["MSAI_DATACENTER_LISTEN"] { configuration.dataCenterListen = v }
        if let v = environment["MSAI_DATABASE"] { configuration.database = v }
        if let v = environment["MSAI_CLOUD_TOKEN"] { configuration.cloudToken = v }
        if let v = environment["MSAI_EDGE_TOKEN"] { configuration.edgeTokens = [v] }
        if let v = environment["MSAI_READER_TOKEN"] { configuration.readerTokens = [v] }
        if let v = environment["MSAI_RETENTION_SECONDS"] {
            guard let seconds = Double(v), seconds > 0 else {
                throw MSAIError.invalidArgument("MSAI_RETENTION_SECONDS must be a positive number of seconds, got '\(v)'")
            }
            configuration.retentionSeconds = seconds
        }
        if let r = configuration.retentionSeconds, !(r > 0) {
            throw MSAIError.invalidArgument("\(path): retention_seconds must be positive, got \(r)")
        }
        try configuration.checkTokens()
        return configuration
    }

    /// Writes the file readable by its owner only; refuses to overwrite an existing one.
    public func write(to path: String, overwrite: Bool = false) throws {
        guard overwrite || !FileManager.default.fileExists(atPath: path) else {
            throw MSAIError.io("\(path) already exists; pass --force to replace it (its tokens stop working)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Self.writePrivately(try encoder.encode(self), to: path)
    }

    /// Writes `data` to a temporary file created with mode 0600 (never readable by others, not even
    /// for a moment), syncs it, and renames it over `path`.
    static func writePrivately(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY, 0o600)
        guard fd >= 0 else { throw MSAIError.io("\(temporary): cannot be created (\(String(cString: strerror(errno))))") }
        let written = data.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == data.count, synced == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw MSAIError.io("\(path): cannot be written")
        }
    }

    /// msai speaks plain HTTP: membranes, tau seeds and tokens cross the wire in the clear. So a
    /// role may only be reached over loopback, unless MSAI_ALLOW_PLAINTEXT=1 says the network
    /// between the machines is trusted (or a TLS-terminating proxy sits on loopback in front).
    public static func checkTransport(_ url: String, role: String,
                                      environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else {
            throw MSAIError.invalidArgument("\(role) URL '\(url)' is not a URL like http://127.0.0.1:8702")
        }
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
        guard scheme == "http" else {
            throw MSAIError.invalidArgument("\(role) URL '\(url)': msai speaks http only; put TLS in a proxy on loopback")
        }
        guard loopback || environment["MSAI_ALLOW_PLAINTEXT"] == "1" else {
            throw MSAIError.invalidArgument(
                "\(role) URL '\(url)' is not on loopback: keys and tokens would travel in the clear. Use a TLS proxy on loopback, or set MSAI_ALLOW_PLAINTEXT=1 on a trusted network")
        }
    }

    /// Throws when a token a role relies on is too short to be a secret.
    public func checkTokens() throws {
        for (name, token) in [("cloud_token", cloudToken)] + edgeTokens.map { ("an edge token", $0) } + readerTokens.map { ("a reader token", $0) }
        where !token.isEmpty && token.count < 32 {
            throw MSAIError.invalidArgument("\(name) is only \(token.count) characters; use at least 32 (msai init makes 64)")
        }
    }

    /// "host:port" split, with a message naming the field when malformed.
    public static func hostAndPort(_ text: String, field: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw MSAIError.invalidArgument("\(field) '\(text)' is not of the form host:port")
        }
        return (String(text[..<colon]), port)
    }
}
