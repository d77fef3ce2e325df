import MSAICore

// What each role offers the others. The edge sees the cloud only as a `MembraneService`
// and the data center only as a `ScrambleService` and a `FrameSink`; the cloud sees the data
// center only as a `MembraneKeyEscrow`. In-process, the role objects implement these directly;
// over a network, clients implement them. Every value crossing them is a message from
// `MSAICore/Protocol`.

/// The cloud, as the edge sees it.
public protocol MembraneService: AnyObject, Sendable {
    func requestMembrane(_ request: MembraneRequest) async throws -> MembraneGrant
}

/// The data center, as the cloud sees it: it takes membrane keys and nothing else. `device` is
/// the enrolled camera the membrane was made for (nil in one process): the data center accepts
/// the membrane only in a frame of that device.
public protocol MembraneKeyEscrow: AnyObject, Sendable {
    func depositKey(_ record: MembraneKeyRecord, device: String?) async throws
}

/// The data center, as the edge sees it before sending: the source of per-frame taus.
public protocol ScrambleService: AnyObject, Sendable {
    func issueTau(_ request: TauRequest) async throws -> TauGrant
}

/// Where masked frames go. The edge's only egress for frames.
public protocol FrameSink: AnyObject, Sendable {
    /// Sends a sealed frame. `expected` is the receipt the edge expects (it knows the frame): a
    /// client whose first attempt was stored but whose acknowledgement was lost returns it.
    func submit(maskedFrame: [UInt8], expected: FrameReceipt) async throws -> FrameReceipt
}

/// The data center's acknowledgement of a stored frame.
public struct FrameReceipt: Codable, Equatable, Sendable {
    public let frameID: String
    public let width: Int
    public let height: Int
    public let areaCount: Int

    public init(frameID: String, width: Int, height: Int, areaCount: Int) {
        self.frameID = frameID
        self.width = width
        self.height = height
        self.areaCount = areaCount
    }

    enum CodingKeys: String, CodingKey {
        case width, height
        case frameID = "frame_id"
        case areaCount = "area_count"
    }
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
    timings.record(name, milliseconds(elapsed))
    return result
}

/// The same for async work.
@discardableResult
func timedAsync<T>(_ name: String, into timings: inout StepTimings, _ body: () async throws -> T) async rethrows -> T {
    let start = ContinuousClock.now
    let result = try await body()
    let elapsed = ContinuousClock.now - start
    timings.record(name, milliseconds(elapsed))
    return result
}
