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

/// The carrier's hold: what vanished from the newest detection stays masked for a while.
@Suite struct AreaHoldTests {
    @Test func anAreaGoneFromTheNewestDetectionIsKeptGrownForItsOwnAge() {
        let carrier = AreaCarrier(settings: .init(margin: 0, growth: 0.1, minimumGrowth: 1, maximumAge: .seconds(1), hold: 1))
        let person = Rect(x: 100, y: 100, width: 20, height: 40), walker = Rect(x: 300, y: 100, width: 20, height: 40)
        let older = AreaCarrier.Detected(frame: 0, time: .zero, areas: [person, walker])
        // The walker moved and was found again (overlapping); the person was not found at all.
        let newest = AreaCarrier.Detected(frame: 5, time: .milliseconds(500), areas: [Rect(x: 310, y: 100, width: 20, height: 40)])
        let decision = carrier.decide(frame: 6, time: .milliseconds(600), width: 640, height: 480, detection: newest, earlier: [older])
        // Newest grown 1 frame (4 px: 10 % of 40); the person grown 6 frames (24 px); the walker's old box not kept.
        #expect(decision == .areas([Rect(x: 306, y: 96, width: 28, height: 48), Rect(x: 76, y: 76, width: 68, height: 88)], detectedAt: 5, age: 1))
        // Without hold only the newest counts.
        let none = AreaCarrier(settings: .init(margin: 0, growth: 0.1, minimumGrowth: 1, maximumAge: .seconds(1), hold: 0))
        #expect(none.decide(frame: 6, time: .milliseconds(600), width: 640, height: 480, detection: newest, earlier: [older])
            == .areas([Rect(x: 306, y: 96, width: 28, height: 48)], detectedAt: 5, age: 1))
        // A held area is kept past the age bound (it only adds masking), still growing.
        #expect(carrier.decide(frame: 16, time: .milliseconds(1200), width: 640, height: 480, detection: newest, earlier: [older])
            == .areas([Rect(x: 266, y: 56, width: 108, height: 128), Rect(x: 36, y: 36, width: 148, height: 168)], detectedAt: 5, age: 11))
        // The age bound still holds for the newest detection: too old, the frame goes whole.
        #expect(carrier.decide(frame: 20, time: .milliseconds(1600), width: 640, height: 480, detection: newest, earlier: [older]).isWholeFrame)
    }

    /// Touching is not being the same object: a missed person beside one who was found, or
    /// whose box just overlaps another's, is still held.
    @Test func aMissedPersonBesideAFoundOneIsStillHeld() {
        let carrier = AreaCarrier(settings: .init(margin: 0, growth: 0.1, minimumGrowth: 1, maximumAge: .seconds(1), hold: 1))
        let neighbour = Rect(x: 325, y: 100, width: 20, height: 40)  // overlaps the found one by 5 px: IoU 0.14
        let older = AreaCarrier.Detected(frame: 0, time: .zero, areas: [Rect(x: 300, y: 100, width: 20, height: 40), neighbour])
        let newest = AreaCarrier.Detected(frame: 5, time: .milliseconds(500), areas: [Rect(x: 310, y: 100, width: 20, height: 40)])
        guard case .areas(let areas, _, _) = carrier.decide(frame: 6, time: .milliseconds(600), width: 640, height: 480,
                                                            detection: newest, earlier: [older]) else {
            Issue.record("masked whole")
            return
        }
        // The neighbour grown for 6 frames (24 px), merged with the found one grown for 1.
        #expect(areas == [Rect(x: 301, y: 76, width: 68, height: 88)])
        #expect(MaskCoverage.pixelsCovered(of: neighbour, by: areas) == neighbour.area)
    }

    @Test func theLedgerKeepsTheDetectionsTheHoldNeeds() {
        let schedule = DetectionSchedule(detectEvery: 5)
        var ledger = DetectionLedger()
        let detected = { (frame: Int) in AreaCarrier.Detected(frame: frame, time: .milliseconds(100 * frame), areas: []) }
        for sequence in 0..<1000 {
            if schedule.isDetected(sequence) { _ = ledger.settle(sequence, with: detected(sequence)) }
            #expect(ledger.recent(atOrBefore: sequence, count: 3).map(\.frame) == Array(stride(from: sequence - sequence % 5, through: max(0, sequence - sequence % 5 - 10), by: -5)))
            ledger.forget(before: schedule.forgettable(after: sequence, hold: 2))
            #expect(ledger.remembered <= 8)
        }
        #expect(schedule.forgettable(after: 9, hold: 2) == -10, "frame 5's detection, and the two before it")
    }
}
