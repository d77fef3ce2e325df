import Crypto
import Foundation
import MSAICore

/// The project's PRF: the ChaCha20 keystream (RFC 8439) under the 256-bit seed as key.
///
/// The stream for a domain is the concatenation, for chunk i = 0, 1, 2, …, of the first
/// 16 384 bytes of ChaCha20(key = seed, nonce = domain tag (4 ASCII bytes) ‖ i as 8 bytes
/// big-endian, initial block counter 1). swift-crypto exposes ChaCha20 only inside the
/// ChaCha20-Poly1305 AEAD, whose ciphertext of an all-zero plaintext is exactly that
/// keystream (RFC 8439 §2.8: encryption starts at block counter 1), so that is how it is read.
/// `Tests/MSAITests/Vectors` holds vectors made by an independent implementation.
public struct ChaCha20Keystream: Keystream {
    public static let chunkSize = 16_384

    private let key: SymmetricKey
    private let domain: KeystreamDomain
    private var chunkIndex: UInt64 = 0
    private var buffer: [UInt8] = []
    private var position = 0

    public init(seed: [UInt8], domain: KeystreamDomain) throws {
        guard seed.count == 32 else {
            throw MSAIError.invalidArgument("a keystream seed must be 32 bytes, got \(seed.count)")
        }
        self.key = SymmetricKey(data: seed)
        self.domain = domain
    }

    public mutating func nextBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        while out.count < count {
            if position == buffer.count { refill() }
            let take = min(count - out.count, buffer.count - position)
            out.append(contentsOf: buffer[position..<(position + take)])
            position += take
        }
        return out
    }

    private mutating func refill() {
        var nonce = domain.nonceTag
        withUnsafeBytes(of: chunkIndex.bigEndian) { nonce.append(contentsOf: $0) }
        chunkIndex += 1
        buffer = Self.rawKeystream(key: key, nonce: nonce, count: Self.chunkSize)
        position = 0
    }

    /// The first `count` bytes of ChaCha20(key, 12-byte nonce) from block counter 1:
    /// the ciphertext of `count` zero bytes under ChaCha20-Poly1305.
    public static func rawKeystream(key: SymmetricKey, nonce: [UInt8], count: Int) -> [UInt8] {
        precondition(nonce.count == 12, "ChaCha20 nonces are 12 bytes")
        // A 12-byte nonce and a 32-byte key are always valid, so these cannot fail.
        let box = try! ChaChaPoly.seal(Data(count: count), using: key, nonce: try! ChaChaPoly.Nonce(data: nonce))
        return Array(box.ciphertext)
    }

    /// The same, for a key given as bytes (32 of them).
    public static func rawKeystream(key: [UInt8], nonce: [UInt8], count: Int) -> [UInt8] {
        rawKeystream(key: SymmetricKey(data: key), nonce: nonce, count: count)
    }
}
