import Foundation

/// The independent Python implementation's answers that concern the core alone. They live with
/// the other vectors (Tests/MSAITests/Vectors, made by make_vectors.py), read here by path.
struct CoreVectors: Decodable {
    let gf251_inverse: [UInt8]

    static func load() throws -> CoreVectors {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()  // Core/Tests/MSAICoreTests
            .appendingPathComponent("../../../Tests/MSAITests/Vectors/vectors.json").standardized
        return try JSONDecoder().decode(CoreVectors.self, from: Data(contentsOf: url))
    }
}
