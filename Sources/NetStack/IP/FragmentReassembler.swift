import Wire

/// Limits on reassembly: what bounds the memory a flood of fragments can take.
public struct ReassemblyLimits: Sendable {
    /// Bytes held across all incomplete datagrams, overhead included (Linux's
    /// ipfrag_high_thresh, 4 MiB); beyond it the oldest datagrams are evicted.
    public var maximumBytes = 4 * 1024 * 1024
    /// How long an incomplete datagram waits (Linux's ipfrag_time 30 s; ip6frag_time 60 s).
    public var timeout: UInt64 = 30 * StackDuration.second
    /// Fragments one datagram may have (Linux's ipfrag_max_dist spirit: a datagram in
    /// thousands of tiny pieces is an attack, not traffic).
    public var maximumFragments = 64
    /// What each datagram costs beyond its bytes (bookkeeping), for the byte budget.
    public var overheadPerDatagram = 256
    /// What each fragment held costs beyond its bytes.
    public static let overheadPerFragment = 64

    /// Linux's defaults for IPv4.
    public init() {}
}

/// Why a reassembly dropped something.
public struct ReassemblyCounters: Sendable, Equatable {
    /// Datagrams completed.
    public var reassembled = 0
    /// Overlapping fragments (RFC 5722; Linux drops overlapping IPv4 fragments too): the
    /// whole datagram is dropped.
    public var overlaps = 0
    /// Fragments reaching beyond 65535 bytes.
    public var tooLarge = 0
    /// Datagrams with too many fragments.
    public var tooManyFragments = 0
    /// Datagrams evicted to stay under the byte budget.
    public var evicted = 0
    /// Datagrams that timed out.
    public var timedOut = 0
    /// Malformed fragments (e.g. a non-final fragment whose length is not a multiple of 8).
    public var malformed = 0
    /// Creates zeroed counters.
    public init() {}
}

/// Reassembly of fragmented datagrams for local delivery (RFC 791 §3.2 with RFC 815's hole
/// bookkeeping; RFC 8200 §4.5 for IPv6). Time is passed in. Memory is bounded by
/// `limits.maximumBytes` whatever arrives: the oldest incomplete datagrams are evicted
/// first, and no datagram exceeds 65535 bytes or `limits.maximumFragments` pieces.
public final class FragmentReassembler {
    /// What identifies one datagram's fragments (RFC 791: source, destination, protocol,
    /// identification; RFC 8200: source, destination, identification).
    public struct Key: Hashable, Sendable {
        /// Source address.
        public var source: IPAddress
        /// Destination address.
        public var destination: IPAddress
        /// Identification (16 bits for IPv4, 32 for IPv6).
        public var identification: UInt32
        /// The protocol (IPv4) or the fragment's next header (IPv6).
        public var protocolNumber: UInt8
    }

    /// A datagram given up on at its timeout whose first fragment had arrived: the start of
    /// that fragment (header and first data bytes) for ICMP time exceeded, code 1.
    public struct Expired {
        /// The key.
        public var key: Key
        /// The first fragment's header and at least 8 bytes of its data.
        public var firstFragment: [UInt8]
    }

    final class Pending {
        let deadline: StackInstant
        let serial: UInt64
        /// The fragments held, each with its offset; kept apart until the datagram is
        /// whole, so memory follows the bytes that came rather than the offsets claimed.
        var pieces: [(start: Int, bytes: [UInt8])] = []
        var covered = 0
        var totalLength: Int?
        var firstFragment: [UInt8]?
        var cost: Int
        init(deadline: StackInstant, serial: UInt64, overhead: Int) {
            self.deadline = deadline
            self.serial = serial
            cost = overhead
        }
    }

    /// The limits.
    public let limits: ReassemblyLimits
    /// Counters.
    public private(set) var counters = ReassemblyCounters()
    /// Bytes held now (data plus overhead).
    public private(set) var heldBytes = 0
    private var pending: [Key: Pending] = [:]
    /// Datagrams in arrival order, consumed from `orderHead`, each with its serial so an
    /// entry of a datagram already gone (completed, dropped, or its key reused) is skipped;
    /// stale entries are compacted away so the list stays proportional to `pending`.
    private var arrivalOrder: [(key: Key, serial: UInt64)] = []
    private var orderHead = 0
    private var nextSerial: UInt64 = 0

    /// A reassembler with `limits`.
    public init(limits: ReassemblyLimits = ReassemblyLimits()) {
        self.limits = limits
    }

    /// Arrival-order entries held (live and stale): stays proportional to `pendingCount`.
    var arrivalOrderEntries: Int { arrivalOrder.count - orderHead }

    /// Incomplete datagrams held.
    public var pendingCount: Int { pending.count }

