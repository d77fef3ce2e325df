import MSAICore
import MSAIBigInt
import MSAICrypto

/// The cloud platform: makes a fresh membrane per request and hands its key to the data center.
///
/// It is told only the shape of an area (rows × cols × channels) and the mode; it never sees
/// pixels, frames or tau. It keeps no key after handing it over.
public final class CloudPlatform: MembraneService {
    private let escrow: MembraneKeyEscrow
    private var random: AnyRandomNumberGenerator
    public private(set) var membranesIssued = 0

    /// `random` must be a cryptographically secure generator in production (the default);
    /// tests inject a seeded one so their runs repeat.
    public init(escrow: MembraneKeyEscrow, random: some RandomNumberGenerator = SystemRandomNumberGenerator()) {
        self.escrow = escrow
        self.random = AnyRandomNumberGenerator(random)
    }

    public func requestMembrane(_ request: MembraneRequest) throws -> MembraneGrant {
        let id = MembraneID.random(using: &random)
        let record: MembraneKeyRecord
        let values: [UInt8]
        switch request.mode {
        case .gf251:
            let key = try GF251MembraneKey.draw(id: id, shape: request.shape, using: &random)
            record = MembraneKeyRecord(key)
            values = try key.membrane(using: ChaCha20Keystream.self)
        case .hardened:
            let key = try GF251MembraneKey.draw(id: id, shape: request.shape, using: &random)
            record = MembraneKeyRecord(key, mode: .hardened)
            values = try key.membrane(using: ChaCha20Keystream.self) + key.pad(using: ChaCha20Keystream.self)
        case .vhe:
            record = IntegerVHE.drawKey(id: id, shape: request.shape, using: &random)
            values = try IntegerVHE.membrane(for: record)
        }
        // The key reaches the data center before the membrane reaches the edge, so a frame
        // masked with this membrane can always be recovered.
        try escrow.depositKey(record)
        membranesIssued += 1
        return try MembraneGrant(id: id, shape: request.shape, mode: request.mode, values: values)
    }
}
