import Foundation
import MSAICore
import MSAICrypto

/// The integer VHE membrane (SCHEME.md's second mode), for study only.
///
/// After Zhou and Wornell's integer vector homomorphic encryption, scalar case with secret
/// S = k: with the public prime q = 2¹²⁷ − 1, a secret w drawn from [2⁶³, 2⁶⁴) and noise
/// e uniform in [−B, B], B = 2¹⁶, the membrane is λ = k⁻¹ (w + e) mod q. The edge computes
/// c = o · λ mod q; the data center lifts t = k · c mod q into (−q/2, q/2] and recovers
/// o = round(t / w). Exact for all 256 values because 255 (w + B) < q/2 and 255 B < w/2.
///
/// k has only 250 possible values, so the secrecy of this mode rests on w and the noise,
/// not on k. Ciphertexts are 16 bytes per sample and travel beside the image.
public enum IntegerVHE {
    /// q = 2¹²⁷ − 1, a Mersenne prime. Shared by every thread, and only ever read (GMP reads
    /// of one mpz_t from several threads at once are safe); nothing may write it, which is why
    /// it is unsafe to the compiler and BigInteger itself is not Sendable.
    nonisolated(unsafe) public static let modulus: BigInteger = BigInteger("170141183460469231731687303715884105727")!
    /// B = 2¹⁶.
    public static let noiseBound: UInt64 = 1 << 16
    /// Bytes per membrane value and per ciphertext (little-endian).
    public static let valueBytes = 16

    /// A fresh key: k in 1...250, w in [2⁶³, 2⁶⁴), a 256-bit noise seed.
    public static func drawKey(id: MembraneID, shape: MembraneShape, using random: inout some RandomNumberGenerator)
        -> MembraneKeyRecord
    {
        let k = UInt8.random(in: 1...250, using: &random)
        let w = random.next() | (1 << 63)
        return MembraneKeyRecord(
            id: id, shape: shape, mode: .vhe, k: k, w: withUnsafeBytes(of: w.bigEndian) { Array($0) },
            seed: randomBytes(32, using: &random))
    }

    static func check(_ key: MembraneKeyRecord) throws -> (k: UInt64, w: BigInteger) {
        guard key.mode == .vhe, (1...250).contains(key.k), key.w.count == 8, key.seed.count == 32 else {
            throw MSAIError.invalidArgument("membrane key \(key.id) is not a valid integer VHE key")
        }
        let w = BigInteger()
        w.set(bigEndian: key.w)
        guard w.bitWidth == 64 else { throw MSAIError.invalidArgument("membrane key \(key.id): w must lie in [2^63, 2^64)") }
        return (UInt64(key.k), w)
    }

    /// (w + e[i]) for every sample, e uniform in [−B, B] from the keystream (domain "VHEN",
    /// `UniformSampler.integer(below: 2B + 1)` − B), handed to `body` one at a time.
    static func forEachNoisyW(_ key: MembraneKeyRecord, w: BigInteger, _ body: (Int, BigInteger) -> Void) throws {
        var sampler = UniformSampler(try ChaCha20Keystream(seed: key.seed, domain: .integerNoise))
        let noisy = BigInteger()
        for i in 0..<key.shape.sampleCount {
            let draw = sampler.integer(below: 2 * noiseBound + 1)
            if draw >= noiseBound { noisy.add(w, draw - noiseBound) } else { noisy.sub(w, noiseBound - draw) }
            body(i, noisy)
        }
    }

    /// λ[i] = k⁻¹ (w + e[i]) mod q, as 16-byte little-endian values: what the cloud sends the edge.
    public static func membrane(for key: MembraneKeyRecord) throws -> [UInt8] {
        let (k, w) = try check(key)
        let kInverse = BigInteger()
        _ = kInverse.invert(BigInteger(k), modulo: modulus)
        var out = [UInt8](repeating: 0, count: key.shape.sampleCount * valueBytes)
        let lambda = BigInteger()
        try out.withUnsafeMutableBytes { bytes in
            try forEachNoisyW(key, w: w) { i, noisy in
                lambda.mul(kInverse, noisy)
                lambda.mod(lambda, modulus)
                lambda.export(littleEndian: UnsafeMutableRawBufferPointer(rebasing: bytes[(i * valueBytes)..<((i + 1) * valueBytes)]))
            }
        }
        _ = try MembraneGrant(id: key.id, shape: key.shape, mode: .vhe, values: out)
        return out
    }

