import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MSAICore
import MSAICrypto

/// Where the roles listen and the credentials each holds: written by `msai init` with fresh
/// random tokens; every field can be overridden by an environment variable.
///
/// Tokens: the cloud's (accepted by the data center for membrane keys), the enrolled edges'
/// (accepted by the cloud for membranes and by the data center for taus and frames), the
/// viewers' (the masked view of stored frames) and the recoverers' (originals, each read audited
/// with a reason; deletion; the audit log). The master key file holds the data center's master
/// key, under which its database's secrets are wrapped: only the data center's machine needs it.
public struct RoleConfiguration: Codable, Equatable, Sendable {
    public var cloudListen: String
    public var cloudURL: String
    public var dataCenterListen: String
    public var dataCenterURL: String
    public var database: String
    public var cloudToken: String
    public var edgeTokens: [String]
    public var viewerTokens: [String]
    public var recovererTokens: [String]
    /// Who may read `GET /metrics` on either role (a Prometheus scraper's bearer token).
    public var metricsTokens: [String] = []
    /// The data center's master key, 64 hex digits in a file of mode 0600 (MSAI_MASTER_KEY
    /// gives the key itself instead).
    public var masterKeyFile: String?
    /// Retention: the data center deletes frames older than this many seconds (nil: keeps them).
    public var retentionSeconds: Double?
    /// The largest frame, in pixels, the data center issues a τ for (nil: 16 MiP, 4096 × 4096);
    /// it sizes how much any peer may send it.
    public var maxFramePixels: Int?
    /// The deployment's private CA and the roles' certificates (`msai init` makes them): roles
    /// serve HTTPS with theirs, and every client pins the CA.
    public var tls: PrivateCA.Files?
    /// Plain HTTP, asked for, and only between processes of one machine (loopback).
    public var plaintextOnLoopback: Bool?
    /// The enrolled cameras (`msai device`): a name and a token's hash each. With it, the roles
    /// accept an edge only by its own token, and bind what it asks for to it; `edge_tokens` is
    /// then not accepted (msai 2.0's one shared token, kept in the clear).
    public var devicesFile: String?
    /// This edge's own token, which it presents (one of the registry's, given by `msai device add`).
    public var edgeToken: String?
    /// This edge's client certificate and key (PEM), for a camera enrolled with one (`msai device
    /// add --certificate`): it identifies itself by the certificate over TLS, and needs no token.
    public var edgeCertificate: String?
    public var edgeKey: String?

    /// The certificate this edge presents, when the configuration names both files.
    public var edgeIdentity: ClientIdentity? {
        guard let edgeCertificate, let edgeKey, !edgeCertificate.isEmpty, !edgeKey.isEmpty else { return nil }
        return ClientIdentity(certificate: edgeCertificate, key: edgeKey)
    }

    /// The token an edge run from this configuration presents.
    public var presentedEdgeToken: String? { edgeToken ?? edgeTokens.first }

    /// What an edge run from this configuration identifies itself by, to the roles at `urls`: its
    /// client certificate (over https only: plain HTTP has no certificates), else its token
    /// (then `identity` is nil).
    public func edgeCredential(for urls: [String], configPath: String) throws -> (token: String, identity: ClientIdentity?) {
        if let identity = edgeIdentity {
            for url in urls where !url.lowercased().hasPrefix("https://") {
                throw MSAIError.invalidArgument(
                    "\(configPath): this edge identifies itself by its certificate (edge_certificate), which needs https://, and \(url) is not")
            }
            return (edgeToken ?? "", identity)
        }
        guard let token = presentedEdgeToken, !token.isEmpty else {
            throw MSAIError.invalidArgument(
                "\(configPath): no edge token (edge_token, or MSAI_EDGE_TOKEN) and no edge certificate (edge_certificate and edge_key); msai device add makes either")
        }
        return (token, nil)
    }
    /// The shared edge tokens the roles still accept: none once there is a device registry.
    public var acceptedEdgeTokens: [String] { devicesFile == nil ? edgeTokens : [] }

