import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Network failures in the words of the person who has to fix them. SwiftNIO's own descriptions
/// ("connection reset (error set): Connection refused) (errno: 111)") name the system call that
/// failed, not what it means or what to do next.
enum TransportErrors {
    /// What went wrong talking to a server, in a few words.
    static func plainWords(_ error: Error) -> String {
        if let tls = tlsFailure(error) { return tls }
        if let e = error as? HTTPClientError {
            if e == .connectTimeout { return "no connection within the connect timeout (is the address right, or is a firewall dropping it?)" }
            if e == .deadlineExceeded { return "no reply within the deadline" }
            if e == .readTimeout { return "the server stopped answering mid-reply" }
            if e == .remoteConnectionClosed { return "the server closed the connection" }
            if e == .invalidURL { return "the URL is not valid" }
            return "\(e)"
        }
        if let e = error as? NIOConnectionError {
            if let first = e.connectionErrors.first { return plainWords(first.error) }
            if e.dnsAError != nil || e.dnsAAAAError != nil { return "the host name does not resolve" }
            return "no connection could be made"
        }
        if let e = error as? IOError { return words(errno: e.errnoCode) ?? "\(e)" }
        if error is SocketAddressError { return "the host name does not resolve" }
        if let e = error as? ChannelError, case .connectTimeout = e {
            return "no connection within the connect timeout"
        }
        return "\(error)"
    }

    /// Whether the failure means nothing answered at the address (as opposed to a server that
    /// answered and then failed): the edge stops rather than failing every frame the same way.
    static func isUnreachable(_ error: Error) -> Bool {
        // A server we cannot trust is as good as none: every request would fail the same way.
        if tlsFailure(error) != nil { return true }
        if let e = error as? HTTPClientError, e == .connectTimeout { return true }
        if let e = error as? NIOConnectionError {
            return e.connectionErrors.isEmpty || e.connectionErrors.allSatisfy { isUnreachable($0.error) }
        }
        if let e = error as? IOError { return [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL].contains(e.errnoCode) }
        if let e = error as? ChannelError, case .connectTimeout = e { return true }
        return error is SocketAddressError
    }

    /// Why a server could not listen on host:port, and what to do about it.
    static func bindFailure(_ error: Error, host: String, port: Int) -> String {
        let code = (error as? IOError)?.errnoCode
        switch code {
        case EADDRINUSE?:
            return "port \(port) is taken by another process (another `msai up`?); stop it, or choose another port"
        case EADDRNOTAVAIL?:
            return "\(host) is not an address of this machine"
        case EACCES?:
            return "permission denied: ports below 1024 need root; choose a port in 1024…65535"
        default:
            if error is SocketAddressError { return "the host name \(host) does not resolve" }
            return code.flatMap { words(errno: $0) } ?? "\(error)"
        }
    }

    private static func words(errno code: Int32) -> String? {
        switch code {
        case ECONNREFUSED: return "connection refused: nothing listens at that address"
        case ECONNRESET: return "the server reset the connection"
        case EHOSTUNREACH: return "the host is unreachable"
        case ENETUNREACH: return "the network is unreachable"
        case ETIMEDOUT: return "the connection timed out"
        case EPIPE: return "the server closed the connection"
        case EADDRNOTAVAIL: return "the address is not available"
        default: return nil
        }
    }

    /// A TLS failure in the words of whoever must fix the configuration, or nil.
    /// The server's alert when it would not take the client certificate we presented.
    private static func refusedClientCertificate(_ detail: String) -> String? {
        let alerts = ["ALERT_DECRYPT_ERROR", "ALERT_UNKNOWN_CA", "ALERT_BAD_CERTIFICATE", "ALERT_CERTIFICATE_UNKNOWN", "ALERT_UNSUPPORTED_CERTIFICATE"]
        guard alerts.contains(where: detail.contains) else { return nil }
        return "it refused our client certificate (edge_certificate): the deployment's CA did not sign it, or it is not a client's; msai device add --certificate makes one"
    }

    static func tlsFailure(_ error: Error) -> String? {
        if let e = error as? NIOSSLExtraError, e == .failedToValidateHostname {
            return "its certificate is for another host: name the host it was made for in the URL, or make certificates for this one (msai init --host)"
        }
        // Under TLS 1.3 the server judges a client certificate after the client's side of the
        // handshake is done: its alert arrives as a read error (BoringSSLError), not NIOSSLError.
        if let e = error as? BoringSSLError, let words = refusedClientCertificate("\(e)") { return words }
        guard let e = error as? NIOSSLError else { return nil }
        let detail = "\(e)"
        if detail.contains("CERTIFICATE_VERIFY_FAILED") {
            return "its certificate is not one this role's CA (tls.datacenter_ca or tls.cloud_ca in the configuration) signed: is that the right server, and the configuration this deployment's?"
        }
        if detail.contains("WRONG_VERSION_NUMBER") || detail.contains("PACKET_LENGTH_TOO_LONG") || detail.contains("HTTP_REQUEST") {
            return "it does not speak TLS there (a plain HTTP server?); the URL must be https:// to a role serving its certificate"
        }
        if let words = refusedClientCertificate(detail) { return words }
        if case .handshakeFailed = e { return "the TLS handshake failed (\(detail.prefix(200)))" }
        return "TLS failed (\(detail.prefix(200)))"
    }
}
