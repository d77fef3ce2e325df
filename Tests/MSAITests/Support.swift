import Foundation
import MSAICore
import MSAICoreTesting
import MSAICrypto
import Testing
import MSAIEvaluation
import MSAIRoles

/// The repository root, from this file's path (Tests/MSAITests/Support.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func dataset(_ name: String) -> String { repositoryRoot.appendingPathComponent("Datasets/\(name)").path }
let modelsFolder = repositoryRoot.appendingPathComponent("Models")

/// A master key for the tests' SQLite stores (a fresh one per test run).
let testMasterKey = try! MasterKey(hex: MasterKey.generateHex(), source: "test")

/// Three roles wired in-process with seeded generators, so every run of a test is identical.
/// (Production uses the system's secure generator.)
struct Roles {
    let dataCenter: DataCenter
    let cloud: CloudPlatform
    let edge: EdgeCamera

    init(seed: UInt64, mode: MaskingMode = .standard, blockSize: Int = 8, format: MaskedFrameCodec.Format = .png,
         tauLifetime: Duration = .seconds(600)) {
        dataCenter = DataCenter(random: SplitMix64(seed: seed ^ 0xDA7A), tauLifetime: tauLifetime,
                                purgeEvery: tauLifetime == .zero ? .zero : .seconds(10))
        cloud = CloudPlatform(escrow: dataCenter, random: SplitMix64(seed: seed))
        edge = EdgeCamera(membranes: cloud, scrambling: dataCenter, egress: dataCenter, mode: mode, blockSize: blockSize,
                          frameFormat: format)
    }

    /// Seals `inner` as the edge holding `frame`'s τ could: for tests of what the data center
    /// checks inside a seal (an enrolled edge can seal anything under its own τ).
    func reseal(_ inner: [UInt8], like frame: EdgeCamera.MaskedFrame) throws -> [UInt8] {
        let seed = try #require(try dataCenter.store.tau(frame.manifest.tauID)?.seed)
        return try SealedFrame.seal(inner, tauID: frame.manifest.tauID, key: try FrameKeys(tauSeed: seed).sealing)
    }

    /// Masks `areas` of `image` as the edge would for a frame (fresh membranes, a fresh pad), without scrambling or sending.
    func maskOnly(_ image: PixelBuffer, areas: [Rect]) async throws -> PixelBuffer {
        var timings = StepTimings()
        let keys = try await edge.frameKeysForMaskingOnly(width: image.width, height: image.height)
        return try await edge.maskAreas(of: image, areas: areas, keys: keys, timings: &timings).masked
    }

    /// Edge → data center and back: what the data center recovers from the frame it received.
    /// `blockSize` uses another edge of the same deployment, scrambling with that block size.
    func roundTrip(_ image: PixelBuffer, areas: [Rect], blockSize: Int? = nil) async throws -> (sent: EdgeCamera.MaskedFrame, recovered: PixelBuffer) {
        let edge = blockSize.map { EdgeCamera(membranes: cloud, scrambling: dataCenter, egress: dataCenter, mode: self.edge.mode, blockSize: $0) } ?? self.edge
        let frame = try await edge.prepare(image, areas: areas)
        let receipt = try await edge.send(frame)
        return (frame, try dataCenter.recoverOriginal(receipt.frameID, actor: "test", reason: "round trip").pixels)
    }
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
    let frame_keys_seed_a_scrambling: String
    let frame_keys_seed_a_sealing: String
    let frame_keys_seed_a_pad_seed_area0: String
    let frame_keys_seed_a_pad_seed_area3: String
    let frame_keys_seed_a_pad_area3_first32: String
    let tau_seed_a_scrambling_100: [Int]
    let sealed_seed_a_hello: String

    static let shared: Vectors = {
        let url = Bundle.module.url(forResource: "vectors", withExtension: "json", subdirectory: "Vectors")!
        return try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }()
}

extension DataCenter {
    /// What a recoverer gets for a stored frame (audited with a test's reason).
    func original(_ id: String) throws -> PixelBuffer { try recoverOriginal(id, actor: "test", reason: "test").pixels }
}

/// Runs `body`, then `stop` (a server's teardown) whether `body` returned or threw, and waits for
/// it: no test leaves a server running behind it.
func stopping<T>(_ stop: () async -> Void, _ body: () async throws -> T) async throws -> T {
    do {
        let result = try await body()
        await stop()
        return result
    } catch {
        await stop()
        throw error
    }
}

extension MaskingMode {
    /// The modes that mask pixels (all but `jpeg`, which masks a JPEG's coefficients).
    static let pixelModes = allCases.filter { $0 != .jpeg }
}
