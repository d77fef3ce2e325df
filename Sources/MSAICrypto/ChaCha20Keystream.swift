import Crypto
import Foundation
import _CryptoExtras
import MSAICore

/// The project's PRF: the ChaCha20 keystream (RFC 8439) under the 256-bit seed as key.
///
/// The stream for a domain is the concatenation, for chunk i = 0, 1, 2, …, of the first
/// 16 384 bytes of ChaCha20(key = seed, nonce = domain tag (4 ASCII bytes) ‖ i as 8 bytes
/// big-endian, initial block counter 1). It is read through swift-crypto's raw ChaCha20 counter
/// mode (`_CryptoExtras`), as the encryption of zeros from block counter 1: the same bytes as
/// the ciphertext of ChaCha20-Poly1305 over zeros (RFC 8439 §2.8), which msai 2.0 read, without
/// the Poly1305 tag it then computed and threw away.
/// `Tests/MSAITests/Vectors` holds vectors made by an independent implementation.
public struct ChaCha20Keystream: Keystream {
    public static let chunkSize = 16_384

    private let key: SymmetricKey
    private let domain: KeystreamDomain
    private var chunkIndex: UInt64 = 0
    private var buffer = Data()
    private var position = 0

    public init(seed: [UInt8], domain: KeystreamDomain) throws {
        guard seed.count == 32 else {
            throw MSAIError.invalidArgument("a keystream seed must be 32 bytes, got \(seed.count)")
        }
        self.key = SymmetricKey(data: seed)
        self.domain = domain
    }

    public mutating func nextBytes(_ count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            var filled = 0
            while filled < count {
                if position == buffer.count { refill() }
                let take = min(count - filled, buffer.count - position)
                buffer.withUnsafeBytes { chunk in
                    UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(out)[filled..<(filled + take)])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: chunk[position..<(position + take)]))
                }
                filled += take
                position += take
            }
            initialized = count
        }
    }

    private mutating func refill() {
        var nonce = domain.nonceTag
        withUnsafeBytes(of: chunkIndex.bigEndian) { nonce.append(contentsOf: $0) }
        chunkIndex += 1
        buffer = Self.keystream(key: key, nonce: nonce, count: Self.chunkSize)
        position = 0
    }

    // An array, not Data: Data keeps its storage behind an enum whose spare pointer bits hide it
    // from LeakSanitizer's scan of globals, which then reports this buffer as leaked (`make fuzz`).
    private static let zeroChunk = [UInt8](repeating: 0, count: chunkSize)

    /// ChaCha20(key, nonce) from block counter 1, `count` bytes, as Data.
    static func keystream(key: SymmetricKey, nonce: [UInt8], count: Int) -> Data {
        precondition(nonce.count == 12, "ChaCha20 nonces are 12 bytes")
        let zeros = count == chunkSize ? zeroChunk : [UInt8](repeating: 0, count: count)
        // A 12-byte nonce, a 32-byte key and counter 1 are always valid, so this cannot fail.
        return try! Insecure.ChaCha20CTR.encrypt(zeros, using: key, counter: try! Insecure.ChaCha20CTR.Counter(offset: 1),
                                                 nonce: try! Insecure.ChaCha20CTR.Nonce(data: nonce))
    }

    /// The first `count` bytes of ChaCha20(key, 12-byte nonce) from block counter 1.
    public static func rawKeystream(key: SymmetricKey, nonce: [UInt8], count: Int) -> [UInt8] {
        Array(keystream(key: key, nonce: nonce, count: count))
    }

    /// The same, for a key given as bytes (32 of them).
    public static func rawKeystream(key: [UInt8], nonce: [UInt8], count: Int) -> [UInt8] {
        rawKeystream(key: SymmetricKey(data: key), nonce: nonce, count: count)
    }
}
