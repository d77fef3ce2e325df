import Foundation
import MSAICore
import MSAIImageIO
import MSAIVision
import Testing

/// The real models from Models/ on the bundled images.
@Suite(.serialized) struct DetectionTests {
    let store: ModelStore
    init() throws { store = try ModelStore(directory: modelsFolder) }

    @Test func yoloFindsThePersonInPersonJpg() throws {
        let detector = try YOLODetector(store: store)
        let found = try detector.detect(try ImageFile.read(dataset("person.jpg")))
        let persons = found.filter { $0.privacyClass == .person }
        #expect(persons.count >= 1)
        #expect((persons.map(\.confidence).max() ?? 0) > 0.9)
    }

    @Test func yoloFindsVehiclesInDogJpg() throws {
        let found = try YOLODetector(store: store).detect(try ImageFile.read(dataset("dog.jpg")))
        #expect(found.contains { $0.privacyClass == .vehicle })
        #expect(!found.contains { $0.label == "dog" })  // not a privacy class
    }

    @Test func ssdFindsTwoFacesInZidaneAndOneInLena() throws {
        let faces = try SSDFaceDetector(store: store)
        let zidane = try faces.detect(try ImageFile.read(dataset("zidane.jpg")))
        #expect(zidane.count == 2)
        let lena = try faces.detect(try ImageFile.read(dataset("lena.png")))
        #expect(lena.count == 1)
        // Lena's face lies around (250, 260) in the 512×512 image.
        #expect(lena.first.map { $0.rect.x < 260 && $0.rect.maxX > 300 && $0.rect.y < 250 && $0.rect.maxY > 300 } == true)
    }

    @Test func missingOrCorruptModelsFailAtLoadNamingTheFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-models-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = try ModelStore(directory: folder)
        #expect(throws: MSAIError.self) { try SSDFaceDetector(store: empty) }
        do {
            _ = try SSDFaceDetector(store: empty)
        } catch {
            #expect("\(error)".contains("res10_300x300_ssd_deploy.prototxt is missing"))
        }
        try Data("[net]\nthis is not a cfg\n".utf8).write(to: folder.appendingPathComponent("broken.cfg"))
        try Data([1, 2, 3]).write(to: folder.appendingPathComponent("broken.weights"))
        try FileManager.default.copyItem(at: modelsFolder.appendingPathComponent("coco.names"), to: folder.appendingPathComponent("coco.names"))
        #expect(throws: MSAIError.self) { try YOLODetector(store: empty, model: "broken") }
        #expect(throws: MSAIError.self) { try YOLODetector(store: empty, model: "absent") }
        #expect(throws: MSAIError.self) { try DetectionPipeline.standard(store: empty, classes: [.face]) }
    }
}
