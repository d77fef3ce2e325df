import ArgumentParser
import Foundation
import MSAICore
import MSAIRoles

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the metadata a masked frame carries, and check its form.",
        discussion: """
            Reads NAME.masked.png (or a stream frame in its QOI container) and prints its format version, size, block size, tau id and the masked \\
            areas with their membrane ids and modes. It checks that the metadata is present and well-formed; \\
            the integrity tag can only be verified by the data center, which holds the frame's tau seed.

            Example:
              msai inspect runs/demo/lena.masked.png
            """)

    @Argument(help: "Masked frames (PNG, or QOI containers) written by the edge.")
    var frames: [String]

    @Flag(help: "Print the metadata as JSON.")
    var json = false

    func run() throws {
        var failures = 0
        for path in frames {
            do {
                guard let data = FileManager.default.contents(atPath: path) else { throw MSAIError.io("\(path): no such file") }
                let contents = try MaskedFrameCodec.decode([UInt8](data), name: path)
                let manifest = try FrameManifest.decode(contents.manifestJSON, imageWidth: contents.pixels.width,
                                                        imageHeight: contents.pixels.height, imageChannels: contents.pixels.channels)
                if json {
                    print(String(decoding: manifest.encoded(), as: UTF8.self))
                } else {
                    print("\(path): msai masked frame v\(manifest.version) (\(contents.format.rawValue)), \(manifest.width)x\(manifest.height)x\(manifest.channels), blocks of \(manifest.blockSize), tau \(manifest.tauID)")
                    if let composition = manifest.composition {
                        print("  patch frame (ROI only): \(composition.pieces.count) piece(s) for background \(composition.base), \(composition.width)x\(composition.height)")
                        for (i, piece) in composition.pieces.enumerated() {
                            print("  piece \(i + 1): mosaic \(piece.mosaicRect) -> frame \(piece.frameRect)")
                        }
                    }
                    for (i, a) in manifest.areas.enumerated() {
                        print("  area \(i + 1): \(a.rect) (x,y,w,h)  mode \(a.mode.rawValue)  membrane \(a.membraneID)")
                    }
                    if manifest.areas.isEmpty { print("  no masked areas (scrambled only)") }
                    if !contents.ciphertexts.isEmpty { print("  \(contents.ciphertexts.count) bytes of VHE ciphertexts") }
                    print("  integrity tag \(manifest.tag ?? "-") (verifiable by the data center only)")
                }
            } catch let error as MSAIError {
                printError(error.description)
                failures += 1
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
