import ArgumentParser
import Foundation
import MSAICore
import MSAINetwork
import MSAIPostgres
import MSAIRoles
import MSAIStorage

/// Options every networked command shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "The roles' configuration (written by `msai init`); MSAI_* variables override it.")
    var path: String = "msai.json"

    func load() throws -> RoleConfiguration { try RoleConfiguration.load(path) }
}

/// How a running role logs: one line per request and per retention pass, with the device, τ,
/// frame and membrane it concerned.
struct LogOptions: ParsableArguments {
    @Option(help: ArgumentHelp("text, or json: one JSON object per line, for a log system.", valueName: "format"))
    var logFormat = "text"
    @Option(help: ArgumentHelp("The least level logged: info (every request), notice (refusals, retention), warning, error.", valueName: "level"))
    var logLevel = "notice"

    func validate() throws {
        guard LogFormat(rawValue: logFormat) != nil else { throw ValidationError("--log-format must be text or json, got '\(logFormat)'") }
    }

    /// Sends the roles' logs to standard error as asked.
    func start() throws { try startLogging(format: LogFormat(rawValue: logFormat) ?? .text, level: logLevel) }
}

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a configuration with fresh tokens, the deployment's certificates, and the master key.",
        discussion: """
            The file (mode 0600) holds the addresses the roles listen on and the credentials: the cloud's token \
            (the data center accepts membrane keys only with it), the enrolled edges' tokens (for membranes, \
            taus and frames), the viewers' tokens (the masked view of stored frames) and the recoverers' \
            tokens (originals, each read audited with the reason given; deleting frames; the audit log).

            Beside it, NAME.master.key (mode 0600) holds the data center's master key: every secret in its \
            database is wrapped under it, so a copy of the database without it recovers nothing. Only the \
            data center's machine needs it; keep it out of the database's backups, and back it up apart: \
            without it the stored frames cannot be read.

            In NAME-tls/ it makes the deployment's own certificate authority and a certificate for \
            each role: the roles serve HTTPS, and every client trusts this CA alone (tls.ca). \
            ca-key.pem signs certificates and nothing else: keep it off the role machines. With \
            --host, the roles listen on every address and the certificates also name those hosts; \
            without, they listen on 127.0.0.1. --plaintext-on-loopback makes no certificates: plain \
            HTTP, which msai speaks only on loopback.

            On several machines, copy to each role only what it needs, or set MSAI_CLOUD_TOKEN, \
            MSAI_EDGE_TOKEN, MSAI_VIEWER_TOKEN, MSAI_RECOVERER_TOKEN, MSAI_MASTER_KEY (or \
            MSAI_MASTER_KEY_FILE), MSAI_CLOUD_URL, MSAI_DATACENTER_URL, MSAI_CLOUD_LISTEN, \
            MSAI_DATACENTER_LISTEN and MSAI_DATABASE.

            Examples:
              msai init
              msai init --config lab.json --cloud-port 9701 --datacenter-port 9702
              msai init --host dc.example.org --host 192.0.2.10
            """)

    @OptionGroup var config: ConfigOptions
    @Flag(help: "Replace an existing configuration (its tokens stop working).") var force = false
    @Option(parsing: .unconditional, help: "Port of the cloud.") var cloudPort = 8701
    @Option(parsing: .unconditional, help: "Port of the data center.") var datacenterPort = 8702
    @Option(help: ArgumentHelp("The data center's database: a SQLite file, or postgres://user:password@host/database.",
                               discussion: "PostgreSQL lets several data-center processes share one database (docs/DEPLOYING.md).",
                               valueName: "path-or-url")) var database = "msai-data/datacenter.sqlite"
    @Option(name: .customLong("host"), help: ArgumentHelp("A name or address other machines reach the roles at (repeatable).", valueName: "host"))
    var hosts: [String] = []
    @Flag(help: "No certificates: plain HTTP, on loopback only.") var plaintextOnLoopback = false

    func validate() throws {
        for (option, port) in [("--cloud-port", cloudPort), ("--datacenter-port", datacenterPort)] where !(0...65535).contains(port) {
            throw ValidationError("\(option) \(port): a port must lie in 1…65535 (or be 0: any free port)")
        }
        guard cloudPort != datacenterPort || cloudPort == 0 else {
            throw ValidationError("--cloud-port and --datacenter-port are both \(cloudPort): the cloud and the data center need a port each")
        }
        guard !(plaintextOnLoopback && !hosts.isEmpty) else {
            throw ValidationError("--host and --plaintext-on-loopback do not go together: other machines are reached over TLS only")
        }
    }

    /// The folder of the deployment's certificates: beside the configuration, named after it.
    var tlsFolder: String { sibling("-tls") }

    /// A path beside the configuration, named after it: "msai" + `suffix`.
    func sibling(_ suffix: String) -> String {
        let url = URL(fileURLWithPath: config.path)
        let name = url.deletingPathExtension().lastPathComponent + suffix
        let folder = (config.path as NSString).deletingLastPathComponent
        return folder.isEmpty ? name : (folder as NSString).appendingPathComponent(name)
    }

    func run() throws {
        do {
            let keyFile = RoleConfiguration.masterKeyPath(besides: config.path)
            guard force || !FileManager.default.fileExists(atPath: config.path) else {
                throw MSAIError.io("\(config.path) already exists; pass --force to replace it (its tokens stop working)")
            }
            // An existing key is kept even with --force: a database made with it needs it.
            let keptKey = FileManager.default.fileExists(atPath: keyFile)
            if !keptKey { try RoleConfiguration.writeMasterKey(to: keyFile) }
            let tls = plaintextOnLoopback ? nil : try PrivateCA.create(in: tlsFolder, hosts: hosts)
            var c = RoleConfiguration.fresh(cloudPort: cloudPort, dataCenterPort: datacenterPort, database: database,
                                            masterKeyFile: keyFile, tls: tls)
            // One identity per camera: a registry holding hashes, its first camera this machine's edge.
            let devices = sibling("-devices.json")
            if force { try? FileManager.default.removeItem(atPath: devices) }
            c.edgeToken = try DeviceRegistry.add("camera-1", to: devices)
            (c.devicesFile, c.edgeTokens) = (devices, [])
            if let host = hosts.first {
                let named = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
                (c.cloudListen, c.dataCenterListen) = ("0.0.0.0:\(cloudPort)", "0.0.0.0:\(datacenterPort)")
                (c.cloudURL, c.dataCenterURL) = ("https://\(named):\(cloudPort)", "https://\(named):\(datacenterPort)")
            }
            try c.write(to: config.path, overwrite: force)
            print("wrote \(config.path) with fresh tokens (cloud on \(c.cloudListen), data center on \(c.dataCenterListen), database \(describeDatabase(database)))")
            print("enrolled camera-1 in \(devices) (its token is this configuration's edge_token; msai device add enrolls more)")
            if let tls {
                print("wrote the deployment's CAs and the roles' certificates to \(tlsFolder)/: a client of the data center trusts \(tls.trust(for: "data center")) alone, of the cloud \(tls.trust(for: "cloud")); keep the CA keys (*-ca-key.pem, ca-key.pem) off the role machines")
            } else {
                print("no certificates: the roles speak plain HTTP, on loopback only")
            }
            print(keptKey ? "kept the data center's master key in \(keyFile)" : "wrote the data center's master key to \(keyFile): back it up apart from the database; without it stored frames cannot be read")
        } catch let error as MSAIError {
            throw fail(error)
        }
    }
}

