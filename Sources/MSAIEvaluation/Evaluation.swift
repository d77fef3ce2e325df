import Foundation
import MSAICore
import MSAICrypto
import MSAIImageIO
import MSAIRoles

/// Runs one frame through the three roles in-process (edge → cloud, data center) and measures
/// what the masking does: `msai evaluate`'s engine. The roles are separate objects that talk
/// only through their service protocols.
public final class Evaluator {
    public let edge: EdgeCamera
    /// In the `jpeg` mode, the edge for inputs that are not JPEGs (hardened); else `edge`.
    public let pixelEdge: EdgeCamera
    /// Fetches a frame the data center accepted, as it recovered it: in-process, its store; over
    /// the network, the reader endpoint.
    public typealias RecoveredFrames = @Sendable (_ frameID: String) async throws -> (pixels: PixelBuffer, timings: StepTimings)
    private let recovered: RecoveredFrames
    /// Significance level of every Wu test in the report.
    public let alpha = 0.05

    /// Roles already running somewhere (`msai batch --cloud URL --datacenter URL`).
    public init(edge: EdgeCamera, pixelEdge: EdgeCamera? = nil, recovered: @escaping RecoveredFrames) {
        self.edge = edge
        self.pixelEdge = pixelEdge ?? edge
        self.recovered = recovered
    }

    /// The three roles in this process, each its own object.
    public convenience init(mode: MaskingMode, blockSize: Int, random: sending some RandomNumberGenerator = SystemRandomNumberGenerator(),
                            dataCenterRandom: sending some RandomNumberGenerator = SystemRandomNumberGenerator()) {
        let dataCenter = DataCenter(random: dataCenterRandom)
        let cloud = CloudPlatform(escrow: dataCenter, random: random)
        self.init(edge: EdgeCamera(membranes: cloud, scrambling: dataCenter, egress: dataCenter, mode: mode, blockSize: blockSize),
                  pixelEdge: mode == .jpeg ? EdgeCamera(membranes: cloud, scrambling: dataCenter, egress: dataCenter, mode: .hardened, blockSize: blockSize) : nil) { id in
            let recovery = try dataCenter.recoverOriginal(id, actor: "evaluation", reason: "msai evaluate: measuring recovery")
            return (recovery.pixels, recovery.timings)
        }
    }

    /// An input file as this evaluator takes it: its pixels, and in the `jpeg` mode for a JPEG
    /// the DCT domain takes its bytes too, with its pixels as stored (`ImageFile.frame`).
    public func input(_ path: String) throws -> (image: PixelBuffer, jpeg: [UInt8]?) {
        let input = try ImageFile.frame(try ImageFile.readBytes(path), dctDomain: edge.mode == .jpeg, name: path)
        return (input.pixels, input.jpeg)
    }

    public struct Result {
        public let report: EvaluationReport
        public let masked: EdgeCamera.MaskedFrame
        public let recovered: PixelBuffer
    }

    /// Masks, scrambles, sends, recovers and measures one frame. With `jpeg` (the camera's JPEG,
    /// whose pixels as stored are `image`) and an edge in the `jpeg` mode, in the DCT domain, the
    /// area figures over the whole MCUs it masked; otherwise the pixels, in `pixelEdge`'s mode.
    public func evaluate(name: String, image: PixelBuffer, jpeg: [UInt8]? = nil, regions: [Detection], detectMilliseconds: Double,
                         decision: (outcome: String, reason: String) = ("areas", "areas given")) async throws -> Result {
        let masked: EdgeCamera.MaskedFrame
        if let jpeg, edge.mode == .jpeg {
            masked = try await edge.prepareJPEG(jpeg, areas: regions.map(\.rect))
        } else {
            masked = try await pixelEdge.prepare(image, areas: regions.map(\.rect))
        }
        let mode = masked.format == .jpeg ? MaskingMode.jpeg : pixelEdge.mode
        let areas = masked.format == .jpeg ? masked.manifest.areas.map(\.rect) : regions.map(\.rect)
        let receipt = try await edge.send(masked)
        let stored = try await recovered(receipt.frameID)
        let recovered = stored.pixels

        var report = EvaluationReport(
            image: name, width: image.width, height: image.height, channels: image.channels, mode: mode.rawValue,
            block: edge.blockSize, regions: regions.map(EvaluationReport.Region.init))
        report.maskDecision = decision.outcome
        report.maskReason = decision.reason
        let scrambledView = try masked.scrambled, maskedView = try masked.maskedAreas
        let whole = image.sampleSet, scrambled = scrambledView.sampleSet
        report.npcrWholePerChannel = try Differential.npcr(whole, scrambled).perChannel.map(percent)
        report.uaciWholePerChannel = try Differential.uaci(whole, scrambled).perChannel.map(percent)
        report.npcrWhole = try percent(Differential.npcr(whole, scrambled).mean)
        report.uaciWhole = try percent(Differential.uaci(whole, scrambled).mean)
        let mse = try ImageStatistics.mse(whole, recovered.sampleSet)
        report.mseRecovered = mse
        report.psnrRecovered = ImageStatistics.psnr(mse: mse)
        report.recoveredIdentical = recovered == image
        report.leakShare = masked.areaSamples == 0 ? 0 : Double(masked.leakedSamples) / Double(masked.areaSamples)
        report.maskedBytes = masked.sealed.count
        report.entropy["original_whole"] = ImageStatistics.entropy(whole).mean
        report.entropy["masked_whole"] = ImageStatistics.entropy(scrambled).mean
        report.localEntropy["original_whole"] = ImageStatistics.localEntropy(image)?.mean
        report.localEntropy["masked_whole"] = ImageStatistics.localEntropy(scrambledView)?.mean
        report.correlation["original_whole"] = try correlations(image, [image.bounds])
        report.correlation["masked_whole"] = try correlations(scrambledView, [image.bounds])

        if !areas.isEmpty {
            let original = try image.sampleSet(coveredBy: areas), maskedAreas = try maskedView.sampleSet(coveredBy: areas)
            report.npcrAreas = try percent(Differential.npcr(original, maskedAreas).mean)
            report.uaciAreas = try percent(Differential.uaci(original, maskedAreas).mean)
            report.npcrAreasPerChannel = try Differential.npcr(original, maskedAreas).perChannel.map(percent)
            report.uaciAreasPerChannel = try Differential.uaci(original, maskedAreas).perChannel.map(percent)
            let expectation = WuCriticalValues(
                largestValue: mode == .gf251 || mode == .vhe ? 250 : 255, sampleCount: original.count, alpha: alpha)
            report.expectedAreas = .init(npcr: round4(percent(expectation.npcrMean)), uaci: round4(percent(expectation.uaciMean)))
            report.entropy["original_areas"] = ImageStatistics.entropy(original).mean
            report.entropy["masked_areas"] = ImageStatistics.entropy(maskedAreas).mean
            report.correlation["original_areas"] = try correlations(image, areas)
            report.correlation["masked_areas"] = try correlations(maskedView, areas)
            report.histograms = .init(
                originalAreas: ImageStatistics.histograms(original), maskedAreas: ImageStatistics.histograms(maskedAreas),
                recoveredAreas: ImageStatistics.histograms(try recovered.sampleSet(coveredBy: areas)))
            report.edgeCorrelationAreas = try ImageStatistics.edgeCorrelation(image, maskedView, in: areas)
            // Wu's tests assume masked samples uniform over the field; a JPEG's decoded pixels are not.
            if mode != .jpeg { report.wuTests = try await wuTests(image, areas: areas, firstMasking: maskedAreas) }
        }

        report.baselines = try Baselines.run(image, areas: areas)
        report.timingsMs = [
            "detect": detectMilliseconds,
            "membrane": masked.timings["membrane"], "mask": masked.timings["mask"], "tau": masked.timings["tau"],
            "scramble": masked.timings["scramble"], "encode": masked.timings["encode"], "seal": masked.timings["seal"],
            "open": stored.timings["open"], "decode": stored.timings["decode"],
            "unscramble": stored.timings["unscramble"], "unmask": stored.timings["unmask"],
        ]
        return Result(report: report, masked: masked, recovered: recovered)
    }

