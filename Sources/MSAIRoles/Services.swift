import MSAICore

// What each role offers the others. The edge sees the cloud only as a `MembraneService`
// and the data center only as a `ScrambleService` and a `FrameSink`; the cloud sees the data
// center only as a `MembraneKeyEscrow`. In-process, the role objects implement these directly;
// over a network, clients implement them. Every value crossing them is a message from
// `MSAICore/Protocol`.

/// The cloud, as the edge sees it.
public protocol MembraneService: AnyObject {
    func requestMembrane(_ request: MembraneRequest) throws -> MembraneGrant
}

/// The data center, as the cloud sees it: it takes membrane keys and nothing else.
public protocol MembraneKeyEscrow: AnyObject {
    func depositKey(_ record: MembraneKeyRecord) throws
}

/// The data center, as the edge sees it before sending: the source of per-frame taus.
public protocol ScrambleService: AnyObject {
    func issueTau(_ request: TauRequest) throws -> TauGrant
}

/// Where masked frames go. The edge's only egress for frames.
public protocol FrameSink: AnyObject {
    func submit(maskedFrame: [UInt8]) throws -> FrameReceipt
}

/// The data center's acknowledgement of a stored frame.
public struct FrameReceipt: Equatable, Sendable {
    public let frameID: String
    public let width: Int
    public let height: Int
    public let areaCount: Int
}

/// Milliseconds spent in each step of one frame.
public struct StepTimings: Sendable, Equatable {
    public var steps: [(name: String, milliseconds: Double)] = []

    public init() {}

    public mutating func record(_ name: String, _ milliseconds: Double) {
        if let i = steps.firstIndex(where: { $0.name == name }) {
            steps[i].milliseconds += milliseconds
        } else {
            steps.append((name, milliseconds))
        }
    }

    public subscript(name: String) -> Double { steps.first { $0.name == name }?.milliseconds ?? 0 }

    public static func == (a: StepTimings, b: StepTimings) -> Bool {
        a.steps.map(\.name) == b.steps.map(\.name) && a.steps.map(\.milliseconds) == b.steps.map(\.milliseconds)
    }
}

/// Runs `body` and adds its duration under `name`.
@discardableResult
func timed<T>(_ name: String, into timings: inout StepTimings, _ body: () throws -> T) rethrows -> T {
    let start = ContinuousClock.now
    let result = try body()
    let elapsed = ContinuousClock.now - start
    timings.record(name, Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
    return result
}
