import MSAICore

/// The stream's figures, for the status line and the final summary.
public actor StreamCounters {
    public struct Snapshot: Sendable, Equatable {
        public var received = 0
        /// Dropped by a live source before detection, the pipeline being behind.
        public var dropped = 0
        /// Not sent because the motion gate found nothing moving.
        public var still = 0
        public var detections = 0
        public var detectionsFailed = 0
        /// Why the last detection that failed did.
        public var lastDetectionError: String?
        public var detectionMilliseconds = 0.0
        public var maskedAreas = 0
        public var maskedWhole = 0
        public var sent = 0
        /// Of those sent, patch frames (ROI-only transmission).
        public var sentPatches = 0
        public var bytesSent = 0
        public var failed = 0
        public init() {}
    }

    private var now = Snapshot()
    public init() {}

    func received(dropped: Int, final: Bool = false) {
        if !final { now.received += 1 }
        now.dropped = dropped
    }
    func skippedStill() { now.still += 1 }
    func detected(ok: Bool, milliseconds: Double) {
        if ok { now.detections += 1 } else { now.detectionsFailed += 1 }
        now.detectionMilliseconds += milliseconds
    }
    func detectionFailed(because error: Error) { now.lastDetectionError = (error as? MSAIError)?.description ?? "\(error)" }
    func masked(whole: Bool) { if whole { now.maskedWhole += 1 } else { now.maskedAreas += 1 } }
    func sent(patch: Bool, bytes: Int) {
        now.sent += 1
        now.bytesSent += bytes
        if patch { now.sentPatches += 1 }
    }
    func failed() { now.failed += 1 }

    public func snapshot() -> Snapshot { now }
}

extension StreamCounters.Snapshot {
    /// The edge's status line: rates in and out, then what happened to the frames so far.
    public func statusLine(inRate: Double, outRate: Double) -> String {
        String(format: "in %.1f fps, out %.1f fps | ", inRate, outRate)
            + "received \(received), masked \(maskedAreas + maskedWhole) (whole \(maskedWhole)), dropped \(dropped)"
            + (still > 0 ? ", still \(still)" : "") + ", sent \(sent)" + (sentPatches > 0 ? " (\(sentPatches) areas only)" : "")
            + (failed > 0 ? ", FAILED \(failed)" : "")
    }
}
