import MSAICore

/// The detection board shared by the detect and mask stages: a `DetectionLedger` behind an
/// actor, whose only work is to carry out what the ledger decides. A mask stage waiting for a
/// detection is resumed by that detection or by its deadline on `clock`, never by polling; tests
/// give it a clock they advance by hand.
actor DetectionBoard<C: Clock> where C.Duration == Duration {
    private var ledger = DetectionLedger()
    private var continuations: [DetectionLedger.Waiter: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter = 0
    private let clock: C

    init(clock: C) { self.clock = clock }

    /// Records the detection of frame `sequence` (nil: it failed or was never run) and wakes
    /// whoever waits for it.
    func settle(_ sequence: Int, with detection: AreaCarrier.Detected?) {
        for waiter in ledger.settle(sequence, with: detection) { continuations.removeValue(forKey: waiter)?.resume() }
    }

    /// Returns once frame `sequence`'s detection is settled, or after `limit` on the clock.
    func wait(for sequence: Int, upTo limit: Duration) async {
        nextWaiter += 1
        let waiter = nextWaiter
        guard ledger.wait(waiter, for: sequence) == .wait else { return }
        let timer = Task { [clock] in
            try? await clock.sleep(for: limit)
            self.expire(waiter, sequence)
        }
        await withCheckedContinuation { continuations[waiter] = $0 }
        timer.cancel()
    }

    private func expire(_ waiter: DetectionLedger.Waiter, _ sequence: Int) {
        if ledger.expire(waiter, for: sequence) { continuations.removeValue(forKey: waiter)?.resume() }
    }

    func newest(atOrBefore sequence: Int) -> AreaCarrier.Detected? { ledger.newest(atOrBefore: sequence) }

    func recent(atOrBefore sequence: Int, count: Int) -> [AreaCarrier.Detected] { ledger.recent(atOrBefore: sequence, count: count) }

    func forget(before sequence: Int) { ledger.forget(before: sequence) }

    /// Waiters not yet woken (for tests).
    var waiting: Int { ledger.waiters }
}
