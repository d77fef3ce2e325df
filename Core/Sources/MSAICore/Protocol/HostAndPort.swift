/// A "host:port" address as settings and options write it (`127.0.0.1:8701`, `[::1]:5555`).
public enum HostAndPort {
    /// Splits `text` at its last colon; the port must lie in 0…65535 (0 in a listen address:
    /// any free port). `field` names the setting or option in the error.
    public static func parse(_ text: String, field: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex, let port = Int(text[text.index(after: colon)...]) else {
            throw MSAIError.invalidArgument("\(field) '\(text)' is not of the form host:port (e.g. 127.0.0.1:8701)")
        }
        guard (0...65535).contains(port) else {
            throw MSAIError.invalidArgument(
                "\(field) '\(text)': port \(port) is out of range; a port must lie in 1…65535"
                    + (field.hasSuffix("_listen") ? " (0 in a listen address: any free port)" : ""))
        }
        return (String(text[..<colon]), port)
    }

    /// A stream endpoint (`udp://HOST:PORT`, `http://HOST:PORT/`, or `HOST:PORT`): the scheme
    /// and a trailing slash are dropped, and the brackets of an IPv6 address.
    public static func parseEndpoint(_ text: String, option: String) throws -> (host: String, port: Int) {
        var trimmed = text
        for scheme in ["udp://", "http://"] where trimmed.hasPrefix(scheme) { trimmed = String(trimmed.dropFirst(scheme.count)) }
        if trimmed.hasSuffix("/") { trimmed = String(trimmed.dropLast()) }
        var (host, port) = try parse(trimmed, field: option)
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw MSAIError.invalidArgument("\(option) must name a host, got '\(text)'") }
        return (host, port)
    }
}