    enum CodingKeys: String, CodingKey {
        case database
        case cloudListen = "cloud_listen"
        case cloudURL = "cloud_url"
        case dataCenterListen = "datacenter_listen"
        case dataCenterURL = "datacenter_url"
        case cloudToken = "cloud_token"
        case edgeTokens = "edge_tokens"
        case viewerTokens = "viewer_tokens"
        case recovererTokens = "recoverer_tokens"
        case metricsTokens = "metrics_tokens"
        case masterKeyFile = "master_key_file"
        case retentionSeconds = "retention_seconds"
        case maxFramePixels = "max_frame_pixels"
        case tls
        case plaintextOnLoopback = "plaintext_on_loopback"
        case devicesFile = "devices_file"
        case edgeToken = "edge_token"
        case edgeCertificate = "edge_certificate"
        case edgeKey = "edge_key"
    }

    public init(cloudListen: String, cloudURL: String, dataCenterListen: String, dataCenterURL: String, database: String,
                cloudToken: String, edgeTokens: [String], viewerTokens: [String], recovererTokens: [String],
                masterKeyFile: String?, retentionSeconds: Double? = nil, maxFramePixels: Int? = nil, tls: PrivateCA.Files? = nil,
                plaintextOnLoopback: Bool? = nil, devicesFile: String? = nil, edgeToken: String? = nil,
                edgeCertificate: String? = nil, edgeKey: String? = nil) {
        self.cloudListen = cloudListen
        self.cloudURL = cloudURL
        self.dataCenterListen = dataCenterListen
        self.dataCenterURL = dataCenterURL
        self.database = database
        self.cloudToken = cloudToken
        self.edgeTokens = edgeTokens
        self.viewerTokens = viewerTokens
        self.recovererTokens = recovererTokens
        self.masterKeyFile = masterKeyFile
        self.retentionSeconds = retentionSeconds
        self.maxFramePixels = maxFramePixels
        self.tls = tls
        self.plaintextOnLoopback = plaintextOnLoopback
        self.devicesFile = devicesFile
        self.edgeToken = edgeToken
        self.edgeCertificate = edgeCertificate
        self.edgeKey = edgeKey
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let legacy = try decoder.container(keyedBy: LegacyKeys.self)
        guard !legacy.contains(.readerTokens) else {
            throw MSAIError.invalidArgument(
                "it has reader_tokens, from msai 1. msai 2 has two kinds of reader: rename reader_tokens to recoverer_tokens (they recover originals, each read audited with a reason) or viewer_tokens (the masked view only), and add master_key_file; or make a fresh one with `msai init --force`")
        }
        self.init(
            cloudListen: try c.decode(String.self, forKey: .cloudListen), cloudURL: try c.decode(String.self, forKey: .cloudURL),
            dataCenterListen: try c.decode(String.self, forKey: .dataCenterListen),
            dataCenterURL: try c.decode(String.self, forKey: .dataCenterURL), database: try c.decode(String.self, forKey: .database),
            cloudToken: try c.decode(String.self, forKey: .cloudToken), edgeTokens: try c.decodeIfPresent([String].self, forKey: .edgeTokens) ?? [],
            viewerTokens: try c.decodeIfPresent([String].self, forKey: .viewerTokens) ?? [],
            recovererTokens: try c.decodeIfPresent([String].self, forKey: .recovererTokens) ?? [],
            masterKeyFile: try c.decodeIfPresent(String.self, forKey: .masterKeyFile),
            retentionSeconds: try c.decodeIfPresent(Double.self, forKey: .retentionSeconds),
            maxFramePixels: try c.decodeIfPresent(Int.self, forKey: .maxFramePixels),
            tls: try c.decodeIfPresent(PrivateCA.Files.self, forKey: .tls),
            plaintextOnLoopback: try c.decodeIfPresent(Bool.self, forKey: .plaintextOnLoopback),
            devicesFile: try c.decodeIfPresent(String.self, forKey: .devicesFile),
            edgeToken: try c.decodeIfPresent(String.self, forKey: .edgeToken),
            edgeCertificate: try c.decodeIfPresent(String.self, forKey: .edgeCertificate),
            edgeKey: try c.decodeIfPresent(String.self, forKey: .edgeKey))
        metricsTokens = try c.decodeIfPresent([String].self, forKey: .metricsTokens) ?? []
    }

