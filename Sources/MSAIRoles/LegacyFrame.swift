import Foundation
import MSAIBigInt
import MSAICore
import MSAICrypto

/// The frames an msai 1 data center stored (format 1), made as safe as format 2 when their
/// database is migrated.
///
/// Format 1 hid nothing the cloud did not already hold: its hardened pad came from the cloud's
/// own key seed, and its gf251 map is undone by λ alone, so a masked view of such a frame,
/// together with the cloud's membranes, is the original. Keeping the frame as it was (merely
/// sealed) would leave that open. Instead each frame is recovered with its old keys and masked
/// again as format 2, under a fresh τ seed: its areas take the hardened mode with a pad from the
/// new seed (their membrane keys stay: λ alone now unmasks nothing), `vhe` areas stay `vhe`
/// (its ciphertexts only ever travel sealed), it is scrambled and sealed under the new seed's keys,
/// in the frame format it had.
public enum LegacyFrame {
    public struct Reprotected {
        /// The frame sealed as format 2.
        public let sealed: [UInt8]
        public let manifest: FrameManifest
        /// The modes its membrane keys have now (a gf251 key becomes a hardened one).
        public let modes: [MembraneID: MaskingMode]
    }

    /// Recovers the format-1 frame `encoded` (as msai 1 received it, for τ `id` with `seed`) with
    /// `keys`, checking its HMAC tag and that it recovers, then masks it again as format 2 under
    /// `freshSeed`. Throws, naming the frame, if anything does not check out.
    public static func reprotect(_ encoded: [UInt8], id: String, seed: [UInt8], freshSeed: [UInt8],
                                 keys: [MembraneID: MembraneKeyRecord]) throws -> Reprotected {
        let name = "msai 1 frame \(id)"
        let contents = try MaskedFrameCodec.decode(encoded, name: name)
        let old = try FrameManifest.decode(contents.manifestJSON, imageWidth: contents.pixels.width, imageHeight: contents.pixels.height,
                                           imageChannels: contents.pixels.channels)
        guard old.version == 1, old.tauID == id else {
            throw MSAIError.invalidMetadata("\(name) holds a format-\(old.version) manifest for τ \(old.tauID)")
        }
        guard FrameTag.verify(old.tag ?? "", seed: seed, parts: [old.bytesToTag(), Data(contents.pixels.samples), Data(contents.ciphertexts)])
        else { throw MSAIError.integrityFailure("\(name) fails its format-1 integrity tag") }
        let layout = try BlockLayout(width: contents.pixels.width, height: contents.pixels.height, blockSize: old.blockSize)
        // Format 1 keyed the scrambling PRF with the τ seed itself, and took the pad from the cloud's key.
        var original = try BlockScrambler.unscramble(
            contents.pixels, layout: layout, key: try ScrambleKey.derive(seed: seed, layout: layout, using: ChaCha20Keystream.self))
        func key(_ area: MaskedArea) throws -> MembraneKeyRecord {
            guard let key = keys[area.membraneID] else { throw MSAIError.unknownKey("\(name) names membrane \(area.membraneID), which is not held") }
            return key
        }
        for area in old.areas.reversed() {
            let key = try key(area)
            try DataCenter.unmask(&original, area: area, key: key, ciphertexts: contents.ciphertexts) {
                try key.gf251Key().legacyPad(using: ChaCha20Keystream.self)
            }
        }

        var modes: [MembraneID: MaskingMode] = [:]
        let grants = try old.areas.map { area -> MembraneGrant in
            let key = try key(area)
            let mode: MaskingMode = key.mode == .vhe ? .vhe : .hardened
            modes[key.id] = mode
            return try MembraneGrant(id: key.id, shape: key.shape, mode: mode, values: try key.membrane())
        }
        let frameKeys = try FrameKeys(tauSeed: freshSeed)
        let (masked, areas, ciphertexts) = try EdgeCamera.mask(original, areas: old.areas.map(\.rect), grants: grants, keys: frameKeys)
        let scrambled = try BlockScrambler.scramble(masked, layout: layout, key: try frameKeys.scrambleKey(for: layout))
        let manifest = FrameManifest(width: old.width, height: old.height, channels: old.channels, blockSize: old.blockSize, tauID: id,
                                     areas: areas, composition: old.composition)
        let inner = try MaskedFrameCodec.encode(pixels: scrambled, manifest: manifest, ciphertexts: ciphertexts,
                                                format: MaskedFrameCodec.format(of: encoded) ?? .png)
        return Reprotected(sealed: try SealedFrame.seal(inner, tauID: id, key: frameKeys.sealing), manifest: manifest, modes: modes)
    }
}
