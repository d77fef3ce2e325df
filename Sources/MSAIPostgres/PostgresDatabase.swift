import Foundation
import Logging
import MSAICore
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// Where a PostgreSQL database is, from a `postgres://user:password@host:port/database` URL.
///
/// `?sslmode=require` (or `verify-full`) connects over TLS and checks the server's certificate
/// against `sslrootcert` (a PEM file) or the system's roots; `disable` (the default) connects
/// in the clear and is accepted only for a server on loopback or a Unix socket (`?host=/path`),
/// because a data center's wrapped secrets and sealed frames would otherwise cross a network
/// unprotected.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var host: String
    public var port: Int
    public var unixSocket: String?
    public var user: String
    public var password: String?
    public var database: String
    public var requiresTLS: Bool
    public var rootCertificate: String?

    /// True for `postgres://` and `postgresql://` URLs.
    public static func names(_ database: String) -> Bool {
        database.hasPrefix("postgres://") || database.hasPrefix("postgresql://")
    }

    public init(url text: String) throws {
        func bad(_ why: String) -> MSAIError { .invalidArgument("\(Self.redacted(text)): \(why)") }
        guard Self.names(text), let url = URLComponents(string: text) else {
            throw bad("not a PostgreSQL URL (postgres://user:password@host:port/database)")
        }
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        for name in query.keys where !["sslmode", "sslrootcert", "host"].contains(name) {
            throw bad("unknown parameter '\(name)' (sslmode, sslrootcert and host are understood)")
        }
        if let given = query["host"], !given.hasPrefix("/") {
            throw bad("host= names a Unix socket's folder (/run/postgresql); a server's name or address goes before the port")
        }
        unixSocket = query["host"]
        host = url.host.flatMap { $0.isEmpty ? nil : $0 } ?? (unixSocket == nil ? "localhost" : "")
        port = url.port ?? 5432
        guard let user = url.user, !user.isEmpty else { throw bad("it names no user") }
        self.user = user
        password = url.password
        database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw bad("it names no database") }
        switch query["sslmode"] ?? "disable" {
        case "disable": requiresTLS = false
        case "require", "verify-full", "verify-ca": requiresTLS = true
        case let other: throw bad("sslmode '\(other)' is not one of disable, require, verify-ca, verify-full (the last three check the server's certificate)")
        }
        rootCertificate = query["sslrootcert"]
        if unixSocket != nil && requiresTLS { throw bad("a Unix socket does not speak TLS: drop sslmode, or name the server's host") }
        if rootCertificate != nil && !requiresTLS { throw bad("sslrootcert is used only with sslmode=require") }
        if unixSocket == nil && !requiresTLS && !LoopbackHost.contains(host) {
            throw bad("a database on another machine needs sslmode=require: without TLS the data center's secrets would cross the network in the clear")
        }
    }

    /// The URL without its password, for messages and logs. A URL too malformed to parse (a
    /// password with an unescaped / # ? or @ in it) loses everything between the user and the
    /// last @, or is shown as postgres://… when even that cannot be found.
    public static func redacted(_ text: String) -> String {
        if var url = URLComponents(string: text), url.password != nil {
            url.password = "***"
            return url.string ?? "postgres://…"
        }
        guard let scheme = text.range(of: "://") else { return "postgres://…" }
        let rest = text[scheme.upperBound...]
        guard let at = rest.lastIndex(of: "@") else { return text }
        let credentials = rest[..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(rest[at...])
    }

    /// What messages call it: never the password.
    public var description: String { "postgres://\(user)@\(unixSocket ?? "\(host):\(port)")/\(database)" }

    public var debugDescription: String { description }
    /// Without the password: `dump` and test failures print what `description` does.
    public var customMirror: Mirror { Mirror(self, children: ["url": description, "tls": requiresTLS]) }

    /// Set on every connection: READ COMMITTED whatever the server's default (the store relies on
    /// each statement seeing what committed before it), and bounds on every wait, so that a data
    /// center that died inside a transaction (holding the audit lock, say) stalls the others for
    /// seconds, not for the hours a dead TCP peer takes to notice.
    static let sessionSettings: [(String, String)] = [
        ("default_transaction_isolation", "read committed"),
        ("idle_in_transaction_session_timeout", "15s"),
        ("lock_timeout", "10s"),
        ("statement_timeout", "30s"),
        ("tcp_keepalives_idle", "10"),
        ("tcp_keepalives_interval", "5"),
        ("tcp_keepalives_count", "3"),
    ]

    func configuration() throws -> PostgresConnection.Configuration {
        if let socket = unixSocket {
            let path = socket.hasSuffix(".s.PGSQL.\(port)") ? socket : socket + "/.s.PGSQL.\(port)"
            var configuration = PostgresConnection.Configuration(unixSocketPath: path, username: user, password: password, database: database)
            configuration.options.additionalStartupParameters = Self.sessionSettings
            return configuration
        }
        var tls = PostgresConnection.Configuration.TLS.disable
        if requiresTLS {
            var settings = TLSConfiguration.makeClientConfiguration()
            settings.minimumTLSVersion = .tlsv12
            if let rootCertificate {
                do {
                    settings.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootCertificate))
                } catch {
                    throw MSAIError.invalidArgument("\(description): cannot read sslrootcert \(rootCertificate) (\(error))")
                }
            }
            tls = .require(try NIOSSLContext(configuration: settings))
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = Self.sessionSettings
        return configuration
    }
}

