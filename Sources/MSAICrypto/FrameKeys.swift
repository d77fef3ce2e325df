import Crypto
import Foundation
import MSAICore

/// The keys of one frame, each for one job, derived from the frame's τ seed (the 32 bytes the
/// data center draws and gives only to the edge that asked for the τ):
///
///     prk            = HKDF-Extract(salt = "msai frame keys v2", ikm = τ seed)       (SHA-256)
///     scrambling     = HKDF-Expand(prk, "scrambling", 32)   keys the ChaCha20 PRF behind τ and the edge permutation
///     sealing        = HKDF-Expand(prk, "sealing", 32)      the AES-256-GCM key that seals the frame
///     pad(area i)    = HKDF-Expand(prk, "pad" ‖ BE32(i), 32) keys the ChaCha20 PRF behind area i's pad δ
///
/// One key, one job: knowing the sealing key says nothing of the pad or of τ, and the other way
/// round. `Tests/MSAITests/Vectors` holds these derivations made by an independent implementation.
public struct FrameKeys: Sendable {
    public static let salt = Array("msai frame keys v2".utf8)

    /// The seed of the scrambling PRF (τ and the edge-pixel permutation).
    public let scrambling: [UInt8]
    /// The frame's sealing key.
    public var sealing: SymmetricKey { SymmetricKey(data: sealingBytes) }
    private let sealingBytes: [UInt8]
    private let pseudorandomKey: [UInt8]

    public init(tauSeed: [UInt8]) throws {
        guard tauSeed.count == 32 else {
            throw MSAIError.invalidArgument("a τ seed must be 32 bytes, got \(tauSeed.count)")
        }
        let prk = HKDF<SHA256>.extract(inputKeyMaterial: SymmetricKey(data: tauSeed), salt: Self.salt)
        pseudorandomKey = prk.withUnsafeBytes { Array($0) }
        scrambling = Self.expand(pseudorandomKey, info: Array("scrambling".utf8))
        sealingBytes = Self.expand(pseudorandomKey, info: Array("sealing".utf8))
    }

    /// The seed of area `index`'s pad (areas numbered in masking order from 0).
    public func padSeed(area index: Int) -> [UInt8] {
        var info = Array("pad".utf8)
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: index).bigEndian) { info.append(contentsOf: $0) }
        return Self.expand(pseudorandomKey, info: info)
    }

    /// Area `index`'s pad δ: `count` bytes, uniform in 0...255 (the keystream of `padSeed` in domain "PAD0").
    public func pad(area index: Int, count: Int) throws -> [UInt8] {
        var stream = try ChaCha20Keystream(seed: padSeed(area: index), domain: .pad)
        return stream.nextBytes(count)
    }

    /// Area `index`'s pad in the `jpeg` mode: the same keystream as `pad`, read as uniform
    /// integers below each coefficient's range (`CoefficientMask`).
    public func coefficientPad(area index: Int) throws -> UniformSampler<ChaCha20Keystream> {
        UniformSampler(try ChaCha20Keystream(seed: padSeed(area: index), domain: .pad))
    }

    /// The scramble key (τ and the edge permutation) for `layout`.
    public func scrambleKey(for layout: BlockLayout) throws -> ScrambleKey {
        try ScrambleKey.derive(seed: scrambling, layout: layout, using: ChaCha20Keystream.self)
    }

    private static func expand(_ prk: [UInt8], info: [UInt8]) -> [UInt8] {
        HKDF<SHA256>.expand(pseudoRandomKey: prk, info: info, outputByteCount: 32).withUnsafeBytes { Array($0) }
    }
}
