import Foundation
import MSAICore
import MSAIBigInt
import MSAICrypto
import Synchronization

/// The cloud platform: makes a fresh membrane per request and hands its key to the data center.
///
/// It is told only the shape of an area (rows × cols × channels) and the mode; it never sees
/// pixels, frames or tau. It keeps no key after handing it over. What it knows (λ for every
/// membrane it made) unmasks nothing in the default mode, whose pad it never sees.
public final class CloudPlatform: MembraneService, Sendable {
    private let escrow: MembraneKeyEscrow
    private let random: Mutex<AnyRandomNumberGenerator>
    private let issued = Atomic<Int>(0)
    public var membranesIssued: Int { issued.load(ordering: .relaxed) }

    /// `random` must be a cryptographically secure generator in production (the default);
    /// tests inject a seeded one so their runs repeat.
    public init(escrow: MembraneKeyEscrow, random: sending some RandomNumberGenerator = SystemRandomNumberGenerator()) {
        self.escrow = escrow
        self.random = Mutex(AnyRandomNumberGenerator(random))
    }

    /// The largest membrane the cloud makes, in bytes (a 100-megapixel RGB area in GF(251) mode
    /// is 300 MB, so this bounds what one request may cost: 64 MiB).
    public static let maximumMembraneBytes = 64 << 20

    public func requestMembrane(_ request: MembraneRequest) async throws -> MembraneGrant {
        try await issue(try makeMembrane(request, for: nil))
    }

    /// A membrane made but not yet issued: its key, and the values the edge gets.
    public struct Made: Sendable {
        let record: MembraneKeyRecord
        let values: [UInt8]
        /// The device it is made for, bound to it at the data center.
        let device: String?
    }

    /// The arithmetic half of a request, for a caller that runs heavy work on threads of its own
    /// (the HTTP service): a fresh key and its membrane, nothing handed over yet.
    public func makeMembrane(_ request: MembraneRequest, for device: String?) throws -> Made {
        let bytes = request.shape.sampleCount.multipliedReportingOverflow(by: request.mode.bytesPerSample)
        guard !bytes.overflow, bytes.partialValue <= Self.maximumMembraneBytes else {
            throw MSAIError.invalidArgument(
                "a \(request.shape) \(request.mode.rawValue) membrane would be larger than \(Self.maximumMembraneBytes >> 20) MiB; mask smaller areas")
        }
        let (record, values) = try drawMembrane(request)
        return Made(record: record, values: values, device: device)
    }

    /// The other half: the key reaches the data center before the membrane reaches the edge, so
    /// a frame masked with this membrane can always be recovered.
    public func issue(_ made: Made) async throws -> MembraneGrant {
        try await escrow.depositKey(made.record, device: made.device)
        issued.add(1, ordering: .relaxed)
        return try MembraneGrant(id: made.record.id, shape: made.record.shape, mode: made.record.mode, values: made.values)
    }

    private func drawMembrane(_ request: MembraneRequest) throws -> (MembraneKeyRecord, [UInt8]) {
        // Only the draws from the shared generator happen under the lock; the membrane itself
        // (the keystream and the field arithmetic) is computed from the key outside it.
        let record: MembraneKeyRecord = try random.withLock { random in
            let id = MembraneID.random(using: &random)
            switch request.mode {
            case .gf251, .hardened, .jpeg:
                return MembraneKeyRecord(try GF251MembraneKey.draw(id: id, shape: request.shape, using: &random), mode: request.mode)
            case .vhe:
                return IntegerVHE.drawKey(id: id, shape: request.shape, using: &random)
            }
        }
        return (record, try record.membrane())
    }
}

extension MembraneKeyRecord {
    /// The membrane this key makes: λ per sample (one byte in 1...250 for gf251, hardened and
    /// jpeg, where it is added to a coefficient rather than multiplied; 16
    /// bytes below q for vhe). The hardened mode's pad is not part of it: it comes from the data
    /// center's τ seed.
    public func membrane() throws -> [UInt8] {
        switch mode {
        case .gf251, .hardened, .jpeg: return try gf251Key().membrane(using: ChaCha20Keystream.self)
        case .vhe: return try IntegerVHE.membrane(for: self)
        }
    }
}
