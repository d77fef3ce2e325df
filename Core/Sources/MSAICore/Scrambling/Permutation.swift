/// A permutation of 0..<count, stored as the image of each index: `self[i]` = π(i).
public struct Permutation: Equatable, Sendable {
    public let indices: [Int]

    /// Wraps an array; throws unless it holds each of 0..<count exactly once.
    public init(_ indices: [Int]) throws {
        var seen = [Bool](repeating: false, count: indices.count)
        for value in indices {
            guard value >= 0, value < indices.count, !seen[value] else {
                throw MSAIError.shapeMismatch(
                    "tau of \(indices.count) entries is not a permutation (entry \(value) is out of range or repeated)")
            }
            seen[value] = true
        }
        self.indices = indices
    }

    @usableFromInline init(unchecked indices: [Int]) { self.indices = indices }

    public static func identity(_ count: Int) -> Permutation { Permutation(unchecked: Array(0..<count)) }

    public var count: Int { indices.count }
    public subscript(i: Int) -> Int { indices[i] }

    public var inverse: Permutation {
        var out = [Int](repeating: 0, count: indices.count)
        for (i, v) in indices.enumerated() { out[v] = i }
        return Permutation(unchecked: out)
    }

    /// A uniformly random permutation of 0..<count drawn from a keystream, by the
    /// Fisher–Yates (Durstenfeld) shuffle of the identity:
    ///
    ///     for i in count-1 down to 1:  j = uniform(0...i);  swap(a[i], a[j])
    ///
    /// where uniform is `UniformSampler.integer(below: i + 1)` (32-bit big-endian words with
    /// rejection). Both ends of a link derive the same permutation from the same seed.
    /// Inlinable so that it is specialised for the keystream: unspecialised, every byte drawn
    /// went through a witness table and deriving tau cost 10x more.
    @inlinable
    public static func fisherYates<S: Keystream>(count: Int, sampler: inout UniformSampler<S>) -> Permutation {
        var a = Array(0..<count)
        var i = count - 1
        while i > 0 {
            let j = Int(sampler.integer(below: UInt64(i + 1)))
            a.swapAt(i, j)
            i -= 1
        }
        return Permutation(unchecked: a)
    }

    /// The same, from a seed and a domain of the keystream `S`.
    @inlinable
    public static func derive<S: Keystream>(
        count: Int, seed: [UInt8], domain: KeystreamDomain, using _: S.Type
    ) throws -> Permutation {
        var sampler = UniformSampler(try S(seed: seed, domain: domain))
        return fisherYates(count: count, sampler: &sampler)
    }
}
