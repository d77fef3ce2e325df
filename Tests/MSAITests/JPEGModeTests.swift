import Foundation
import MSAICore
import MSAICoreTesting
import MSAICrypto
import MSAIImageIO
import MSAINetwork
import MSAIRoles
import MSAIStreaming
import MSAIVision
import Testing

/// The `jpeg` mode through the roles (issue 17): the camera's JPEG masked and scrambled in the DCT
/// domain by the edge, with the cloud's membranes and the data center's τ and pads, checked and
/// stored by the data center, and recovered there to exactly the camera's pixels.
@Suite struct JPEGModeTests {
    func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: repositoryRoot.appendingPathComponent("Datasets/\(name).jpg")))
    }

    /// Two areas a frame of `width` × `height` could have: one inside, one overlapping it and
    /// running off the bottom right corner (partial MCUs included).
    func areas(width: Int, height: Int) -> [Rect] {
        [Rect(x: width / 5 + 3, y: height / 6 + 5, width: width / 4, height: height / 4),
         Rect(x: width / 3, y: height / 3, width: width - width / 3, height: height - height / 3)]
    }

    /// Whether `a` and `b` are equal at every pixel at least `margin` pixels from every area
    /// (chroma upsampling blends a masked MCU's colour into its neighbours' edge pixels).
    func equalAway(from areas: [Rect], margin: Int, _ a: PixelBuffer, _ b: PixelBuffer) -> (equal: Bool, compared: Int) {
        let grown = areas.map { Rect(x: $0.x - margin, y: $0.y - margin, width: $0.width + 2 * margin, height: $0.height + 2 * margin) }
        var compared = 0
        for y in 0..<a.height {
            for x in 0..<a.width where !grown.contains(where: { x >= $0.x && x < $0.maxX && y >= $0.y && y < $0.maxY }) {
                for c in 0..<a.channels {
                    let i = (y * a.width + x) * a.channels + c
                    if a.samples[i] != b.samples[i] { return (false, compared) }
                }
                compared += 1
            }
        }
        return (true, compared)
    }

    @Test(arguments: JPEGCoefficientTests.bundled)
    func everyBundledJPEGComesBackToTheCamerasPixelsThroughTheRoles(name: String) async throws {
        let camera = try bytes(name)
        let pixels = try JPEGCodec.decodeAsStored(camera)
        let roles = Roles(seed: 17, mode: .jpeg)
        let areas = areas(width: pixels.width, height: pixels.height)
        let frame = try await roles.edge.prepareJPEG(camera, areas: areas)
        #expect(frame.format == .jpeg && frame.manifest.areas.allSatisfy { $0.mode == .jpeg })
        // What left is a JPEG any decoder opens, of the camera's size, not the camera's pixels.
        let sent = try #require(frame.scrambledJPEG)
        let scrambled = try JPEGCodec.decodeAsStored(sent)
        #expect(scrambled.width == pixels.width && scrambled.height == pixels.height && scrambled != pixels)
        let receipt = try await roles.edge.send(frame)
        let recovery = try roles.dataCenter.recoverOriginal(receipt.frameID, actor: "test", reason: "jpeg round trip")
        #expect(recovery.pixels == pixels, "\(name): recovered pixels differ from the camera's")
        #expect(try JPEGCodec.decodeAsStored(try #require(recovery.jpeg)) == pixels)
        // The masked view: the areas masked, everything a block away from them the camera's.
        let view = try roles.dataCenter.maskedView(receipt.frameID, actor: "test").pixels
        #expect(view == (try frame.maskedAreas))
        // τ moved the MCUs: what was sent is not the masked view.
        #expect(scrambled != view)
        let masked = frame.manifest.areas.map(\.rect)
        #expect(try pixels.sampleSet(coveredBy: masked) != view.sampleSet(coveredBy: masked))
        let away = equalAway(from: masked, margin: 16, view, pixels)
        #expect(away.equal && away.compared > 0)
    }

    @Test func areasMaskTheBlocksTheyTouchAndHugeOnesAreCutIntoBandsThatStillComeBack() async throws {
        let camera = try bytes("zidane")
        let layout = try JPEGTranscoder.header(of: camera).layout
        #expect(layout.mcuWidth == 16 && layout.mcuHeight == 16)
        let roles = Roles(seed: 3, mode: .jpeg)
        let whole = Rect(x: 0, y: 0, width: layout.width, height: layout.height)
        let bands = layout.maskedAreas(for: [whole], maximumBlocks: 600)
        #expect(bands.count > 1 && bands.allSatisfy { !$0.isEmpty && $0.y % 16 == 0 && (try! layout.membraneShape(for: $0)).rows <= 600 })
        #expect(MaskCoverage.pixelsCovered(of: whole, by: bands) == whole.area)
        // A small area keeps its rectangle; it masks the luma block it touches and, in 4:2:0, the
        // chroma blocks (16x16 pixels) of its MCU.
        let small = Rect(x: 17, y: 3, width: 2, height: 2)
        #expect(layout.maskedAreas(for: [small, Rect(x: -5, y: -5, width: 3, height: 3)]) == [small])
        #expect(layout.blocks(covering: small).components.map(\.count) == [1, 1, 1])
        #expect(layout.blocks(covering: Rect(x: 6, y: 6, width: 4, height: 4)).components.map(\.count) == [4, 1, 1])
        // The whole frame masked (the policy's fail-closed case) still comes back.
        let frame = try await roles.edge.prepareJPEG(camera, areas: [whole])
        let receipt = try await roles.edge.send(frame)
        #expect(try roles.dataCenter.original(receipt.frameID) == JPEGCodec.decodeAsStored(camera))
        #expect(frame.manifest.coefficientRange == .quantiser)
    }

    @Test func theFramesOfAVideoAsACameraSendsThemComeBackExactly() async throws {
        let video = try VideoReader(path: dataset("vtest.avi"))
        let roles = Roles(seed: 5, mode: .jpeg)
        var checked = 0
        while checked < 12, let frame = try video.next() {
            let camera = try JPEGCodec.encode(frame, quality: 75)
            let areas = [Rect(x: 100 + 20 * checked, y: 120, width: 90, height: 200), Rect(x: 500, y: 300, width: 64, height: 64)]
            let receipt = try await roles.edge.send(try await roles.edge.prepareJPEG(camera, areas: areas))
            #expect(try roles.dataCenter.original(receipt.frameID) == JPEGCodec.decodeAsStored(camera))
            checked += 1
        }
        #expect(checked == 12)
    }

    @Test func theDataCenterRefusesJPEGFramesThatDoNotFitTheirKeys() async throws {
        let camera = try bytes("bus")
        let roles = Roles(seed: 9, mode: .jpeg)
        let frame = try await roles.edge.prepareJPEG(camera, areas: [Rect(x: 40, y: 40, width: 100, height: 100)])
        let parts = try MaskedFrameCodec.jpegParts(frame.encoded)
        func resealed(_ change: (inout FrameManifest) -> Void) throws -> [UInt8] {
            var manifest = frame.manifest
            change(&manifest)
            return try roles.reseal(try MaskedFrameCodec.encode(jpeg: parts.jpeg, manifest: manifest), like: frame)
        }
        // An area outside the JPEG.
        #expect(throws: MSAIError.self) {
            try roles.dataCenter.submit(maskedFrame: try resealed { $0.areas[0].x += 5000 })
        }
        // An area touching more blocks than its membrane covers.
        #expect(throws: MSAIError.self) {
            try roles.dataCenter.submit(maskedFrame: try resealed { $0.areas[0].w += 16 })
        }
        // jpeg areas said to be pixel areas, and the other way round.
        #expect(throws: MSAIError.self) {
            try roles.dataCenter.submit(maskedFrame: try resealed { $0.areas[0].mode = .hardened })
        }
        let pixelFrame = try MaskedFrameCodec.encode(pixels: try JPEGCodec.decodeAsStored(parts.jpeg), manifest: frame.manifest, ciphertexts: [])
        #expect(throws: MSAIError.self) { try roles.dataCenter.submit(maskedFrame: try roles.reseal(pixelFrame, like: frame)) }
        // A JPEG that is cut short.
        #expect(throws: MSAIError.self) {
            try roles.dataCenter.submit(maskedFrame: try roles.reseal(
                try MaskedFrameCodec.encode(jpeg: Array(parts.jpeg.prefix(parts.jpeg.count / 2)), manifest: frame.manifest), like: frame))
        }
        // A coefficient outside the range the frame says it was masked within could not be unmasked.
        let outside = try JPEGTranscoder.transcode(parts.jpeg) { jpeg in
            let bound = CoefficientMask.boundedRange(index: 63, quantizer: Int(jpeg.image.components[0].quantization[63]))
            jpeg.image.components[0].coefficients[63] = Int16(bound.upperBound + 1)
        }
        #expect(frame.manifest.coefficientRange == .quantiser)
        #expect(throws: MSAIError.self) {
            try roles.dataCenter.submit(maskedFrame: try roles.reseal(try MaskedFrameCodec.encode(jpeg: outside, manifest: frame.manifest), like: frame))
        }
        // A progressive JPEG: edges write baseline, and the data center decodes nothing else.
        let progressive = try JPEGCodec.encode(try JPEGCodec.decodeAsStored(parts.jpeg), quality: 75, progressive: true)
        #expect(throws: MSAIError.invalidImage("a masked JPEG is baseline Huffman without restart markers, as edges write it; this one is not")) {
            try roles.dataCenter.submit(maskedFrame: try roles.reseal(try MaskedFrameCodec.encode(jpeg: progressive, manifest: frame.manifest), like: frame))
        }
        // After all that the frame itself is still accepted (nothing was used up) and comes back.
        let receipt = try await roles.edge.send(frame)
        #expect(try roles.dataCenter.original(receipt.frameID) == JPEGCodec.decodeAsStored(camera))
    }

    @Test func anEdgeInAPixelModeDoesNotMaskJPEGsInTheDCTDomainAndPixelsAreNotEncodedAsOne() async throws {
        let roles = Roles(seed: 1)
        await #expect(throws: MSAIError.self) { _ = try await roles.edge.prepareJPEG(try bytes("bus"), areas: []) }
        let jpegRoles = Roles(seed: 1, mode: .jpeg)
        await #expect(throws: MSAIError.self) {
            _ = try await jpegRoles.edge.prepare(try JPEGCodec.decodeAsStored(try bytes("bus")), areas: [Rect(x: 0, y: 0, width: 8, height: 8)])
        }
        // An area outside the JPEG is refused before any key is asked for.
        await #expect(throws: MSAIError.self) {
            _ = try await jpegRoles.edge.prepareJPEG(try bytes("bus"), areas: [Rect(x: 5000, y: 0, width: 8, height: 8)])
        }
        #expect(try jpegRoles.dataCenter.store.summaries(after: nil, limit: 10).isEmpty)
    }

    /// A live JPEG stream (MJPEG and UDP feed this source) in the jpeg mode: every frame that
    /// arrives as a JPEG is masked in the DCT domain with the detected areas and comes back to the
    /// camera's pixels; a stream whose frames come decoded (a video file) goes hardened.
    @Test func aLiveJPEGStreamIsMaskedInTheDCTDomainFrameByFrame() async throws {
        let roles = Roles(seed: 21, mode: .jpeg)
        let pixelEdge = EdgeCamera(membranes: roles.cloud, scrambling: roles.dataCenter, egress: roles.dataCenter, mode: .hardened, frameFormat: .qoi)
        let video = try VideoReader(path: dataset("vtest.avi"))
        let source = LiveJPEGSource(capacity: 64, keepJPEG: true)
        var cameras: [[UInt8]] = []
        for _ in 0..<10 {
            let camera = try JPEGCodec.encode(try #require(try video.next()), quality: 75)
            cameras.append(camera)
            source.offer(camera)
        }
        source.close()
        let pipeline = try FramePipeline(edge: roles.edge, pixelEdge: pixelEdge, settings: .init(detectEvery: 1)) { frame in
            [Rect(x: frame.width / 4, y: frame.height / 4, width: 100, height: 150)]
        }
        let outcomes = StreamTests.Outcomes()
        let counts = try await pipeline.run(source) { await outcomes.add($0) }
        #expect(counts.sent == 10 && counts.failed == 0)
        for outcome in await outcomes.all {
            #expect(outcome.manifest?.areas.allSatisfy { $0.mode == .jpeg } == true && outcome.manifest?.coefficientRange != nil)
            let receipt = try #require(outcome.receipt)
            #expect(try roles.dataCenter.original(receipt.frameID) == JPEGCodec.decodeAsStored(cameras[outcome.frame.index]))
        }
        // Decoded frames (no JPEG kept) go through the pixel edge.
        let decoded = try FramePipeline(edge: roles.edge, pixelEdge: pixelEdge, settings: .init(detectEvery: 1)) { _ in [Rect(x: 8, y: 8, width: 32, height: 32)] }
        let frames = try StreamTests.vtestFrames(2)
        let decodedOutcomes = StreamTests.Outcomes()
        _ = try await decoded.run(StreamTests.MemorySource(frames, live: false)) { await decodedOutcomes.add($0) }
        for outcome in await decodedOutcomes.all {
            #expect(outcome.manifest?.areas.first?.mode == .hardened)
            #expect(try roles.dataCenter.original(try #require(outcome.receipt).frameID) == frames[outcome.frame.index])
        }
        // ROI-only patches are pixel mosaics: not with the jpeg mode.
        #expect(throws: MSAIError.self) { _ = try FramePipeline(edge: roles.edge, settings: .init(backgroundEvery: 10)) { _ in [] } }
    }

    /// A keystream of zeros: an attacker's guess of a pad it does not have.
    struct ZeroKeystream: Keystream {
        init(seed: [UInt8], domain: KeystreamDomain) {}
        mutating func nextBytes(_ count: Int) -> [UInt8] { [UInt8](repeating: 0, count: count) }
    }

    /// The cloud holds every λ it made; whoever reads a τ grant (on a plain-HTTP network, say)
    /// can derive the pads. Either alone, handed the masked coefficients exactly (more than a
    /// viewer's decoded view gives), undoes nothing: the areas stay noise, no outline of the
    /// original shows in them, and about as many samples as chance would agree.
    @Test func theMembraneAloneOrThePadAloneDoesNotUnmask() async throws {
        let camera = try bytes("messi5")
        let original = try JPEGCodec.decodeAsStored(camera)
        let roles = Roles(seed: 77, mode: .jpeg)
        let frame = try await roles.edge.prepareJPEG(camera, areas: [Rect(x: 180, y: 40, width: 200, height: 200)])
        let receipt = try await roles.edge.send(frame)
        let masked = frame.manifest.areas.map(\.rect)
        let layout = try JPEGTranscoder.header(of: camera).layout
        let key = try #require(try roles.dataCenter.store.key(frame.manifest.areas[0].membraneID)?.record)
        let seed = try #require(try roles.dataCenter.store.tau(receipt.frameID)?.seed)
        let keys = try FrameKeys(tauSeed: seed)
        let maskedJPEG = try #require(try frame.maskedJPEG)
        func undo(membrane: [UInt8], pad: Bool) throws -> PixelBuffer {
            try JPEGCodec.decodeAsStored(try JPEGTranscoder.transcode(maskedJPEG) { jpeg in
                let blocks = layout.blocks(covering: masked[0])
                if pad {
                    var sampler = try keys.coefficientPad(area: 0)
                    try CoefficientMasking.apply(to: &jpeg.image, blocks: blocks, pad: &sampler, membrane: membrane, bounded: true, inverse: true)
                } else {
                    var sampler = UniformSampler(ZeroKeystream(seed: [], domain: .pad))
                    try CoefficientMasking.apply(to: &jpeg.image, blocks: blocks, pad: &sampler, membrane: membrane, bounded: true, inverse: true)
                }
            })
        }
        let lambda = try key.membrane()
        // Both together: the original (the control: the attack is sound when it has what it needs).
        #expect(try undo(membrane: lambda, pad: true).sampleSet(coveredBy: masked) == original.sampleSet(coveredBy: masked))
        for (who, attempt) in [("the cloud (λ, no pad)", try undo(membrane: lambda, pad: false)),
                               ("a τ grant's reader (the pad, no λ)", try undo(membrane: [UInt8](repeating: 0, count: lambda.count), pad: true))] {
            let o = try original.sampleSet(coveredBy: masked), a = try attempt.sampleSet(coveredBy: masked)
            let npcr = try Differential.npcr(o, a).mean
            let edges = try ImageStatistics.edgeCorrelation(original, attempt, in: masked)
            #expect(npcr > 0.97, "\(who): only \(npcr) of the samples differ from the original")
            #expect(abs(edges) < 0.05, "\(who): its edge map correlates \(edges) with the original's")
        }
        // The same measures see the original's outlines in the original itself, slightly blurred.
        #expect(try ImageStatistics.edgeCorrelation(original, try original.resized(width: original.width / 2, height: original.height / 2)
            .resized(width: original.width, height: original.height), in: masked) > 0.5)
    }

    /// Every sampling a camera uses, and gray, at sizes from one pixel up, none a multiple of
    /// the MCU and some smaller than one, with areas that overlap each other and run off the
    /// edges: masked and moved through the roles, each comes back to exactly the camera's pixels.
    @Test func everySamplingAndSizeComesBackExactly() async throws {
        var random = SplitMix64(seed: 1717)
        let roles = Roles(seed: 8, mode: .jpeg)
        var sizes = [(1, 1), (7, 9), (8, 48), (48, 8), (64, 8), (17, 33), (16, 16), (33, 15)]
        for _ in 0..<6 { sizes.append((Int.random(in: 1...70, using: &random), Int.random(in: 1...70, using: &random))) }
        let samplings: [JPEGCodec.Subsampling?] = JPEGCodec.Subsampling.allCases + [nil]  // nil: gray
        var checked = 0
        for (width, height) in sizes {
            for subsampling in samplings {
                let channels = subsampling == nil ? 1 : 3
                let image = try PixelBuffer(width: width, height: height, channels: channels,
                                            samples: (0..<(width * height * channels)).map { _ in UInt8.random(in: 0...255, using: &random) })
                let camera = try JPEGCodec.encode(image, quality: Int.random(in: 40...95, using: &random), subsampling: subsampling)
                let areas = [Rect(x: width / 3, y: height / 4, width: max(1, width / 2), height: max(1, height / 2)),
                             Rect(x: width / 2, y: 0, width: width - width / 2, height: height)]
                let frame = try await roles.edge.prepareJPEG(camera, areas: areas)
                let receipt = try await roles.edge.send(frame)
                #expect(try roles.dataCenter.original(receipt.frameID) == JPEGCodec.decodeAsStored(camera),
                        "\(width)x\(height) \(subsampling.map { "\($0)" } ?? "gray")")
                checked += 1
            }
        }
        #expect(checked == sizes.count * samplings.count)
    }

    /// The jpeg mode takes a JPEG in the DCT domain only when detection can look at it as it is
    /// stored: one whose EXIF says to turn it goes the pixel path, upright, so that a person
    /// photographed sideways is found (`OrientationTests`) and masked.
    @Test func aJPEGToBeTurnedGoesThePixelPathUpright() throws {
        let upright = try bytes("person")
        #expect(JPEGTranscoder.masksInDCTDomain(upright))
        #expect(try ImageFile.frame(upright, dctDomain: true, name: "person").jpeg == upright)
        #expect(try ImageFile.frame(upright, dctDomain: false, name: "person").jpeg == nil)
        let sideways = OrientationTests.inserting(OrientationTests.exifSegment(orientation: 6, bigEndian: false),
                                                  into: try JPEGCodec.encode(ImageOrientation.left.upright(try JPEGCodec.decode(upright)), quality: 95))
        #expect(ExifOrientation.read(jpeg: sideways) != .up)
        #expect(!JPEGTranscoder.masksInDCTDomain(sideways))
        let frame = try ImageFile.frame(sideways, dctDomain: true, name: "sideways")
        #expect(try frame.jpeg == nil && frame.pixels == JPEGCodec.decode(sideways))
        // Nor a PNG, nor a JPEG the coefficient path refuses (CMYK, 12-bit: JPEGCoefficientTests).
        #expect(!JPEGTranscoder.masksInDCTDomain(try PNGCodec.encode(try JPEGCodec.decode(upright))))
    }

    /// An MJPEG camera over loopback HTTP (`msai camera --mjpeg`'s server), read by the edge's
    /// receiver in the jpeg mode: each frame the camera published is masked in the DCT domain
    /// and comes back to exactly its pixels.
    @Test func anMJPEGCamerasFramesAreMaskedInTheDCTDomain() async throws {
        let broadcaster = MJPEGBroadcaster(viewerBuffer: 64)
        let server = try await RunningServer.start(MJPEGService.router(broadcaster: broadcaster), host: "127.0.0.1", port: 0, name: "test-camera")
        try await stopping({ await server.stop() }) {
            let stream = try await OpenedStream.open(.mjpeg(url: server.url + "/"), liveBuffer: 64, keepJPEG: true)
            while await broadcaster.viewerCount < 1 { try await Task.sleep(for: .milliseconds(10)) }
            let video = try VideoReader(path: dataset("vtest.avi"))
            var published: [[UInt8]] = []
            for _ in 0..<6 {
                let camera = try JPEGCodec.encode(try #require(try video.next()), quality: 70, subsampling: .s422)
                published.append(camera)
                await broadcaster.publish(camera)
            }
            await broadcaster.finish()
            let roles = Roles(seed: 31, mode: .jpeg)
            let pipeline = try FramePipeline(edge: roles.edge, settings: .init(detectEvery: 1)) { _ in [Rect(x: 300, y: 100, width: 80, height: 200)] }
            let outcomes = StreamTests.Outcomes()
            let counts = try await pipeline.run(stream.source) { await outcomes.add($0) }
            _ = await stream.stop()
            #expect(counts.sent == published.count && counts.failed == 0)
            for outcome in await outcomes.all {
                #expect(outcome.manifest?.coefficientRange != nil)
                #expect(try roles.dataCenter.original(try #require(outcome.receipt).frameID) == JPEGCodec.decodeAsStored(published[outcome.frame.index]))
            }
        }
    }

    /// The other two JPEG sources of `--mode jpeg`: a UDP camera over loopback and a folder of
    /// images. Each JPEG arrives with its bytes, masked in the DCT domain, back to its pixels; a
    /// PNG in the folder goes through the pixel edge.
    @Test func udpAndFolderJPEGsAreMaskedInTheDCTDomain() async throws {
        let roles = Roles(seed: 44, mode: .jpeg)
        let pixelEdge = EdgeCamera(membranes: roles.cloud, scrambling: roles.dataCenter, egress: roles.dataCenter, mode: .hardened)
        let frames = try StreamTests.vtestFrames(3).map { try $0.resized(width: 384, height: 288) }
        let jpegs = try frames.map { try JPEGCodec.encode($0, quality: 70) }

        let udp = LiveJPEGSource(capacity: 64, keepJPEG: true)
        let receiver = try await UDPFrameReceiver.start(host: "127.0.0.1", port: 0, into: udp)
        let sender = try await UDPFrameSender(host: "127.0.0.1", port: receiver.port, loss: 0, seed: 1)
        for jpeg in jpegs + [jpegs[0]] {  // a last frame settles the ones before it
            _ = try await sender.send(jpeg)
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(300))
        _ = await receiver.stop()
        await sender.close()
        udp.close()

        let folder = try CommandLineTests().temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(jpegs[1]).write(to: folder.appendingPathComponent("a.jpg"))
        try Data(try PNGCodec.encode(frames[2])).write(to: folder.appendingPathComponent("b.png"))
        let files = try ImageFolderSource(folder: folder.path, watch: false, keepJPEG: true)

        let areas: FramePipeline.Detect = { _ in [Rect(x: 50, y: 40, width: 60, height: 90)] }
        for (source, expected) in [(udp as FrameSource, jpegs + [jpegs[0]]), (files, [jpegs[1]])] {
            let pipeline = try FramePipeline(edge: roles.edge, pixelEdge: pixelEdge, settings: .init(detectEvery: 1), detect: areas)
            let outcomes = StreamTests.Outcomes()
            _ = try await pipeline.run(source) { await outcomes.add($0) }
            let all = await outcomes.all
            #expect(all.count >= expected.count)
            for outcome in all {
                let receipt = try #require(outcome.receipt)
                let recovered = try roles.dataCenter.original(receipt.frameID)
                if let jpeg = outcome.frame.jpeg {
                    #expect(outcome.manifest?.areas.first?.mode == .jpeg && expected.contains(jpeg))
                    #expect(recovered == (try JPEGCodec.decodeAsStored(jpeg)))
                } else {
                    #expect(outcome.manifest?.areas.first?.mode == .hardened && recovered == frames[2])
                }
            }
        }
    }
}
