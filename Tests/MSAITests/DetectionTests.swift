import Foundation
import MSAICore
import MSAIImageIO
@testable import MSAIVision
import Testing

/// The real models from Models/ on the bundled images.
@Suite(.serialized) struct DetectionTests {
    let store: ModelStore
    init() throws { store = try ModelStore(directory: modelsFolder) }

    @Test func yoloFindsThePersonInPersonJpg() async throws {
        for letterbox in [true, false] {
            let detector = try YOLODetector(store: store, letterbox: letterbox)
            let persons = try detector.detect(try ImageFile.read(dataset("person.jpg"))).filter { $0.privacyClass == .person }
            #expect(persons.count == 1)
            #expect((persons.first?.confidence ?? 0) > 0.9)
            // The woman stands around x 190...280, y 100...400 of the 640×424 image.
            #expect(persons.first.map { $0.rect.iou(Rect(x: 185, y: 95, width: 95, height: 310)) > 0.6 } == true)
        }
    }

    /// YOLO's input is padded only to the next multiple of 32, not to a square: a 768x576 frame
    /// at 608 is 608x480 (a fifth less to compute), a 1280x720 one 608x352. The image reaches
    /// the net at the same scale, so it finds what the square letterbox found, where it found it.
    @Test func theTightLetterboxFindsWhatTheSquareOneFound() async throws {
        let p = Network.Placement.tightLetterbox(imageWidth: 768, imageHeight: 576, size: 608, multiple: 32)
        #expect((p.inputWidth, p.inputHeight, p.resizedWidth, p.resizedHeight, p.padX, p.padY) == (608, 480, 608, 456, 0, 12))
        let wide = Network.Placement.tightLetterbox(imageWidth: 1280, imageHeight: 720, size: 608, multiple: 32)
        #expect((wide.inputWidth, wide.inputHeight) == (608, 352))
        let tall = Network.Placement.tightLetterbox(imageWidth: 810, imageHeight: 1080, size: 608, multiple: 32)
        #expect((tall.inputWidth, tall.inputHeight) == (480, 608))
        let detector = try YOLODetector(store: store, model: "yolov4-tiny", inputSize: 608)
        let video = try VideoReader(path: dataset("vtest.avi"))
        let images = [try ImageFile.read(dataset("zidane.jpg")), try ImageFile.read(dataset("bus.jpg")), try #require(try video.next())]
        for image in images {
            detector.tight = true
            let tight = try detector.detect(image)
            detector.tight = false
            let square = try detector.detect(image)
            #expect(square.contains { $0.confidence >= 0.6 }, "\(image.width)x\(image.height)")
            // Every confident box of either is found by the other, in the same place.
            for (these, those) in [(square, tight), (tight, square)] {
                for box in these where box.confidence >= 0.6 {
                    #expect(those.contains { $0.label == box.label && $0.rect.iou(box.rect) > 0.85 }, "\(box) in \(image.width)x\(image.height)")
                }
            }
        }
    }

    @Test func yoloFindsVehiclesInDogJpgButNoDog() async throws {
        let found = try YOLODetector(store: store).detect(try ImageFile.read(dataset("dog.jpg")))
        #expect(found.contains { $0.privacyClass == .vehicle })
        #expect(!found.contains { $0.label == "dog" })
    }

    @Test func yoloV4TinyIsSelectableByNameAndFindsThePeopleOnTheBus() async throws {
        #expect(store.darknetModels.contains("yolov4-tiny") && store.darknetModels.contains("yolov3-tiny"))
        // At the policy's input size: at 416 with the tight letterbox it finds 2 (the square one
        // found 3; docs/DETECTION.md has what the tight letterbox changes at each size).
        let persons = try YOLODetector(store: store, model: "yolov4-tiny", inputSize: 608).detect(try ImageFile.read(dataset("bus.jpg")))
            .filter { $0.privacyClass == .person }
        #expect(persons.count >= 3)
        #expect(throws: MSAIError.self) { try YOLODetector(store: store, model: "yolov3") }  // cfg present, weights not
    }

    @Test func bothFaceDetectorsFindTwoFacesInZidaneAndOneInLena() async throws {
        let detectors: [RegionDetector] = [try SSDFaceDetector(store: store), try YuNetFaceDetector(store: store)]
        for faces in detectors {
            #expect(try faces.detect(try ImageFile.read(dataset("zidane.jpg"))).count == 2, "\(faces.name)")
            let lena = try faces.detect(try ImageFile.read(dataset("lena.png")))
            #expect(lena.count == 1, "\(faces.name)")
            // Lena's face lies around (250, 260) in the 512×512 image.
            #expect(lena.first.map { $0.rect.x < 260 && $0.rect.maxX > 300 && $0.rect.y < 250 && $0.rect.maxY > 300 } == true)
        }
    }

    @Test func yunetLandmarksPutTheEyesInsideTheFace() async throws {
        let faces = try YuNetFaceDetector(store: store).detect(try ImageFile.read(dataset("zidane.jpg")))
        for face in faces {
            let marks = try #require(face.landmarks)
            #expect(marks.count == 5)
            // Eyes above the nose, nose above the mouth corners, all inside the box.
            #expect(marks[0].y < marks[2].y && marks[1].y < marks[2].y && marks[2].y < marks[3].y)
            for p in marks { #expect(Double(face.rect.x) <= p.x && p.x <= Double(face.rect.maxX) && Double(face.rect.y) <= p.y && p.y <= Double(face.rect.maxY)) }
            let eyes = PolicyApplication.eyes(of: face)
            #expect(eyes.rect.intersection(face.rect) == eyes.rect)
            #expect(eyes.rect.area < face.rect.area / 2)
        }
    }

    @Test func haarPlateCascadeFindsThePlates() async throws {
        let cascade = try CascadeDetector.plate("haar-russian", store: store)
        let car = try cascade.detect(try ImageFile.read(dataset("car_plate.jpg")))
        // The front plate "MH14CS1938" lies around x 100...420, y 905...1020.
        #expect(car.contains { $0.rect.intersection(Rect(x: 100, y: 905, width: 320, height: 115)) != nil })
        #expect(try cascade.detect(try ImageFile.read(dataset("alpr_test.jpg"))).count >= 2)
        _ = try CascadeDetector.plate("haar-rus16", store: store)
    }

    @Test func plateSSDLoadsAndFindsNoPlateOnAPortrait() async throws {
        let ssd = try PlateSSDDetector(store: store)
        #expect(try ssd.detect(try ImageFile.read(dataset("lena.png"))).isEmpty)
    }

    /// The default plate cascade scope: the whole frame where YOLO found a vehicle, so the boxes
    /// are the whole-frame scan's exactly; nothing where it found none (a hall, a face).
    @Test func thePlateCascadeRunsOnTheWholeFrameOnlyWhereThereAreVehicles() async throws {
        var everywhere = PrivacyPolicy()
        everywhere.plateCascadeScope = .frame
        let withVehicles = PrivacyPolicy()
        #expect(withVehicles.plateCascadeScope == .framesWithVehicles)
        let (always, sometimes) = (try DetectionPipeline(policy: everywhere, store: store), try DetectionPipeline(policy: withVehicles, store: store))
        let cars = try ImageFile.read(dataset("alpr_test.jpg"))
        let both = (try always.detect(cars).detections, try sometimes.detect(cars).detections)
        #expect(both.0.contains { $0.privacyClass == .vehicle } && both.0.contains { $0.detector == "haar-russian" })
        #expect(both.0 == both.1)
        let face = try ImageFile.read(dataset("lena.png"))
        let found = try sometimes.detect(face)
        #expect(!found.detections.contains { $0.privacyClass == .vehicle || $0.detector == "haar-russian" })
        #expect(try always.detect(face).detections.filter { $0.privacyClass != .plate } == found.detections.filter { $0.privacyClass != .plate })
        #expect((found.milliseconds["haar-russian"] ?? 0) < 1)
    }

    @Test func detectScaleMapsBoxesBack() async throws {
        var policy = PrivacyPolicy()
        policy.classes = [.face]
        policy.faceDetectors = ["yunet"]
        let image = try ImageFile.read(dataset("zidane.jpg"))
        let full = try DetectionPipeline(policy: policy, store: store).detect(image).detections
        policy.detectScale = 0.5
        let half = try DetectionPipeline(policy: policy, store: store).detect(image).detections
        #expect(full.count == 2 && half.count == 2)
        for face in full { #expect(half.contains { $0.rect.iou(face.rect) > 0.7 }) }
    }

    @Test func missingOrCorruptModelsFailAtLoadNamingTheFile() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-models-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = try ModelStore(directory: folder)
        func message(_ body: () throws -> Any) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        #expect(message { try SSDFaceDetector(store: empty) }.contains("res10_300x300_ssd_deploy.prototxt is missing (expected the res10 face SSD's Caffe prototxt"))
        #expect(message { try YuNetFaceDetector(store: empty) }.contains("face_detection_yunet_2023mar.onnx is missing"))
        #expect(message { try CascadeDetector.plate("haar-russian", store: empty) }.contains("haarcascade_russian_plate_number.xml is missing"))
        try Data("[net]\nthis is not a cfg\n".utf8).write(to: folder.appendingPathComponent("broken.cfg"))
        try Data([1, 2, 3]).write(to: folder.appendingPathComponent("broken.weights"))
        try Data("<opencv_storage>nope".utf8).write(to: folder.appendingPathComponent("haarcascade_russian_plate_number.xml"))
        try FileManager.default.copyItem(at: modelsFolder.appendingPathComponent("coco.names"), to: folder.appendingPathComponent("coco.names"))
        #expect(message { try YOLODetector(store: empty, model: "broken") }.contains("broken.cfg"))
        #expect(message { try CascadeDetector.plate("haar-russian", store: empty) }.contains("haarcascade_russian_plate_number.xml"))
        #expect(message { try YOLODetector(store: empty, model: "absent") }.contains("darknet model 'absent' is not in"))
    }
}

/// The policy, applied without any model.
@Suite struct PrivacyPolicyTests {
    let face = Detection(rect: Rect(x: 100, y: 80, width: 60, height: 80), privacyClass: .face, label: "face", confidence: 0.9,
                         detector: "test", landmarks: [Point(x: 118, y: 110), Point(x: 142, y: 111), Point(x: 130, y: 125),
                                                       Point(x: 120, y: 140), Point(x: 140, y: 140)])

    @Test func eyesOnlyBoxesLieInsideTheFaceWithOrWithoutLandmarks() {
        var bare = face
        bare.landmarks = nil
        for f in [face, bare] {
            let eyes = PolicyApplication.eyes(of: f)
            #expect(eyes.privacyClass == .eyes)
            #expect(eyes.rect.intersection(f.rect) == eyes.rect)
            #expect(eyes.rect.height < f.rect.height / 2)
        }
        var policy = PrivacyPolicy()
        policy.classes = [.eyes]
        policy.padding = 0
        let areas = PolicyApplication.areas(from: [face], policy: policy, width: 640, height: 480)
        #expect(areas.map(\.privacyClass) == [.eyes])
    }

    @Test func paddingClampsToTheImage() {
        var policy = PrivacyPolicy()
        policy.padding = 0.5
        let corner = Detection(rect: Rect(x: 2, y: 3, width: 40, height: 20), privacyClass: .plate, label: "plate", confidence: 1, detector: "t")
        let areas = PolicyApplication.areas(from: [corner], policy: policy, width: 50, height: 30)
        #expect(areas.first?.rect == Rect(x: 0, y: 0, width: 50, height: 30))
        policy.padding = 0.1
        #expect(PolicyApplication.areas(from: [face], policy: policy, width: 640, height: 480).first?.rect == Rect(x: 94, y: 72, width: 72, height: 96))
    }

    @Test func classesMinimumSizeAndHeads() {
        var policy = PrivacyPolicy()
        policy.classes = [.head, .plate]
        policy.minimumSize = 10
        policy.padding = 0
        let tiny = Detection(rect: Rect(x: 0, y: 0, width: 8, height: 30), privacyClass: .plate, label: "plate", confidence: 1, detector: "t")
        let person = Detection(rect: Rect(x: 0, y: 0, width: 80, height: 200), privacyClass: .person, label: "person", confidence: 1, detector: "t")
        let areas = PolicyApplication.areas(from: [face, tiny, person], policy: policy, width: 640, height: 480)
        #expect(areas.map(\.privacyClass) == [.head])
        #expect(areas[0].rect.intersection(face.rect) == face.rect)  // the head contains the face
    }

    /// The same face from two detectors becomes one area covering both boxes; two overlapping
    /// people from one detector stay two.
    @Test func mergingAcrossDetectorsKeepsEveryMarkedPixel() {
        let yunet = Detection(rect: Rect(x: 100, y: 100, width: 50, height: 60), privacyClass: .face, label: "face", confidence: 0.9,
                              detector: "yunet", landmarks: [Point(x: 110, y: 120), Point(x: 140, y: 120)])
        let res10 = Detection(rect: Rect(x: 95, y: 90, width: 60, height: 75), privacyClass: .face, label: "face", confidence: 0.95, detector: "res10")
        let merged = mergeOverlapping([res10, yunet])
        #expect(merged.count == 1)
        #expect(merged[0].rect == Rect(x: 95, y: 90, width: 60, height: 75))
        #expect(merged[0].landmarks != nil)
        let a = Detection(rect: Rect(x: 0, y: 0, width: 100, height: 200), privacyClass: .person, label: "person", confidence: 0.9, detector: "yolo")
        var b = a
        b.rect = Rect(x: 30, y: 0, width: 100, height: 200)
        #expect(mergeOverlapping([a, b]).count == 2)
    }

    @Test func policyFilesAreValidatedWithMessagesNamingTheField() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func load(_ json: String) -> String {
            let path = folder.appendingPathComponent("p.json").path
            _ = FileManager.default.createFile(atPath: path, contents: Data(json.utf8))
            do { return try PrivacyPolicy.load(path).json() } catch { return "\(error)" }
        }
        #expect(load(#"{"classes": ["face", "eyes"], "padding": 0.2}"#).contains("\"padding\" : 0.2"))
        #expect(load(#"{"classes": ["face", "ears"]}"#).contains("not a valid policy"))
        #expect(load(#"{"padding": 5}"#).contains("padding must lie in 0...2"))
        #expect(load(#"{"pading": 0.2}"#).contains("unknown field(s) pading"))
        #expect(load(#"{"face_detectors": ["mtcnn"]}"#).contains("unknown face detector 'mtcnn'"))
        #expect(load(#"{"on_detector_failure": "pass-through"}"#).contains("not a valid policy"))
        #expect(load("{").contains("not a valid policy"))
        // The defaults fail closed.
        #expect(PrivacyPolicy().onDetectorFailure == .maskWholeFrame)
    }

    @Test func absentModelsFailClosedToTheWholeFrame() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msai-nomodels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let selector = try AreaSelector.load(policy: PrivacyPolicy()) { try ModelStore(directory: folder) }
        guard case .failedClosed(let reason) = selector else {
            Issue.record("expected the selector to fail closed")
            return
        }
        #expect(reason.contains(folder.lastPathComponent))
        let image = try PixelBuffer(width: 40, height: 30, channels: 3)
        let decision = try selector.select(image)
        #expect(decision.outcome == .wholeFrame && decision.areas.map(\.rect) == [image.bounds])
        var strict = PrivacyPolicy()
        strict.onDetectorFailure = .stop
        #expect(throws: MSAIError.self) { try AreaSelector.load(policy: strict) { try ModelStore(directory: folder) } }
    }
}
