import Foundation
import MSAICore
import MSAIImageIO
import MSAIRoles
import MSAIVision
import Testing

/// EXIF Orientation: cameras and phones store pixels as the sensor read them and set a tag
/// instead of rotating. msai turns every JPEG upright before anything looks at it.
@Suite struct OrientationTests {
    /// An APP1 EXIF segment holding only IFD0's Orientation tag, in either byte order.
    static func exifSegment(orientation: Int, bigEndian: Bool) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 255)] : [UInt8(v & 255), UInt8(v >> 8)] }
        func u32(_ v: Int) -> [UInt8] { bigEndian ? u16(v >> 16) + u16(v & 0xFFFF) : u16(v & 0xFFFF) + u16(v >> 16) }
        let tiff = (bigEndian ? Array("MM".utf8) : Array("II".utf8)) + u16(42) + u32(8)
            + u16(1) + u16(0x0112) + u16(3) + u32(1) + u16(orientation) + u16(0) + u32(0)
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        return [0xFF, 0xE1, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 255)] + payload
    }

    /// `jpeg` with `segment` put right after its SOI marker.
    static func inserting(_ segment: [UInt8], into jpeg: [UInt8]) -> [UInt8] { Array(jpeg[..<2]) + segment + Array(jpeg[2...]) }

    /// A 64 × 48 stored image, gray, with a solid colour in each corner: which corner lands where
    /// says how it was turned.
    static func corners() throws -> PixelBuffer {
        var image = try PixelBuffer(width: 64, height: 48, channels: 3, filling: 128)
        let colours: [(Rect, [UInt8])] = [(Rect(x: 0, y: 0, width: 16, height: 16), [250, 0, 0]), (Rect(x: 48, y: 0, width: 16, height: 16), [0, 250, 0]),
                                          (Rect(x: 0, y: 32, width: 16, height: 16), [0, 0, 250])]
        for (rect, colour) in colours {
            for y in rect.y..<rect.maxY { for x in rect.x..<rect.maxX { for c in 0..<3 { image.samples[(y * 64 + x) * 3 + c] = colour[c] } } }
        }
        return image
    }

    enum Corner: CaseIterable { case topLeft, topRight, bottomLeft, bottomRight }

    /// The colour at the middle of a corner's 16 × 16 square (JPEG is lossy: the nearest of the three, or gray).
    static func colour(at corner: Corner, of image: PixelBuffer) -> String {
        let x = corner == .topLeft || corner == .bottomLeft ? 8 : image.width - 8
        let y = corner == .topLeft || corner == .topRight ? 8 : image.height - 8
        let i = (y * image.width + x) * 3
        let (r, g, b) = (Int(image.samples[i]), Int(image.samples[i + 1]), Int(image.samples[i + 2]))
        if r > 180 && g < 70 && b < 70 { return "red" }
        if g > 180 && r < 70 && b < 70 { return "green" }
        if b > 180 && r < 70 && g < 70 { return "blue" }
        return "gray"
    }

    /// Where the stored top-left (red), top-right (green) and bottom-left (blue) corners must be
    /// shown, from the tag's definition (first row → side, first column → side), not from the code.
    static let expected: [Int: [Corner: String]] = [
        1: [.topLeft: "red", .topRight: "green", .bottomLeft: "blue", .bottomRight: "gray"],
        2: [.topRight: "red", .topLeft: "green", .bottomRight: "blue", .bottomLeft: "gray"],
        3: [.bottomRight: "red", .bottomLeft: "green", .topRight: "blue", .topLeft: "gray"],
        4: [.bottomLeft: "red", .bottomRight: "green", .topLeft: "blue", .topRight: "gray"],
        5: [.topLeft: "red", .bottomLeft: "green", .topRight: "blue", .bottomRight: "gray"],
        6: [.topRight: "red", .bottomRight: "green", .topLeft: "blue", .bottomLeft: "gray"],
        7: [.bottomRight: "red", .topRight: "green", .bottomLeft: "blue", .topLeft: "gray"],
        8: [.bottomLeft: "red", .topLeft: "green", .bottomRight: "blue", .topRight: "gray"],
    ]

    @Test(arguments: 1...8)
    func everyOrientationIsTurnedUprightAsTheTagDefines(orientation: Int) throws {
        let jpeg = try JPEGCodec.encode(try Self.corners(), quality: 95)
        for bigEndian in [true, false] {
            let tagged = Self.inserting(Self.exifSegment(orientation: orientation, bigEndian: bigEndian), into: jpeg)
            #expect(ExifOrientation.read(jpeg: tagged).rawValue == orientation)
            let shown = try ImageFile.decode(tagged, name: "tagged.jpg")
            #expect((shown.width, shown.height) == (orientation >= 5 ? (48, 64) : (64, 48)))
            for corner in Corner.allCases {
                #expect(Self.colour(at: corner, of: shown) == Self.expected[orientation]![corner], "orientation \(orientation), \(corner)")
            }
            #expect(try JPEGCodec.decodeAsStored(tagged).width == 64)
        }
    }

    /// A hostile or damaged EXIF segment never reads out of bounds: the pixels come as stored.
    @Test func damagedExifSegmentsLeaveThePixelsAsStored() throws {
        let jpeg = try JPEGCodec.encode(try Self.corners(), quality: 90)
        let good = Self.exifSegment(orientation: 6, bigEndian: true)
        var random = SplitMix64(seed: 5)
        var cases: [[UInt8]] = [Array(good[..<12]) + [0xFF, 0xD9], Self.exifSegment(orientation: 0, bigEndian: false),
                                Self.exifSegment(orientation: 9, bigEndian: true)]
        for _ in 0..<300 {
            var bad = good
            bad[Int.random(in: 4..<bad.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            cases.append(bad)
        }
        for segment in cases {
            let tagged = Self.inserting(segment, into: jpeg)
            let orientation = ExifOrientation.read(jpeg: tagged)
            if let shown = try? ImageFile.decode(tagged, name: "x.jpg") {
                #expect(shown.width == (orientation.swapsSides ? 48 : 64))
            }
        }
        #expect(ExifOrientation.read(jpeg: Self.inserting(Array(good[..<12]) + [0xFF, 0xD9], into: jpeg)) == .up)
        #expect(ExifOrientation.read(jpeg: Self.inserting(Self.exifSegment(orientation: 9, bigEndian: true), into: jpeg)) == .up)
    }

    /// The case: person.jpg as a phone held sideways stores it (pixels turned, tag 6).
    /// msai finds the person, and the data center recovers the upright picture bit for bit.
    @Test func aPersonPhotographedSidewaysIsFoundAndRecoveredUpright() async throws {
        let upright = try ImageFile.read(dataset("person.jpg"))
        // Stored as the sensor saw it: turned a quarter counter-clockwise, so that turning it
        // clockwise (tag 6) shows it upright.
        let stored = ImageOrientation.left.upright(upright)
        let file = Self.inserting(Self.exifSegment(orientation: 6, bigEndian: false), into: try JPEGCodec.encode(stored, quality: 95))
        let shown = try ImageFile.decode(file, name: "sideways.jpg")
        #expect((shown.width, shown.height) == (upright.width, upright.height))
        let detector = try YOLODetector(store: ModelStore(directory: modelsFolder))
        let persons = try detector.detect(shown).filter { $0.privacyClass == .person }
        #expect(persons.count == 1 && (persons.first?.confidence ?? 0) > 0.9, "\(persons)")
        #expect(persons.first.map { $0.rect.iou(Rect(x: 185, y: 95, width: 95, height: 310)) > 0.5 } == true)
        // The control: the stored pixels, as msai read them before, hide her from the detector.
        #expect(try detector.detect(stored).filter { $0.privacyClass == .person && $0.confidence > 0.5 }.isEmpty)

        // Through the command a user runs: the person is masked, and what the data center
        // recovers is the upright picture, bit for bit.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-orient-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("sideways.jpg")
        try Data(file).write(to: path)
        let run = try CommandLineTests().msai(["evaluate", path.path, "--out", folder.path, "--classes", "person", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let regions = try #require(report["regions"] as? [[String: Any]])
        #expect(regions.contains { $0["class"] as? String == "person" }, "\(regions)")
        #expect((report["width"] as? Int, report["height"] as? Int) == (upright.width, upright.height))
        #expect(try ImageFile.read(folder.appendingPathComponent("sideways.recovered.png").path) == shown)
    }
}
