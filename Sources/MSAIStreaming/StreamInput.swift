import Foundation
import MSAICore

/// What an edge streams from, as named on the command line: a video file, a UDP stream, an MJPEG
/// stream over HTTP, or a folder watched for new images.
public enum StreamInput: Sendable, Equatable {
    case videoFile(String)
    case udp(host: String, port: Int)
    case mjpeg(url: String)
    case watchedFolder(String)

    public static let videoExtensions: Set<String> = ["avi", "mp4", "mkv", "mov", "webm", "mjpeg", "mjpg", "m4v", "mpg", "mpeg"]

    /// The stream `inputs` (and `--watch`) name, or nil when they name single images and folders
    /// of them. A stream is processed on its own.
    public static func parse(_ inputs: [String], watch: String?) throws -> StreamInput? {
        if let watch {
            guard inputs.isEmpty || inputs == [watch] else { throw MSAIError.invalidArgument("--watch takes the folder; give no other inputs") }
            return .watchedFolder(watch)
        }
        let streams = inputs.filter(isStream)
        guard !streams.isEmpty else { return nil }
        guard inputs.count == 1 else {
            throw MSAIError.invalidArgument("a video file, udp:// or http:// stream is processed on its own; got \(inputs.count) inputs")
        }
        let input = inputs[0]
        if input.hasPrefix("http://") || input.hasPrefix("https://") { return .mjpeg(url: input) }
        if input.hasPrefix("udp://") {
            let (host, port) = try HostAndPort.parseEndpoint(input, option: "udp://")
            return .udp(host: host, port: port)
        }
        return .videoFile(input)
    }

    static func isStream(_ input: String) -> Bool {
        input.hasPrefix("udp://") || input.hasPrefix("http://") || input.hasPrefix("https://")
            || videoExtensions.contains(URL(fileURLWithPath: input).pathExtension.lowercased())
    }

}

/// A stream opened for the pipeline: its source, what to call it, its frame rate (for a preview
/// video), and the network receiver feeding it, if any.
public struct OpenedStream: Sendable {
    public let source: FrameSource
    public let name: String
    public let framesPerSecond: Double
    private let receiver: Receiver?

    enum Receiver: Sendable {
        case udp(UDPFrameReceiver)
        case mjpeg(MJPEGReceiver)
    }

    /// Opens `input`. A live source (UDP, MJPEG) keeps `liveBuffer` frames waiting for the
    /// pipeline before it drops the oldest, and ends after `idleTimeout` without a frame.
    /// With `keepJPEG` (the `jpeg` mode), frames that arrive as JPEGs keep them (`StreamFrame.jpeg`);
    /// a video file's frames come decoded, without.
    public static func open(_ input: StreamInput, liveBuffer: Int = 2, idleTimeout: Duration? = nil, keepJPEG: Bool = false) async throws
        -> OpenedStream
    {
        switch input {
        case .watchedFolder(let folder):
            return OpenedStream(source: try ImageFolderSource(folder: folder, watch: true, idleTimeout: idleTimeout, keepJPEG: keepJPEG),
                                name: "folder \(folder)", framesPerSecond: 10, receiver: nil)
        case .mjpeg(let url):
            // The stream ends when the camera ends it: the source closes and queued frames finish.
            let buffer = LiveJPEGSource(capacity: liveBuffer, idleTimeout: idleTimeout, keepJPEG: keepJPEG)
            let receiver = try await MJPEGReceiver.start(url: url, onFrame: { buffer.offer($0) }, onEnd: { buffer.close() })
            return OpenedStream(source: buffer, name: "MJPEG \(url)", framesPerSecond: 10, receiver: .mjpeg(receiver))
        case .udp(let host, let port):
            let buffer = LiveJPEGSource(capacity: liveBuffer, idleTimeout: idleTimeout, keepJPEG: keepJPEG)
            let receiver = try await UDPFrameReceiver.start(host: host, port: port, into: buffer)
            return OpenedStream(source: buffer, name: "udp://\(host):\(receiver.port)", framesPerSecond: 10, receiver: .udp(receiver))
        case .videoFile(let path):
            let video = try VideoFileSource(path: path)
            return OpenedStream(source: video, name: "\(path) (\(video.width)x\(video.height), \(String(format: "%.1f", video.framesPerSecond)) fps)",
                                framesPerSecond: video.framesPerSecond, receiver: nil)
        }
    }

    /// Stops the receiver, if any, and says in a line what it received.
    public func stop() async -> String? {
        switch receiver {
        case .udp(let udp):
            guard let c = await udp.stop() else { return nil }
            return "udp: \(c.datagrams) datagrams, \(c.framesDelivered) frames reassembled, \(c.framesLost) lost to missing datagrams, \(c.datagramsRejected) datagrams rejected"
        case .mjpeg(let mjpeg):
            let c = await mjpeg.stop()
            return "mjpeg: \(c.parts) frames read (\(c.bytes / 1024) KiB), \(c.malformed) malformed parts skipped"
                + (c.error.map { "; the stream broke off: \($0)" } ?? "")
        case nil:
            return nil
        }
    }
}
