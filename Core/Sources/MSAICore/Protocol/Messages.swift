// The messages the three roles exchange (SCHEME.md, "Roles and what each may know").
// Roles talk only through these values, in-process today and over HTTP later.
//
//   edge  -> cloud        MembraneRequest          (only the area's size and the mode)
//   cloud -> edge         MembraneGrant            (id and the membrane; never the key)
//   cloud -> data center  MembraneKeyRecord        (id and the key; never pixels)
//   edge  -> data center  TauRequest               (frame size and block size)
//   data center -> edge   TauGrant                 (tau id and the per-frame seed)
//   edge  -> data center  sealed frame             (a PNG or QOI frame with its FrameManifest,
//                                                   sealed under a key derived from the tau seed)

/// Edge → cloud: "I need a membrane of this shape". Carries no pixels.
public struct MembraneRequest: Codable, Equatable, Sendable {
    public let shape: MembraneShape
    public let mode: MaskingMode

    public init(shape: MembraneShape, mode: MaskingMode) {
        self.shape = shape
        self.mode = mode
    }
}

/// Cloud → edge: the membrane, one value per sample, and its id.
/// For `.gf251` and `.hardened` each value is one byte in 1...250 (the hardened mode's pad comes
/// from the data center, not from the cloud); for `.vhe` each is a 16-byte little-endian integer
/// below the public modulus q.
public struct MembraneGrant: Equatable, Sendable {
    public let id: MembraneID
    public let shape: MembraneShape
    public let mode: MaskingMode
    public let values: [UInt8]

    public init(id: MembraneID, shape: MembraneShape, mode: MaskingMode, values: [UInt8]) throws {
        let expected = shape.sampleCount * mode.bytesPerSample
        guard values.count == expected else {
            throw MSAIError.shapeMismatch(
                "membrane \(id) of shape \(shape) (\(mode.rawValue)) should have \(expected) bytes but has \(values.count)")
        }
        if mode != .vhe, let bad = values.prefix(shape.sampleCount).firstIndex(where: { $0 == 0 || $0 > 250 }) {
            // λ = 0 would leave the sample as it is: a membrane like that must never be applied.
            throw MSAIError.invalidArgument(
                "membrane \(id) has multiplier \(values[bad]) at sample \(bad); every multiplier must lie in 1...250")
        }
        self.id = id
        self.shape = shape
        self.mode = mode
        self.values = values
    }
}

/// Cloud → data center: everything needed to undo one membrane.
/// `w` is big-endian (one byte in `.gf251` mode, up to 8 in `.vhe` mode).
public struct MembraneKeyRecord: Codable, Equatable, Sendable {
    public let id: MembraneID
    public let shape: MembraneShape
    public let mode: MaskingMode
    public let k: UInt8
    public let w: [UInt8]
    public let seed: [UInt8]

    public init(id: MembraneID, shape: MembraneShape, mode: MaskingMode, k: UInt8, w: [UInt8], seed: [UInt8]) {
        self.id = id
        self.shape = shape
        self.mode = mode
        self.k = k
        self.w = w
        self.seed = seed
    }

    public init(_ key: GF251MembraneKey, mode: MaskingMode = .gf251) {
        self.init(id: key.id, shape: key.shape, mode: mode, k: key.k, w: [key.w], seed: key.seed)
    }

    /// The GF(251) key this record holds; throws for records of another mode or bad values.
    public func gf251Key() throws -> GF251MembraneKey {
        guard mode == .gf251 || mode == .hardened || mode == .jpeg, w.count == 1 else {
            throw MSAIError.invalidArgument("membrane key \(id) is a \(mode.rawValue) key, not a GF(251) key")
        }
        return try GF251MembraneKey(id: id, shape: shape, k: k, w: w[0], seed: seed)
    }
}

/// Edge → data center: "I am about to send a frame of this size; give me a tau".
public struct TauRequest: Codable, Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let blockSize: Int

    public init(width: Int, height: Int, blockSize: Int) {
        self.width = width
        self.height = height
        self.blockSize = blockSize
    }
}

/// Data center → edge: a single-use tau for one frame, as the seed both sides derive it from.
public struct TauGrant: Equatable, Sendable {
    public let id: String
    public let seed: [UInt8]
    public let layout: BlockLayout

    public init(id: String, seed: [UInt8], layout: BlockLayout) throws {
        guard seed.count == 32 else {
            throw MSAIError.invalidArgument("tau \(id): the seed must be 32 bytes, got \(seed.count)")
        }
        self.id = id
        self.seed = seed
        self.layout = layout
    }
}
