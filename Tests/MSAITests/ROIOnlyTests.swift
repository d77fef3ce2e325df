import Foundation
import MSAICore
import MSAICoreTesting
import MSAIImageIO
import MSAIRoles
import MSAIStorage
import MSAIStreaming
import MSAIVision
import Testing

/// ROI-only transmission (seed 002): a full frame once, then only masked areas, composed by
/// the data center onto that background.
@Suite struct ROIOnlyTests {
    /// A background, then patches: each recovered frame is the background with that frame's
    /// areas in place, bit for bit, through the SQLite store; the patch is a fraction of the size.
    @Test func patchesAreComposedOntoTheBackgroundTheyName() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-roi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let dataCenter = DataCenter(store: try SQLiteDataCenterStore(path: folder.appendingPathComponent("dc.sqlite").path, masterKey: testMasterKey),
                                    random: SplitMix64(seed: 71))
        let edge = EdgeCamera(membranes: CloudPlatform(escrow: dataCenter, random: SplitMix64(seed: 72)), scrambling: dataCenter,
                              egress: dataCenter, frameFormat: .qoi)
        let frames = try StreamTests.vtestFrames(3)
        let areas = [Rect(x: 100, y: 80, width: 60, height: 150), Rect(x: 130, y: 100, width: 90, height: 40), Rect(x: 700, y: 500, width: 68, height: 76)]
        let full = try await edge.prepare(frames[0], areas: areas)
        let base = try await edge.send(full).frameID
        for frame in frames[1...] {
            let patch = try await edge.preparePatches(frame, areas: areas, background: base)
            #expect(patch.sealed.count * 5 < full.sealed.count)
            let receipt = try await edge.send(patch)
            #expect(receipt.width == frame.width && receipt.height == frame.height && receipt.areaCount == areas.count)
            var expected = frames[0]
            for area in areas { try expected.copy(area, of: frame, to: area) }
            #expect(try dataCenter.original(receipt.frameID) == expected)
            // Recovering a patch shows its background too, and the audit log says so under the background's id.
            let audit = Array(try dataCenter.store.auditLog().suffix(2))
            #expect(audit.map(\.frameID) == [receipt.frameID, base] && audit[1].action == "recovered as the background of \(receipt.frameID)")
            #expect(try dataCenter.store.frame(receipt.frameID)?.manifest.composition?.base == base)
            // The masked view is the background's masked view with this frame's masked areas in place.
            let maskedExpected = try RegionMosaic.compose(
                patch.maskedAreas, pieces: try #require(patch.manifest.composition).pieces, onto: try dataCenter.maskedView(base, actor: "test").pixels)
            #expect(try dataCenter.maskedView(receipt.frameID, actor: "test").pixels == maskedExpected)
            // The patch itself shows nothing of the areas: they are masked, then scrambled.
            #expect(try patch.scrambled.width < frame.width)
        }
        // A frame with no areas is a one-pixel patch: the background as it was.
        let empty = try await edge.preparePatches(frames[2], areas: [], background: base)
        #expect(try dataCenter.original(try await edge.send(empty).frameID) == frames[0])
    }

