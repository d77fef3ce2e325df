// msai 2.0's membrane derivation, kept in the bench only so that `make bench` can put the
// current one beside it in the same run (issue 13 asked for the cost per sample halved).
import Crypto
import Foundation
import MSAICore

/// The ChaCha20 keystream as msai 2.0 read it: ChaCha20-Poly1305's ciphertext of 16 KiB of
/// zeros per chunk (the tag computed and thrown away), appended a slice at a time.
struct AEADKeystream: Keystream {
    private let key: SymmetricKey
    private let domain: KeystreamDomain
    private var chunkIndex: UInt64 = 0
    private var buffer: [UInt8] = []
    private var position = 0

    init(seed: [UInt8], domain: KeystreamDomain) throws {
        key = SymmetricKey(data: seed)
        self.domain = domain
    }

    mutating func nextBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        while out.count < count {
            if position == buffer.count {
                var nonce = domain.nonceTag
                withUnsafeBytes(of: chunkIndex.bigEndian) { nonce.append(contentsOf: $0) }
                chunkIndex += 1
                buffer = Array(try! ChaChaPoly.seal(Data(count: 16_384), using: key, nonce: try! ChaChaPoly.Nonce(data: nonce)).ciphertext)
                position = 0
            }
            let take = min(count - out.count, buffer.count - position)
            out.append(contentsOf: buffer[position..<(position + take)])
            position += take
        }
        return out
    }
}

extension GF251MembraneKey {
    /// λ as msai 2.0 derived it: the noise through a byte-at-a-time sampler, then two reductions
    /// mod 251 per sample into a second array.
    func msai20Membrane() throws -> [UInt8] {
        let kInverse = GF251.inverse[Int(k)]
        return try noise(using: AEADKeystream.self).map { GF251.multiply(kInverse, GF251.add(w, $0)) }
    }
}

/// The hardened masking as msai 2.0 did it: a copy of the whole frame per area (so that a
/// failure left the frame untouched), the pad added in one pass, λ applied in a second.
func msai20ApplyPadded(_ multipliers: [UInt8], pad: [UInt8], to image: inout PixelBuffer, area: Rect) throws {
    var padded = image
    var i = 0
    padded.withRows(of: area) { _, samples in
        for j in 0..<samples.count {
            samples[j] = samples[j] &+ pad[i]
            i += 1
        }
    }
    try AreaMasker.apply(multipliers, to: &padded, area: area)
    image = padded
}
