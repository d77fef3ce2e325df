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
public struct PostgresLocation: Sendable, Equatable {
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
        unixSocket = query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
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
        case let other: throw bad("sslmode '\(other)' is not one of disable, require, verify-full")
        }
        rootCertificate = query["sslrootcert"]
        if let socket = unixSocket {
            if let unix = query["host"], unix != socket { throw bad("host= must name a Unix socket's folder or file") }
        } else if !requiresTLS && !LoopbackHost.contains(host) {
            throw bad("a database on another machine needs sslmode=require: without TLS the data center's secrets would cross the network in the clear")
        }
    }

    /// The URL without its password, for messages and logs.
    public static func redacted(_ text: String) -> String {
        guard var url = URLComponents(string: text), url.password != nil else { return text }
        url.password = "***"
        return url.string ?? "postgres://…"
    }

    /// What messages call it.
    public var description: String { "postgres://\(user)@\(unixSocket ?? "\(host):\(port)")/\(database)" }

    func configuration() throws -> PostgresConnection.Configuration {
        if let socket = unixSocket {
            let path = socket.hasSuffix(".s.PGSQL.\(port)") ? socket : socket + "/.s.PGSQL.\(port)"
            return .init(unixSocketPath: path, username: user, password: password, database: database)
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
        let connection = try idle.withLock { $0.popLast() } ?? open()
        defer {
            if connection.isClosed { } else { idle.withLock { $0.append(connection) } }
        }
        return try body(Session(connection: connection, logger: logger, location: location))
    }

    /// Runs `body` in a transaction (READ COMMITTED): committed if it returns, rolled back if
    /// it throws.
    func transaction<T>(_ body: (Session) throws -> T) throws -> T {
        try with { session in
            try session.execute("BEGIN")
            do {
                let result = try body(session)
                try session.execute("COMMIT")
                return result
            } catch {
                _ = try? session.execute("ROLLBACK")
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

    deinit { close() }
}

/// One connection, lent for one call.
struct Session {
    let connection: PostgresConnection
    let logger: Logger
    let location: PostgresLocation

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