/// The data center's store the configuration names: PostgreSQL for a `postgres://` URL (several
/// data centers may share it), otherwise the SQLite file at that path.
func openDataCenterStore(_ c: RoleConfiguration) throws -> DataCenterStore {
    if PostgresLocation.names(c.database) {
        return try PostgresDataCenterStore(url: c.database, masterKey: try c.masterKey())
    }
    let store = try SQLiteDataCenterStore(path: c.database, masterKey: try c.masterKey())
    if store.migratedFrames > 0 {
        print("migrated \(store.migratedFrames) frame(s) of an msai 1 database: secrets wrapped under the master key, recovered images dropped")
    }
    return store
}

/// Opens the data center's store and starts the data center service from a configuration.
func startDataCenter(_ c: RoleConfiguration) async throws -> DataCenterServer {
    let store = try openDataCenterStore(c)
    return try await listening(field: "datacenter_listen") {
        // Retention passes are logged by the service (msai.datacenter), with the rest of its events.
        try await DataCenterServer.start(c, store: store)
    }
}

/// Starts the cloud service from a configuration; it reaches the data center at `dataCenterURL`.
func startCloud(_ c: RoleConfiguration, dataCenterURL: String) async throws -> CloudServer {
    try await listening(field: "cloud_listen") { try await CloudServer.start(c, dataCenterURL: dataCenterURL) }
}