    /// Wu's tests where their assumption holds (SCHEME.md): the same frame masked again in a
    /// separate request, and the frame with one pixel changed masked in a separate request;
    /// each compared with the first masking over the areas, at F = 249 (masked non-zero
    /// samples take 250 equiprobable values; see `WuCriticalValues`).
    private func wuTests(_ image: PixelBuffer, areas: [Rect], firstMasking: SampleSet) async throws -> [EvaluationReport.WuTest] {
        var timings = StepTimings()
        // Each masking gets its own pad, as each frame does.
        let edge = pixelEdge
        func keys() async throws -> FrameKeys { try await edge.frameKeysForMaskingOnly(width: image.width, height: image.height) }
        let again = try await edge.maskAreas(of: image, areas: areas, keys: try await keys(), timings: &timings).masked
            .sampleSet(coveredBy: areas)
        var changed = image
        let pixel = ((areas[0].y + areas[0].height / 2) * image.width + areas[0].x + areas[0].width / 2) * image.channels
        changed.samples[pixel] &+= 1
        let differential = try await edge.maskAreas(of: changed, areas: areas, keys: try await keys(), timings: &timings).masked
            .sampleSet(coveredBy: areas)
        return try [("same frame, second request", again), ("one pixel changed, second request", differential)].map { name, other in
            let npcr = try Differential.npcr(firstMasking, other).mean, uaci = try Differential.uaci(firstMasking, other).mean
            let critical = WuCriticalValues.maskedAreas(sampleCount: firstMasking.count, mode: edge.mode, alpha: alpha)
            return EvaluationReport.WuTest(
                comparison: name, largestValue: critical.largestValue, alpha: alpha, samples: firstMasking.count,
                npcr: round4(percent(npcr)), npcrCritical: round4(percent(critical.npcrCritical)),
                npcrPass: critical.npcrPasses(npcr), uaci: round4(percent(uaci)),
                uaciLower: round4(percent(critical.uaciInterval.lowerBound)),
                uaciUpper: round4(percent(critical.uaciInterval.upperBound)),
                uaciPass: critical.uaciPasses(uaci),
                schemeF250: edge.mode == .hardened ? nil : verdict(WuCriticalValues(largestValue: 250, sampleCount: firstMasking.count, alpha: alpha), npcr, uaci))
        }
    }

    private func verdict(_ c: WuCriticalValues, _ npcr: Double, _ uaci: Double) -> EvaluationReport.WuTest.Verdict {
        .init(npcrCritical: round4(percent(c.npcrCritical)), npcrPass: c.npcrPasses(npcr),
              uaciLower: round4(percent(c.uaciInterval.lowerBound)), uaciUpper: round4(percent(c.uaciInterval.upperBound)),
              uaciPass: c.uaciPasses(uaci))
    }

    private func correlations(_ image: PixelBuffer, _ areas: [Rect]) throws -> [String: Double?] {
        var out: [String: Double?] = [:]
        for direction in ImageStatistics.Direction.allCases {
            let mean = try ImageStatistics.adjacentCorrelation(image, in: areas, direction: direction).mean
            out[direction.rawValue] = mean.isNaN ? nil : mean
        }
        return out
    }
}

func percent(_ fraction: Double) -> Double { fraction * 100 }
