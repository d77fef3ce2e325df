import Foundation
import MSAICore
import MSAICoreTesting
import MSAIImageIO
import Testing

@Suite struct ImageIOTests {
    @Test func decodesTheBundledImages() async throws {
        let lena = try ImageFile.read(dataset("lena.png"))
        #expect(lena.width == 512 && lena.height == 512 && lena.channels == 3)
        let zidane = try ImageFile.read(dataset("zidane.jpg"))
        #expect(zidane.width == 1280 && zidane.height == 720 && zidane.channels == 3)
        let camera = try ImageFile.read(dataset("camera.png"))
        #expect(camera.channels == 1)
    }

    @Test func pngRoundTripKeepsPixelsTextsAndChunks() async throws {
        var random = SplitMix64(seed: 12)
        for (w, h, c) in [(1, 1, 1), (13, 7, 3), (64, 3, 1)] {
            let image = randomImage(width: w, height: h, channels: c, using: &random)
            let blob: [UInt8] = [0, 1, 0, 255, 0]
            let bytes = try PNGCodec.encode(image, texts: [("msai", "{\"a\":1}"), ("Comment", "ünïcode")], chunks: [("mvHe", blob), ("mvHe", [7])])
            let decoded = try PNGCodec.decode(bytes, keepChunks: ["mvHe"])
            #expect(decoded.pixels == image)
            #expect(decoded.texts == ["msai": "{\"a\":1}", "Comment": "ünïcode"])
            #expect(decoded.chunks.map(\.data) == [blob, [7]])
        }
    }

    @Test func jpegRoundTripIsClose() async throws {
        let lena = try ImageFile.read(dataset("lena.png"))
        let decoded = try JPEGCodec.decode(try JPEGCodec.encode(lena, quality: 95))
        #expect(ImageStatistics.psnr(mse: try ImageStatistics.mse(lena.sampleSet, decoded.sampleSet)) > 35)
    }

    @Test func badFilesGetErrorsThatNameTheProblem() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-io-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func write(_ name: String, _ bytes: [UInt8]) throws -> String {
            let path = folder.appendingPathComponent(name).path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }
        let jpeg = try ImageFile.readBytes(dataset("zidane.jpg"))
        let png = try ImageFile.readBytes(dataset("lena.png"))
        func message(_ path: String) -> String {
            do { _ = try ImageFile.read(path); return "no error" } catch { return "\(error)" }
        }
        #expect(message(folder.appendingPathComponent("absent.jpg").path).hasSuffix("absent.jpg: no such file"))
        #expect(message(try write("empty.png", [])).hasSuffix("empty.png: file is empty"))
        #expect(message(try write("text.jpg", Array("hello".utf8))).hasSuffix("text.jpg: not a JPEG or PNG file"))
        #expect(message(try write("cut.jpg", Array(jpeg.prefix(jpeg.count / 2)))).contains("JPEG data is damaged or truncated"))
        #expect(message(try write("cut.png", Array(png.prefix(png.count / 2)))).contains("not a readable PNG"))
        #expect(message(folder.path).contains("is a folder"))
        // A PNG whose header claims a zero width.
        var zero = try PNGCodec.encode(try PixelBuffer(width: 1, height: 1, channels: 1))
        zero[16...19] = [0, 0, 0, 0]
        #expect(message(try write("zero.png", zero)).contains("not a readable PNG"))
        // Headers claiming huge images are refused before anything is allocated.
        var hugePNG = try PNGCodec.encode(try PixelBuffer(width: 1, height: 1, channels: 1))
        hugePNG[16...23] = [0, 0, 0xFD, 0xE8, 0, 0, 0xFD, 0xE8]  // 65000 x 65000
        #expect(message(try write("huge.png", hugePNG)).contains("more than the 100 megapixels"))
        var hugeJPEG = jpeg
        let sof = try #require((0..<(hugeJPEG.count - 9)).first { hugeJPEG[$0] == 0xFF && (hugeJPEG[$0 + 1] == 0xC0 || hugeJPEG[$0 + 1] == 0xC2) })
        hugeJPEG[(sof + 5)...(sof + 8)] = [0xFD, 0xE8, 0xFD, 0xE8]
        #expect(message(try write("huge.jpg", hugeJPEG)).contains("more than the 100 megapixels"))
    }
}
