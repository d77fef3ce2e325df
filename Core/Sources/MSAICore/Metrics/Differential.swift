import Foundation

/// NPCR and UACI, the differential figures of the paper's section 5.1.
public enum Differential {
    /// Number of Pixel Change Rate: the share of sample positions that differ, per channel, in 0...1.
    public static func npcr(_ a: SampleSet, _ b: SampleSet) throws -> ChannelFigures {
        try check(a, b)
        var differing = [Int](repeating: 0, count: a.channels)
        for i in 0..<a.count where a.values[i] != b.values[i] {
            differing[i % a.channels] += 1
        }
        return ChannelFigures(perChannel: differing.map { Double($0) / Double(a.countPerChannel) })
    }

    /// Unified Average Changing Intensity: mean |a − b| / 255 per channel, in 0...1 (the paper's equation 6).
    public static func uaci(_ a: SampleSet, _ b: SampleSet) throws -> ChannelFigures {
        try check(a, b)
        var sums = [Int](repeating: 0, count: a.channels)
        for i in 0..<a.count {
            sums[i % a.channels] += abs(Int(a.values[i]) - Int(b.values[i]))
        }
        return ChannelFigures(perChannel: sums.map { Double($0) / 255 / Double(a.countPerChannel) })
    }

    static func check(_ a: SampleSet, _ b: SampleSet) throws {
        guard a.channels == b.channels, a.count == b.count else {
            throw MSAIError.shapeMismatch(
                "cannot compare \(a.countPerChannel) samples x \(a.channels) channels with \(b.countPerChannel) x \(b.channels)")
        }
        guard a.count > 0 else { throw MSAIError.shapeMismatch("cannot compare empty sample sets") }
    }
}

/// Wu, Noonan and Agaian's critical values (J. Selected Areas in Telecommunications, 2011):
/// what NPCR and UACI two independent uniform images with values 0...F and n samples give.
///
/// N* = μ_N − z(1−α) σ_N;  U* = μ_U ∓ z(1−α/2) σ_U, with μ_N = F/(F+1),
/// σ_N² = F / ((F+1)² n), μ_U = (F+2)/(3F+3), σ_U² = (F+2)(F²+2F+3) / (18 (F+1)² F n).
/// UACI here divides by 255 (the paper's equation 6) while the formula's mean is for a
/// division by F, so the UACI figures are scaled by F/255 (a no-op for F = 255).
///
/// The formulas assume F + 1 equiprobable values 0...F. Two GF(251) maskings of the same
/// non-zero sample are o·λ₁ and o·λ₂ with λ uniform in 1...250: 250 equiprobable values, so
/// the reference for comparing two masked areas is F = 249 (`maskedAreas`), not 250: with
/// F = 250 the UACI mean is 0.13 points too high, which fails every large area.
public struct WuCriticalValues: Equatable, Sendable {
    public let largestValue: Int
    public let sampleCount: Int
    public let alpha: Double

    public init(largestValue: Int, sampleCount: Int, alpha: Double = 0.05) {
        self.largestValue = largestValue
        self.sampleCount = sampleCount
        self.alpha = alpha
    }

    /// The reference for comparing two independently masked areas: F = 249 for GF(251) masking
    /// (see above); F = 255 for the hardened mode, whose masked samples are uniform over 0...255.
    public static func maskedAreas(sampleCount: Int, mode: MaskingMode = .gf251, alpha: Double = 0.05) -> WuCriticalValues {
        WuCriticalValues(largestValue: mode == .hardened ? 255 : 249, sampleCount: sampleCount, alpha: alpha)
    }

    private var f: Double { Double(largestValue) }
    private var n: Double { Double(sampleCount) }
    private var uaciScale: Double { f / 255 }

    public var npcrMean: Double { f / (f + 1) }
    public var npcrSigma: Double { (f / ((f + 1) * (f + 1) * n)).squareRoot() }
    /// N*: an NPCR at or above this passes.
    public var npcrCritical: Double { npcrMean - NormalDistribution.quantile(1 - alpha) * npcrSigma }

    public var uaciMean: Double { (f + 2) / (3 * f + 3) * uaciScale }
    public var uaciSigma: Double {
        ((f + 2) * (f * f + 2 * f + 3) / (18 * (f + 1) * (f + 1) * f * n)).squareRoot() * uaciScale
    }
    /// U*⁻ ... U*⁺: a UACI inside passes.
    public var uaciInterval: ClosedRange<Double> {
        let z = NormalDistribution.quantile(1 - alpha / 2)
        return (uaciMean - z * uaciSigma)...(uaciMean + z * uaciSigma)
    }

    public func npcrPasses(_ npcr: Double) -> Bool { npcr >= npcrCritical }
    public func uaciPasses(_ uaci: Double) -> Bool { uaciInterval.contains(uaci) }
}

public enum NormalDistribution {
    /// Φ⁻¹(p), the standard normal quantile, by Acklam's rational approximation
    /// (relative error below 1.2e-9 over (0, 1)).
    public static func quantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1)
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
                 -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
                 -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
                 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        if p > 1 - low { return -quantile(1 - p) }
        let q = p - 0.5, r = q * q
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    }
}
