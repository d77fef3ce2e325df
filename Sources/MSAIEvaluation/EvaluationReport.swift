import Foundation
import MSAICore

/// Everything `msai evaluate` measures about one image; encoded as NAME.metrics.json.
/// Percentages are in percent (99.6, not 0.996). PSNR of an exact recovery is the string "inf".
/// It reads back as it was written (`msai report` decodes it): a key renamed on one side is an
/// error naming the file, not a silent blank in the report.
public struct EvaluationReport: Codable, Sendable {
    public struct Region: Codable, Sendable {
        public let x: Int, y: Int, w: Int, h: Int
        public let `class`: String
        public let label: String
        public let confidence: Double
        public let detector: String
        public let landmarks: [[Double]]?

        public init(_ d: Detection) {
            landmarks = d.landmarks?.map { [($0.x * 10).rounded() / 10, ($0.y * 10).rounded() / 10] }
            x = d.rect.x
            y = d.rect.y
            w = d.rect.width
            h = d.rect.height
            // Areas given by hand have no detected class.
            `class` = d.detector == "manual" ? "manual" : d.privacyClass.rawValue
            label = d.label
            confidence = (d.confidence * 10000).rounded() / 10000
            detector = d.detector
        }
    }

    public struct Expectation: Codable, Sendable {
        public let npcr: Double
        public let uaci: Double
    }

    public struct WuTest: Codable, Sendable {
        public let comparison: String
        public let largestValue: Int
        public let alpha: Double
        public let samples: Int
        public let npcr: Double
        public let npcrCritical: Double
        public let npcrPass: Bool
        public let uaci: Double
        public let uaciLower: Double
        public let uaciUpper: Double
        public let uaciPass: Bool
        /// The same comparison judged at SCHEME.md's F = 250 (UACI scaled by 250/255), for reference:
        /// see `WuCriticalValues` for why F = 249 is the right reference for GF(251)-masked areas.
        public let schemeF250: Verdict?

        public struct Verdict: Codable, Sendable {
            public let npcrCritical: Double
            public let npcrPass: Bool
            public let uaciLower: Double
            public let uaciUpper: Double
            public let uaciPass: Bool

            enum CodingKeys: String, CodingKey {
                case npcrCritical = "npcr_critical", npcrPass = "npcr_pass", uaciLower = "uaci_lower"
                case uaciUpper = "uaci_upper", uaciPass = "uaci_pass"
            }
        }

        enum CodingKeys: String, CodingKey {
            case comparison, alpha, samples, npcr, uaci
            case schemeF250 = "scheme_f250"
            case largestValue = "largest_value"
            case npcrCritical = "npcr_critical"
            case npcrPass = "npcr_pass"
            case uaciLower = "uaci_lower"
            case uaciUpper = "uaci_upper"
            case uaciPass = "uaci_pass"
        }
    }

    public struct Histograms: Codable, Sendable {
        public let originalAreas: [[Int]]
        public let maskedAreas: [[Int]]
        public let recoveredAreas: [[Int]]

        enum CodingKeys: String, CodingKey {
            case originalAreas = "original_areas"
            case maskedAreas = "masked_areas"
            case recoveredAreas = "recovered_areas"
        }
    }

    public let image: String
    public let width: Int
    public let height: Int
    public let channels: Int
    public let mode: String
    public let block: Int
    public let regions: [Region]
    /// "areas", "nothing" or "whole-frame", and why (detections, policy, detector failure).
    public var maskDecision = "areas"
    public var maskReason = ""
    public var npcrWhole = 0.0
    public var uaciWhole = 0.0
    public var npcrWholePerChannel: [Double] = []
    public var uaciWholePerChannel: [Double] = []
    public var npcrAreas: Double?
    public var uaciAreas: Double?
    public var npcrAreasPerChannel: [Double]?
    public var uaciAreasPerChannel: [Double]?
    /// The Pearson correlation of the original's and the masked view's edge maps over the areas
    /// (`ImageStatistics.edgeCorrelation`): near 0 when the masked areas show no outline.
    public var edgeCorrelationAreas: Double?
    /// What two independent uniform GF(251) areas would give (F = 250), shown beside the
    /// original-vs-masked figures without a verdict (SCHEME.md).
    public var expectedAreas: Expectation?
    public var wuTests: [WuTest] = []
    public var psnrRecovered = 0.0
    public var mseRecovered = 0.0
    public var recoveredIdentical = false
    public var leakShare = 0.0
    public var maskedBytes = 0
    public var entropy: [String: Double] = [:]
    public var localEntropy: [String: Double?] = [:]
    public var correlation: [String: [String: Double?]] = [:]
    public var histograms: Histograms?
    public var timingsMs: [String: Double] = [:]
    /// Other ways of protecting the same frame, measured the same way (see `Baselines`).
    public var baselines: [BaselineResult] = []

