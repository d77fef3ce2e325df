import Foundation
import MSAICore
import MSAICoreTesting
import MSAICrypto
import MSAIImageIO
import MSAIRoles
@testable import MSAIStreaming
import MSAIVision
import Testing

/// Video and live streams: the frame pipeline, its fail-closed rules, the motion trigger, and
/// the UDP stream over loopback.
@Suite struct StreamTests {
    /// The first `count` frames of vtest.avi, decoded.
    static func vtestFrames(_ count: Int) throws -> [PixelBuffer] {
        let reader = try VideoReader(path: dataset("vtest.avi"))
        var frames: [PixelBuffer] = []
        while frames.count < count, let frame = try reader.next() { frames.append(frame) }
        #expect(frames.count == count)
        return frames
    }

    /// A source that repeats frames given in memory, at `fps` stream time.
    final class MemorySource: FrameSource, @unchecked Sendable {
        let frames: [PixelBuffer]
        let fps: Double
        private var index = 0
        func next() async throws -> StreamFrame? {
            guard index < frames.count else { return nil }
            defer { index += 1 }
            return StreamFrame(index: index, time: .seconds(Double(index) / fps), pixels: frames[index])
        }
        var dropped: Int { 0 }
        func close() { index = frames.count }
        let isLive: Bool
        init(_ frames: [PixelBuffer], fps: Double = 10, live: Bool) {
            self.frames = frames
            self.fps = fps
            self.isLive = live
        }
    }

    /// Every outcome, collected in order.
    actor Outcomes {
        var all: [FramePipeline.Outcome] = []
        func add(_ o: FramePipeline.Outcome) { all.append(o) }
    }

    /// vtest.avi through the whole pipeline with the default policy's detectors on every 5th
    /// frame: every frame is sent (as QOI, as streams are), and every one the data center
    /// recovers is identical to the frame decoded from the file.
    @Test func vtestThroughThePipelineRecoversEveryFrameBitExactly() async throws {
        let roles = Roles(seed: 61, format: .qoi)
        let selector = try AreaSelector.load(policy: PrivacyPolicy()) { try ModelStore.locate(explicit: modelsFolder.path) }
        // A file waits for its detections; the long wait keeps a loaded test machine from turning a
        // slow detection into frames masked whole.
        let pipeline = try FramePipeline(edge: roles.edge, settings: .init(detectEvery: 5, detectionWait: .seconds(60)),
                                     detect: FramePipeline.detecting(with: selector))
        let outcomes = Outcomes()
        let count = 40
        let counts = try await pipeline.run(try VideoFileSource(path: dataset("vtest.avi")), limit: count) { await outcomes.add($0) }
        #expect(counts.received == count && counts.sent == count && counts.failed == 0 && counts.dropped == 0)
        #expect(counts.detections == count / 5)
        let originals = try Self.vtestFrames(count)
        let all = await outcomes.all
        #expect(all.map(\.frame.index) == Array(0..<count))
        for outcome in all {
            let receipt = try #require(outcome.receipt)
            #expect(try roles.dataCenter.original(receipt.frameID) == originals[outcome.frame.index], "frame \(outcome.frame.index)")
            let stored = try #require(try roles.dataCenter.store.frame(receipt.frameID))
            #expect(SealedFrame.isSealed(stored.sealed))
            // Read fast from a file, no detection is stale: people are masked, not the whole frame.
            guard case .areas(let areas, let detectedAt, let age) = outcome.decision else {
                Issue.record("frame \(outcome.frame.index) masked whole: \(outcome.decision)")
                continue
            }
            #expect(detectedAt == outcome.sequence - outcome.sequence % 5 && age == outcome.sequence % 5)
            #expect(!areas.isEmpty, "vtest always has walkers in view (frame \(outcome.frame.index))")
            #expect(stored.manifest.areas.count == areas.count)
        }
    }

