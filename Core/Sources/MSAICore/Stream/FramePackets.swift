/// A JPEG frame split into datagrams, as seed 001 streams a camera over UDP, and put back
/// together. Each datagram carries a 16-byte header, big-endian:
///
///     "MSU1" | frame number (u32) | packet index (u16) | packet count (u16) | frame length (u32)
///
/// followed by at most `payloadSize` bytes of the frame. UDP may lose, duplicate or reorder
/// datagrams: a frame is delivered only when every packet of it arrived; a frame still
/// incomplete when a later frame completes is counted lost and forgotten, so one lost packet
/// costs one frame, never a corrupted one.
public enum FramePackets {
    public static let magic: [UInt8] = Array("MSU1".utf8)
    public static let headerSize = 16
    /// Fits one Ethernet MTU (1500) with the IP and UDP headers.
    public static let payloadSize = 1400
    /// The largest frame accepted (16 MiB): a header claiming more is refused.
    public static let maximumFrameBytes = 16 << 20

    /// The datagrams of frame `number`.
    public static func split(_ frame: [UInt8], number: UInt32, payloadSize: Int = payloadSize) throws -> [[UInt8]] {
        guard !frame.isEmpty, frame.count <= maximumFrameBytes else {
            throw MSAIError.invalidArgument("a streamed frame must have 1 to \(maximumFrameBytes) bytes, got \(frame.count)")
        }
        let count = (frame.count + payloadSize - 1) / payloadSize
        guard count <= Int(UInt16.max) else {
            throw MSAIError.invalidArgument("a frame of \(frame.count) bytes needs \(count) packets of \(payloadSize), over \(UInt16.max)")
        }
        return (0..<count).map { index in
            var packet = magic
            packet.reserveCapacity(headerSize + payloadSize)
            append(number, to: &packet)
            append(UInt16(index), to: &packet)
            append(UInt16(count), to: &packet)
            append(UInt32(frame.count), to: &packet)
            packet += frame[(index * payloadSize)..<min(frame.count, (index + 1) * payloadSize)]
            return packet
        }
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes += $0 }
    }

    /// One datagram's header, checked.
    public struct Header: Equatable, Sendable {
        public let frame: UInt32
        public let index: Int
        public let count: Int
        public let length: Int

        public init(parsing datagram: some Collection<UInt8>) throws {
            let bytes = Array(datagram.prefix(FramePackets.headerSize))
            guard bytes.count == FramePackets.headerSize, Array(bytes[0..<4]) == FramePackets.magic else {
                throw MSAIError.invalidArgument("not an msai frame datagram (no MSU1 header)")
            }
            func be(_ range: Range<Int>) -> Int { bytes[range].reduce(0) { $0 << 8 | Int($1) } }
            frame = UInt32(be(4..<8))
            index = be(8..<10)
            count = be(10..<12)
            length = be(12..<16)
            guard count >= 1, index < count, length >= 1, length <= FramePackets.maximumFrameBytes,
                (length + count - 1) / count <= 65_507
            else {
                throw MSAIError.invalidArgument("frame datagram with an impossible header (packet \(index) of \(count), \(length) bytes)")
            }
        }
    }
}

/// Reassembles frames from datagrams in any order; see `FramePackets`.
public struct FrameReassembler: Sendable {
    public struct Counts: Sendable, Equatable {
        public var datagrams = 0
        public var framesDelivered = 0
        /// Frames given up: incomplete when a later frame completed, or evicted.
        public var framesLost = 0
        /// Datagrams that were not frame datagrams, or disagreed with their frame's header.
        public var datagramsRejected = 0

        public init() {}

        /// Adds `other`'s counts, and `lostInFlight` frames given up with it.
        public mutating func add(_ other: Counts, lostInFlight: Int) {
            datagrams += other.datagrams
            framesDelivered += other.framesDelivered
            framesLost += other.framesLost + lostInFlight
            datagramsRejected += other.datagramsRejected
        }
    }