/// Starts a server, saying which setting moves it when it cannot listen.
private func listening<Server>(field: String, _ start: () async throws -> Server) async throws -> Server {
    do {
        return try await start()
    } catch MSAIError.io(let message) {
        throw MSAIError.io("\(message) (\(field) in the configuration, or MSAI_\(field.uppercased()))")
    }
}

struct Cloud: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The cloud platform: issues membranes to enrolled edges, hands the keys to the data center.",
        subcommands: [CloudServe.self])
}

struct CloudServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the cloud until Ctrl-C or SIGTERM.")
    @OptionGroup var config: ConfigOptions
    @OptionGroup var logging: LogOptions

    func run() async throws {
        try logging.start()
        try await serveUntilTerminated(config) { c in
            let server = try await startCloud(c, dataCenterURL: c.dataCenterURL).server
            return (server, "cloud listening on \(server.url) (keys go to the data center at \(c.dataCenterURL))", "cloud stopped")
        }
    }
}

struct DataCenterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datacenter",
        abstract: "The data center: issues taus, keeps sealed frames, serves the masked view to viewers and originals to recoverers.",
        subcommands: [DataCenterServe.self])
}

struct DataCenterServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the data center until Ctrl-C or SIGTERM.",
        discussion: """
            Several data centers may serve one PostgreSQL database at once (the configuration's
            database, or --database postgres://USER:PASSWORD@HOST/DATABASE), each on its own address:
              msai datacenter serve --listen 127.0.0.1:8703
            """)
    @OptionGroup var config: ConfigOptions
    @Option(help: ArgumentHelp("The database, instead of the configuration's: a SQLite file or a postgres:// URL.", valueName: "path-or-url"))
    var database: String?
    @Option(help: ArgumentHelp("Listen here instead of the configuration's datacenter_listen.", valueName: "host:port"))
    var listen: String?
    @OptionGroup var logging: LogOptions

    func run() async throws {
        try logging.start()
        try await serveUntilTerminated(config) { loaded in
            var c = loaded
            if let database { c.database = database }
            if let listen { c.dataCenterListen = listen }
            let server = try await startDataCenter(c).server
            return (server, "data center listening on \(server.url) (database \(describeDatabase(c.database)))", "data center stopped")
        }
    }
}

/// The database as messages show it: a PostgreSQL URL without its password.
func describeDatabase(_ database: String) -> String {
    PostgresLocation.names(database) ? PostgresLocation.redacted(database) : database
}

/// Loads the configuration, starts one role, says where it listens, runs until SIGINT or
/// SIGTERM, then stops it gracefully. Errors become one line and exit status 1.
func serveUntilTerminated(_ config: ConfigOptions,
                          _ start: (RoleConfiguration) async throws -> (RunningServer, String, String)) async throws {
    do {
        let (server, started, stopped) = try await start(try config.load())
        print(started)
        fflush(nil)  // a supervisor reading a pipe needs the line now
        await waitForTerminationSignal()
        await server.stop()
        print(stopped)
    } catch let error as MSAIError {
        throw fail(error)
    }
}

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the cloud and the data center on this machine until Ctrl-C or SIGTERM.",
        discussion: """
            Example (the second and third lines in two terminals):
              msai init
              msai up
              msai edge Datasets --verify
            """)
    @OptionGroup var config: ConfigOptions
    @OptionGroup var logging: LogOptions

    func run() async throws {
        do {
            try logging.start()
            let c = try config.load()
            let cloudAddress = try RoleConfiguration.hostAndPort(c.cloudListen, field: "cloud_listen")
            let dataCenterAddress = try RoleConfiguration.hostAndPort(c.dataCenterListen, field: "datacenter_listen")
            guard cloudAddress.port == 0 || cloudAddress.port != dataCenterAddress.port || cloudAddress.host != dataCenterAddress.host else {
                throw MSAIError.invalidArgument(
                    "\(config.path): cloud_listen and datacenter_listen are both \(c.cloudListen); the two roles need a port each")
            }
            let dataCenter = try await startDataCenter(c)
            let cloud = try await startCloud(c, dataCenterURL: dataCenter.url)
            print("data center listening on \(dataCenter.url) (database \(describeDatabase(c.database)))")
            print("cloud listening on \(cloud.url)")
            print("stop with Ctrl-C or SIGTERM")
            fflush(nil)
            await waitForTerminationSignal()
            await cloud.stop()
            await dataCenter.stop()
            print("stopped")
        } catch let error as MSAIError {
            throw fail(error)
        }
    }
}
