import Foundation

/// MJPEG over HTTP: a `multipart/x-mixed-replace` body whose parts are JPEG frames, which is
/// what IP cameras and seed 000's ESP32-CAM serve.
public enum MJPEG {
    /// The boundary `msai camera` writes.
    public static let boundary = "msaiframe"
    public static var contentType: String { "multipart/x-mixed-replace; boundary=\(boundary)" }

    /// One part: the boundary line, headers with the length, the JPEG, and a line end.
    public static func part(_ jpeg: [UInt8], boundary: String = boundary) -> [UInt8] {
        Array("--\(boundary)\r\nContent-Type: image/jpeg\r\nContent-Length: \(jpeg.count)\r\n\r\n".utf8) + jpeg + [13, 10]
    }

    /// The boundary named by a Content-Type header, or nil when it is not a multipart stream.
    public static func boundary(fromContentType header: String) -> String? {
        let fields = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let type = fields.first?.lowercased(), type.hasPrefix("multipart/") else { return nil }
        for field in fields.dropFirst() {
            let pair = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            var value = pair[1]
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            // Some cameras put the leading dashes into the header as well.
            while value.hasPrefix("--") { value = String(value.dropFirst(2)) }
            return value.isEmpty ? nil : value
        }
        return nil
    }
}

/// Splits an MJPEG body, fed in pieces as they arrive, into its parts. Parts with a
/// Content-Length are cut by it; without one, at the next boundary. Garbage between parts is
/// skipped, and a part larger than `maximumPartBytes` or with unreadable headers is counted
/// in `malformedParts` and skipped, so one bad part costs one frame, not the stream.
public struct MJPEGParser: Sendable {
    public let maximumPartBytes: Int
    public private(set) var malformedParts = 0
    /// True once the closing boundary ("--boundary--") was read.
    public private(set) var ended = false

    private let delimiter: [UInt8]
    private var buffer: [UInt8] = []
    private enum State { case seekingBoundary, headers, body(length: Int?) }
    private var state = State.seekingBoundary
    /// Where the search for the next boundary resumes (bytes before it were searched).
    private var searched = 0
    static let maximumHeaderBytes = 16 * 1024
    static let maximumPadding = 256

    public init(boundary: String, maximumPartBytes: Int = 32 << 20) {
        delimiter = Array("--\(boundary)".utf8)
        self.maximumPartBytes = maximumPartBytes
    }

    /// Adds bytes; returns the parts they complete, in order.
    public mutating func feed<C: Collection>(_ bytes: C) -> [[UInt8]] where C.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        var parts: [[UInt8]] = []
        while !ended, let part = step() {
            if let part { parts.append(part) }
        }
        return parts
    }

    /// One move of the state machine: nil when more bytes are needed; .some(nil) when it moved
    /// without completing a part; .some(part) when a part is complete.
    private mutating func step() -> [UInt8]?? {
        switch state {
        case .seekingBoundary:
            guard let at = find(delimiter, from: searched) else {
                // Keep what could be the start of a split delimiter.
                let keep = min(buffer.count, delimiter.count - 1)
                buffer.removeFirst(buffer.count - keep)
                searched = 0
                return nil
            }
            let after = at + delimiter.count
            guard buffer.count >= after + 2 else {
                searched = at
                return nil
            }
            if buffer[after] == UInt8(ascii: "-") && buffer[after + 1] == UInt8(ascii: "-") {
                ended = true
                return .some(nil)
            }
            // The rest of the boundary line (transport padding, at most `maximumPadding` bytes)
            // up to its line end. The line end is looked for only that far, so the verdict is
            // the same however the bytes arrive.
            guard let lineEnd = find([13, 10], from: after, below: after + Self.maximumPadding + 2) else {
                if buffer.count - after >= Self.maximumPadding + 2 {
                    buffer.removeFirst(after)
                    skipMalformed()
                    return .some(nil)
                }
                searched = at
                return nil
            }
            buffer.removeFirst(lineEnd + 2)
            searched = 0
            state = .headers
            return .some(nil)
        case .headers:
            guard buffer.count >= 2 else { return nil }
            let text: String
            if buffer[0] == 13 && buffer[1] == 10 {
                // A part without headers (RFC 2046 allows it): the body follows at once.
                buffer.removeFirst(2)
                text = ""
            } else {
                guard let end = find([13, 10, 13, 10], from: 0, below: Self.maximumHeaderBytes + 4) else {
                    guard buffer.count > Self.maximumHeaderBytes else { return nil }
                    skipMalformed()
                    return .some(nil)
                }
                text = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
            }
            var length: Int?
            for line in text.split(separator: "\r\n") {
                let pair = line.split(separator: ":", maxSplits: 1)
                guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "content-length" else { continue }
                guard let n = Int(pair[1].trimmingCharacters(in: .whitespaces)), n >= 0, n <= maximumPartBytes else {
                    skipMalformed()
                    return .some(nil)
                }
                length = n
            }
            state = .body(length: length)
            searched = 0
            return .some(nil)
        case .body(let length?):
            guard buffer.count >= length else { return nil }
            let part = Array(buffer[..<length])
            buffer.removeFirst(length)
            state = .seekingBoundary
            return .some(part)
        case .body(nil):
            // Without a length the part ends at the line end before the next boundary.
            guard let at = find([13, 10] + delimiter, from: searched) else {
                guard buffer.count > maximumPartBytes else {
                    searched = max(0, buffer.count - delimiter.count - 2)
                    return nil
                }
                skipMalformed()
                return .some(nil)
            }
            let part = Array(buffer[..<at])
            buffer.removeFirst(at + 2)
            state = .seekingBoundary
            searched = 0
            return .some(part)
        }
    }

    /// Gives up on the current part: the search for the next boundary skips the rest of it
    /// (the bytes already consumed never hold the delimiter that started it, so this progresses).
    private mutating func skipMalformed() {
        malformedParts += 1
        state = .seekingBoundary
        searched = 0
    }

    /// Where `needle` first starts at or after `start`, ending before `below` bytes, or nil.
    private func find(_ needle: [UInt8], from start: Int, below limit: Int = .max) -> Int? {
        let end = min(buffer.count, limit)
        guard needle.count <= end, start <= end - needle.count else { return nil }
        let first = needle[0]
        return buffer.withUnsafeBufferPointer { b -> Int? in
            var i = start
            let last = end - needle.count
            while i <= last {
                if b[i] == first {
                    var j = 1
                    while j < needle.count && b[i + j] == needle[j] { j += 1 }
                    if j == needle.count { return i }
                }
                i += 1
            }
            return nil
        }
    }
}