    /// Edge side: c[i] = o[i] · λ[i] mod q for the samples of `area`. Writes c mod 256 into the
    /// visible pixels and returns the ciphertexts (16 bytes each, little-endian).
    public static func mask(_ image: inout PixelBuffer, area: Rect, membrane: MembraneGrant) throws -> [UInt8] {
        try image.checkContains(area)
        guard membrane.mode == .vhe else {
            throw MSAIError.invalidArgument("membrane \(membrane.id) is \(membrane.mode.rawValue), not vhe")
        }
        try membrane.shape.check(covers: area, channels: image.channels)
        var ciphertexts = [UInt8](repeating: 0, count: membrane.shape.sampleCount * valueBytes)
        let lambda = BigInteger(), c = BigInteger(), one = BigInteger(1)
        // λ must lie in 2..<q: λ = 0 or 1 would send the samples as they are.
        try membrane.values.withUnsafeBytes { lambdas in
            for i in 0..<membrane.shape.sampleCount {
                lambda.set(littleEndian: UnsafeRawBufferPointer(rebasing: lambdas[(i * valueBytes)..<((i + 1) * valueBytes)]))
                guard lambda.compare(one) > 0, lambda.compare(modulus) < 0 else {
                    throw MSAIError.invalidArgument("VHE membrane \(membrane.id) has value \(lambda.description) at sample \(i); every value must lie in 2..<q")
                }
            }
        }
        let rowLength = area.width * image.channels
        membrane.values.withUnsafeBytes { lambdas in
            ciphertexts.withUnsafeMutableBytes { out in
                image.withRows(of: area) { row, samples in
                    for j in 0..<rowLength {
                        let i = row * rowLength + j
                        let slot = (i * valueBytes)..<((i + 1) * valueBytes)
                        lambda.set(littleEndian: UnsafeRawBufferPointer(rebasing: lambdas[slot]))
                        c.mul(lambda, UInt64(samples[j]))
                        c.mod(c, modulus)
                        c.export(littleEndian: UnsafeMutableRawBufferPointer(rebasing: out[slot]))
                        samples[j] = out[slot.lowerBound]
                    }
                }
            }
        }
        return ciphertexts
    }

    /// Data-center side: recovers the samples of `area` from their ciphertexts and writes them
    /// into the image. Throws when a ciphertext does not decrypt to a byte (tampering).
    public static func unmask(_ image: inout PixelBuffer, area: Rect, ciphertexts: [UInt8], key: MembraneKeyRecord)
        throws
    {
        try image.checkContains(area)
        try key.shape.check(covers: area, channels: image.channels)
        guard ciphertexts.count == key.shape.sampleCount * valueBytes else {
            throw MSAIError.shapeMismatch(
                "area \(area) needs \(key.shape.sampleCount * valueBytes) ciphertext bytes but the frame carries \(ciphertexts.count)")
        }
        let (k, w) = try check(key)
        let halfQ = BigInteger(), c = BigInteger(), t = BigInteger(), twoW = BigInteger(), o = BigInteger()
        let largestSample = BigInteger(255)
        halfQ.floorDivide(modulus, BigInteger(2))
        twoW.mul(w, 2)
        var decrypted = [UInt8](repeating: 0, count: key.shape.sampleCount)
        var bad: Int?
        ciphertexts.withUnsafeBytes { bytes in
            for i in 0..<decrypted.count where bad == nil {
                c.set(littleEndian: UnsafeRawBufferPointer(rebasing: bytes[(i * valueBytes)..<((i + 1) * valueBytes)]))
                t.mul(c, k)
                t.mod(t, modulus)
                if t.compare(halfQ) > 0 { t.sub(t, modulus) }  // lift into (−q/2, q/2]
                // round(t / w) = ⌊(2t + w) / 2w⌋
                o.add(t, t)
                o.add(o, w)
                o.floorDivide(o, twoW)
                if o.signum < 0 || o.compare(largestSample) > 0 { bad = i } else { decrypted[i] = UInt8(o.low64) }
            }
        }
        if let bad {
            throw MSAIError.integrityFailure(
                "VHE ciphertext \(bad) of area \(area) does not decrypt to a sample value: frame or key was altered")
        }
        let rowLength = area.width * image.channels
        image.withRows(of: area) { row, samples in
            for j in 0..<rowLength { samples[j] = decrypted[row * rowLength + j] }
        }
    }
}