/// A few connections to one PostgreSQL database, used from blocking callers: the data center's
/// storage executor (its own threads, off the cooperative pool) and the command line. A call
/// takes an idle connection (or opens one), runs, and gives it back; a closed connection is
/// dropped and the next call opens a new one, so a database restart costs the calls in flight,
/// not the process.
final class PostgresConnections: Sendable {
    let location: PostgresLocation
    private let configuration: PostgresConnection.Configuration
    private let idle = Mutex<[PostgresConnection]>([])
    private let slots: DispatchSemaphore
    private let nextID = Atomic<Int>(1)
    private let logger = Logger(label: "msai.postgres")

    init(_ location: PostgresLocation, size: Int) throws {
        self.location = location
        configuration = try location.configuration()
        slots = DispatchSemaphore(value: max(1, size))
    }

    /// Runs `body` on a connection of its own.
    func with<T>(_ body: (Session) throws -> T) throws -> T {
        slots.wait()
        defer { slots.signal() }
        // An idle connection the server closed meanwhile (a restart) is dropped, not lent.
        let reused = idle.withLock { list -> PostgresConnection? in
            while let connection = list.popLast() { if !connection.isClosed { return connection } }
            return nil
        }
        let connection = try reused ?? open()
        let session = Session(connection: connection, logger: logger, location: location)
        defer {
            if !connection.isClosed && !session.spoiled.load(ordering: .relaxed) {
                idle.withLock { $0.append(connection) }
            } else if !connection.isClosed {
                connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
            }
        }
        return try body(session)
    }

    /// Runs `body` in a transaction (READ COMMITTED): committed if it returns, rolled back if
    /// it throws.
    func transaction<T>(_ body: (Session) throws -> T) throws -> T {
        try with { session in
            try session.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            do {
                let result = try body(session)
                try session.execute("COMMIT")
                return result
            } catch {
                // A connection whose transaction may still be open is never lent again.
                if (try? session.execute("ROLLBACK")) == nil { session.spoiled.store(true, ordering: .relaxed) }
                throw error
            }
        }
    }

    private func open() throws -> PostgresConnection {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        do {
            return try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: id,
                                                  logger: logger).wait()
        } catch {
            throw MSAIError.io("\(location.description): cannot connect to the database (\(Session.explain(error)))")
        }
    }

    func close() {
        for connection in idle.withLock({ list in defer { list = [] }; return list }) {
            try? connection.close().wait()
        }
    }

    // Without waiting (the last reference may go on an event loop, where waiting is forbidden);
    // each connection is kept until it has closed.
    deinit {
        for connection in idle.withLock({ $0 }) { connection.close().whenComplete { _ in withExtendedLifetime(connection) {} } }
    }
}

/// One connection, lent for one call.
final class Session {
    let connection: PostgresConnection
    let logger: Logger
    let location: PostgresLocation
    /// Set when the connection's state is unknown (a ROLLBACK failed): it is closed, not reused.
    let spoiled = Atomic<Bool>(false)

    init(connection: PostgresConnection, logger: Logger, location: PostgresLocation) {
        self.connection = connection
        self.logger = logger
        self.location = location
    }

    /// Runs `query` and collects its rows; a database error becomes msai's, naming the database.
    @discardableResult
    func execute(_ query: PostgresQuery) throws -> PostgresQueryResult {
        do {
            return try connection.query(query, logger: logger).wait()
        } catch {
            throw MSAIError.io("\(location.description): database error: \(Self.explain(error))")
        }
    }

    /// Rows changed by `query` (an UPDATE, INSERT or DELETE).
    func changes(_ query: PostgresQuery) throws -> Int { try execute(query).metadata.rows ?? 0 }

    static func explain(_ error: Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return "\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))" }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }
}
