import ArgumentParser
import Foundation
import MSAICore
import MSAIVision

@main
struct MSAI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "msai",
        abstract: "Mask the sensitive areas of camera images so only an authorised data center can recover them.",
        discussion: """
            MSAI (Masking Sensitive Area of Image on IoT Cameras): the edge finds faces, people and \
            vehicles, masks each area's pixels with a membrane over GF(251) from the cloud and a pad \
            from the data center, block-scrambles the whole frame with a per-frame permutation tau \
            from the data center, and seals it (AES-256-GCM) under a key derived from tau's seed. \
            The cloud never sees a pixel and its membranes alone unmask nothing; the data center keeps \
            frames sealed, its keys wrapped under a master key, and recovers an original, bit for bit, \
            only for a recoverer, audited. What each party learns: docs/THREAT-MODEL.md.

            Examples:
              msai evaluate Datasets/lena.png --out runs/lena
              msai evaluate Datasets/zidane.jpg --classes face --json
              msai evaluate Datasets/bus.jpg --region 10,20,100,80 --mode vhe
              msai detect Datasets/zidane.jpg --out runs/detections
              msai metrics Datasets/lena.png runs/lena/lena.recovered.png

            The roles as services (the second line in another terminal; it runs until Ctrl-C):
              msai init
              msai up
              msai edge Datasets --verify
              msai frames list

            Exit status: 0 done; 1 done in part (each failure is named); 64 a bad option \
            or configuration value; 65 input that does not check out; 66 no such frame; \
            69 a role cannot be reached; 74 reading or writing failed; 76 another role \
            refused the request; 77 it refused our token; 78 a model is missing or broken.
            """,
        version: msaiVersion,
        subcommands: [Evaluate.self, Batch.self, Report.self, Detect.self, Inspect.self, Metrics.self, EvalDetect.self, Init.self, Up.self, Cloud.self, DataCenterCommand.self, Edge.self, Frames.self, Device.self, AuditLog.self, Camera.self]
    )
}

/// The release: 2 since frames are sealed and keys wrapped (an msai 1 database is migrated).
let msaiVersion = "2.0.0"

func printError(_ message: String) {
    FileHandle.standardError.write(Data("msai: error: \(message)\n".utf8))
}

/// Why one file failed, without the file's name again when the library already put it first.
func failureReason(_ error: Error, file: String) -> String {
    let reason = (error as? MSAIError)?.description ?? "\(error)"
    return reason.hasPrefix(file + ": ") ? String(reason.dropFirst(file.count + 2)) : reason
}

/// "1 area", "3 areas".
func counted(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
    "\(n) \(n == 1 ? singular : plural ?? singular + "s")"
}

extension AreaDecision {
    /// What was masked, in a few words, for a line of output.
    func summary(areaCount: Int) -> String {
        switch outcome {
        case .areas: return counted(areaCount, "area") + " masked"
        case .nothing: return "nothing sensitive found: scrambled only"
        case .wholeFrame: return "masked whole: \(reason)"
        }
    }
}
