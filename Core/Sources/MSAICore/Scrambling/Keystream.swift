/// A deterministic cryptographic byte stream derived from a 256-bit seed: the PRF behind
/// membrane noise and tau. The core only states what it needs; `MSAICrypto` supplies the
/// real one (ChaCha20, RFC 8439), so this target stays free of any crypto library.
///
/// Streams for different purposes derived from one seed must be independent: the `domain`
/// separates them (it becomes part of the cipher nonce).
public protocol Keystream {
    /// A stream for `domain` under the 32-byte `seed`.
    init(seed: [UInt8], domain: KeystreamDomain) throws
    /// The next `count` bytes of the stream.
    mutating func nextBytes(_ count: Int) -> [UInt8]
}

/// The purposes a seed's streams serve; the raw value is the 4-byte nonce prefix.
public enum KeystreamDomain: String, Sendable, CaseIterable {
    /// GF(251) membrane noise e[i, j, ch].
    case membraneNoise = "MEMB"
    /// The hardened mode's additive pad δ[i, j, ch], keyed per area by the frame's pad key.
    case pad = "PAD0"
    /// Integer VHE membrane noise.
    case integerNoise = "VHEN"
    /// Fisher–Yates draws for tau, the block permutation (keyed by the frame's scrambling key).
    case tau = "TAU0"
    /// Fisher–Yates draws for the permutation of partial-edge-block pixels.
    case edgePixels = "EDGE"

    public var nonceTag: [UInt8] { Array(rawValue.utf8) }
}

/// Reads uniform values out of a keystream by rejection sampling, so no value is favoured.
/// Buffers the stream in chunks; the sequence of values depends only on the stream.
public struct UniformSampler<Stream: Keystream> {
    @usableFromInline var stream: Stream
    @usableFromInline var buffer: [UInt8] = []
    @usableFromInline var position = 0
    @usableFromInline let chunk: Int

    public init(_ stream: Stream, chunk: Int = 4096) {
        self.stream = stream
        self.chunk = chunk
    }

    @inlinable
    public mutating func nextByte() -> UInt8 {
        if position == buffer.count {
            refill()
        }
        defer { position += 1 }
        return buffer[position]
    }

    /// The next 4 bytes as a big-endian word: what `integer(below:)` draws each time.
    @inlinable
    public mutating func nextWord() -> UInt32 {
        let p = position
        if p + 4 <= buffer.count {
            position = p + 4
            return buffer.withUnsafeBufferPointer { b in
                UInt32(b[p]) << 24 | UInt32(b[p + 1]) << 16 | UInt32(b[p + 2]) << 8 | UInt32(b[p + 3])
            }
        }
        var v: UInt32 = 0
        for _ in 0..<4 { v = v << 8 | UInt32(nextByte()) }
        return v
    }

    @usableFromInline
    mutating func refill() {
        buffer = stream.nextBytes(chunk)
        position = 0
    }

    /// A uniform byte in 0..<bound (bound in 1...256): bytes ≥ bound are drawn again.
    @inlinable
    public mutating func byte(below bound: Int) -> UInt8 {
        precondition(bound > 0 && bound <= 256)
        while true {
            let b = nextByte()
            if Int(b) < bound { return b }
        }
    }

    /// A uniform integer in 0..<bound (bound in 1...2³²): a 32-bit big-endian word v is
    /// accepted when v < 2³² − (2³² mod bound), and the result is v mod bound.
    @inlinable
    public mutating func integer(below bound: UInt64) -> UInt64 {
        precondition(bound > 0 && bound <= 1 << 32)
        let range: UInt64 = 1 << 32
        let limit = range - range % bound
        while true {
            var v: UInt64 = 0
            for _ in 0..<4 { v = v << 8 | UInt64(nextByte()) }
            if v < limit { return v % bound }
        }
    }
}
