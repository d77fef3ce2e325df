import Crypto
import Foundation
import MSAICore

/// The integrity tag of a masked frame: HMAC-SHA-256 under a key derived from the frame's
/// tau seed, which only the edge that masked the frame and the data center know.
///
///     key = HMAC-SHA-256(seed, "msai frame tag v1")
///     tag = HMAC-SHA-256(key, for each part: 8-byte big-endian length ‖ part)
///
/// with parts = [manifest without its tag, pixel samples, VHE ciphertext chunk].
/// Any change to the metadata or the pixels, even with the PNG CRCs redone, fails the check.
public enum FrameTag {
    public static func compute(seed: [UInt8], parts: [Data]) -> String {
        let derived = HMAC<SHA256>.authenticationCode(
            for: Data("msai frame tag v1".utf8), using: SymmetricKey(data: seed))
        var mac = HMAC<SHA256>(key: SymmetricKey(data: Data(derived)))
        for part in parts {
            mac.update(data: withUnsafeBytes(of: UInt64(part.count).bigEndian) { Data($0) })
            mac.update(data: part)
        }
        return Hex.encode(Array(mac.finalize()))
    }

    /// Compares in constant time.
    public static func verify(_ tag: String, seed: [UInt8], parts: [Data]) -> Bool {
        let expected = Array(compute(seed: seed, parts: parts).utf8), given = Array(tag.utf8)
        guard expected.count == given.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<expected.count { difference |= expected[i] ^ given[i] }
        return difference == 0
    }
}
