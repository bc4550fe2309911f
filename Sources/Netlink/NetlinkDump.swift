import Wire

/// How large the next datagram of a dump may be, as Linux sizes each dump skb
/// (`net/netlink/af_netlink.c`): `netlink_recvmsg` records the largest length a reader has
/// offered (`nlk->max_recvmsg_len = max(max_recvmsg_len, len)`, capped at
/// `SKB_WITH_OVERHEAD(32768)`), and `netlink_dump` allocates that much, or `NLMSG_GOODSIZE` if
/// that is more. A fresh socket's first dump datagram is therefore `NLMSG_GOODSIZE`; later ones
/// are as large as the reader's buffer, up to the cap, and a later dump starts large.
public struct NetlinkDumpSizing: Sendable, Equatable {
    /// `NLMSG_GOODSIZE` with 4 KiB pages (`SKB_WITH_OVERHEAD(PAGE_SIZE)`): the smallest dump
    /// datagram Linux allocates, and so the first one of a fresh socket.
    public static let goodSize = 3776
    /// `SKB_WITH_OVERHEAD(32768)` on x86-64 (32768 less the 320-byte `skb_shared_info`): the
    /// most `netlink_recvmsg` records, and so the largest dump datagram.
    public static let largest = 32448

    /// `nlk->max_recvmsg_len`: the largest length offered to a receive that took a datagram,
    /// capped at `largest`; 0 on a fresh socket.
    public private(set) var largestReceive = 0

    /// A fresh socket's sizing (nothing received yet).
    public init() {}

    /// Records a receive that took (or peeked at) a datagram with a buffer of `offered` bytes
    /// (the iovec total of recvmsg, recvfrom's length; 0 for iproute2's MSG_PEEK|MSG_TRUNC
    /// sizing, which, as Linux's `max()`, changes nothing).
    public mutating func recordReceive(offered: Int) {
        largestReceive = min(max(largestReceive, offered), Self.largest)
    }

    /// The size of the next dump datagram (`netlink_dump`'s `alloc_size`).
    public var datagramSize: Int { max(Self.goodSize, largestReceive) }
}

/// One dump's answer, packed into datagrams as the reader takes them (`netlink_dump` fills
/// one skb per call: at the request, then one per `recvmsg`): the encoded entries, each an
/// `NLM_F_MULTI` message, and the closing `NLMSG_DONE` datagram.
///
/// The entries are kept once, in chunks of whole messages that are dropped as they are sent,
/// so a large table is not held twice; and a dump made part by part (`DumpWriter.continuation`,
/// a route dump) encodes its next part only when the datagrams run out of entries, so it holds
/// a part at a time, as Linux holds an skb.
public final class NetlinkDump {
    /// Encoded entries not yet sent, whole messages each; the first from `offset`.
    private var chunks: [[UInt8]]
    private var chunkIndex = 0
    private var offset = 0
    /// Encodes the next part: its chunks, and whether more parts follow. nil once none does.
    private var nextPart: (() -> (chunks: [[UInt8]], more: Bool))?
    /// The `NLMSG_DONE` message, until it has been taken.
    private var done: [UInt8]?

    init(chunks: [[UInt8]], done: [UInt8], nextPart: (() -> (chunks: [[UInt8]], more: Bool))? = nil) {
        self.chunks = chunks.filter { !$0.isEmpty }
        self.done = done
        self.nextPart = nextPart
    }

    /// Whether every datagram, `NLMSG_DONE` included, has been taken.
    public var isFinished: Bool { done == nil }

    /// The bytes of the entries encoded and not yet taken.
    public var remainingEntryBytes: Int {
        guard chunkIndex < chunks.count else { return 0 }
        return chunks[chunkIndex...].reduce(0) { $0 + $1.count } - offset
    }

    /// The next datagram: as many whole entries as fit in `size` bytes (at least one, as
    /// `netlink_dump` never leaves an entry out for want of room in a fresh skb), then, once the
    /// entries are all taken, `NLMSG_DONE` on its own (`netlink_dump_done` runs on the call
    /// after the last entries). nil when finished.
    public func nextDatagram(size: Int) -> [UInt8]? {
        guard hasEntries() else {
            defer { done = nil }
            return done
        }
        var datagram: [UInt8] = []
        datagram.reserveCapacity(min(size, remainingEntryBytes))
        while hasEntries() {
            let chunk = chunks[chunkIndex]
            let length = Self.alignedLength(chunk, at: offset)
            if !datagram.isEmpty && datagram.count + length > size { break }
            datagram.append(contentsOf: chunk[offset..<(offset + length)])
            offset += length
            if offset >= chunk.count {
                chunks[chunkIndex] = []  // sent: no longer held
                chunkIndex += 1
                offset = 0
            }
        }
        return datagram
    }

