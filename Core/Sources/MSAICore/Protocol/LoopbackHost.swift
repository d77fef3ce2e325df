import Foundation

/// Which hosts are this machine itself: where a role or database may be reached without TLS.
public enum LoopbackHost {
    /// Whether `host` is loopback: an IPv4 literal in 127.0.0.0/8, the IPv6 literal ::1, or the
    /// name "localhost". A name is not trusted for what it looks like ("127.example.com"
    /// resolves anywhere).
    public static func contains(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare.lowercased() == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, bare, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) } == [UInt8](repeating: 0, count: 15) + [1]
        }
        return false
    }
}
