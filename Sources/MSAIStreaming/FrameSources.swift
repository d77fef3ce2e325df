import Foundation
import MSAICore
import MSAIImageIO
import MSAIVision

/// A video file's frames through OpenCV's VideoCapture, read as fast as the pipeline takes
/// them (a file can wait, so nothing is dropped); stream time comes from the frame rate.
public final class VideoFileSource: FrameSource, @unchecked Sendable {
    private let reader: VideoReader
    private let lock = NSLock()
    public let framesPerSecond: Double

    public init(path: String) throws {
        reader = try VideoReader(path: path)
        framesPerSecond = reader.framesPerSecond > 0 ? reader.framesPerSecond : 25
    }

    public var width: Int { reader.width }
    public var height: Int { reader.height }
    public var frameCount: Int { reader.frameCount }

    private var closed = false
    public func close() { lock.withLock { closed = true } }

    public func next() async throws -> StreamFrame? {
        try lock.withLock {
            if closed { return nil }
            let index = reader.framesRead
            guard let pixels = try reader.next() else { return nil }
            return StreamFrame(index: index, time: .seconds(Double(index) / framesPerSecond), pixels: pixels)
        }
    }

    public var dropped: Int { 0 }
    public var isLive: Bool { false }
}

/// The JPEG and PNG files of a folder in name order; with `watch`, it then waits for new files
/// (a camera or another program writing them) until `idleTimeout` passes without one. A file
/// is taken once its size has stayed the same for one poll, so a half-written file is not read.
public final class ImageFolderSource: FrameSource, @unchecked Sendable {
    public let folder: String
    public let watch: Bool
    public let idleTimeout: Duration?
    private let lock = NSLock()
    private var seen = Set<String>()
    private var pending: [String] = []
    private var sizes: [String: Int] = [:]
    private var index = 0
    private let start = ContinuousClock.now
    private var undecodable = 0
    private var closed = false
    public func close() { lock.withLock { closed = true } }

    public init(folder: String, watch: Bool, idleTimeout: Duration? = nil) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw MSAIError.io("\(folder): no such folder")
        }
        self.folder = folder
        self.watch = watch
        self.idleTimeout = idleTimeout
        if !watch {
            pending = try Self.images(in: folder)
            guard !pending.isEmpty else { throw MSAIError.io("\(folder): folder holds no JPEG or PNG files") }
        }
    }

    /// The JPEG and PNG file names of a folder, in name order.
    public static func images(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).sorted().filter(ImageFile.hasImageExtension)
    }

    /// Files whose size did not change since the last poll and that were not taken yet.
    private func poll() {
        let names = (try? Self.images(in: folder)) ?? []
        for name in names where !seen.contains(name) {
            let path = URL(fileURLWithPath: folder).appendingPathComponent(name).path
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
            if let before = sizes[name], before == size, size > 0 {
                seen.insert(name)
                pending.append(name)
                sizes[name] = nil
            } else {
                sizes[name] = size
            }
        }
    }

    public func next() async throws -> StreamFrame? {
        let waitingSince = ContinuousClock.now
        while true {
            if lock.withLock({ closed }) { return nil }
            let name: String? = lock.withLock {
                if pending.isEmpty && watch { poll() }
                return pending.isEmpty ? nil : pending.removeFirst()
            }
            if let name {
                let path = URL(fileURLWithPath: folder).appendingPathComponent(name).path
                guard let pixels = try? ImageFile.read(path) else {
                    lock.withLock { undecodable += 1 }
                    continue
                }
                return lock.withLock {
                    defer { index += 1 }
                    return StreamFrame(index: index, time: ContinuousClock.now - start, pixels: pixels)
                }
            }
            guard watch else { return nil }
            if let idleTimeout, ContinuousClock.now - waitingSince > idleTimeout { return nil }
            try await Task.sleep(for: .milliseconds(100))
            if Task.isCancelled { return nil }
        }
    }

    /// Files that could not be decoded (skipped).
    public var dropped: Int { lock.withLock { undecodable } }
    /// Files wait on disk, so even a watched folder is not dropped from.
    public var isLive: Bool { false }
}

/// Encoded frames (JPEG) arriving from the network, for a live source: a producer on any thread
/// `offer`s them; when the pipeline has not taken the previous ones, the oldest are dropped
/// (before decoding and detection) and counted. `next()` decodes; it ends after `close()`, or
/// when no frame arrived for `idleTimeout`.
public final class LiveJPEGSource: FrameSource, @unchecked Sendable {
    public let capacity: Int
    public let idleTimeout: Duration?
    private let lock = NSLock()
    private var queue: [(bytes: [UInt8], arrival: ContinuousClock.Instant)] = []
    private var closed = false
    private var droppedCount = 0
    private var index = 0
    private let start = ContinuousClock.now
    private var lastArrival = ContinuousClock.now

    public init(capacity: Int = 2, idleTimeout: Duration? = nil) {
        self.capacity = max(1, capacity)
        self.idleTimeout = idleTimeout
    }

    public func offer(_ bytes: [UInt8]) {
        lock.withLock {
            guard !closed else { return }
            queue.append((bytes, ContinuousClock.now))
            lastArrival = ContinuousClock.now
            if queue.count > capacity {
                droppedCount += queue.count - capacity
                queue.removeFirst(queue.count - capacity)
            }
        }
    }

    public func close() { lock.withLock { closed = true } }

    /// Frames lost before the pipeline: dropped for being behind, or not decodable.
    public func addLost(_ count: Int) { lock.withLock { droppedCount += count } }

    public func next() async throws -> StreamFrame? {
        while true {
            let item: (bytes: [UInt8], arrival: ContinuousClock.Instant)?
            let ended: Bool
            (item, ended) = lock.withLock {
                if !queue.isEmpty { return (queue.removeFirst(), false) }
                let idle = idleTimeout.map { ContinuousClock.now - lastArrival > $0 } ?? false
                return (nil, closed || idle)
            }
            if let item {
                guard let pixels = try? JPEGCodec.decode(item.bytes, name: "streamed frame") else {
                    addLost(1)
                    continue
                }
                return lock.withLock {
                    defer { index += 1 }
                    return StreamFrame(index: index, time: item.arrival - start, pixels: pixels)
                }
            }
            if ended || Task.isCancelled { return nil }
            try await Task.sleep(for: .milliseconds(3))
        }
    }

    public var dropped: Int { lock.withLock { droppedCount } }
    public var isLive: Bool { true }
}