    /// Whether an entry is left to send, encoding the next parts until one is (or none
    /// follows).
    private func hasEntries() -> Bool {
        while chunkIndex >= chunks.count, let encode = nextPart {
            let part = encode()
            if !part.more { nextPart = nil }
            chunks = part.chunks.filter { !$0.isEmpty }
            chunkIndex = 0
            offset = 0
        }
        return chunkIndex < chunks.count
    }

    /// The length of the message at `offset` (`nlmsg_len`), padded to 4 bytes, within the chunk.
    private static func alignedLength(_ chunk: [UInt8], at offset: Int) -> Int {
        guard offset + 4 <= chunk.count else { return chunk.count - offset }
        let length = Int(chunk[offset]) | Int(chunk[offset + 1]) << 8 | Int(chunk[offset + 2]) << 16
            | Int(chunk[offset + 3]) << 24
        return min(max(NetlinkMessage.headerLength, (length + 3) & ~3), chunk.count - offset)
    }
}

/// A dump being answered: entries are encoded in turn, each with `NLM_F_MULTI` (and
/// `NLM_F_DUMP_FILTERED` when the request's filter was applied), into chunks that become a
/// `NetlinkDump`, which ends with `NLMSG_DONE`. A large dump sets `continuation` and is
/// encoded part by part as it is read.
struct DumpWriter {
    /// How many bytes of entries a chunk holds before the next starts.
    static let chunkBytes = 256 * 1024

    let sequence: UInt32
    let portID: UInt32
    /// Set when a strict request's filter applied (`cb->answer_flags`): on every message,
    /// NLMSG_DONE included.
    var filtered = false
    /// Set when the entries are filtered though the request names no filter (a strict IPv4
    /// route dump leaves the exceptions out): on the entries only, not on NLMSG_DONE.
    var entriesFiltered = false
    /// The rest of the dump, after the entries added at the request: called with a fresh
    /// writer of the same dump each time the reader has taken every entry encoded so far;
    /// adds the next part (`partBytes` or so) and returns whether entries may remain.
    var continuation: ((inout DumpWriter) -> Bool)?
    private var chunks: [[UInt8]] = []
    private var current = NetlinkWriter()

    /// About how many bytes of entries a continuation adds at a time: two of the largest
    /// datagrams (`NetlinkDumpSizing.largest`), so a part fills whole datagrams.
    static let partBytes = 2 * NetlinkDumpSizing.largest

    /// Bytes of entries added so far.
    var encodedBytes: Int { chunks.reduce(current.bytes.count) { $0 + $1.count } }

    init(sequence: UInt32, portID: UInt32) {
        self.sequence = sequence
        self.portID = portID
    }

    /// The header of the next entry.
    func header(type: UInt16) -> NetlinkHeader {
        NetlinkHeader(type: type, flags: filtered || entriesFiltered ? [.multi, .dumpFiltered] : .multi,
                      sequence: sequence, portID: portID)
    }

    /// Adds one entry, written by `body`.
    mutating func add(type: UInt16, _ body: (inout NetlinkWriter) -> Void) {
        current.begin(header(type: type))
        body(&current)
        current.end()
        if current.bytes.count >= Self.chunkBytes {
            chunks.append(current.bytes)
            current = NetlinkWriter()
        }
    }

    /// The dump: its entries (those added, then the continuation's), then `NLMSG_DONE` with
    /// status 0, or with `-errno` (and the extended ack's message, if any) when the dump
    /// failed, after the entries added before it did.
    mutating func finish(failedWith errno: Int32 = 0, message: String? = nil) -> NetlinkDump {
        var done = NetlinkWriter()
        var flags: NetlinkFlags = errno == 0 && filtered ? [.multi, .dumpFiltered] : .multi
        if message != nil { flags.insert(.acknowledgementAttributes) }
        done.begin(NetlinkHeader(type: NetlinkControlType.done, flags: flags, sequence: sequence, portID: portID))
        done.appendInt32(-errno)
        if let message { done.appendAttribute(NetlinkErrorRepr.messageAttribute, bytes: Array(message.utf8) + [0]) }
        done.end()
        var nextPart: (() -> (chunks: [[UInt8]], more: Bool))?
        if let continuation, errno == 0 {
            var fresh = DumpWriter(sequence: sequence, portID: portID)
            fresh.filtered = filtered
            fresh.entriesFiltered = entriesFiltered
            nextPart = {
                var part = fresh
                let more = continuation(&part)
                return (part.takeEntries(), more)
            }
        }
        let dump = NetlinkDump(chunks: takeEntries(), done: done.bytes, nextPart: nextPart)
        continuation = nil
        return dump
    }

    /// The entries added so far, as chunks of whole messages; the writer is left empty.
    private mutating func takeEntries() -> [[UInt8]] {
        if !current.isEmpty { chunks.append(current.bytes) }
        defer {
            chunks = []
            current = NetlinkWriter()
        }
        return chunks
    }
}