    /// The earliest timeout.
    /// Deadlines follow arrival order (one timeout for all), so this is the first live entry's.
    public var nextDeadline: StackInstant? {
        for entry in arrivalOrder[orderHead...] {
            if let datagram = pending[entry.key], datagram.serial == entry.serial { return datagram.deadline }
        }
        return nil
    }

    /// Adds one fragment: `offset` in bytes, `data` the fragment's data, `more` the MF bit,
    /// `quote` the fragment's header and first data bytes (kept from the first fragment
    /// for ICMP). Returns the whole payload when the datagram is complete.
    public func insert(_ key: Key, offset: Int, more: Bool, data: UnsafeRawBufferPointer, quote: UnsafeRawBufferPointer,
                       now: StackInstant) -> [UInt8]? {
        let end = offset + data.count
        guard end <= 65535 else {
            counters.tooLarge += 1
            drop(key)
            return nil
        }
        if more && data.count % 8 != 0 || data.isEmpty && more {
            counters.malformed += 1
            return nil
        }
        let datagram: Pending
        if let existing = pending[key] {
            datagram = existing
        } else {
            nextSerial &+= 1
            datagram = Pending(deadline: now + limits.timeout, serial: nextSerial, overhead: limits.overheadPerDatagram)
            pending[key] = datagram
            arrivalOrder.append((key, nextSerial))
            heldBytes += datagram.cost
        }
        // The last fragment fixes the length; a second, different one is an inconsistency.
        if !more {
            if let total = datagram.totalLength, total != end {
                counters.overlaps += 1
                drop(key)
                return nil
            }
            datagram.totalLength = end
        }
        if let total = datagram.totalLength, end > total || datagram.pieces.contains(where: { $0.start + $0.bytes.count > total }) {
            counters.overlaps += 1
            drop(key)
            return nil
        }
        // An exact duplicate is ignored; any other overlap drops the datagram (RFC 5722).
        for piece in datagram.pieces where piece.start < end && offset < piece.start + piece.bytes.count {
            if piece.start == offset && piece.bytes.count == data.count { return nil }
            counters.overlaps += 1
            drop(key)
            return nil
        }
        guard datagram.pieces.count < limits.maximumFragments else {
            counters.tooManyFragments += 1
            drop(key)
            return nil
        }
        datagram.pieces.append((offset, Array(data)))
        datagram.covered += data.count
        datagram.cost += data.count + ReassemblyLimits.overheadPerFragment
        heldBytes += data.count + ReassemblyLimits.overheadPerFragment
        if offset == 0 { datagram.firstFragment = Array(quote) }
        evictIfNeeded()
        guard pending[key] === datagram, let total = datagram.totalLength, datagram.covered == total else { return nil }
        drop(key)
        counters.reassembled += 1
        var whole = [UInt8](repeating: 0, count: total)
        whole.withUnsafeMutableBytes { buffer in
            for piece in datagram.pieces {
                UnsafeMutableRawBufferPointer(rebasing: buffer[piece.start..<piece.start + piece.bytes.count])
                    .copyBytes(from: piece.bytes)
            }
        }
        return whole
    }

    /// Gives up on datagrams past their timeout; returns those whose first fragment came,
    /// for ICMP time exceeded (RFC 792 code 1; RFC 8200 §4.5).
    public func expire(now: StackInstant) -> [Expired] {
        var expired: [Expired] = []
        while orderHead < arrivalOrder.count {
            let entry = arrivalOrder[orderHead]
            guard let datagram = pending[entry.key], datagram.serial == entry.serial else {
                orderHead += 1
                continue
            }
            guard datagram.deadline <= now else { break }
            orderHead += 1
            counters.timedOut += 1
            if let first = datagram.firstFragment { expired.append(Expired(key: entry.key, firstFragment: first)) }
            drop(entry.key)
        }
        compactIfNeeded()
        return expired
    }

    private func evictIfNeeded() {
        while heldBytes > limits.maximumBytes && orderHead < arrivalOrder.count {
            let oldest = arrivalOrder[orderHead]
            orderHead += 1
            guard pending[oldest.key]?.serial == oldest.serial else { continue }
            counters.evicted += 1
            drop(oldest.key)
        }
        compactIfNeeded()
    }

    private func compactIfNeeded() {
        if arrivalOrder.count - orderHead > 2 * pending.count + 64 {
            arrivalOrder = arrivalOrder[orderHead...].filter { pending[$0.key]?.serial == $0.serial }
            orderHead = 0
        }
    }

    private func drop(_ key: Key) {
        guard let datagram = pending.removeValue(forKey: key) else { return }
        heldBytes -= datagram.cost
    }
}
