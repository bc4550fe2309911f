/// The TCP layer's timers: a binary min-heap of (deadline, connection) with lazily
/// invalidated entries, so a poll visits only the connections whose timer is due and the
/// next deadline is read off the top — O(log n) per re-arm instead of a scan of every
/// connection (TIME-WAIT ones included) on each poll, as Linux's timer wheel spares it.
///
/// Each connection records the deadline it is scheduled for (`scheduledDeadline`). Re-arming
/// pushes a new entry and leaves the old one behind; an entry whose deadline is no longer its
/// connection's scheduled one is stale and is dropped when it reaches the top. When stale
/// entries outnumber live ones, the heap is rebuilt from the live schedule, which bounds its
/// size to about twice the connections.
struct TCPTimerQueue {
    private struct Entry {
        var deadline: StackInstant
        var connection: TCPConnection
    }

    private var heap: [Entry] = []
    /// Connections with a scheduled deadline.
    private(set) var scheduledCount = 0

    /// Entries held, stale ones included (for tests of the bound).
    var entryCount: Int { heap.count }

    /// Schedules `connection` at its current `nextDeadline` (none: unscheduled). Call after
    /// anything that may have moved its timers.
    mutating func reschedule(_ connection: TCPConnection) {
        let deadline = connection.nextDeadline
        guard deadline != connection.scheduledDeadline else { return }
        if connection.scheduledDeadline != nil { scheduledCount -= 1 }
        connection.scheduledDeadline = deadline
        guard let deadline else { return }
        scheduledCount += 1
        push(Entry(deadline: deadline, connection: connection))
        if heap.count > 2 * scheduledCount + 64 { compact() }
    }

    /// Removes `connection` from the schedule (it left the table).
    mutating func cancel(_ connection: TCPConnection) {
        if connection.scheduledDeadline != nil { scheduledCount -= 1 }
        connection.scheduledDeadline = nil
    }

    /// Takes every connection whose scheduled deadline is at or before `now`; they are
    /// unscheduled until rescheduled.
    mutating func takeDue(_ now: StackInstant, _ body: (TCPConnection) -> Void) {
        while let top = heap.first, top.deadline <= now {
            popTop()
            guard top.connection.scheduledDeadline == top.deadline else { continue }
            cancel(top.connection)
            body(top.connection)
        }
    }

    /// The earliest scheduled deadline (stale entries at the top are dropped on the way).
    mutating func earliest() -> StackInstant? {
        while let top = heap.first {
            if top.connection.scheduledDeadline == top.deadline { return top.deadline }
            popTop()
        }
        return nil
    }

    private mutating func compact() {
        heap.removeAll { $0.connection.scheduledDeadline != $0.deadline }
        // Duplicates of a live entry (re-armed back to an earlier deadline) keep one copy.
        var seen = Set<ObjectIdentifier>()
        heap.removeAll { !seen.insert(ObjectIdentifier($0.connection)).inserted }
        for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }

    private mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
