extension GF251MembraneKey {
    /// λ⁻¹[i] = k · (w + e[i])⁻¹ mod 251: the multipliers that undo the membrane.
    /// The data center computes these from the key alone (the paper's equation 4, exact in the field).
    @inlinable
    public func inverseMembrane<S: Keystream>(using stream: S.Type) throws -> [UInt8] {
        try mapNoise(using: stream) { e in GF251.multiply(k, GF251.inverse[(Int(w) + e) % 251]) }
    }
}

/// Masks and unmasks rectangular areas of an image in place with per-sample multipliers.
///
/// A sample o ≤ 250 becomes o · λ mod 251; a sample ≥ 251 is left as it is (it is not a field
/// element). Unmasking is the same map with λ⁻¹. Both are bijections on 0...255, so recovery
/// is bit-exact for every input. Samples equal to 0 or ≥ 251 are left unchanged: that is the
/// scheme's leak, measured by `leakedSampleCount`.
public enum AreaMasker {
    /// Applies `multipliers` (each in 1...250, row-major over the area, channels interleaved).
    public static func apply(_ multipliers: [UInt8], to image: inout PixelBuffer, area: Rect) throws {
        try check(multipliers, pad: nil, image: image, area: area)
        map(image: &image, area: area, multipliers: multipliers) { s, _ in s }
    }

    /// The hardened mode: s' = λ-map((s + δ) mod 256), in one pass over the area.
    public static func applyPadded(_ multipliers: [UInt8], pad: [UInt8], to image: inout PixelBuffer, area: Rect) throws {
        try check(multipliers, pad: pad, image: image, area: area)
        pad.withUnsafeBufferPointer { delta in
            map(image: &image, area: area, multipliers: multipliers) { s, i in s &+ delta[i] }
        }
    }

    /// Undoes `applyPadded` given λ⁻¹ and the same pad: s = (λ⁻¹-map(s') − δ) mod 256.
    public static func removePadded(_ inverseMultipliers: [UInt8], pad: [UInt8], from image: inout PixelBuffer, area: Rect) throws {
        try check(inverseMultipliers, pad: pad, image: image, area: area)
        let rowLength = area.width * image.channels
        GF251.maskTable.withUnsafeBufferPointer { table in
            inverseMultipliers.withUnsafeBufferPointer { lambda in
                pad.withUnsafeBufferPointer { delta in
                    image.withRows(of: area) { row, samples in
                        let base = row * rowLength
                        for i in 0..<rowLength {
                            samples[i] = table[Int(lambda[base + i]) &* 256 &+ Int(samples[i])] &- delta[base + i]
                        }
                    }
                }
            }
        }
    }

    /// Everything that can be wrong, checked before a sample is touched: nothing is half-masked.
    private static func check(_ multipliers: [UInt8], pad: [UInt8]?, image: PixelBuffer, area: Rect) throws {
        try image.checkContains(area)
        let shape = try MembraneShape(covering: area, channels: image.channels)
        guard multipliers.count == shape.sampleCount else {
            throw MSAIError.shapeMismatch(
                "area \(area) of a \(image.channels)-channel image needs a membrane of \(shape.sampleCount) samples (\(shape)) but got \(multipliers.count)"
            )
        }
        if let pad, pad.count != multipliers.count {
            throw MSAIError.shapeMismatch("membrane has \(multipliers.count) multipliers but \(pad.count) pad bytes")
        }
        if let bad = multipliers.firstIndex(where: { $0 == 0 || $0 > 250 }) {
            throw MSAIError.invalidArgument("multiplier \(multipliers[bad]) at sample \(bad) is outside 1...250; refusing to apply it")
        }
    }

    /// s' = maskTable[λ·256 + before(s, i)] over the area, i the sample's index in the area: one
    /// table lookup a sample (a 64 KiB table, which stays in the cache).
    @inline(__always)
    private static func map(image: inout PixelBuffer, area: Rect, multipliers: [UInt8], _ before: (UInt8, Int) -> UInt8) {
        let rowLength = area.width * image.channels
        GF251.maskTable.withUnsafeBufferPointer { table in
            multipliers.withUnsafeBufferPointer { lambda in
                image.withRows(of: area) { row, samples in
                    let base = row * rowLength
                    for i in 0..<rowLength {
                        samples[i] = table[Int(lambda[base + i]) &* 256 &+ Int(before(samples[i], base + i))]
                    }
                }
            }
        }
    }

    /// How many samples under `areas` (each counted once where areas overlap) the GF(251) map
    /// leaves as they are: those equal to 0 or 251...255.
    public static func leakedSampleCount(in image: PixelBuffer, areas: [Rect]) throws -> Int {
        try image.sampleSet(coveredBy: areas).values.reduce(0) { $0 + ($1 == 0 || $1 >= 251 ? 1 : 0) }
    }
}
