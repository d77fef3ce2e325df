import ArgumentParser
import Foundation
import MSAICore
import MSAIImageIO
import MSAINetwork
import MSAIStreaming
import MSAIVision

struct Camera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream a video file or a folder of images as a camera would, as JPEG frames over UDP.",
        discussion: """
            A small sender, so a stream can be tried on one machine: each frame is JPEG-encoded (JPEG \\
            files of a folder are sent as they are) and split into datagrams with a 16-byte header \\
            (seed 001's kind of stream), paced at the video's frame rate unless --fps says otherwise. \\
            The camera sends unmasked frames to the edge, which masks them: run both on the same \\
            trusted machine or link. --loss drops a share of the datagrams on purpose.

            Examples:
              msai camera Datasets/vtest.avi --udp 127.0.0.1:5555
              msai camera Datasets/vtest.avi --udp 127.0.0.1:5555 --fps 0 --frames 100 --loss 0.01
            """)

    @Argument(help: "A video file (anything OpenCV's VideoCapture reads) or a folder of JPEG and PNG files.") var source: String
    @Option(help: ArgumentHelp("Where to send the stream.", valueName: "host:port")) var udp: String
    @Option(help: "Frames per second (default: the video's own rate, 10 for a folder; 0: as fast as possible).") var fps: Double?
    @Option(help: "JPEG quality of the frames sent.") var quality = 85
    @Option(help: "Stop after this many frames.") var frames: Int?
    @Flag(help: "Start again at the end of the source.") var loop = false
    @Option(help: "Share of datagrams dropped on purpose (0...1), to try the receiver.") var loss = 0.0
    @Option(help: "Seed of the datagram drops.") var seed: UInt64 = 1

    func run() async throws {
        let sender: UDPFrameSender
        var reader: (() throws -> [UInt8]?)!
        var rate: Double
        do {
            guard (1...100).contains(quality) else { throw MSAIError.invalidArgument("--quality must lie in 1...100, got \(quality)") }
            let (host, port) = try parseHostPort(udp, option: "--udp")
            (reader, rate) = try openSource()
            if let fps { guard fps >= 0 else { throw MSAIError.invalidArgument("--fps must be 0 or more, got \(fps)") }; rate = fps }
            sender = try await UDPFrameSender(host: host, port: port, loss: loss, seed: seed)
        } catch let error as MSAIError {
            printError(error.description)
            throw ExitCode(1)
        }
        print("streaming \(source) to udp://\(udp) at \(rate > 0 ? String(format: "%.1f", rate) + " frames/s" : "full speed")"
              + (loss > 0 ? String(format: ", dropping %.1f %% of datagrams", loss * 100) : ""))
        fflush(nil)
        let start = ContinuousClock.now
        var sent = 0, bytes = 0
        var lastReport = start
        while frames.map({ sent < $0 }) ?? true {
            guard let jpeg = try reader() else {
                if loop { (reader, _) = try openSource(); continue }
                break
            }
            if rate > 0 {
                let due = start + .seconds(Double(sent) / rate)
                if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
            }
            try await sender.send(jpeg)
            sent += 1
            bytes += jpeg.count
            if ContinuousClock.now - lastReport > .seconds(5) {
                lastReport = ContinuousClock.now
                print("\(sent) frames sent (\(String(format: "%.1f", Double(sent) / (milliseconds(lastReport - start) / 1000))) frames/s)")
                fflush(nil)
            }
        }
        await sender.close()
        let seconds = max(0.001, milliseconds(ContinuousClock.now - start) / 1000)
        print("\(sent) frames sent in \(String(format: "%.1f", seconds)) s (\(String(format: "%.1f", Double(sent) / seconds)) frames/s, "
              + "\(bytes / max(1, sent) / 1024) KiB per frame), \(sender.datagramsSent) datagrams, \(sender.datagramsDropped) dropped on purpose")
    }

    /// A function giving the next JPEG frame (nil at the end), and the source's frame rate.
    func openSource() throws -> (() throws -> [UInt8]?, Double) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
            throw MSAIError.io("\(source): no such file or folder")
        }
        if isDirectory.boolValue {
            let names = try ImageFolderSource.images(in: source)
            guard !names.isEmpty else { throw MSAIError.io("\(source): folder holds no JPEG or PNG files") }
            var index = 0
            let folder = URL(fileURLWithPath: source)
            let quality = self.quality
            return ({
                guard index < names.count else { return nil }
                defer { index += 1 }
                let path = folder.appendingPathComponent(names[index]).path
                let bytes = try ImageFile.readBytes(path)
                return ImageFile.sniff(bytes) == .jpeg ? bytes : try JPEGCodec.encode(try ImageFile.decode(bytes, name: path), quality: quality)
            }, 10)
        }
        let video = try VideoReader(path: source)
        let quality = self.quality
        return ({ try video.next().map { try JPEGCodec.encode($0, quality: quality) } }, video.framesPerSecond > 0 ? video.framesPerSecond : 25)
    }
}

/// "host:port", with the option's name in the error.
func parseHostPort(_ text: String, option: String) throws -> (String, Int) {
    let trimmed = text.hasPrefix("udp://") ? String(text.dropFirst(6)) : text
    let (named, port) = try RoleConfiguration.hostAndPort(trimmed, field: option)
    var host = named
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    guard !host.isEmpty else { throw MSAIError.invalidArgument("\(option) must name a host, got '\(text)'") }
    return (host, port)
}
