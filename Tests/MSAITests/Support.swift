import Foundation
import MSAICore
import MSAIEvaluation
import MSAIRoles

/// The repository root, from this file's path (Tests/MSAITests/Support.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func dataset(_ name: String) -> String { repositoryRoot.appendingPathComponent("Datasets/\(name)").path }
let modelsFolder = repositoryRoot.appendingPathComponent("Models")

/// Three roles wired in-process with seeded generators, so every run of a test is identical.
/// (Production uses the system's secure generator.)
struct Roles {
    let dataCenter: DataCenter
    let cloud: CloudPlatform
    let edge: EdgeCamera

    init(seed: UInt64, mode: MaskingMode = .gf251, blockSize: Int = 8, format: MaskedFrameCodec.Format = .png) {
        dataCenter = DataCenter(random: SplitMix64(seed: seed ^ 0xDA7A))
        cloud = CloudPlatform(escrow: dataCenter, random: SplitMix64(seed: seed))
        edge = EdgeCamera(membranes: cloud, scrambling: dataCenter, egress: dataCenter, mode: mode, blockSize: blockSize,
                          frameFormat: format)
    }

    /// Edge → data center and back: what the data center recovers from the frame it received.
    /// `blockSize` uses another edge of the same deployment, scrambling with that block size.
    func roundTrip(_ image: PixelBuffer, areas: [Rect], blockSize: Int? = nil) async throws -> (sent: EdgeCamera.MaskedFrame, recovered: PixelBuffer) {
        let edge = blockSize.map { EdgeCamera(membranes: cloud, scrambling: dataCenter, egress: dataCenter, mode: self.edge.mode, blockSize: $0) } ?? self.edge
        let frame = try await edge.prepare(image, areas: areas)
        let receipt = try await edge.send(frame)
        return (frame, try dataCenter.storedFrame(receipt.frameID)!.recovered)
    }
}

/// A random image; `values` chooses the samples (default uniform 0...255).
func randomImage(width: Int, height: Int, channels: Int, using random: inout SplitMix64) -> PixelBuffer {
    let samples = (0..<(width * height * channels)).map { _ in UInt8.random(in: 0...255, using: &random) }
    return try! PixelBuffer(width: width, height: height, channels: channels, samples: samples)
}

/// A random rectangle inside a width × height image, biased to touch the edges often.
func randomRect(width: Int, height: Int, using random: inout SplitMix64) -> Rect {
    func span(_ side: Int) -> (Int, Int) {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return (0, Int.random(in: 1...side, using: &random))  // touches the start
        case 1: let l = Int.random(in: 1...side, using: &random); return (side - l, l)  // touches the end
        case 2: return (0, side)  // the whole side
        default:
            let start = Int.random(in: 0..<side, using: &random)
            return (start, Int.random(in: 1...(side - start), using: &random))
        }
    }
    let (x, w) = span(width), (y, h) = span(height)
    return Rect(x: x, y: y, width: w, height: h)
}

struct Vectors: Decodable {
    let seed_a: String
    let seed_b: String
    let keystream_tau_seed_a_first64: String
    let keystream_memb_seed_a_first64: String
    let keystream_memb_seed_a_across_chunk: String
    let tau_seed_a_100: [Int]
    let tau_seed_b_4800_first20: [Int]
    let edge_seed_a_37: [Int]
    let membrane_seed_b_k7_w200_noise300: [UInt8]
    let membrane_seed_b_k7_w200_lambda300: [UInt8]
    let gf251_inverse: [UInt8]

    static let shared: Vectors = {
        let url = Bundle.module.url(forResource: "vectors", withExtension: "json", subdirectory: "Vectors")!
        return try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }()
}
