import CMSAIOpenCV
import Foundation
import MSAICore

extension PixelBuffer {
    /// A resized copy (cv::resize: area averaging when shrinking, bilinear when growing).
    public func resized(width newWidth: Int, height newHeight: Int) throws -> PixelBuffer {
        var out = [UInt8](repeating: 0, count: newWidth * newHeight * channels)
        var error = msai_cv_error()
        let status = samples.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                msai_resize(source.baseAddress, Int32(width), Int32(height), Int32(channels), target.baseAddress,
                            Int32(newWidth), Int32(newHeight), &error)
            }
        }
        guard status == 0 else { throw MSAIError.invalidImage("resize failed: \(Network.message(&error))") }
        return try PixelBuffer(width: newWidth, height: newHeight, channels: channels, samples: out)
    }

    /// A copy with each detection drawn as a coloured box with its label ("face 0.98"), the
    /// labels laid out so that none covers another (`LabelLayout`).
    public func annotated(with detections: [Detection]) throws -> PixelBuffer {
        var copy = self
        let labels = detections.map { d in d.detector == "manual" ? "manual" : "\(d.privacyClass.rawValue) \(String(format: "%.2f", d.confidence))" }
        let sizes = labels.map { label -> (width: Int, height: Int) in
            var w: Int32 = 0, h: Int32 = 0
            msai_label_size(label, Int32(width), &w, &h)
            return (Int(w), Int(h))
        }
        let places = LabelLayout.place(boxes: detections.map(\.rect), sizes: sizes, imageWidth: width, imageHeight: height)
        // Every box first, then every label, so that no box's outline crosses a label.
        for pass in 0..<2 {
            for (i, d) in detections.enumerated() {
                let (r, g, b) = Annotation.colour(of: d.privacyClass)
                var error = msai_cv_error()
                let status = copy.samples.withUnsafeMutableBufferPointer {
                    msai_draw_box($0.baseAddress, Int32(width), Int32(height), Int32(channels), Int32(d.rect.x), Int32(d.rect.y),
                                  Int32(d.rect.width), Int32(d.rect.height), r, g, b, pass == 0 ? Int32(max(2, width / 400)) : 0,
                                  pass == 0 ? nil : labels[i], Int32(places[i].x), Int32(places[i].y), &error)
                }
                guard status == 0 else { throw MSAIError.invalidImage("drawing failed: \(Network.message(&error))") }
            }
        }
        return copy
    }
}

enum Annotation {
    static func colour(of cls: PrivacyClass) -> (UInt8, UInt8, UInt8) {
        switch cls {
        case .face: return (255, 64, 64)
        case .eyes: return (255, 160, 0)
        case .head: return (255, 96, 192)
        case .person: return (64, 200, 64)
        case .plate: return (255, 255, 0)
        case .vehicle: return (64, 160, 255)
        }
    }
}

/// A Motion JPEG AVI written frame by frame with OpenCV's VideoWriter (the edge's preview of
/// the masked view of a stream). Frames must all have the size given at the start.
public final class VideoWriter {
    private var handle: OpaquePointer?
    public let path: String
    public let width: Int
    public let height: Int
    public private(set) var framesWritten = 0

    public init(path: String, framesPerSecond: Double, width: Int, height: Int) throws {
        var error = msai_cv_error()
        guard let handle = msai_video_writer_open(path, framesPerSecond, Int32(width), Int32(height), &error) else {
            throw MSAIError.io(Network.message(&error))
        }
        self.handle = handle
        self.path = path
        self.width = width
        self.height = height
    }

    public func write(_ frame: PixelBuffer) throws {
        guard let handle else { throw MSAIError.io("\(path): the video is already finished") }
        var error = msai_cv_error()
        let status = frame.samples.withUnsafeBufferPointer {
            msai_video_writer_write(handle, $0.baseAddress, Int32(frame.width), Int32(frame.height), Int32(frame.channels), &error)
        }
        guard status == 0 else { throw MSAIError.io("\(path): \(Network.message(&error))") }
        framesWritten += 1
    }

    /// Writes the file's index; the video is playable only after this.
    public func finish() {
        msai_video_writer_close(handle)
        handle = nil
    }

    deinit { msai_video_writer_close(handle) }
}

/// Frames of a video file, decoded by OpenCV's VideoCapture, as RGB pixel buffers.
public final class VideoReader {
    private let handle: OpaquePointer
    public let width: Int
    public let height: Int
    /// As the container reports it (0 when unknown).
    public let frameCount: Int
    public let framesPerSecond: Double
    public private(set) var framesRead = 0

    public init(path: String) throws {
        var error = msai_cv_error()
        var w: Int32 = 0, h: Int32 = 0, count: Int32 = 0
        var fps = 0.0
        guard let opened = msai_video_open(path, &w, &h, &count, &fps, &error) else {
            throw MSAIError.io(Network.message(&error))
        }
        handle = opened
        width = Int(w)
        height = Int(h)
        frameCount = Int(count)
        framesPerSecond = fps
    }

    deinit { msai_video_free(handle) }

    /// The next frame, or nil at the end.
    public func next() throws -> PixelBuffer? {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        var error = msai_cv_error()
        let status = pixels.withUnsafeMutableBufferPointer { msai_video_read(handle, $0.baseAddress, &error) }
        if status < 0 { throw MSAIError.codec("video frame \(framesRead): \(Network.message(&error))") }
        if status == 0 { return nil }
        framesRead += 1
        return try PixelBuffer(width: width, height: height, channels: 3, samples: pixels)
    }

    /// Frame `index` (0-based) by reading sequentially from the current position.
    public func frame(at index: Int) throws -> PixelBuffer {
        guard index >= framesRead else {
            throw MSAIError.invalidArgument("frame \(index) was already passed (at frame \(framesRead)); open the video again")
        }
        while true {
            guard let frame = try next() else {
                throw MSAIError.invalidArgument("the video has only \(framesRead) frames; frame \(index) does not exist")
            }
            if framesRead - 1 == index { return frame }
        }
    }
}

extension PixelBuffer {
    /// A copy with `area` Gaussian-blurred (cv::GaussianBlur, odd kernel side `kernel`).
    public func gaussianBlurred(_ area: Rect, kernel: Int) throws -> PixelBuffer {
        try checkContains(area)
        var copy = self
        var error = msai_cv_error()
        let status = copy.samples.withUnsafeMutableBufferPointer {
            msai_gaussian_blur($0.baseAddress, Int32(width), Int32(height), Int32(channels), Int32(area.x), Int32(area.y),
                               Int32(area.width), Int32(area.height), Int32(kernel | 1), &error)
        }
        guard status == 0 else { throw MSAIError.invalidImage("blur failed: \(Network.message(&error))") }
        return copy
    }
}