    private enum LegacyKeys: String, CodingKey { case readerTokens = "reader_tokens" }

    /// A fresh configuration for one machine: loopback addresses, 256-bit random tokens, and the
    /// master key's file beside the configuration (not beside the database: a copy of the data
    /// folder must not carry its key). With `tls` the roles serve HTTPS under those certificates;
    /// without, plain HTTP on loopback, asked for.
    public static func fresh(cloudPort: Int = 8701, dataCenterPort: Int = 8702, database: String = "msai-data/datacenter.sqlite",
                             masterKeyFile: String = "msai.master.key", tls: PrivateCA.Files? = nil) -> RoleConfiguration
    {
        func token() -> String { Hex.encode(Array(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })) }
        let scheme = tls == nil ? "http" : "https"
        var fresh = RoleConfiguration(
            cloudListen: "127.0.0.1:\(cloudPort)", cloudURL: "\(scheme)://127.0.0.1:\(cloudPort)",
            dataCenterListen: "127.0.0.1:\(dataCenterPort)", dataCenterURL: "\(scheme)://127.0.0.1:\(dataCenterPort)",
            database: database, cloudToken: token(), edgeTokens: [token()], viewerTokens: [token()], recovererTokens: [token()],
            masterKeyFile: masterKeyFile, tls: tls, plaintextOnLoopback: tls == nil ? true : nil)
        fresh.metricsTokens = [token()]
        return fresh
    }

    /// The master key's file for a configuration at `configPath`: beside it, named after it.
    public static func masterKeyPath(besides configPath: String) -> String {
        let url = URL(fileURLWithPath: configPath)
        let name = url.deletingPathExtension().lastPathComponent + ".master.key"
        let folder = (configPath as NSString).deletingLastPathComponent
        return folder.isEmpty ? name : (folder as NSString).appendingPathComponent(name)
    }

    /// Writes a fresh master key to `path` (mode 0600); refuses to overwrite one, since every
    /// database made with it would become unreadable.
    public static func writeMasterKey(to path: String, overwrite: Bool = false) throws {
        guard overwrite || !FileManager.default.fileExists(atPath: path) else {
            throw MSAIError.io("\(path) already exists; a database made with it is unreadable without it, so it is kept (pass --force to replace it anyway)")
        }
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        try writePrivately(Data((MasterKey.generateHex() + "\n").utf8), to: path)
    }

    /// The data center's master key: MSAI_MASTER_KEY (64 hex digits), else the file
    /// `master_key_file` names. Without either the data center does not start.
    public func masterKey(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> MasterKey {
        if let hex = environment["MSAI_MASTER_KEY"] { return try MasterKey(hex: hex, source: "MSAI_MASTER_KEY") }
        guard let file = masterKeyFile, !file.isEmpty else {
            throw MSAIError.invalidArgument(
                "the data center needs its master key: set master_key_file in the configuration (msai init makes one) or MSAI_MASTER_KEY")
        }
        return try MasterKey.load(file: file)
    }

    /// Reads the file (if it exists) and applies the environment: MSAI_CLOUD_URL,
    /// MSAI_DATACENTER_URL, MSAI_CLOUD_LISTEN, MSAI_DATACENTER_LISTEN, MSAI_DATABASE,
    /// MSAI_CLOUD_TOKEN, MSAI_EDGE_TOKEN, MSAI_EDGE_CERTIFICATE, MSAI_EDGE_KEY, MSAI_VIEWER_TOKEN, MSAI_RECOVERER_TOKEN,
    /// MSAI_MASTER_KEY_FILE, MSAI_RETENTION_SECONDS, MSAI_MAX_FRAME_PIXELS (and MSAI_MASTER_KEY,
    /// read by `masterKey`).
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
        } else if ["MSAI_EDGE_TOKEN", "MSAI_CLOUD_TOKEN", "MSAI_VIEWER_TOKEN", "MSAI_RECOVERER_TOKEN"].contains(where: { environment[$0] != nil }) {
            configuration = RoleConfiguration(cloudListen: "127.0.0.1:8701", cloudURL: "http://127.0.0.1:8701",
                                              dataCenterListen: "127.0.0.1:8702", dataCenterURL: "http://127.0.0.1:8702",
                                              database: "msai-data/datacenter.sqlite", cloudToken: "", edgeTokens: [], viewerTokens: [],
                                              recovererTokens: [], masterKeyFile: nil)
        } else {
            throw MSAIError.io("\(path): no configuration (run `msai init` first, or set MSAI_* variables)")
        }
        if environment["MSAI_ALLOW_PLAINTEXT"] != nil {
            throw MSAIError.invalidArgument(
                "MSAI_ALLOW_PLAINTEXT is no longer read: the roles speak HTTPS under the deployment's own CA (msai init makes it), and plain HTTP only on loopback with plaintext_on_loopback: true. Unset it")
        }
        if let v = environment["MSAI_CLOUD_URL"] { configuration.cloudURL = v }
        if let v = environment["MSAI_DATACENTER_URL"] { configuration.dataCenterURL = v }
        if let v = environment["MSAI_CLOUD_LISTEN"] { configuration.cloudListen = v }
        if let v = environment["MSAI_DATACENTER_LISTEN"] { configuration.dataCenterListen = v }
        if let v = environment["MSAI_DATABASE"] { configuration.database = v }
        if let v = environment["MSAI_CLOUD_TOKEN"] { configuration.cloudToken = v }
        if let v = environment["MSAI_DEVICES_FILE"] { configuration.devicesFile = v }
        if let v = environment["MSAI_EDGE_TOKEN"] {
            configuration.edgeToken = v
            if configuration.devicesFile == nil { configuration.edgeTokens = [v] }
        }
        if let v = environment["MSAI_EDGE_CERTIFICATE"] { configuration.edgeCertificate = v }
        if let v = environment["MSAI_EDGE_KEY"] { configuration.edgeKey = v }
        if (configuration.edgeCertificate == nil) != (configuration.edgeKey == nil) {
            throw MSAIError.invalidArgument("\(path): edge_certificate and edge_key go together (msai device add --certificate writes both)")
        }
        if let v = environment["MSAI_VIEWER_TOKEN"] { configuration.viewerTokens = [v] }
        if let v = environment["MSAI_RECOVERER_TOKEN"] { configuration.recovererTokens = [v] }
        if let v = environment["MSAI_MASTER_KEY_FILE"] { configuration.masterKeyFile = v }
        if let v = environment["MSAI_RETENTION_SECONDS"] {
            guard let seconds = Double(v), seconds > 0 else {
                throw MSAIError.invalidArgument("MSAI_RETENTION_SECONDS must be a positive number of seconds, got '\(v)'")
            }
            configuration.retentionSeconds = seconds
        }
        if let r = configuration.retentionSeconds, !(r > 0) {
            throw MSAIError.invalidArgument("\(path): retention_seconds must be positive, got \(r)")
        }
        if let v = environment["MSAI_MAX_FRAME_PIXELS"] {
            guard let pixels = Int(v) else {
                throw MSAIError.invalidArgument("MSAI_MAX_FRAME_PIXELS must be a whole number of pixels, got '\(v)'")
            }
            configuration.maxFramePixels = pixels
        }
        if let p = configuration.maxFramePixels, !(1...(1 << 28)).contains(p) {
            throw MSAIError.invalidArgument("\(path): max_frame_pixels must lie in 1...268435456 (16384 x 16384), got \(p)")
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

    /// Whether `host` is loopback (`LoopbackHost.contains`).
    static func isLoopback(_ host: String) -> Bool { LoopbackHost.contains(host) }

    /// How a client may reach a role at `url`: https:// with the deployment's CA pinned (the CA
    /// file it returns), or plain http:// to loopback when the configuration asks for it (nil).
    /// τ seeds, membranes, keys and tokens cross this connection: nothing else is allowed.
    ///
    /// Several URLs, comma-separated, name processes of one role (data centers sharing one
    /// PostgreSQL database): each is checked alike, and clients move on to the next when one is
    /// gone.
    public func transport(_ url: String, role: String, setting: String? = nil) throws -> String? {
        let urls = url.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if urls.count > 1 {
            let trust = try urls.map { try transport($0, role: role, setting: setting) }
            guard Set(trust.map { $0 ?? "" }).count == 1 else {
                throw MSAIError.invalidArgument("\(role) URLs '\(url)' mix https and plain http; the processes of one role are reached alike")
            }
            return trust[0]
        }
        let named = setting.map { " (\($0))" } ?? ""
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else {
            throw MSAIError.invalidArgument("\(role) URL '\(url)'\(named) is not a URL like https://127.0.0.1:8702")
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw MSAIError.invalidArgument("\(role) URL '\(url)': port \(port) is out of range; a port must lie in 1…65535")
        }
        switch scheme {
        case "https":
            guard let ca = tls?.trust(for: role), !ca.isEmpty else {
                throw MSAIError.invalidArgument(
                    "\(role) URL '\(url)' is https, but the configuration names no CA to trust (tls.ca); msai init makes the deployment's CA")
            }
            return ca
        case "http":
            guard Self.isLoopback(host) else {
                throw MSAIError.invalidArgument(
                    "\(role) URL '\(url)'\(named) is plain HTTP to another machine: τ seeds, keys and tokens would travel in the clear. Use https:// with the deployment's certificates (msai init makes them)")
            }
            guard plaintextOnLoopback == true else {
                throw MSAIError.invalidArgument(
                    "\(role) URL '\(url)'\(named) is plain HTTP; msai speaks it only on loopback, and only when the configuration says plaintext_on_loopback: true. Use https:// (msai init makes the certificates)")
            }
            return nil
        default:
            throw MSAIError.invalidArgument("\(role) URL '\(url)'\(named): msai speaks https (or http on loopback), not \(scheme)")
        }
    }

    /// Where role `role` (the cloud or the data center) listens, and how: with TLS from its
    /// certificate and key, or plain HTTP on a loopback address when the configuration asks for
    /// it. A server reachable from other machines without TLS is refused, saying why.
    public func listening(_ address: String, role: String, field: String) throws -> (host: String, port: Int, tls: ServerTLSFiles?) {
        let (host, port) = try HostAndPort.parse(address, field: field)
        let files = role == "cloud" ? (tls?.cloudCertificate, tls?.cloudKey) : (tls?.dataCenterCertificate, tls?.dataCenterKey)
        if let certificate = files.0, let key = files.1 {
            return (host, port, ServerTLSFiles(certificate: certificate, key: key, clientCA: tls?.ca))
        }
        guard Self.isLoopback(host) else {
            throw MSAIError.invalidArgument(
                "the \(role) would listen on \(address) (\(field)) without TLS: τ seeds, keys and tokens would cross the network in the clear. Give it a certificate (msai init makes them: tls in the configuration), or listen on 127.0.0.1")
        }
        guard plaintextOnLoopback == true else {
            throw MSAIError.invalidArgument(
                "the \(role) has no certificate (tls in the configuration) and plain HTTP was not asked for; msai init makes the certificates, or set plaintext_on_loopback: true to serve plain HTTP on loopback")
        }
        return (host, port, nil)
    }

    /// Throws when a token a role relies on is too short to be a secret.
    public func checkTokens() throws {
        let named = [("cloud_token", cloudToken)] + edgeTokens.map { ("an edge token", $0) } + [edgeToken].compactMap { $0.map { ("edge_token", $0) } } + viewerTokens.map { ("a viewer token", $0) }
            + recovererTokens.map { ("a recoverer token", $0) }
        let shared = Set(viewerTokens).intersection(recovererTokens).filter { !$0.isEmpty }
        guard shared.isEmpty else {
            throw MSAIError.invalidArgument("a token is both a viewer's and a recoverer's; give each reader one kind")
        }
        for (name, token) in named where !token.isEmpty && token.count < 32 {
            throw MSAIError.invalidArgument("\(name) is only \(token.count) characters; use at least 32 (msai init makes 64)")
        }
    }

    /// "host:port" split, with a message naming the field when malformed.
    public static func hostAndPort(_ text: String, field: String) throws -> (host: String, port: Int) {
        try HostAndPort.parse(text, field: field)
    }
}
