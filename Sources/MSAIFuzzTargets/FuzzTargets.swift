import Foundation
import MSAICore
import MSAICrypto
import MSAIImageIO
import MSAIRoles

/// What msai reads from a peer, each as a function of arbitrary bytes, for libFuzzer (`make fuzz`,
/// the msai-fuzz program) and for the tests that replay the inputs once found harmful
/// (Fuzz/regressions). A target must never crash, hang or allocate past its bounds, whatever the
/// bytes; where an invariant holds for every input, it is checked with `precondition`, so that
/// the fuzzer reports its breach as a crash.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// The MJPEG parser, fed the input in pieces whose sizes the input's first byte chooses.
    case mjpeg
    /// UDP reassembly: the input as datagrams, each preceded by its 2-byte length.
    case udp
    /// A masked frame as the data center opens it: the seal's header, then the frame inside
    /// (PNG, QOI or JPEG container) checked, peeked and decoded, then its manifest.
    case frame
    /// libpng through msai's shim, lenient (files users give) and under a peer's limits.
    case png
    /// The strict QOI decoder.
    case qoi
    /// JPEG through TurboJPEG, msai's EXIF orientation reader, and the coefficient path (header,
    /// coefficients, every MCU masked and moved, then moved back and unmasked: the same JPEG).
    case jpeg

    public func run(_ bytes: [UInt8]) {
        switch self {
        case .mjpeg:
            var parser = MJPEGParser(boundary: "msaiframe", maximumPartBytes: 1 << 20)
            let piece = max(1, Int(bytes.first ?? 1))
            var offset = 0, produced = 0
            while offset < bytes.count {
                produced += parser.feed(bytes[offset..<min(bytes.count, offset + piece)]).reduce(0) { $0 + $1.count }
                offset += piece
            }
            precondition(produced <= bytes.count, "the parser made more bytes than it was given")
        case .udp:
            var reassembler = FrameReassembler(window: 4, maximumBytesHeld: FramePackets.maximumFrameBytes)
            var offset = 0
            while offset + 2 <= bytes.count {
                let length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
                let datagram = Array(bytes[(offset + 2)..<min(bytes.count, offset + 2 + length)])
                offset += 2 + length
                if let frame = reassembler.accept(datagram) {
                    precondition(frame.bytes.count <= FramePackets.maximumFrameBytes)
                }
                precondition(reassembler.bytesHeld <= reassembler.maximumBytesHeld + 65_536, "reassembly holds more than its cap")
            }
        case .frame:
            _ = try? SealedFrame.header(bytes)
            if MaskedFrameCodec.format(of: bytes) == .jpeg, let parts = try? MaskedFrameCodec.jpegParts(bytes),
                let header = try? JPEGTranscoder.header(of: parts.jpeg, maxPixels: 1 << 22),
                let coefficients = try? JPEGTranscoder.read(parts.jpeg, maxPixels: 1 << 22) {
                precondition(coefficients.image.layout == header.layout, "the header and the coefficients disagree on the layout")
                if let manifest = try? FrameManifest.decode(parts.manifestJSON, imageWidth: header.layout.width,
                                                            imageHeight: header.layout.height, imageChannels: header.isGrayscale ? 1 : 3) {
                    for area in manifest.areas { _ = try? header.layout.membraneShape(for: area.rect) }
                }
            }
            // (The data center decodes only frames the size of their τ: at most its max_frame_pixels.)
            if let peeked = try? MaskedFrameCodec.peek(bytes), peeked.width <= 4096, peeked.height <= 4096,
                let contents = try? MaskedFrameCodec.decode(bytes) {
                precondition(contents.pixels.width == peeked.width && contents.pixels.height == peeked.height,
                             "the peek and the decode disagree on the frame's size")
                _ = try? FrameManifest.decode(contents.manifestJSON, imageWidth: contents.pixels.width, imageHeight: contents.pixels.height,
                                              imageChannels: contents.pixels.channels)
            }
        case .png:
            // Lenient decoding is for files a user gives (up to 100 megapixels); the fuzzer keeps
            // to small ones there, or each run would cost hundreds of megabytes by design.
            func word(_ i: Int) -> Int { bytes[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) } }
            let small = bytes.count >= 24 && word(16) <= 2048 && word(20) <= 2048
            if small { _ = try? PNGCodec.decode(bytes, keepChunks: ["mvHe"]) }
            _ = try? PNGCodec.decode(bytes, keepChunks: ["iTXt", "tEXt", "zTXt", "mvHe"],
                                     limits: PNGCodec.Limits(maximumChunkBytes: 1 << 20, maximumAncillaryChunks: 8))
        case .qoi:
            if let image = try? QOICodec.decode(bytes[...]) {
                precondition(image.samples.count == image.width * image.height * image.channels)
            }
        case .jpeg:
            _ = ExifOrientation.read(jpeg: bytes)
            _ = try? JPEGCodec.decode(bytes)
            guard let header = try? JPEGTranscoder.header(of: bytes, maxPixels: 1 << 22) else { return }
            _ = try? JPEGTranscoder.transcode(bytes, maxPixels: 1 << 22) { jpeg in
                precondition(jpeg.image.layout == header.layout, "the header and the coefficients disagree on the layout")
                let original = jpeg.image, layout = jpeg.image.layout
                let every = (columns: 0..<layout.mcusWide, rows: 0..<layout.mcusHigh)
                let bounded = CoefficientMasking.fitsRanges(jpeg.image, bounded: true)
                let membrane = [UInt8](repeating: 77, count: CoefficientMasking.coefficientCount(in: every, of: jpeg.image))
                var pad = UniformSampler(try ChaCha20Keystream(seed: [UInt8](repeating: 5, count: 32), domain: .pad))
                // Throws (fine) for a coefficient outside even the baseline range; never crashes.
                try CoefficientMasking.apply(to: &jpeg.image, mcus: every, pad: &pad, membrane: membrane, bounded: bounded)
                let (wide, high) = layout.wholeMCUs
                let tau = try Permutation((0..<(wide * high)).reversed())
                jpeg.image = try jpeg.image.permutingMCUs(tau).permutingMCUs(tau.inverse)
                var again = UniformSampler(try ChaCha20Keystream(seed: [UInt8](repeating: 5, count: 32), domain: .pad))
                try CoefficientMasking.apply(to: &jpeg.image, mcus: every, pad: &again, membrane: membrane, bounded: bounded, inverse: true)
                precondition(jpeg.image == original, "masking and moving every MCU and back did not give the same coefficients")
            }
        }
    }

    /// Seed inputs made from the test fixtures: well-formed examples for the fuzzer to mutate.
    public func seeds() async throws -> [[UInt8]] {
        var random = SplitMix64(seed: 2026)
        func image(_ width: Int, _ height: Int, _ channels: Int) throws -> PixelBuffer {
            let samples = (0..<(width * height * channels)).map { i in UInt8(truncatingIfNeeded: (i * 7) ^ (i >> 3)) &+ UInt8.random(in: 0...3, using: &random) }
            return try PixelBuffer(width: width, height: height, channels: channels, samples: samples)
        }
        switch self {
        case .mjpeg:
            let jpeg = try JPEGCodec.encode(try image(16, 8, 3), quality: 50)
            return [[7] + MJPEG.part(jpeg) + MJPEG.part(jpeg) + Array("--msaiframe--\r\n".utf8),
                    [1] + Array("--msaiframe\r\n\r\n".utf8) + jpeg + Array("\r\n--msaiframe\r\nContent-Length: 3\r\n\r\nabc\r\n".utf8)]
        case .udp:
            let frame = try JPEGCodec.encode(try image(32, 16, 3), quality: 50)
            let datagrams = try FramePackets.split(frame, number: 7, payloadSize: 300) + FramePackets.split(frame, number: 8, payloadSize: 300)
            return [datagrams.reversed().flatMap { [UInt8($0.count >> 8), UInt8($0.count & 255)] + $0 }]
        case .frame:
            var seeds: [[UInt8]] = []
            for (format, mode) in [(MaskedFrameCodec.Format.png, MaskingMode.hardened), (.qoi, .hardened), (.png, .vhe), (.jpeg, .jpeg)] {
                let dataCenter = DataCenter(random: SplitMix64(seed: 1))
                let cloud = CloudPlatform(escrow: dataCenter, random: SplitMix64(seed: 2))
                let edge = EdgeCamera(membranes: cloud, scrambling: dataCenter, egress: dataCenter, mode: mode, frameFormat: format)
                let frame = mode == .jpeg
                    ? try await edge.prepareJPEG(try JPEGCodec.encode(try image(40, 24, 3), quality: 75), areas: [Rect(x: 2, y: 2, width: 8, height: 6)])
                    : try await edge.prepare(try image(24, 16, 3), areas: [Rect(x: 2, y: 2, width: 8, height: 6)])
                seeds += [frame.encoded, frame.sealed]
            }
            return seeds
        case .png:
            return [try PNGCodec.encode(try image(16, 12, 3)), try PNGCodec.encode(try image(9, 7, 1)),
                    try PNGCodec.encode(try image(8, 8, 3), texts: [("msai", "{}")], chunks: [("mvHe", [1, 2, 3])])]
        case .qoi:
            return [try QOICodec.encode(try image(16, 12, 3)), try QOICodec.encode(try PixelBuffer(width: 20, height: 3, channels: 3))]
        case .jpeg:
            return [try JPEGCodec.encode(try image(16, 16, 3), quality: 75), try JPEGCodec.encode(try image(8, 24, 1), quality: 40),
                    try JPEGCodec.encode(try image(40, 23, 3), quality: 90, progressive: true)]
        }
    }
}