    /// A detector that stalls: frames whose newest detection is older than the bound are masked
    /// whole, none goes out with stale or no areas, and all recover exactly.
    @Test func aDetectionStallMasksFramesWhole() async throws {
        let roles = Roles(seed: 62)
        let frames = try Self.vtestFrames(24)
        let calls = Counter()
        let released = DispatchSemaphore(value: 0)
        let hangTimedOut = Flag()
        let fixed = [Rect(x: 300, y: 200, width: 80, height: 160)]
        let pipeline = try FramePipeline(
            edge: roles.edge,
            // The wait is generous so that frame 0's detection arrives in time on a loaded machine
            // (the whole suite runs at once); frames 4-11 each wait it out, then go whole.
            settings: .init(detectEvery: 4, carrier: .init(maximumAge: .milliseconds(500)), detectionWait: .seconds(1))
        ) { _ in
            // The second detection (frame 4) hangs until frame 11 has been sent: the mask stage
            // must not wait for it. (The bound only keeps a broken pipeline from hanging the run;
            // under a loaded machine frames 5-11 can take many seconds.)
            if calls.increment() == 2, released.wait(timeout: .now() + 180) == .timedOut { hangTimedOut.set() }
            return fixed
        }
        let outcomes = Outcomes()
        let counts = try await pipeline.run(MemorySource(frames, fps: 10, live: true)) { outcome in
            await outcomes.add(outcome)
            if outcome.sequence == 11 { released.signal() }
        }
        #expect(!hangTimedOut.isSet, "frame 11 was never sent while detection hung")
        #expect(counts.sent == 24 && counts.failed == 0)
        #expect(counts.maskedWhole > 0, "\(counts)")
        let all = await outcomes.all
        for outcome in all {
            let receipt = try #require(outcome.receipt)
            #expect(try roles.dataCenter.original(receipt.frameID) == frames[outcome.frame.index])
            switch outcome.decision {
            case .wholeFrame:
                #expect(try roles.dataCenter.store.frame(receipt.frameID)?.manifest.areas.map(\.rect) == [Rect(x: 0, y: 0, width: 768, height: 576)])
            case .areas(let areas, let detectedAt, _):
                // Within the 500 ms bound at 10 fps: at most 5 frames after the detection used.
                #expect(outcome.sequence - detectedAt <= 5, "frame \(outcome.sequence) used detection \(detectedAt)")
                #expect(areas.count == 1 && areas[0].width >= fixed[0].width)
            }
        }
        // Frames 0-5 are within 500 ms of the first detection; frames 6-11 pass while the
        // detector hangs, with nothing newer: whole.
        #expect(all.filter { $0.sequence <= 5 }.allSatisfy { !$0.decision.isWholeFrame })
        #expect(all.filter { (6...11).contains($0.sequence) }.allSatisfy { $0.decision.isWholeFrame })
    }

    /// A static clip under the motion trigger sends only keyframes; a moving one sends motion.
    @Test func theMotionTriggerOnAStaticClipSendsOnlyKeyframes() async throws {
        let roles = Roles(seed: 63)
        let still = try Self.vtestFrames(1)[0]
        let settings = FramePipeline.Settings(detectEvery: 1, motion: .init(preRoll: 2, postRoll: 2, keyframeInterval: 20))
        let pipeline = try FramePipeline(edge: roles.edge, settings: settings) { _ in [Rect(x: 0, y: 0, width: 64, height: 64)] }
        let outcomes = Outcomes()
        let counts = try await pipeline.run(MemorySource(Array(repeating: still, count: 60), live: false)) { await outcomes.add($0) }
        #expect(counts.sent == 3 && counts.still == 57, "\(counts)")
        #expect(await outcomes.all.map(\.frame.index) == [0, 20, 40])
        #expect(await outcomes.all.allSatisfy { $0.motionReason == "keyframe" })

        let moving = try FramePipeline(edge: roles.edge, settings: settings) { _ in [] }
        let movingOutcomes = Outcomes()
        let movingCounts = try await moving.run(MemorySource(try Self.vtestFrames(30), live: false)) { await movingOutcomes.add($0) }
        #expect(movingCounts.sent > 20, "walkers move in most frames: \(movingCounts)")
        #expect(await movingOutcomes.all.contains { $0.motionReason == "motion" })
    }