    public init(image: String, width: Int, height: Int, channels: Int, mode: String, block: Int, regions: [Region]) {
        self.image = image
        self.width = width
        self.height = height
        self.channels = channels
        self.mode = mode
        self.block = block
        self.regions = regions
    }

    enum CodingKeys: String, CodingKey {
        case image, width, height, channels, mode, block, regions, entropy, correlation, histograms
        case npcrWhole = "npcr_whole", uaciWhole = "uaci_whole"
        case npcrWholePerChannel = "npcr_whole_per_channel", uaciWholePerChannel = "uaci_whole_per_channel"
        case npcrAreas = "npcr_areas", uaciAreas = "uaci_areas"
        case npcrAreasPerChannel = "npcr_areas_per_channel", uaciAreasPerChannel = "uaci_areas_per_channel"
        case edgeCorrelationAreas = "edge_correlation_areas"
        case expectedAreas = "expected_areas", wuTests = "wu_tests"
        case psnrRecovered = "psnr_recovered", mseRecovered = "mse_recovered"
        case recoveredIdentical = "recovered_identical", leakShare = "leak_share", maskedBytes = "masked_png_bytes"
        case localEntropy = "local_entropy", timingsMs = "timings_ms"
        case maskDecision = "mask_decision", maskReason = "mask_reason"
        case baselines
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        image = try c.decode(String.self, forKey: .image)
        width = try c.decode(Int.self, forKey: .width)
        height = try c.decode(Int.self, forKey: .height)
        channels = try c.decode(Int.self, forKey: .channels)
        mode = try c.decode(String.self, forKey: .mode)
        block = try c.decode(Int.self, forKey: .block)
        regions = try c.decode([Region].self, forKey: .regions)
        maskDecision = try c.decode(String.self, forKey: .maskDecision)
        maskReason = try c.decode(String.self, forKey: .maskReason)
        npcrWhole = try c.decode(Double.self, forKey: .npcrWhole)
        uaciWhole = try c.decode(Double.self, forKey: .uaciWhole)
        npcrWholePerChannel = try c.decode([Double].self, forKey: .npcrWholePerChannel)
        uaciWholePerChannel = try c.decode([Double].self, forKey: .uaciWholePerChannel)
        npcrAreas = try c.decodeIfPresent(Double.self, forKey: .npcrAreas)
        uaciAreas = try c.decodeIfPresent(Double.self, forKey: .uaciAreas)
        npcrAreasPerChannel = try c.decodeIfPresent([Double].self, forKey: .npcrAreasPerChannel)
        uaciAreasPerChannel = try c.decodeIfPresent([Double].self, forKey: .uaciAreasPerChannel)
        edgeCorrelationAreas = try c.decodeIfPresent(Double.self, forKey: .edgeCorrelationAreas)
        expectedAreas = try c.decodeIfPresent(Expectation.self, forKey: .expectedAreas)
        wuTests = try c.decode([WuTest].self, forKey: .wuTests)
        if let text = try? c.decode(String.self, forKey: .psnrRecovered) {
            guard text == "inf" else {
                throw DecodingError.dataCorruptedError(forKey: .psnrRecovered, in: c, debugDescription: "a number or \"inf\"")
            }
            psnrRecovered = .infinity
        } else {
            psnrRecovered = try c.decode(Double.self, forKey: .psnrRecovered)
        }
        mseRecovered = try c.decode(Double.self, forKey: .mseRecovered)
        recoveredIdentical = try c.decode(Bool.self, forKey: .recoveredIdentical)
        leakShare = try c.decode(Double.self, forKey: .leakShare)
        maskedBytes = try c.decode(Int.self, forKey: .maskedBytes)
        entropy = try c.decode([String: Double].self, forKey: .entropy)
        localEntropy = try c.decode([String: Double?].self, forKey: .localEntropy)
        correlation = try c.decode([String: [String: Double?]].self, forKey: .correlation)
        histograms = try c.decodeIfPresent(Histograms.self, forKey: .histograms)
        timingsMs = try c.decode([String: Double].self, forKey: .timingsMs)
        baselines = try c.decode([BaselineResult].self, forKey: .baselines)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(image, forKey: .image)
        try c.encode(width, forKey: .width)
        try c.encode(height, forKey: .height)
        try c.encode(channels, forKey: .channels)
        try c.encode(mode, forKey: .mode)
        try c.encode(block, forKey: .block)
        try c.encode(regions, forKey: .regions)
        try c.encode(maskDecision, forKey: .maskDecision)
        try c.encode(maskReason, forKey: .maskReason)
        try c.encode(round4(npcrWhole), forKey: .npcrWhole)
        try c.encode(round4(uaciWhole), forKey: .uaciWhole)
        try c.encode(npcrWholePerChannel.map(round4), forKey: .npcrWholePerChannel)
        try c.encode(uaciWholePerChannel.map(round4), forKey: .uaciWholePerChannel)
        try c.encode(npcrAreas.map(round4), forKey: .npcrAreas)
        try c.encode(uaciAreas.map(round4), forKey: .uaciAreas)
        try c.encode(npcrAreasPerChannel?.map(round4), forKey: .npcrAreasPerChannel)
        try c.encode(uaciAreasPerChannel?.map(round4), forKey: .uaciAreasPerChannel)
        try c.encode(edgeCorrelationAreas.flatMap { $0.isNaN ? nil : round4($0) }, forKey: .edgeCorrelationAreas)
        try c.encode(expectedAreas, forKey: .expectedAreas)
        try c.encode(wuTests, forKey: .wuTests)
        if psnrRecovered.isInfinite { try c.encode("inf", forKey: .psnrRecovered) } else { try c.encode(round4(psnrRecovered), forKey: .psnrRecovered) }
        try c.encode(mseRecovered, forKey: .mseRecovered)
        try c.encode(recoveredIdentical, forKey: .recoveredIdentical)
        try c.encode((leakShare * 1e6).rounded() / 1e6, forKey: .leakShare)
        try c.encode(maskedBytes, forKey: .maskedBytes)
        try c.encode(entropy.mapValues(round4), forKey: .entropy)
        try c.encode(localEntropy.mapValues { $0.map(round4) }, forKey: .localEntropy)
        try c.encode(correlation.mapValues { $0.mapValues { $0.map(round4) } }, forKey: .correlation)
        try c.encode(histograms, forKey: .histograms)
        try c.encode(timingsMs.mapValues { ($0 * 1000).rounded() / 1000 }, forKey: .timingsMs)
        try c.encode(baselines, forKey: .baselines)
    }

    public func json(pretty: Bool = true) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data()
    }
}

func round4(_ x: Double) -> Double { (x * 10000).rounded() / 10000 }

extension EvaluationReport {
    /// How many of the Wu tests' verdicts passed: each test has two, NPCR and UACI.
    public var wuVerdictsPassed: Int { wuTests.reduce(0) { $0 + ($1.npcrPass ? 1 : 0) + ($1.uaciPass ? 1 : 0) } }
    public var wuVerdicts: Int { wuTests.count * 2 }

    /// Reads a NAME.metrics.json back.
    public static func decode(_ data: Data) throws -> EvaluationReport {
        try JSONDecoder().decode(EvaluationReport.self, from: data)
    }
}
