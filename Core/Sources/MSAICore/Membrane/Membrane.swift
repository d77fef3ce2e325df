/// Which membrane construction masks an area.
public enum MaskingMode: String, Codable, Sendable, CaseIterable {
    /// The mode used when none is named: `hardened`.
    public static let standard = MaskingMode.hardened

    /// Bytes the cloud's membrane carries per sample in this mode.
    public var bytesPerSample: Int {
        switch self {
        case .gf251, .hardened, .jpeg: return 1
        case .vhe: return 16
        }
    }

    /// The paper's literal map, kept to reproduce its tables: o' = o · λ mod 251 with λ from the
    /// cloud. It leaks: samples that are 0 or 251...255 stay as they are, and λ alone undoes it,
    /// so the cloud (which made λ) unmasks any area whose masked pixels it gets to see.
    case gf251
    /// The default. o' = λ-map((o + δ) mod 256): λ from the cloud, the pad δ from the data
    /// center's τ seed (`FrameKeys.pad`, one stream per area). (o + δ) mod 256 is uniform whatever
    /// o is, so no value stays in place, and neither λ alone (the cloud) nor δ alone unmasks
    /// anything. Still a bijection of 0...255 per sample, so recovery stays bit-exact.
    case hardened
    /// For study only: the paper's integer VHE form through big integers (see `MSAIBigInt`).
    /// Its security rests on k, which has only 250 values: one frame's ciphertexts reveal k by
    /// trial, and with it every sample. Its ciphertexts travel only inside the frame's seal.
    case vhe
    /// For JPEG frames, in the DCT domain (issue 17): each quantised coefficient of an area's
    /// MCUs is shifted by the pad (from the τ seed) plus the cloud's membrane value, modulo the
    /// values its position can take (`CoefficientMask`), and τ moves whole MCUs. The frame stays
    /// a JPEG of about the camera's size; neither the membrane nor the pad alone unmasks it.
    /// What it does not hide: which MCUs are masked, and the frame's quantisation tables.
    case jpeg

    /// Whether the data center's τ seed also keys a pad in this mode.
    public var usesPad: Bool { self == .hardened || self == .jpeg }
}

/// The size of a membrane: one multiplier per sample of a rows × cols area with `channels` channels.
public struct MembraneShape: Codable, Hashable, Sendable, CustomStringConvertible {
    public let rows: Int
    public let cols: Int
    public let channels: Int

    public init(rows: Int, cols: Int, channels: Int) throws {
        guard rows > 0, cols > 0 else {
            throw MSAIError.invalidArgument("membrane shape \(rows)x\(cols) has a zero or negative side")
        }
        guard channels == 1 || channels == 3 else {
            throw MSAIError.invalidArgument("membrane shape has \(channels) channels; only 1 and 3 are supported")
        }
        guard rows <= Self.maximumSide, cols <= Self.maximumSide else {
            throw MSAIError.invalidArgument("membrane shape \(rows)x\(cols) is larger than 32768 on a side")
        }
        self.rows = rows
        self.cols = cols
        self.channels = channels
    }

    /// The shape that covers `rect` in an image with `channels` channels.
    public init(covering rect: Rect, channels: Int) throws {
        try self.init(rows: rect.height, cols: rect.width, channels: channels)
    }

    /// The longest side a membrane may have.
    public static let maximumSide = 1 << 15

    public var sampleCount: Int { rows * cols * channels }
    public var description: String { "\(rows)x\(cols)x\(channels)" }

    /// Throws when `rect` in a `channels`-channel image is not exactly this shape.
    public func check(covers rect: Rect, channels imageChannels: Int) throws {
        guard rows == rect.height, cols == rect.width, channels == imageChannels else {
            throw MSAIError.shapeMismatch(
                "area \(rect) needs a \(rect.height)x\(rect.width)x\(imageChannels) membrane but got \(description)")
        }
    }

    // Decoding goes through the validating initialiser, so a hostile message cannot
    // smuggle in a zero or huge shape.
    private enum CodingKeys: String, CodingKey { case rows, cols, channels }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            rows: try c.decode(Int.self, forKey: .rows), cols: try c.decode(Int.self, forKey: .cols),
            channels: try c.decode(Int.self, forKey: .channels))
    }
}

/// A membrane's identifier: 128 random bits, as 32 lowercase hex digits.
public struct MembraneID: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static func random(using random: inout some RandomNumberGenerator) -> MembraneID {
        MembraneID(rawValue: Hex.encode(randomBytes(16, using: &random)))
    }
}

/// `count` bytes from a random number generator (the system's secure one in production).
public func randomBytes(_ count: Int, using random: inout some RandomNumberGenerator) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(count + 8)
    while out.count < count {
        withUnsafeBytes(of: random.next()) { out.append(contentsOf: $0) }
    }
    return Array(out.prefix(count))
}

/// Lowercase hexadecimal, for ids, seeds and tags in JSON.
public enum Hex {
    public static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}

/// A random number generator of any type behind one concrete type, so a role can hold the
/// system's secure generator in production and a seeded one in tests.
public struct AnyRandomNumberGenerator: RandomNumberGenerator {
    private var base: any RandomNumberGenerator
    public init(_ base: some RandomNumberGenerator) { self.base = base }
    public mutating func next() -> UInt64 { base.next() }
}
