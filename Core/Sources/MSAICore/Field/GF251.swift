/// Arithmetic in GF(251), the integers modulo the prime 251.
///
/// 8-bit samples 0...250 are field elements; 251...255 are not, and the masking maps
/// leave them as they are (see `GF251.maskTable`). Tables are built once: masking an
/// area is then one table lookup per sample, no division on the hot path.
public enum GF251 {
    /// The field's order, 251.
    public static let order = 251

    /// `inverse[a]` is a⁻¹ for a in 1...250; `inverse[0]` is 0 and means "no inverse".
    public static let inverse: [UInt8] = {
        var table = [UInt8](repeating: 0, count: order)
        for a in 1..<order {
            for b in 1..<order where (a * b) % order == 1 {
                table[a] = UInt8(b)
                break
            }
        }
        return table
    }()

    /// a · b mod 251, for a, b in 0...250.
    @inlinable
    public static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        UInt8((Int(a) * Int(b)) % order)
    }

    /// a + b mod 251, for a, b in 0...250.
    @inlinable
    public static func add(_ a: UInt8, _ b: UInt8) -> UInt8 {
        UInt8((Int(a) + Int(b)) % order)
    }

    /// The sample map for a multiplier λ in 1...250, as a flat table indexed `λ * 256 + o`:
    /// o · λ mod 251 for o ≤ 250, and o itself for o ≥ 251. Each row is a bijection of 0...255,
    /// and row λ⁻¹ undoes row λ, which is what makes recovery bit-exact for every input.
    /// Row 0 is the identity and is never used by a valid membrane.
    public static let maskTable: [UInt8] = {
        var table = [UInt8](repeating: 0, count: order * 256)
        for lambda in 0..<order {
            for sample in 0..<256 {
                table[lambda * 256 + sample] =
                    sample < order && lambda > 0 ? UInt8((sample * lambda) % order) : UInt8(sample)
            }
        }
        return table
    }()
}
