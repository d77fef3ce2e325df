import Foundation
import MSAICore
import MSAIImageIO
import MSAIVision
import Synchronization

/// A video file's frames through OpenCV's VideoCapture, read as fast as the pipeline takes
/// them (a file can wait, so nothing is dropped); stream time comes from the frame rate.
public final class VideoFileSource: FrameSource, Sendable {
    private struct State {
        let reader: VideoReader
        var closed = false
    }
    private let state: Mutex<State>
    public let framesPerSecond: Double
    public let width: Int
    public let height: Int
    public let frameCount: Int

    public init(path: String) throws {
        let reader = try VideoReader(path: path)
        framesPerSecond = reader.framesPerSecond > 0 ? reader.framesPerSecond : 25
        (width, height, frameCount) = (reader.width, reader.height, reader.frameCount)
        state = Mutex(State(reader: reader))
    }

    public func close() { state.withLock { $0.closed = true } }

    public func next() async throws -> StreamFrame? {
        try state.withLock { state in
            if state.closed { return nil }
            let index = state.reader.framesRead
            guard let pixels = try state.reader.next() else { return nil }
            return StreamFrame(index: index, time: .seconds(Double(index) / framesPerSecond), pixels: pixels)
        }
    }

    public var dropped: Int { 0 }
    public var isLive: Bool { false }
}

/// The JPEG and PNG files of a folder in name order; with `watch`, it then waits for new files
/// (a camera or another program writing them) until `idleTimeout` passes without one. A file
/// is taken once its size has stayed the same for one poll, so a half-written file is not read.
public final class ImageFolderSource: FrameSource, Sendable {
    public let folder: String
    public let watch: Bool
    public let idleTimeout: Duration?
    /// Keep each JPEG file's bytes with its frame (the `jpeg` mode; `StreamFrame.jpeg`).
    public let keepJPEG: Bool
    private let start = ContinuousClock.now

    private struct State {
        var seen = Set<String>()
        var pending: [String] = []
        var sizes: [String: Int] = [:]
        var index = 0
        var undecodable = 0
        var closed = false
    }
    private let state = Mutex(State())

    public func close() { state.withLock { $0.closed = true } }

    public init(folder: String, watch: Bool, idleTimeout: Duration? = nil, keepJPEG: Bool = false) throws {
        self.keepJPEG = keepJPEG
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw MSAIError.io("\(folder): no such folder")
        }
        self.folder = folder
        self.watch = watch
        self.idleTimeout = idleTimeout
        if !watch {
            let names = try Self.images(in: folder)
            guard !names.isEmpty else { throw MSAIError.io("\(folder): folder holds no JPEG or PNG files") }
            state.withLock { $0.pending = names }
        }
    }

    /// The JPEG and PNG file names of a folder, in name order.
    public static func images(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).sorted().filter(ImageFile.hasImageExtension)
    }

    /// Files whose size did not change since the last poll and that were not taken yet.
    private func poll(_ state: inout State) {
        let names = (try? Self.images(in: folder)) ?? []
        for name in names where !state.seen.contains(name) {
            let path = URL(fileURLWithPath: folder).appendingPathComponent(name).path
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
            if let before = state.sizes[name], before == size, size > 0 {
                state.seen.insert(name)
                state.pending.append(name)
                state.sizes[name] = nil
            } else {
                state.sizes[name] = size
            }
        }
    }

    public func next() async throws -> StreamFrame? {
        let waitingSince = ContinuousClock.now
        while true {
            let (closed, name): (Bool, String?) = state.withLock { state in
                if state.closed { return (true, nil) }
                if state.pending.isEmpty && watch { poll(&state) }
                return (false, state.pending.isEmpty ? nil : state.pending.removeFirst())
            }
            if closed { return nil }
            if let name {
                let path = URL(fileURLWithPath: folder).appendingPathComponent(name).path
                guard let bytes = try? ImageFile.readBytes(path), let frame = try? ImageFile.frame(bytes, dctDomain: keepJPEG, name: path) else {
                    state.withLock { $0.undecodable += 1 }
                    continue
                }
                return state.withLock { state in
                    defer { state.index += 1 }
                    return StreamFrame(index: state.index, time: ContinuousClock.now - start, pixels: frame.pixels, jpeg: frame.jpeg)
                }
            }
            guard watch else { return nil }
            if let idleTimeout, ContinuousClock.now - waitingSince > idleTimeout { return nil }
            try await Task.sleep(for: .milliseconds(100))
            if Task.isCancelled { return nil }
        }
    }

    /// Files that could not be decoded (skipped).
    public var dropped: Int { state.withLock { $0.undecodable } }
    /// Files wait on disk, so even a watched folder is not dropped from.
    public var isLive: Bool { false }
}

/// Encoded frames (JPEG) arriving from the network, for a live source: a producer on any thread
/// `offer`s them; when the pipeline has not taken the previous ones, the oldest are dropped
/// (before decoding and detection) and counted. `next()` decodes; it ends after `close()`, or
/// when no frame arrived for `idleTimeout`.
public final class LiveJPEGSource: FrameSource, Sendable {
    public let capacity: Int
    public let idleTimeout: Duration?
    /// Keep each frame's JPEG with it (the `jpeg` mode; `StreamFrame.jpeg`).
    public let keepJPEG: Bool
    private let start = ContinuousClock.now

    private struct State {
        var queue: [(bytes: [UInt8], arrival: ContinuousClock.Instant)] = []
        var closed = false
        var dropped = 0
        var index = 0
        var lastArrival = ContinuousClock.now
    }
    private let state = Mutex(State())

    public init(capacity: Int = 2, idleTimeout: Duration? = nil, keepJPEG: Bool = false) {
        self.keepJPEG = keepJPEG
        self.capacity = max(1, capacity)
        self.idleTimeout = idleTimeout
    }

    public func offer(_ bytes: [UInt8]) {
        state.withLock { state in
            guard !state.closed else { return }
            state.queue.append((bytes, ContinuousClock.now))
            state.lastArrival = ContinuousClock.now
            if state.queue.count > capacity {
                state.dropped += state.queue.count - capacity
                state.queue.removeFirst(state.queue.count - capacity)
            }
        }
    }

    public func close() { state.withLock { $0.closed = true } }

    /// Frames lost before the pipeline: dropped for being behind, or not decodable.
    public func addLost(_ count: Int) { state.withLock { $0.dropped += count } }

    public func next() async throws -> StreamFrame? {
        while true {
            let (item, ended) = state.withLock { state -> ((bytes: [UInt8], arrival: ContinuousClock.Instant)?, Bool) in
                if !state.queue.isEmpty { return (state.queue.removeFirst(), false) }
                let idle = idleTimeout.map { ContinuousClock.now - state.lastArrival > $0 } ?? false
                return (nil, state.closed || idle)
            }
            if let item {
                guard ImageFile.sniff(item.bytes) == .jpeg,
                      let frame = try? ImageFile.frame(item.bytes, dctDomain: keepJPEG, name: "streamed frame") else {
                    addLost(1)
                    continue
                }
                return state.withLock { state in
                    defer { state.index += 1 }
                    return StreamFrame(index: state.index, time: item.arrival - start, pixels: frame.pixels, jpeg: frame.jpeg)
                }
            }
            if ended || Task.isCancelled { return nil }
            try await Task.sleep(for: .milliseconds(3))
        }
    }

    public var dropped: Int { state.withLock { $0.dropped } }
    public var isLive: Bool { true }
}