    /// The UDP stream over loopback with 3 % of datagrams dropped on purpose: exactly the frames
    /// whose datagrams all went out arrive, byte for byte, and the rest are counted lost.
    @Test func aUDPStreamOverLoopbackWithPacketLossDeliversOnlyWholeFrames() async throws {
        let source = LiveJPEGSource(capacity: 64)
        let receiver = try await UDPFrameReceiver.start(host: "127.0.0.1", port: 0, into: source)
        let sender = try await UDPFrameSender(host: "127.0.0.1", port: receiver.port, loss: 0.03, seed: 7)
        let jpegs = try Self.vtestFrames(30).map { try JPEGCodec.encode(try $0.resized(width: 384, height: 288), quality: 60) }
        var intact: [Int] = []
        for (i, jpeg) in jpegs.enumerated() {
            if try await sender.send(jpeg).whole { intact.append(i) }
            try await Task.sleep(for: .milliseconds(5))
        }
        try await sender.send(jpegs[0])  // a last whole frame settles the frames before it
        try await Task.sleep(for: .milliseconds(300))
        let counts = try #require(await receiver.stop())
        #expect(intact.count > 5 && intact.count < 30, "the seeded drops hit some frames: \(intact)")
        var received: [PixelBuffer] = []
        while let frame = try await source.next() { received.append(frame.pixels) }
        let expected = try (intact + [0]).map { try JPEGCodec.decode(jpegs[$0]) }
        #expect(received.count == expected.count && received == expected)
        #expect(counts.framesDelivered == intact.count + 1)
        #expect(counts.framesLost == 30 - intact.count)
        await sender.close()
    }

    /// Datagrams are reassembled per sender: a second sender using the same frame numbers
    /// cannot splice its bytes into a camera's frame; datagrams from ever new ports push each
    /// other out, never a camera that is delivering frames; once all deliver, a new sender takes
    /// the place of the one that delivered longest ago.
    @Test func udpFramesAreReassembledPerSender() throws {
        var senders = SenderReassemblers()
        let camera = (0..<5000).map { UInt8($0 % 200) }, intruder = [UInt8](repeating: 7, count: 5000)
        let good = try FramePackets.split(camera, number: 1), bad = try FramePackets.split(intruder, number: 1)
        var delivered: [[UInt8]] = []
        for (g, b) in zip(good, bad) {
            if let frame = senders.accept(b, from: "intruder") { delivered.append(frame) }
            if let frame = senders.accept(g, from: "camera") { delivered.append(frame) }
        }
        #expect(delivered == [intruder, camera])
        let partial = try FramePackets.split(camera, number: 2)
        _ = senders.accept(partial[0], from: "camera")
        for port in 0..<1000 { _ = senders.accept(bad[0], from: "intruder:\(port)") }  // a flood from fresh ports
        let rest = partial.dropFirst().compactMap { senders.accept($0, from: "camera") }
        #expect(rest == [camera], "the camera's frame in flight survived the flood")
        // All four deliver; a fifth sender replaces the one whose last frame is oldest (intruder).
        for name in ["b", "c"] { for packet in try FramePackets.split(intruder, number: 3) { _ = senders.accept(packet, from: name) } }
        let lostBefore = senders.counts.framesLost
        let third = try FramePackets.split(intruder, number: 4)
        _ = senders.accept(third[0], from: "intruder")
        _ = senders.accept(bad[0], from: "e")
        #expect(senders.counts.framesLost > lostBefore, "the intruder's frame in flight is lost with it")
        #expect(third.dropFirst().compactMap { senders.accept($0, from: "intruder") }.isEmpty)
    }

    /// A frame taken from a queue (or pushed out of it) is no longer held by it: 64 taken frames
    /// kept until the queue compacted once held 400 MB of an edge's memory.
    @Test func aQueueLetsGoOfWhatWasTakenOrDropped() async {
        final class Frame: Sendable { let bytes = [UInt8](repeating: 1, count: 16) }
        for whenFull in [StageQueue<Frame>.WhenFull.wait, .dropOldest] {
            let queue = StageQueue<Frame>(capacity: 2, whenFull: whenFull)
            weak var taken: Frame?
            do {
                let frame = Frame()
                taken = frame
                await queue.push(frame)
                _ = await queue.pop()
            }
            #expect(taken == nil, "\(whenFull): the queue still holds a frame it gave out")
            if whenFull == .dropOldest {
                weak var dropped: Frame?
                do {
                    let frame = Frame()
                    dropped = frame
                    await queue.push(frame)
                    await queue.push(Frame())
                    _ = await queue.push(Frame())  // pushes the first one out
                }
                #expect(dropped == nil, "the queue still holds a frame it pushed out")
            }
        }
    }

