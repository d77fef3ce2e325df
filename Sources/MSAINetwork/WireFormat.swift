import Foundation
import MSAICore

// The JSON control messages on the wire. Binary payloads (membranes, frames, images) travel as
// application/octet-stream or image/png bodies, with their metadata in msai-* headers.

/// POST /v1/membranes (edge → cloud).
struct MembraneRequestBody: Codable {
    let rows: Int
    let cols: Int
    let channels: Int
    let mode: MaskingMode
}

/// POST /v1/keys (cloud → data center).
struct MembraneKeyBody: Codable {
    let id: String
    let rows: Int
    let cols: Int
    let channels: Int
    let mode: MaskingMode
    let k: Int
    let w: String
    let seed: String
    /// The enrolled device the cloud made the membrane for.
    let device: String?

    init(_ r: MembraneKeyRecord, device: String?) {
        self.device = device
        id = r.id.rawValue
        rows = r.shape.rows
        cols = r.shape.cols
        channels = r.shape.channels
        mode = r.mode
        k = Int(r.k)
        w = Hex.encode(r.w)
        seed = Hex.encode(r.seed)
    }

    func record() throws -> MembraneKeyRecord {
        guard (1...250).contains(k), let w = Hex.decode(w), (1...8).contains(w.count), let seed = Hex.decode(seed), seed.count == 32,
            !id.isEmpty, id.count <= 64
        else { throw MSAIError.invalidArgument("membrane key has out-of-range k, w, seed or id") }
        if let device { try DeviceRegistry.checkName(device) }
        return MembraneKeyRecord(id: MembraneID(rawValue: id), shape: try MembraneShape(rows: rows, cols: cols, channels: channels),
                                 mode: mode, k: UInt8(k), w: w, seed: seed)
    }
}

/// POST /v1/taus (edge → data center).
struct TauRequestBody: Codable {
    let width: Int
    let height: Int
    let blockSize: Int
    enum CodingKeys: String, CodingKey {
        case width, height
        case blockSize = "block_size"
    }
}

/// The data center's answer: the tau's id and the seed both sides derive it from.
struct TauGrantBody: Codable {
    let tauID: String
    let seed: String
    let width: Int
    let height: Int
    let blockSize: Int
    enum CodingKeys: String, CodingKey {
        case seed, width, height
        case tauID = "tau_id"
        case blockSize = "block_size"
    }

    init(_ g: TauGrant) {
        tauID = g.id
        seed = Hex.encode(g.seed)
        width = g.layout.width
        height = g.layout.height
        blockSize = g.layout.blockSize
    }

    func grant() throws -> TauGrant {
        guard let seed = Hex.decode(seed) else { throw MSAIError.invalidArgument("tau seed is not hex") }
        return try TauGrant(id: tauID, seed: seed, layout: BlockLayout(width: width, height: height, blockSize: blockSize))
    }
}

/// Every error body: {"error": "message"}.
struct ErrorBody: Codable {
    let error: String
}

enum Wire {
    static let membraneID = "msai-membrane-id"
    static let membraneShape = "msai-membrane-shape"
    static let membraneMode = "msai-membrane-mode"
    /// Why a recoverer reads an original or deletes a frame (or the `reason` query parameter).
    static let reason = "msai-reason"
    /// On a 409: which single-use secret was named again ("tau ID", "membrane ID", "membrane-key ID").
    static let usedUp = "msai-used-up"
    /// On a page of GET /v1/frames that is full: the cursor of the next page (?after=).
    static let nextPage = "msai-next"
    /// On a 404 for a stored frame: the frame id that is not there ("frame ID").
    static let notFound = "msai-not-found"

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.dateEncodingStrategy = .iso8601
        return e
    }

    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }
}
