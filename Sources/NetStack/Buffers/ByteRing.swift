/// A fixed-capacity byte queue: a socket's send or receive buffer. Bytes are appended at the
/// tail and consumed at the head; the send side also reads at an offset from the head without
/// consuming (retransmission reads unacknowledged data again). Storage is allocated once, at
/// the first write (or on a `resize` after it); no operation allocates per segment. A
/// connection that never carries data (a handshake and a close) never allocates its buffers,
/// as Linux charges a socket's memory only for the skbs it queues.
public final class ByteRing {
    /// The bytes, from the first write on.
    private var storage: UnsafeMutableRawBufferPointer?
    private var head = 0
    /// Bytes queued.
    public private(set) var count = 0
    /// The most bytes the ring holds.
    public private(set) var capacity: Int

    /// A ring holding at most `capacity` bytes (at least 1).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    deinit { storage?.deallocate() }

    /// Room left.
    public var freeSpace: Int { capacity - count }
    /// Whether nothing is queued.
    public var isEmpty: Bool { count == 0 }
    /// Whether no room is left.
    public var isFull: Bool { count == capacity }

    /// Changes the capacity, keeping the queued bytes (the new capacity is at least `count`).
    /// Linux lets SO_RCVBUF/SO_SNDBUF change at any time; so do we.
    public func resize(capacity newCapacity: Int) {
        let target = max(max(1, newCapacity), count)
        guard target != capacity else { return }
        if let storage {
            let fresh = UnsafeMutableRawBufferPointer.allocate(byteCount: target, alignment: 16)
            _ = read(into: fresh, at: 0)
            storage.deallocate()
            self.storage = fresh
        }
        capacity = target
        head = 0
    }

    /// Appends as much of `bytes` as fits; returns how many were taken.
    @discardableResult
    public func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        let taken = min(bytes.count, freeSpace)
        guard taken > 0, let base = bytes.baseAddress else { return 0 }
        writeAt(offset: count, from: base, count: taken)
        count += taken
        return taken
    }

    /// Writes `bytes` at `offset` bytes past the tail without queuing them (out-of-order data
    /// parked in the receive buffer's free space); returns how many fit.
    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer, beyondTailBy offset: Int) -> Int {
        guard offset >= 0, offset < freeSpace, let base = bytes.baseAddress else { return 0 }
        let taken = min(bytes.count, freeSpace - offset)
        writeAt(offset: count + offset, from: base, count: taken)
        return taken
    }

    /// Queues `n` bytes already written past the tail by `write(_:beyondTailBy:)`.
    public func commit(_ n: Int) {
        precondition(n >= 0 && n <= freeSpace, "ByteRing.commit beyond capacity")
        count += n
    }

    /// Copies up to `destination.count` bytes starting `offset` bytes past the head into
    /// `destination` without consuming them; returns how many were copied.
    @discardableResult
    public func read(into destination: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        guard offset >= 0, offset < count, let target = destination.baseAddress else { return 0 }
        guard let storage else { return 0 }
        let n = min(destination.count, count - offset)
        var start = (head + offset) % capacity
        var copied = 0
        while copied < n {
            let run = min(n - copied, capacity - start)
            (target + copied).copyMemory(from: storage.baseAddress! + start, byteCount: run)
            copied += run
            start = 0
        }
        return n
    }

    /// Removes `n` bytes (at most `count`) from the head.
    public func consume(_ n: Int) {
        let n = min(max(0, n), count)
        // The head only moves forward: bytes parked past the tail (out-of-order data) keep
        // their place.
        head = (head + n) % capacity
        count -= n
    }

    /// Copies up to `destination.count` bytes from the head and consumes them.
    @discardableResult
    public func dequeue(into destination: UnsafeMutableRawBufferPointer) -> Int {
        let n = read(into: destination, at: 0)
        consume(n)
        return n
    }

    private func writeAt(offset: Int, from source: UnsafeRawPointer, count n: Int) {
        let storage = self.storage ?? allocateStorage()
        var start = (head + offset) % capacity
        var written = 0
        while written < n {
            let run = min(n - written, capacity - start)
            (storage.baseAddress! + start).copyMemory(from: source + written, byteCount: run)
            written += run
            start = 0
        }
    }

    /// The storage, made at the first write.
    private func allocateStorage() -> UnsafeMutableRawBufferPointer {
        let made = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        storage = made
        return made
    }
}