    @Test func aLiveQueueDropsTheOldestAndAWaitingQueueHoldsTheProducer() async {
        let live = StageQueue<Int>(capacity: 2, whenFull: .dropOldest)
        #expect(await live.push(1) == nil)
        #expect(await live.push(2) == nil)
        #expect(await live.push(3) == 1)
        #expect(await live.pop() == 2)
        let held = StageQueue<Int>(capacity: 1, whenFull: .wait)
        await held.push(1)
        let producer = Task { await held.push(2); return ContinuousClock.now }
        try? await Task.sleep(for: .milliseconds(100))
        let popped = ContinuousClock.now
        #expect(await held.pop() == 1)
        #expect(await producer.value >= popped)
        #expect(await held.pop() == 2)
        await held.finish()
        #expect(await held.pop() == nil)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    @discardableResult func increment() -> Int { lock.withLock { count += 1; return count } }
    var value: Int { lock.withLock { count } }
}

/// The detection board wakes a waiting mask stage when the detection arrives, or at its deadline,
/// without polling.
@Suite struct DetectionBoardTests {
    @Test func aWaiterIsWokenByTheDetectionOrItsDeadline() async throws {
        let clock = ManualClock()
        let board = DetectionBoard(clock: clock)
        // Settled already: no wait at all.
        await board.settle(0, with: nil)
        await board.wait(for: 0, upTo: .seconds(600))
        // Woken by the detection, the clock never moving.
        let waiting = Task { await board.wait(for: 4, upTo: .seconds(600)) }
        await settle { await board.waiting == 1 }
        await board.settle(4, with: AreaCarrier.Detected(frame: 4, time: .zero, areas: [Rect(x: 0, y: 0, width: 4, height: 4)]))
        await waiting.value
        #expect(await board.newest(atOrBefore: 5)?.frame == 4)
        // Never settled: the deadline ends the wait once the clock reaches it, not before; a
        // later settle finds nobody to wake.
        let expiring = Task { await board.wait(for: 8, upTo: .seconds(2)) }
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .milliseconds(1999))
        #expect(await board.waiting == 1)
        clock.advance(by: .milliseconds(1))
        await expiring.value
        #expect(await board.waiting == 0)
        await board.settle(8, with: nil)
    }

    /// A detector that throws: its frames are masked whole once no recent detection is left, and
    /// the reason reaches the summary instead of being dropped.
    @Test func aFailingDetectorsReasonIsKept() async throws {
        let roles = Roles(seed: 64)
        let frames = try StreamTests.vtestFrames(6)
        let pipeline = try FramePipeline(edge: roles.edge, settings: .init(detectEvery: 1)) { _ in
            throw MSAIError.model("yolov4-tiny: the network cannot run (test)")
        }
        let counts = try await pipeline.run(StreamTests.MemorySource(frames, live: false))
        #expect(counts.sent == 6 && counts.maskedWhole == 6 && counts.detectionsFailed == 6)
        #expect(counts.lastDetectionError == "yolov4-tiny: the network cannot run (test)")
    }
}

@Suite struct StatusLineTests {
    /// The status line comes every interval of the clock (one the test moves), with the rates
    /// since the line before, and stops when its task is cancelled.
    @Test func theStatusLineComesEveryIntervalWithTheRatesSinceTheLast() async {
        let clock = ManualClock()
        let counters = StreamCounters()
        let (lines, sink) = AsyncStream<String>.makeStream()
        let reporter = Task { await StreamStatus.report(counters, every: .seconds(5), clock: clock) { sink.yield($0) } }
        for _ in 0..<10 { await counters.received(dropped: 0) }
        for _ in 0..<8 { await counters.sent(patch: false, bytes: 1) }
        var line = lines.makeAsyncIterator()
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .seconds(5))
        #expect(await line.next() == "in 2.0 fps, out 1.6 fps | received 10, masked 0 (whole 0), dropped 0, sent 8")
        await counters.received(dropped: 0)
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .seconds(5))
        #expect(await line.next() == "in 0.2 fps, out 0.0 fps | received 11, masked 0 (whole 0), dropped 0, sent 8")
        await clock.sleepers(atLeast: 1)
        reporter.cancel()
        await reporter.value
        #expect(clock.sleeping == 0)
    }

    @Test func theStatusLineSaysWhatHappenedToTheFrames() {
        var c = StreamCounters.Snapshot()
        c.received = 20; c.maskedAreas = 18; c.maskedWhole = 2; c.dropped = 1; c.sent = 19; c.sentPatches = 17
        #expect(c.statusLine(inRate: 10, outRate: 9.5)
                == "in 10.0 fps, out 9.5 fps | received 20, masked 20 (whole 2), dropped 1, sent 19 (17 areas only)")
        c.failed = 1; c.still = 3
        #expect(c.statusLine(inRate: 0, outRate: 0).hasSuffix("dropped 1, still 3, sent 19 (17 areas only), FAILED 1"))
    }
}
