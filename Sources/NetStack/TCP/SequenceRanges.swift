import Wire

/// A bounded set of sequence-number ranges, kept sorted and merged. A receiver keeps the
/// out-of-order data it holds beyond RCV.NXT in one (the bytes sit in the receive buffer's
/// free space at their final offsets, so filling a hole only moves the buffer's tail), and
/// advertises them as SACK blocks (RFC 2018 §4: the block holding the most recent segment
/// first, then the others from most to least recently changed). A sender keeps the peer's
/// SACKed ranges in another: its scoreboard (RFC 6675 §3).
///
/// At most `capacity` ranges are kept; a segment that would need more is dropped (counted),
/// so memory is bounded whatever the peer sends.
public struct SequenceRanges: Sendable {
    /// The most ranges kept.
    public static let capacity = 32

    struct Range: Sendable {
        var start: SequenceNumber
        var end: SequenceNumber
        var stamp: UInt64
    }

    private(set) var ranges: [Range] = []
    private var clock: UInt64 = 0
    /// Segments refused because the range table was full.
    public private(set) var overflows = 0

    /// An empty set.
    public init() {
        ranges.reserveCapacity(Self.capacity + 1)
    }

    /// Whether nothing is held.
    public var isEmpty: Bool { ranges.isEmpty }

    /// Records `[start, end)` as received; returns false (and holds nothing new) if the table
    /// is full and the range touches no existing one.
    public mutating func insert(start: SequenceNumber, end: SequenceNumber) -> Bool {
        guard start < end else { return true }
        clock += 1
        var merged = Range(start: start, end: end, stamp: clock)
        var kept: [Range] = []
        kept.reserveCapacity(ranges.count + 1)
        var inserted = false
        for range in ranges {
            if range.end < merged.start {
                kept.append(range)
            } else if merged.end < range.start {
                if !inserted {
                    kept.append(merged)
                    inserted = true
                }
                kept.append(range)
            } else {
                // Overlapping or adjacent: merge.
                if range.start < merged.start { merged.start = range.start }
                if merged.end < range.end { merged.end = range.end }
            }
        }
        if !inserted { kept.append(merged) }
        if kept.count > Self.capacity {
            overflows += 1
            return false
        }
        ranges = kept
        return true
    }

    /// If a range starts at or before `next`, removes it and returns its end (the new
    /// RCV.NXT); ranges wholly below `next` are discarded.
    public mutating func advance(from next: SequenceNumber) -> SequenceNumber? {
        var result: SequenceNumber?
        while let first = ranges.first, first.start <= (result ?? next) {
            ranges.removeFirst()
            let end = first.end
            if end > (result ?? next) { result = end }
        }
        return result
    }

    /// Up to `limit` SACK blocks, most recently changed first (RFC 2018 §4).
    public func sackBlocks(limit: Int) -> TCPSackBlocks {
        var blocks = TCPSackBlocks()
        guard !ranges.isEmpty else { return blocks }
        let order = ranges.indices.sorted { ranges[$0].stamp > ranges[$1].stamp }
        for index in order.prefix(limit) {
            _ = blocks.append(TCPSackBlock(left: ranges[index].start.rawValue, right: ranges[index].end.rawValue))
        }
        return blocks
    }

    /// The highest sequence number held, if any.
    public var highestEnd: SequenceNumber? { ranges.last?.end }

    /// Forgets everything below `floor` (the cumulative ACK moved), trimming a range that
    /// straddles it.
    public mutating func discard(below floor: SequenceNumber) {
        while let first = ranges.first, first.start < floor {
            if first.end <= floor {
                ranges.removeFirst()
            } else {
                ranges[0].start = floor
                break
            }
        }
    }

    /// The range holding `sequence`, if any.
    public func range(containing sequence: SequenceNumber) -> (start: SequenceNumber, end: SequenceNumber)? {
        for range in ranges where range.start <= sequence && sequence < range.end { return (range.start, range.end) }
        return nil
    }

    /// The start of the first range beginning after `sequence`, if any.
    public func nextStart(after sequence: SequenceNumber) -> SequenceNumber? {
        ranges.first { sequence < $0.start }?.start
    }

    /// Bytes covered.
    public var coveredBytes: Int { ranges.reduce(0) { $0 + ($1.end - $1.start) } }

    /// Removes everything.
    public mutating func removeAll() { ranges.removeAll(keepingCapacity: true) }
}
