import ArgumentParser
import Foundation
import MSAICore
import MSAIImageIO
import MSAINetwork
import MSAIStreaming
import MSAIVision

struct Camera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream a video file or a folder of images as a camera would: JPEG frames over UDP or MJPEG over HTTP.",
        discussion: """
            A small sender, so a stream can be tried on one machine: each frame is JPEG-encoded (JPEG \
            files of a folder are sent as they are), paced at the video's frame rate unless --fps says \
            otherwise, and either split into datagrams with a 16-byte header (--udp, as hobby \
            ESP32 cameras stream JPEG) or served as MJPEG over HTTP (--mjpeg, what IP cameras and the \
            ESP32-CAM's web server serve; streaming starts when the first viewer connects, and slow viewers lose frames). \
            The camera sends unmasked frames to the edge, which masks them: run both on the same \
            trusted machine or link. --loss drops a share of the datagrams on purpose.

            Examples:
              msai camera Datasets/vtest.avi --udp 127.0.0.1:5555
              msai camera Datasets/vtest.avi --udp 127.0.0.1:5555 --frames 100 --loss 0.01
              msai camera Datasets/vtest.avi --mjpeg 127.0.0.1:8090

            and, in another terminal, the edge that masks the stream:
              msai edge http://127.0.0.1:8090/
            """)

    @Argument(help: "A video file (anything OpenCV's VideoCapture reads) or a folder of JPEG and PNG files.") var source: String
    @Option(help: ArgumentHelp("Send the stream as UDP datagrams to this address.", valueName: "host:port")) var udp: String?
    @Option(help: ArgumentHelp("Serve the stream as MJPEG over HTTP on this address.", valueName: "host:port")) var mjpeg: String?
    @Option(parsing: .unconditional, help: "Frames per second (default: the video's own rate, 10 for a folder; 0: as fast as possible).") var fps: Double?
    @Option(parsing: .unconditional, help: "JPEG quality of the frames sent.") var quality = 85
    @Option(parsing: .unconditional, help: "Stop after this many frames.") var frames: Int?
    @Flag(help: "Start again at the end of the source.") var loop = false
    @Option(parsing: .unconditional, help: "Share of datagrams dropped on purpose (0...1), to try the receiver.") var loss = 0.0
    @Option(parsing: .unconditional, help: "Seed of the datagram drops.") var seed: UInt64 = 1

    /// Where the frames go: datagrams, or the viewers of an MJPEG server.
    enum Outlet {
        case udp(UDPFrameSender)
        case mjpeg(MJPEGBroadcaster, RunningServer)
    }

    func run() async throws {
        let outlet: Outlet
        var reader: (() throws -> [UInt8]?)!
        var rate: Double
        do {
            guard (1...100).contains(quality) else { throw MSAIError.invalidArgument("--quality must lie in 1...100, got \(quality)") }
            guard (udp == nil) != (mjpeg == nil) else { throw MSAIError.invalidArgument("give one of --udp host:port and --mjpeg host:port") }
            (reader, rate) = try openSource()
            if let fps { guard fps >= 0 else { throw MSAIError.invalidArgument("--fps must be 0 or more, got \(fps)") }; rate = fps }
            if let udp {
                let (host, port) = try HostAndPort.parseEndpoint(udp, option: "--udp")
                outlet = .udp(try await UDPFrameSender(host: host, port: port, loss: loss, seed: seed))
            } else {
                let (host, port) = try HostAndPort.parseEndpoint(mjpeg!, option: "--mjpeg")
                let broadcaster = MJPEGBroadcaster()
                outlet = .mjpeg(broadcaster, try await RunningServer.start(MJPEGService.router(broadcaster: broadcaster), host: host, port: port,
                                                                            name: "msai-camera"))
            }
        } catch let error as MSAIError {
            throw fail(error)
        }
        let pace = rate > 0 ? String(format: "%.1f", rate) + " frames/s" : "full speed"
        switch outlet {
        case .udp:
            print("streaming \(source) to udp://\(udp!) at \(pace)" + (loss > 0 ? String(format: ", dropping %.1f %% of datagrams", loss * 100) : ""))
            fflush(nil)
        case .mjpeg(let broadcaster, let server):
            print("serving \(source) as MJPEG at \(server.url)/ at \(pace); waiting for a viewer")
            fflush(nil)
            await broadcaster.waitForViewer()
        }
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
            switch outlet {
            case .udp(let sender): try await sender.send(jpeg)
            case .mjpeg(let broadcaster, _): await broadcaster.publish(jpeg)
            }
            sent += 1
            bytes += jpeg.count
            if ContinuousClock.now - lastReport > .seconds(5) {
                lastReport = ContinuousClock.now
                print("\(sent) frames sent (\(String(format: "%.1f", Double(sent) / (milliseconds(lastReport - start) / 1000))) frames/s)")
                fflush(nil)
            }
        }
        let seconds = max(0.001, milliseconds(ContinuousClock.now - start) / 1000)
        let summary = "\(sent) frames sent in \(String(format: "%.1f", seconds)) s (\(String(format: "%.1f", Double(sent) / seconds)) frames/s, "
            + "\(bytes / max(1, sent) / 1024) KiB per frame)"
        switch outlet {
        case .udp(let sender):
            await sender.close()
            print(summary + ", \(await sender.datagramsSent) datagrams, \(await sender.datagramsDropped) dropped on purpose")
        case .mjpeg(let broadcaster, let server):
            await broadcaster.finish()
            await server.stop()
            print(summary)
        }
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
