import Crypto
import Foundation

/// Whole-frame encryption, as seeds 000 and 001 protect camera streams: the baselines MSAI is
/// measured against. A fresh random key and nonce per call; the ciphertext (without the tag) is
/// as long as the frame, so it can be looked at, and measured, as an image.
public enum BaselineCipher: String, CaseIterable, Sendable {
    case aes256GCM = "AES-256-GCM"
    case chaCha20Poly1305 = "ChaCha20-Poly1305"

    /// Seals `frame`; returns the ciphertext bytes (same length as the frame).
    public func seal(_ frame: [UInt8]) throws -> [UInt8] {
        let key = SymmetricKey(size: .bits256)
        switch self {
        case .aes256GCM: return Array(try AES.GCM.seal(frame, using: key).ciphertext)
        case .chaCha20Poly1305: return Array(try ChaChaPoly.seal(frame, using: key).ciphertext)
        }
    }
}