    @Test func patchesOntoMissingWrongOrPatchBackgroundsAreRefused() async throws {
        let roles = Roles(seed: 73, format: .qoi)
        var random = SplitMix64(seed: 73)
        let image = randomImage(width: 64, height: 48, channels: 3, using: &random)
        let area = [Rect(x: 8, y: 8, width: 16, height: 16)]
        let dc = roles.dataCenter

        let unknown = try await roles.edge.preparePatches(image, areas: area, background: "feedfeed")
        #expect(throws: MSAIError.unknownKey(
            "patch frame's background feedfeed is not held by this data center (never received, or deleted by retention); send a full frame")) {
            try dc.submit(maskedFrame: unknown.sealed)
        }
        let small = try await roles.edge.prepare(try image.cropped(to: Rect(x: 0, y: 0, width: 32, height: 32)), areas: [])
        let smallID = try await roles.edge.send(small).frameID
        let misfit = try await roles.edge.preparePatches(image, areas: area, background: smallID)
        #expect(throws: MSAIError.shapeMismatch("patch frame is for a 64x48x3 frame, but its background \(smallID) is 32x32x3")) {
            try dc.submit(maskedFrame: misfit.sealed)
        }
        let fullID = try await roles.edge.send(try await roles.edge.prepare(image, areas: area)).frameID
        let patchID = try await roles.edge.send(try await roles.edge.preparePatches(image, areas: area, background: fullID)).frameID
        let chained = try await roles.edge.preparePatches(image, areas: area, background: patchID)
        #expect(throws: MSAIError.invalidMetadata("patch frame's background \(patchID) is itself a patch frame; it must be a full frame")) {
            try dc.submit(maskedFrame: chained.sealed)
        }
        // The composition is inside the seal: pointing a patch somewhere else breaks the seal.
        let patch = try await roles.edge.preparePatches(image, areas: area, background: fullID)
        var sealed = patch.sealed
        sealed[sealed.count - 40] ^= 1
        #expect(throws: MSAIError.self) { try dc.submit(maskedFrame: sealed) }
        var manifest = patch.manifest
        manifest.composition?.pieces[0].mosaicX += 1
        // A piece that is not its masked area, sealed by the edge under its own τ, is refused by name.
        let unmasked = try roles.reseal(
            try MaskedFrameCodec.encode(pixels: patch.scrambled, manifest: manifest, ciphertexts: [], format: .qoi), like: patch)
        #expect(throws: MSAIError.invalidMetadata("patch frame metadata: its 1 piece(s) are not its 1 masked area(s)")) {
            try dc.submit(maskedFrame: unmasked)
        }
        #expect(try dc.submit(maskedFrame: patch.sealed).areaCount == 1)
    }

    /// vtest.avi with ROI-only transmission: frames 0, 10 and 20 go whole, the others as
    /// patches onto the newest of them, and each recovers to exactly what was sent.
    @Test func theStreamSendsABackgroundThenOnlyAreas() async throws {
        let roles = Roles(seed: 74, format: .qoi)
        let selector = try AreaSelector.load(policy: PrivacyPolicy()) { try ModelStore.locate(explicit: modelsFolder.path) }
        let pipeline = try FramePipeline(edge: roles.edge, settings: .init(detectEvery: 5, detectionWait: .seconds(60), backgroundEvery: 10),
                                     detect: FramePipeline.detecting(with: selector))
        let outcomes = StreamTests.Outcomes()
        let count = 25
        let counts = try await pipeline.run(try VideoFileSource(path: dataset("vtest.avi")), limit: count) { await outcomes.add($0) }
        #expect(counts.sent == count && counts.sentPatches == count - 3 && counts.failed == 0)
        let originals = try StreamTests.vtestFrames(count)
        var backgrounds: [String: PixelBuffer] = [:]
        var patchBytes = 0, fullBytes = 0, patchPixels = 0
        for outcome in await outcomes.all {
            let receipt = try #require(outcome.receipt)
            let manifest = try #require(outcome.manifest)
            let stored = try #require(try roles.dataCenter.store.frame(receipt.frameID))
            #expect((manifest.composition == nil) == (outcome.sequence % 10 == 0), "frame \(outcome.sequence)")
            if manifest.composition == nil {
                backgrounds[receipt.frameID] = originals[outcome.frame.index]
                fullBytes += stored.sealed.count
            } else {
                patchBytes += stored.sealed.count
                if case .areas(let areas, _, _) = outcome.decision {
                    patchPixels += MaskCoverage.pixelsCovered(of: outcome.frame.pixels.bounds, by: areas)
                }
            }
            let expected = try outcome.expectedRecovery(background: manifest.composition.flatMap { backgrounds[$0.base] })
            #expect(try roles.dataCenter.original(receipt.frameID) == expected, "frame \(outcome.frame.index)")
        }
        // A patch holds its masked areas once each, not the frame: about 4 bytes a masked pixel
        // (QOI of scrambled samples) and the mosaic's slack, and less than a full frame.
        #expect(patchPixels > 0 && Double(patchBytes) < 5.0 * Double(patchPixels) + 16_384.0 * Double(count - 3), "\(patchBytes) bytes for \(patchPixels) pixels")
        #expect(Double(patchBytes) / Double(count - 3) < 0.8 * Double(fullBytes) / 3)
    }
}
