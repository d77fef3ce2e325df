/// The secret behind one GF(251) membrane, held by the cloud (briefly) and the data center.
///
/// The cloud draws k and w uniformly from GF(251)* and a fresh 256-bit seed s; the noise
/// e[i] is derived from s (see `noise(using:)`), and the membrane is
/// λ[i] = k⁻¹ · (w + e[i]) mod 251: the VHE ciphertext of 1 under key k (the paper's Algorithm 1).
public struct GF251MembraneKey: Equatable, Sendable {
    public let id: MembraneID
    public let shape: MembraneShape
    public let k: UInt8
    public let w: UInt8
    public let seed: [UInt8]

    public init(id: MembraneID, shape: MembraneShape, k: UInt8, w: UInt8, seed: [UInt8]) throws {
        guard (1...250).contains(k), (1...250).contains(w) else {
            throw MSAIError.invalidArgument("membrane key \(id): k and w must lie in 1...250 (got k=\(k), w=\(w))")
        }
        guard seed.count == 32 else {
            throw MSAIError.invalidArgument("membrane key \(id): the noise seed must be 32 bytes, got \(seed.count)")
        }
        self.id = id
        self.shape = shape
        self.k = k
        self.w = w
        self.seed = seed
    }

    /// Draws a fresh key: k, w uniform in 1...250 and a 256-bit seed, from `random`.
    public static func draw(id: MembraneID, shape: MembraneShape, using random: inout some RandomNumberGenerator)
        throws -> GF251MembraneKey
    {
        try GF251MembraneKey(
            id: id, shape: shape,
            k: UInt8.random(in: 1...250, using: &random), w: UInt8.random(in: 1...250, using: &random),
            seed: randomBytes(32, using: &random))
    }

    /// The noise e[i] for every sample, uniform over GF(251) \ {251 − w} so that w + e ≠ 0:
    /// each is one keystream byte b (domain "MEMB") drawn again while b ≥ 250, then
    /// e = b if b < 251 − w, else b + 1.
    @inlinable
    public func noise<S: Keystream>(using stream: S.Type) throws -> [UInt8] {
        var sampler = UniformSampler(try S(seed: seed, domain: .membraneNoise))
        let excluded = 251 - Int(w)
        var out = [UInt8](repeating: 0, count: shape.sampleCount)
        for i in 0..<out.count {
            let b = sampler.byte(below: 250)
            out[i] = Int(b) < excluded ? b : b + 1
        }
        return out
    }

    /// λ[i] = k⁻¹ · (w + e[i]) mod 251, every value in 1...250. What the edge receives.
    @inlinable
    public func membrane<S: Keystream>(using stream: S.Type) throws -> [UInt8] {
        let kInverse = GF251.inverse[Int(k)]
        return try noise(using: stream).map { GF251.multiply(kInverse, GF251.add(w, $0)) }
    }

    /// The pad of frames in format 1 (msai 1), which the cloud made from this key's seed: kept
    /// only to recover frames an msai 1 data center stored. Format 2 takes the pad from the
    /// data center's τ seed instead, so that the cloud's key alone unmasks nothing.
    public func legacyPad<S: Keystream>(using stream: S.Type) throws -> [UInt8] {
        var keystream = try S(seed: seed, domain: .pad)
        return keystream.nextBytes(shape.sampleCount)
    }
}
