import Foundation
import MSAICore
import MSAICrypto
import MSAIImageIO
import MSAIRoles
import MSAIVision

/// `make bench BENCH=jpeg` (issue 17): vtest.avi's frames as a camera would send them
/// (TurboJPEG, quality 75, 4:2:0) with the default policy's areas (the edge section's reference:
/// the detectors at full settings on every frame), through the roles in this process:
///
/// * bytes sent (the sealed frame, which is what the data center stores) and edge ms a frame
///   without detection, the `jpeg` mode (optimised and standard Huffman tables) against the
///   pixel path (decode, hardened, QOI or PNG, sealed), medians over the first `timedFrames`;
/// * what the masked coefficients still show, on decoded pixels: NPCR and UACI of the masked
///   view's areas against the original's, the correlation of their edge maps and of adjacent
///   pixels, and NPCR of the whole sent frame (the background's shuffle);
/// * recovery: every frame of the clip sent in the `jpeg` mode and recovered by the data center,
///   compared with the camera's JPEG decoded, pixel for pixel.
enum JPEGBench {
    static func run(root: URL, store: ModelStore, timedFrames: Int = 120) async throws {
        print("The jpeg mode (DCT domain) against the pixel path, through the roles in process: vtest.avi as quality-75 JPEGs, the default policy's areas")
        let reference = try await EdgeBench.referenceAreas(root: root, store: store)
        let video = try VideoReader(path: root.appendingPathComponent(EdgeBench.clip).path)
        let dataCenter = DataCenter()
        let cloud = CloudPlatform(escrow: dataCenter)
        func edge(_ mode: MaskingMode, _ format: MaskedFrameCodec.Format = .qoi, optimize: Bool = true) -> EdgeCamera {
            EdgeCamera(membranes: cloud, scrambling: dataCenter, egress: dataCenter, mode: mode, frameFormat: format, optimizeJPEGHuffman: optimize)
        }
        let (jpegEdge, onePassEdge, qoiEdge, pngEdge) = (edge(.jpeg), edge(.jpeg, optimize: false), edge(.hardened), edge(.hardened, .png))

        func timed<T>(_ body: () async throws -> T) async rethrows -> (T, Double) {
            let start = ContinuousClock.now
            let value = try await body()
            return (value, milliseconds(ContinuousClock.now - start))
        }
        var bytes: [String: [Double]] = [:], times: [String: [Double]] = [:], steps: [String: [Double]] = [:]
        var npcr: [Double] = [], uaci: [Double] = [], edges: [Double] = [], adjacent: [Double] = [], shuffle: [Double] = []
        var originalAdjacent: [Double] = [], maskedShare: [Double] = [], lumaShare: [Double] = [], frames = 0, exact = 0, quantiserRange = 0
        var mismatches: [Int] = []
        while let pixels = try video.next() {
            let index = frames
            frames += 1
            let camera = try JPEGCodec.encode(pixels, quality: 75)
            let original = try JPEGCodec.decodeAsStored(camera)
            let layoutOfCamera = try JPEGTranscoder.header(of: camera).layout
            let areas = index < reference.frames.count ? reference.frames[index] : []
            let (frame, jpegTime) = try await timed { try await jpegEdge.prepareJPEG(camera, areas: areas) }
            let receipt = try await jpegEdge.send(frame)
            if try dataCenter.recoverOriginal(receipt.frameID, actor: "bench", reason: "make bench: recovery of every frame").pixels == original {
                exact += 1
            } else {
                mismatches.append(index)
            }
            if frame.manifest.coefficientRange == .quantiser { quantiserRange += 1 }
            guard index < timedFrames else { continue }
            // What the masked coefficients still show, decoded.
            let masked = frame.manifest.areas.map(\.rect)
            if !masked.isEmpty {
                let view = try frame.maskedAreas
                let o = try original.sampleSet(coveredBy: masked), m = try view.sampleSet(coveredBy: masked)
                npcr.append(try Differential.npcr(o, m).mean)
                uaci.append(try Differential.uaci(o, m).mean)
                edges.append(try ImageStatistics.edgeCorrelation(original, view, in: masked))
                adjacent.append(try ImageStatistics.adjacentCorrelation(view, in: masked, direction: .horizontal).mean)
                originalAdjacent.append(try ImageStatistics.adjacentCorrelation(original, in: masked, direction: .horizontal).mean)
            }
            shuffle.append(try Differential.npcr(original.sampleSet, try frame.scrambled.sampleSet).mean)
            maskedShare.append(Double(MaskCoverage.pixelsCovered(of: original.bounds, by: masked)) / Double(original.bounds.area))
            // The luma blocks the areas touch, as pixels (the chroma blocks of 4:2:0 are 16x16).
            let lumaRects = masked.map { area -> Rect in
                let luma = layoutOfCamera.blocks(covering: area).components[0]
                return Rect(x: luma.columns.lowerBound * 8, y: luma.rows.lowerBound * 8, width: luma.columns.count * 8, height: luma.rows.count * 8)
            }
            lumaShare.append(Double(MaskCoverage.pixelsCovered(of: original.bounds, by: lumaRects)) / Double(original.bounds.area))
            let (onePass, onePassTime) = try await timed { try await onePassEdge.prepareJPEG(camera, areas: areas) }
            bytes["tau alone", default: []].append(Double(try await jpegEdge.prepareJPEG(camera, areas: []).sealed.count))
            let (qoi, qoiTime) = try await timed { try await qoiEdge.prepare(try JPEGCodec.decodeAsStored(camera), areas: areas) }
            let (png, pngTime) = try await timed { try await pngEdge.prepare(try JPEGCodec.decodeAsStored(camera), areas: areas) }
            for step in ["tau", "membrane", "mask", "scramble", "encode", "seal"] { steps[step, default: []].append(frame.timings[step]) }
            for (name, sent, time) in [("jpeg", frame, jpegTime), ("jpeg one-pass", onePass, onePassTime), ("qoi", qoi, qoiTime), ("png", png, pngTime)] {
                bytes[name, default: []].append(Double(sent.sealed.count))
                if index >= 3 { times[name, default: []].append(time) }  // after warm-up
            }
            bytes["camera", default: []].append(Double(camera.count))
            // What any mask that leaves each coefficient uniform over its range must cost: log2 of
            // the range, for every coefficient of the masked blocks; plus the camera's bytes for the
            // rest of the frame (its share of the camera's bytes, by block count).
            let coefficients = try JPEGTranscoder.read(camera).image
            let layout = coefficients.layout
            var floorBits = 0.0
            var maskedBlocks = [Int](repeating: 0, count: layout.components.count)
            for area in masked {
                let blocks = layout.blocks(covering: area)
                for (index, (component, range)) in zip(coefficients.components, blocks.components).enumerated() {
                    let perBlock = CoefficientMask.boundedRanges(quantization: component.quantization).reduce(0.0) { $0 + log2(Double($1.count)) }
                    floorBits += perBlock * Double(range.count)
                    maskedBlocks[index] += range.count
                }
            }
            // The rest of the frame at the camera's bytes, by the share of blocks not masked.
            let allBlocks = layout.components.reduce(0) { $0 + $1.blocksWide * $1.blocksHigh }
            let rest = Double(camera.count) * (1 - Double(maskedBlocks.reduce(0, +)) / Double(allBlocks))
            bytes["floor", default: []].append(rest + floorBits / 8)
        }
        func kib(_ name: String) -> String { String(format: "%.1f KiB", median(bytes[name]!) / 1024) }
        func ratio(_ name: String) -> String { String(format: "%.2fx", median(bytes[name]!) / median(bytes["camera"]!)) }
        func speed(_ name: String) -> String { String(format: "%.2fx", median(times[name]!) / median(times["jpeg"]!)) }
        row("per frame, first \(min(frames, timedFrames)) (medians)", ["bytes", "vs camera", "edge ms", "time/jpeg's"])
        row("the camera's JPEG (quality 75)", [kib("camera"), "1.00x", "", ""])
        row("jpeg mode (optimised Huffman tables)", [kib("jpeg"), ratio("jpeg"), fmt(median(times["jpeg"]!)), "1.00x"])
        row("jpeg mode, no areas (tau alone)", [kib("tau alone"), ratio("tau alone"), "", ""])
        row("jpeg mode (standard tables, one pass)", [kib("jpeg one-pass"), ratio("jpeg one-pass"), fmt(median(times["jpeg one-pass"]!)), speed("jpeg one-pass")])
        row("pixels: decode, hardened, QOI, seal", [kib("qoi"), ratio("qoi"), fmt(median(times["qoi"]!)), speed("qoi")])
        row("pixels: decode, hardened, PNG, seal", [kib("png"), ratio("png"), fmt(median(times["png"]!)), speed("png")])
        print(String(format: "  the areas cover %.1f %% of the frame, the luma blocks they touch %.1f %% (medians); goals (issue 17): <= 1.5x the camera's bytes, >= 3x faster than the pixel path",
                     median(maskedShare) * 100, median(lumaShare) * 100))
        print("  the jpeg mode's edge ms by step (medians): " + ["tau", "membrane", "mask", "scramble", "encode", "seal"].map {
            "\($0) " + String(format: "%.2f", median(steps[$0]!)) }.joined(separator: ", ") + " (encode: libjpeg reading and writing)")
        print("  the floor of a uniform mask (log2 of each masked coefficient's range, the rest as the camera coded it): \(kib("floor")), \(ratio("floor")) the camera's bytes")
        print(String(format: "  what the masked areas show, decoded (medians over %d frames with areas): NPCR %.2f %%, UACI %.2f %% against the original;",
                     npcr.count, median(npcr) * 100, median(uaci) * 100)
              + String(format: " edge maps correlate %.4f; adjacent pixels %.3f (the original's %.3f); the sent frame differs from the original in %.2f %% of its samples",
                       median(edges), median(adjacent), median(originalAdjacent), median(shuffle) * 100))
        print("  recovery: \(exact) of \(frames) frames came back to exactly the camera's pixels" + (mismatches.isEmpty ? "" : "; NOT: \(mismatches.prefix(10))")
              + "; \(quantiserRange) masked within the quantisers' bounds, \(frames - quantiserRange) over the whole baseline range")
        print()
        if exact != frames { throw MSAIError.integrityFailure("the jpeg mode did not recover \(frames - exact) frame(s) of vtest.avi exactly") }
    }
}
