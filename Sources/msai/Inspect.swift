import ArgumentParser
import Foundation
import MSAICore
import MSAICrypto
import MSAIRoles

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a masked frame carries, and check its form.",
        discussion: """
            A sealed frame (NAME.sealed, or what GET /v1/frames/ID/sealed returns) shows only its \
            version, its tau id and its length: everything else is inside the seal, which only the data \
            center opens. The frame inside a seal (NAME.masked.png from msai evaluate, or a stream \
            frame's QOI container) shows its format version, size, block size, tau id and the masked \
            areas with their membrane ids and modes; its metadata is checked for form.

            Examples:
              msai inspect runs/demo/evaluate/lena.sealed
              msai inspect runs/demo/evaluate/lena.masked.png
            """)

    @Argument(help: "Sealed frames, or the frames inside them (PNG, or QOI containers).")
    var frames: [String]

    @Flag(help: "Print the metadata as JSON.")
    var json = false

    func run() throws {
        var failures = 0
        for path in frames {
            do {
                guard let data = FileManager.default.contents(atPath: path) else { throw MSAIError.io("\(path): no such file") }
                if SealedFrame.isSealed([UInt8](data)) {
                    let header = try SealedFrame.header([UInt8](data), name: path)
                    if json {
                        print(#"{"bytes":\#(data.count),"sealed":true,"tau_id":"\#(header.tauID)","version":\#(SealedFrame.version)}"#)
                    } else {
                        print("\(path): sealed msai frame v\(SealedFrame.version), tau \(header.tauID), \(data.count) bytes")
                        print("  its pixels, areas and metadata are sealed (AES-256-GCM); only the data center, and the edge that sealed it, can open them")
                    }
                    continue
                }
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
                    if let tag = manifest.tag { print("  integrity tag \(tag) (format 1)") }
                }
            } catch let error as MSAIError {
                printError(error.description)
                failures += 1
            }
        }
        if failures > 0 { throw ExitStatus.partial }
    }
}
