import MSAICore
import MSAICoreTesting
import Testing

/// The edge pipeline's decisions as values, tested without a task (after async-http-client's
/// connection-pool state machine tests): which frames are detected, who waits for which
/// detection and when each waiter is woken, and which frames go whole under ROI-only sending.
@Suite struct PipelineStateTests {
    let detected = { (frame: Int) in AreaCarrier.Detected(frame: frame, time: .milliseconds(100 * frame), areas: [Rect(x: frame, y: 0, width: 4, height: 4)]) }

    @Test func aSettledDetectionIsReadyAndAPendingOneWakesItsWaitersOnce() {
        var ledger = DetectionLedger()
        let r1 = ledger.settle(0, with: detected(0))
        #expect(r1 == [])
        let r2 = ledger.wait(1, for: 0)
        #expect(r2 == .ready)
        let r3 = ledger.wait(2, for: 5)
        #expect(r3 == .wait)
        let r4 = ledger.wait(3, for: 5)
        #expect(r4 == .wait)
        let r5 = ledger.wait(4, for: 10)
        #expect(r5 == .wait)
        #expect(ledger.waiters == 3)
        let r6 = ledger.settle(5, with: nil)
        #expect(r6 == [2, 3])  // a failed detection wakes too
        let r7 = ledger.settle(5, with: detected(5))
        #expect(r7 == [], "a frame is settled once")
        #expect(ledger.newest(atOrBefore: 7)?.frame == 0, "the failed detection left the older one in force")
        // The deadline of a waiter already woken changes nothing; a waiting one is woken by it.
        let r8 = ledger.expire(2, for: 5)
        #expect(!r8)
        let r9 = ledger.expire(4, for: 10)
        #expect(r9)
        let r10 = ledger.settle(10, with: detected(10))
        #expect(r10 == [], "its waiter left at its deadline")
        #expect(ledger.newest(atOrBefore: 12)?.frame == 10 && ledger.waiters == 0)
    }

    /// Any interleaving of waits, settles and deadlines: each waiter is woken exactly once, by
    /// its detection if that came first and by its deadline otherwise.
    @Test func everyWaiterIsWokenExactlyOnceWhateverTheOrder() {
        var random = SplitMix64(seed: 11)
        for _ in 0..<500 {
            var ledger = DetectionLedger()
            var woken: [Int: Int] = [:]
            var waitingFor: [Int: Int] = [:]
            var settled = Set<Int>()
            var nextWaiter = 0
            for _ in 0..<60 {
                let frame = Int.random(in: 0..<6, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0:
                    nextWaiter += 1
                    if ledger.wait(nextWaiter, for: frame) == .ready {
                        #expect(settled.contains(frame))
                        woken[nextWaiter] = 1
                    } else {
                        #expect(!settled.contains(frame))
                        waitingFor[nextWaiter] = frame
                    }
                case 1:
                    for waiter in ledger.settle(frame, with: Bool.random(using: &random) ? detected(frame) : nil) {
                        #expect(waitingFor[waiter] == frame)
                        woken[waiter, default: 0] += 1
                    }
                    settled.insert(frame)
                default:
                    guard let (waiter, frame) = waitingFor.randomElement(using: &random) else { continue }
                    if ledger.expire(waiter, for: frame) { woken[waiter, default: 0] += 1 }
                    waitingFor[waiter] = nil
                }
                for (waiter, _) in waitingFor where woken[waiter] != nil { waitingFor[waiter] = nil }
            }
            // End of stream: every frame settles, every deadline passes.
            for frame in 0..<6 { for waiter in ledger.settle(frame, with: nil) { woken[waiter, default: 0] += 1 } }
            for (waiter, frame) in waitingFor where ledger.expire(waiter, for: frame) { woken[waiter, default: 0] += 1 }
            #expect(woken.count == nextWaiter && woken.values.allSatisfy { $0 == 1 }, "\(woken)")
            #expect(ledger.waiters == 0)
        }
    }

    /// On an endless stream the ledger keeps a handful of frames, and still the newest
    /// detection before the current frame, even when the detections after it all failed.
    @Test func theLedgerStaysSmallOnAnEndlessStreamAndKeepsTheFallback() {
        let schedule = DetectionSchedule(detectEvery: 5)
        var ledger = DetectionLedger()
        for sequence in 0..<100_000 {
            if schedule.isDetected(sequence) {
                _ = ledger.settle(sequence, with: sequence < 50_000 ? detected(sequence) : nil)
            }
            ledger.forget(before: schedule.forgettable(after: sequence))
            #expect(ledger.remembered <= 4)
        }
        #expect(ledger.newest(atOrBefore: 99_999)?.frame == 49_995)
    }

    @Test func theScheduleDetectsEveryNthFrameAndNamesWhatEachWaitsFor() {
        let schedule = DetectionSchedule(detectEvery: 4)
        #expect((0..<10).filter(schedule.isDetected) == [0, 4, 8])
        #expect((0..<10).map(schedule.detection(for:)) == [0, 0, 0, 0, 4, 4, 4, 4, 8, 8])
        #expect(schedule.forgettable(after: 9) == 4, "the detection before frame 9's own stays as its fallback")
        #expect(DetectionSchedule(detectEvery: 0).detectEvery == 1)
        #expect((0..<3).allSatisfy(DetectionSchedule(detectEvery: 1).isDetected))
    }

    @Test func aBackgroundIsSentFirstThenEveryNthFrameAndPatchesGoOntoIt() {
        var policy = BackgroundPolicy(every: 3)
        var plans: [BackgroundPolicy.Plan] = []
        for sequence in 0..<7 {
            let plan = policy.plan(for: sequence, maskedWhole: false)
            plans.append(plan)
            if plan == .full { policy.preparedFull("bg\(sequence)", sequence: sequence) }
        }
        #expect(plans == [.full, .patch(onto: "bg0"), .patch(onto: "bg0"), .full, .patch(onto: "bg3"), .patch(onto: "bg3"), .full])
    }

    /// A frame masked whole goes whole (and becomes the background); a failed send of the
    /// background, or of a patch onto it, makes the next frame a full one; a failure that names
    /// an older background leaves the newer one in place.
    @Test func aWholeFrameOrAFailedSendStartsANewBackground() {
        var policy = BackgroundPolicy(every: 50)
        #expect(policy.plan(for: 0, maskedWhole: false) == .full)
        policy.preparedFull("a", sequence: 0)
        #expect(policy.plan(for: 1, maskedWhole: true) == .full)
        policy.preparedFull("b", sequence: 1)
        #expect(policy.plan(for: 2, maskedWhole: false) == .patch(onto: "b"))
        policy.sendFailed(background: "a")
        #expect(policy.background == "b", "an older background's failure changes nothing")
        policy.sendFailed(background: "b")
        #expect(policy.background == nil && policy.plan(for: 3, maskedWhole: false) == .full)
    }
}
