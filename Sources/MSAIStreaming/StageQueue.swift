/// A bounded queue between two stages of the frame pipeline: one producer, one consumer.
///
/// `.wait` makes the producer wait while the queue is full (back-pressure: no frame is lost
/// between stages). `.dropOldest` never makes it wait: the oldest item is pushed out and
/// returned, so a live source is never held up and the pipeline works on the newest frames.
public actor StageQueue<Item: Sendable> {
    public enum WhenFull: Sendable { case wait, dropOldest }

    public let capacity: Int
    public let whenFull: WhenFull
    /// Items from `head` on are queued; the slots before it are taken and emptied at once (a
    /// taken frame must not stay referenced here until the next compaction: 64 of them held
    /// 400 MB of an edge's memory).
    private var items: [Item?] = []
    private var head = 0
    private var finished = false
    private var consumer: CheckedContinuation<Item?, Never>?
    private var producers: [CheckedContinuation<Void, Never>] = []

    public init(capacity: Int, whenFull: WhenFull) {
        self.capacity = max(1, capacity)
        self.whenFull = whenFull
    }

    private var count: Int { items.count - head }

    /// Adds an item; returns the item pushed out by `.dropOldest`, or `item` itself if the queue
    /// was finished (nobody will take it).
    @discardableResult
    public func push(_ item: Item) async -> Item? {
        if whenFull == .wait {
            while count >= capacity && !finished { await withCheckedContinuation { producers.append($0) } }
        }
        if finished { return item }
        if let waiting = consumer {
            consumer = nil
            waiting.resume(returning: item)
            return nil
        }
        items.append(item)
        if count > capacity {
            let dropped = items[head]
            items[head] = nil
            head += 1
            compact()
            return dropped
        }
        return nil
    }

    /// The next item, or nil once the queue is finished and empty.
    public func pop() async -> Item? {
        if count > 0 {
            let item = items[head]!
            items[head] = nil
            head += 1
            compact()
            if !producers.isEmpty { producers.removeFirst().resume() }
            return item
        }
        if finished { return nil }
        return await withCheckedContinuation { consumer = $0 }
    }

    /// No more items will come; wakes everyone waiting. Items already queued can still be popped.
    public func finish() {
        finished = true
        consumer?.resume(returning: nil)
        consumer = nil
        for p in producers { p.resume() }
        producers.removeAll()
    }

    private func compact() {
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
    }
}
