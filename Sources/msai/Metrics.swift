import ArgumentParser
import Foundation
import MSAICore
import MSAIImageIO

struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "NPCR, UACI, MSE and PSNR of two images of one size.",
        discussion: """
            NPCR is the share of samples that differ, UACI the mean absolute difference over 255 \
            (both in percent, per channel and mean); PSNR prints as inf for identical images.

            Example:
              msai evaluate Datasets/lena.png --out runs/lena
              msai metrics Datasets/lena.png runs/lena/lena.recovered.png
            """)

    @Argument(help: "The first image (JPEG or PNG).") var first: String
    @Argument(help: "The second image, of the same size and channel count.") var second: String
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() throws {
        do {
            let a = try ImageFile.read(first), b = try ImageFile.read(second)
            guard a.width == b.width, a.height == b.height, a.channels == b.channels else {
                throw MSAIError.shapeMismatch(
                    "\(first) is \(a.sizeDescription) but \(second) is \(b.sizeDescription); metrics need images of one size")
            }
            let npcr = try Differential.npcr(a.sampleSet, b.sampleSet), uaci = try Differential.uaci(a.sampleSet, b.sampleSet)
            let mse = try ImageStatistics.mse(a.sampleSet, b.sampleSet)
            let psnr = ImageStatistics.psnr(mse: mse)
            if json {
                let object: [String: Any] = [
                    "a": first, "b": second, "width": a.width, "height": a.height, "channels": a.channels,
                    "npcr": npcr.mean * 100, "uaci": uaci.mean * 100,
                    "npcr_per_channel": npcr.perChannel.map { $0 * 100 }, "uaci_per_channel": uaci.perChannel.map { $0 * 100 },
                    "mse": mse, "psnr": psnr.isInfinite ? "inf" as Any : psnr as Any,
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("\(first) vs \(second) (\(a.sizeDescription))")
                print(row("NPCR %", npcr.mean * 100, npcr.perChannel.map { $0 * 100 }))
                print(row("UACI %", uaci.mean * 100, uaci.perChannel.map { $0 * 100 }))
                print("  MSE      \(format(mse))")
                print("  PSNR dB  \(psnr.isInfinite ? "inf" : format(psnr))")
            }
        } catch let error as MSAIError {
            throw fail(error)
        }
    }

    private func row(_ name: String, _ mean: Double, _ perChannel: [Double]) -> String {
        let channels = perChannel.count > 1 ? "   (per channel " + perChannel.map(format).joined(separator: " / ") + ")" : ""
        return "  " + name.padding(toLength: 9, withPad: " ", startingAt: 0) + format(mean) + channels
    }
}

func format(_ x: Double) -> String { String(format: "%.4f", x) }
