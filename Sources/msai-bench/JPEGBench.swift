import Foundation
import MSAICore
import MSAICrypto
import MSAIImageIO
import MSAIRoles
import MSAIVision

/// `make bench BENCH=jpeg` (issue 17, measured before the mode exists end to end): vtest.avi's
/// frames as a camera would send them (TurboJPEG, quality 75, 4:2:0), their default-policy areas
/// (the edge section's reference: the detectors at full settings on every frame), masked in the
/// DCT domain and scrambled by τ over whole MCUs, against the pixel path (decode, hardened mask,
/// τ, QOI, seal: `EdgeCamera.prepare` with the roles in process). Bytes per frame and edge ms per
/// frame without detection, medians, in one run.
enum JPEGBench {
    static func run(root: URL, store: ModelStore, frameCount: Int = 120) async throws {
        print("JPEG in the DCT domain against the pixel path, vtest.avi's first \(frameCount) frames as quality-75 JPEGs, the default policy's areas")
        let reference = try await EdgeBench.referenceAreas(root: root, store: store)
        let video = try VideoReader(path: root.appendingPathComponent(EdgeBench.clip).path)
        var frames: [(camera: [UInt8], pixels: PixelBuffer, areas: [Rect])] = []
        while frames.count < frameCount, let pixels = try video.next() {
            frames.append((try JPEGCodec.encode(pixels, quality: 75), pixels, reference.frames[frames.count]))
        }
        let dataCenter = DataCenter()
        let edge = EdgeCamera(membranes: CloudPlatform(escrow: dataCenter), scrambling: dataCenter, egress: dataCenter, mode: .hardened,
                              frameFormat: .qoi)
        var system = SystemRandomNumberGenerator()

        /// The camera's JPEG masked in its areas (each coefficient over its quantiser's bound, or
        /// the whole baseline range) and its whole MCUs moved by τ, keys drawn fresh as the roles would.
        func dctMasked(_ camera: [UInt8], areas: [Rect], bounded: Bool, optimize: Bool = true) throws -> [UInt8] {
            try JPEGTranscoder.transcode(camera, optimizeHuffman: optimize) { jpeg in
                for area in areas {
                    let mcus = jpeg.image.mcus(covering: area)
                    let count = CoefficientMasking.coefficientCount(in: mcus, of: jpeg.image)
                    // The cloud's membrane values come from its own keystream: 1...250 each.
                    var cloud = try ChaCha20Keystream(seed: (0..<32).map { _ in UInt8.random(in: 0...255, using: &system) }, domain: .membraneNoise)
                    let membrane = cloud.nextBytes(count).map { $0 % 250 + 1 }
                    var pad = UniformSampler(try ChaCha20Keystream(seed: (0..<32).map { _ in UInt8.random(in: 0...255, using: &system) }, domain: .pad))
                    try CoefficientMasking.apply(to: &jpeg.image, mcus: mcus, pad: &pad, membrane: membrane, bounded: bounded)
                }
                let (wide, high) = jpeg.image.wholeMCUs
                let seed = (0..<32).map { _ in UInt8.random(in: 0...255, using: &system) }
                let tau = try Permutation.derive(count: wide * high, seed: seed, domain: .tau, using: ChaCha20Keystream.self)
                jpeg.image = try jpeg.image.permutingMCUs(tau)
            }
        }

        var camera: [Double] = [], bounded: [Double] = [], full: [Double] = [], qoi: [Double] = []
        var dctTimes: [Double] = [], pixelTimes: [Double] = [], unchangedTimes: [Double] = [], masked: [Double] = []
        var onePass: [Double] = [], onePassTimes: [Double] = []
        for (index, frame) in frames.enumerated() {
            camera.append(Double(frame.camera.count))
            let start = ContinuousClock.now
            bounded.append(Double(try dctMasked(frame.camera, areas: frame.areas, bounded: true).count))
            let dctTime = milliseconds(ContinuousClock.now - start)
            let unchangedStart = ContinuousClock.now
            _ = try JPEGTranscoder.transcode(frame.camera)
            let unchangedTime = milliseconds(ContinuousClock.now - unchangedStart)
            full.append(Double(try dctMasked(frame.camera, areas: frame.areas, bounded: false).count))
            let onePassStart = ContinuousClock.now
            onePass.append(Double(try dctMasked(frame.camera, areas: frame.areas, bounded: true, optimize: false).count))
            let onePassTime = milliseconds(ContinuousClock.now - onePassStart)
            let pixelStart = ContinuousClock.now
            let decoded = try JPEGCodec.decodeAsStored(frame.camera)
            let prepared = try await edge.prepare(decoded, areas: frame.areas)
            let pixelTime = milliseconds(ContinuousClock.now - pixelStart)
            qoi.append(Double(prepared.sealed.count))
            masked.append(Double(MaskCoverage.pixelsCovered(of: frame.pixels.bounds, by: frame.areas)) / Double(frame.pixels.bounds.area))
            if index >= 3 {  // after warm-up
                dctTimes.append(dctTime)
                unchangedTimes.append(unchangedTime)
                onePassTimes.append(onePassTime)
                pixelTimes.append(pixelTime)
            }
        }
        func kib(_ values: [Double]) -> String { String(format: "%.1f KiB", median(values) / 1024) }
        row("per frame (medians)", ["bytes", "vs camera", "edge ms"])
        row("the camera's JPEG (quality 75)", [kib(camera), "1.00x", ""])
        row("DCT domain, each quantiser's bound", [kib(bounded), String(format: "%.2fx", median(bounded) / median(camera)), fmt(median(dctTimes))])
        row("DCT domain, bounds, one-pass Huffman", [kib(onePass), String(format: "%.2fx", median(onePass) / median(camera)), fmt(median(onePassTimes))])
        row("DCT domain, the whole baseline range", [kib(full), String(format: "%.2fx", median(full) / median(camera)), ""])
        row("DCT domain, read and written unchanged", ["", "", fmt(median(unchangedTimes))])
        row("pixels: hardened, QOI, sealed", [kib(qoi), String(format: "%.2fx", median(qoi) / median(camera)), fmt(median(pixelTimes))])
        print(String(format: "  areas cover %.1f %% of the frame (median); pixel path time / DCT: %.2fx (optimised tables), %.2fx (standard tables); goals (issue 17): <= 1.5x the camera's bytes, >= 3x faster",
                     median(masked) * 100, median(pixelTimes) / median(dctTimes), median(pixelTimes) / median(onePassTimes)))
        print()
    }
}
