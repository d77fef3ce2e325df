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
        let kInverse = Int(GF251.inverse[Int(k)])
        return try mapNoise(using: stream) { e in UInt8(kInverse * ((Int(w) + e) % 251) % 251) }
    }

    /// f(e[i]) for every sample, the same values as mapping `noise(using:)` but in one pass:
    /// each accepted keystream byte b (b < 250) goes straight to f of its noise value through a
    /// 250-entry table made for this key, so a sample costs a compare and a lookup instead of
    /// reductions mod 251 and a second array.
    @inlinable
    func mapNoise<S: Keystream>(using stream: S.Type, _ f: (Int) -> UInt8) throws -> [UInt8] {
        let excluded = 251 - Int(w)
        var valueOf = [UInt8](repeating: 0, count: 256)
        for b in 0..<250 { valueOf[b] = f(b < excluded ? b : b + 1) }
        var keystream = try S(seed: seed, domain: .membraneNoise)
        let count = shape.sampleCount
        return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            valueOf.withUnsafeBufferPointer { table in
                var filled = 0
                while filled < count {
                    // About 2.4 % of bytes are rejected (b >= 250): ask for a little more than is left.
                    let bytes = keystream.nextBytes(min(1 << 16, count - filled + (count - filled) / 32 + 16))
                    bytes.withUnsafeBufferPointer { chunk in
                        for b in chunk where b < 250 && filled < count {
                            out[filled] = table[Int(b)]
                            filled += 1
                        }
                    }
                }
            }
            initialized = count
        }
    }

    /// The pad of frames in format 1 (msai 1), which the cloud made from this key's seed: kept
    /// only to recover frames an msai 1 data center stored. Format 2 takes the pad from the
    /// data center's τ seed instead, so that the cloud's key alone unmasks nothing.
    public func legacyPad<S: Keystream>(using stream: S.Type) throws -> [UInt8] {
        var keystream = try S(seed: seed, domain: .pad)
        return keystream.nextBytes(shape.sampleCount)
    }
}