    private struct Partial {
        let count: Int
        let length: Int
        var parts: [[UInt8]?]
        var received = 0
        /// The size of every packet but the last, once one of them arrived.
        var stride: Int?
        /// The size of the last packet, once it arrived.
        var last: Int?
        var held = 0

        /// Whether a payload of `size` bytes fits packet `index` of this frame: every packet but
        /// the last has one size S with S(count-1) < length <= S·count, and the last holds the
        /// rest. A sender cannot make a frame hold more than its length.
        mutating func admits(_ size: Int, at index: Int) -> Bool {
            guard size >= 1, size <= length else { return false }
            if index == count - 1 {
                if count == 1 { return size == length }
                if let stride, size != length - stride * (count - 1) { return false }
                if last == nil { last = size }
                return last == size
            }
            if let stride { return size == stride }
            guard size * (count - 1) < length, size * count >= length, last.map({ size * (count - 1) + $0 == length }) ?? true else {
                return false
            }
            stride = size
            return true
        }
    }

    /// Frames being assembled at once; older ones are given up beyond this.
    public let window: Int
    /// Bytes held in frames being assembled, at most; the oldest are given up beyond this.
    public let maximumBytesHeld: Int
    public private(set) var counts = Counts()
    private var partial: [UInt32: Partial] = [:]
    private var newestDelivered: UInt32?
    /// Bytes now held in `partial`.
    public private(set) var bytesHeld = 0
    /// Frames being assembled.
    public var framesInFlight: Int { partial.count }

    public init(window: Int = 8, maximumBytesHeld: Int = 32 << 20) {
        self.window = max(1, window)
        self.maximumBytesHeld = max(FramePackets.maximumFrameBytes, maximumBytesHeld)
    }

    /// Takes one datagram; returns a frame when this datagram completes one.
    public mutating func accept(_ datagram: [UInt8]) -> (number: UInt32, bytes: [UInt8])? {
        counts.datagrams += 1
        guard let header = try? FramePackets.Header(parsing: datagram) else {
            counts.datagramsRejected += 1
            return nil
        }
        // A frame older than one already delivered is late: its slot is gone.
        if let newest = newestDelivered, !Self.isNewer(header.frame, than: newest) {
            return nil
        }
        var entry = partial[header.frame] ?? Partial(count: header.count, length: header.length,
                                                      parts: Array(repeating: nil, count: header.count))
        let size = datagram.count - FramePackets.headerSize
        guard entry.count == header.count, entry.length == header.length, entry.admits(size, at: header.index) else {
            counts.datagramsRejected += 1
            return nil
        }
        if entry.parts[header.index] == nil {
            entry.parts[header.index] = Array(datagram.dropFirst(FramePackets.headerSize))
            entry.received += 1
            entry.held += size
            bytesHeld += size
        }
        guard entry.received == entry.count else {
            partial[header.frame] = entry
            evictBeyondWindow()
            return nil
        }
        partial[header.frame] = nil
        bytesHeld -= entry.held
        // Every frame older than this one that is still incomplete will not be shown: lost.
        for number in partial.keys where !Self.isNewer(number, than: header.frame) {
            giveUp(number)
        }
        newestDelivered = header.frame
        let bytes = entry.parts.flatMap { $0! }
        guard bytes.count == header.length else {  // the packets disagree with the header: not a frame
            counts.framesLost += 1
            return nil
        }
        counts.framesDelivered += 1
        return (header.frame, bytes)
    }

    private mutating func evictBeyondWindow() {
        while partial.count > window || bytesHeld > maximumBytesHeld, let oldest = partial.keys.min(by: { Self.isNewer($1, than: $0) }) {
            giveUp(oldest)
        }
    }

    private mutating func giveUp(_ number: UInt32) {
        guard let entry = partial.removeValue(forKey: number) else { return }
        bytesHeld -= entry.held
        counts.framesLost += 1
    }

    /// Serial-number comparison (RFC 1982), so numbering may wrap around 2^32.
    static func isNewer(_ a: UInt32, than b: UInt32) -> Bool { a != b && (a &- b) < (1 << 31) }
}
