// TCP options (RFC 9293 §3.1, "Options"; §3.2): a reader over the options area that yields
// one option at a time, and the set srouter's TCP speaks as values (`TCPOptions`) with an
// emitter in Linux's layout. Everything here is fixed-size: no allocation.

/// TCP option kinds (IANA "TCP Option Kind Numbers").
public enum TCPOptionKind {
    /// End of option list (RFC 9293 §3.2).
    public static let endOfList: UInt8 = 0
    /// No-operation, for alignment (RFC 9293 §3.2).
    public static let noOperation: UInt8 = 1
    /// Maximum segment size (RFC 9293 §3.7.1).
    public static let maximumSegmentSize: UInt8 = 2
    /// Window scale (RFC 7323 §2).
    public static let windowScale: UInt8 = 3
    /// SACK permitted (RFC 2018 §2).
    public static let sackPermitted: UInt8 = 4
    /// SACK blocks (RFC 2018 §3).
    public static let sack: UInt8 = 5
    /// Timestamps (RFC 7323 §3).
    public static let timestamps: UInt8 = 8
    /// MD5 signature (RFC 2385 §3.0).
    public static let md5Signature: UInt8 = 19
}

/// One SACK block: the sequence numbers of a received run of data, right edge exclusive
/// (RFC 2018 §3).
public struct TCPSackBlock: Hashable, Sendable {
    /// Left edge: the first sequence number of the block.
    public var left: UInt32
    /// Right edge: the sequence number just after the block.
    public var right: UInt32

    /// Creates a block.
    public init(left: UInt32, right: UInt32) {
        self.left = left
        self.right = right
    }
}

/// Up to four SACK blocks stored inline (RFC 2018 §3: at most 4 fit in 40 bytes of options).
public struct TCPSackBlocks: RandomAccessCollection, Hashable, Sendable, ExpressibleByArrayLiteral {
    /// The most blocks one option holds.
    public static let capacity = 4

    private var b0 = TCPSackBlock(left: 0, right: 0), b1 = TCPSackBlock(left: 0, right: 0)
    private var b2 = TCPSackBlock(left: 0, right: 0), b3 = TCPSackBlock(left: 0, right: 0)
    /// The number of blocks.
    public private(set) var count = 0

    /// No blocks.
    public init() {}

    /// The first four blocks of `blocks`.
    public init<S: Sequence>(_ blocks: S) where S.Element == TCPSackBlock {
        for block in blocks where !append(block) { break }
    }

    /// Blocks from a literal (beyond four are dropped).
    public init(arrayLiteral elements: TCPSackBlock...) { self.init(elements) }

    /// 0.
    public var startIndex: Int { 0 }
    /// `count`.
    public var endIndex: Int { count }

    /// The block at `index` (0..<count).
    public subscript(index: Int) -> TCPSackBlock {
        precondition(index >= 0 && index < count, "TCPSackBlocks: index out of range")
        switch index {
        case 0: return b0
        case 1: return b1
        case 2: return b2
        default: return b3
        }
    }

    /// Appends a block; `false` (and no change) when four are already held.
    @discardableResult
    public mutating func append(_ block: TCPSackBlock) -> Bool {
        switch count {
        case 0: b0 = block
        case 1: b1 = block
        case 2: b2 = block
        case 3: b3 = block
        default: return false
        }
        count += 1
        return true
    }

    /// Equal when the held blocks are equal, in order.
    public static func == (a: Self, b: Self) -> Bool { a.elementsEqual(b) }

    /// Hashes the held blocks.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for block in self { hasher.combine(block) }
    }
}

/// A 16-byte MD5 digest, stored inline (RFC 2385 §3.0).
public struct TCPMD5Digest: Hashable, Sendable {
    /// Bytes 0…7, big-endian.
    public var high: UInt64
    /// Bytes 8…15, big-endian.
    public var low: UInt64

    /// Wraps the two halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Sixteen bytes (`nil` unless exactly 16).
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == 16 else { return nil }
        var h: UInt64 = 0, l: UInt64 = 0
        for (i, byte) in bytes.enumerated() {
            if i < 8 { h = h << 8 | UInt64(byte) } else { l = l << 8 | UInt64(byte) }
        }
        high = h
        low = l
    }

    /// The all-zero digest (a placeholder before signing).
    public static let zero = TCPMD5Digest(high: 0, low: 0)

    /// The sixteen bytes (allocates).
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) } + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }
}

/// The timestamps option's two values (RFC 7323 §3.2).
public struct TCPTimestamps: Hashable, Sendable {
    /// TSval: the sender's timestamp clock.
    public var value: UInt32
    /// TSecr: the TSval being echoed (meaningful when ACK is set).
    public var echoReply: UInt32

    /// Creates the pair.
    public init(value: UInt32, echoReply: UInt32) {
        self.value = value
        self.echoReply = echoReply
    }
}

/// One TCP option as read from the wire.
public enum TCPOption: Hashable, Sendable {
    /// Kind 2: maximum segment size (RFC 9293 §3.7.1).
    case maximumSegmentSize(UInt16)
    /// Kind 3: window scale shift count (RFC 7323 §2.2; values over 14 are used as 14, §2.3).
    case windowScale(UInt8)
    /// Kind 4: SACK permitted (RFC 2018 §2).
    case sackPermitted
    /// Kind 5: SACK blocks, 1–4 (RFC 2018 §3).
    case sack(TCPSackBlocks)
    /// Kind 8: timestamps (RFC 7323 §3.2).
    case timestamps(TCPTimestamps)
    /// Kind 19: MD5 signature (RFC 2385 §3.0).
    case md5Signature(TCPMD5Digest)
    /// Any other kind, skipped by its length (RFC 9293 §3.2: "must be prepared to handle an
    /// illegal option length", and ignore options it does not implement).
    case unknown(kind: UInt8, length: Int)
}

/// Walks a TCP options area (RFC 9293 §3.2): end-of-list stops, no-operation is one byte,
/// every other option is kind, length (counting kind and length), data. A length below 2 or
/// running past the area, or a known kind with the wrong length, is malformed.
public struct TCPOptionReader {
    private let area: UnsafeRawBufferPointer
    private var offset = 0
    /// Where the option last returned starts, as an offset into the area.
    public private(set) var optionOffset = 0

    /// A reader over an options area (the bytes between the fixed header and the data).
    public init(_ area: UnsafeRawBufferPointer) { self.area = area }

    /// The next option, skipping no-operations; `nil` at end-of-list or the area's end.
    public mutating func next() throws(WireError) -> TCPOption? {
        while offset < area.count {
            let kind = area.byte(at: offset)
            if kind == TCPOptionKind.endOfList {
                offset = area.count
                return nil
            }
            if kind == TCPOptionKind.noOperation {
                offset += 1
                continue
            }
            guard offset + 2 <= area.count else { throw .malformed("option length") }
            let length = Int(area.byte(at: offset + 1))
            guard length >= 2, offset + length <= area.count else { throw .malformed("option length") }
            let data = area.bytes(offset + 2, length - 2)
            let option: TCPOption
            switch kind {
            case TCPOptionKind.maximumSegmentSize:
                guard length == 4 else { throw .malformed("maximum segment size length") }
                option = .maximumSegmentSize(data.bigEndian16(at: 0))
            case TCPOptionKind.windowScale:
                guard length == 3 else { throw .malformed("window scale length") }
                option = .windowScale(data.byte(at: 0))
            case TCPOptionKind.sackPermitted:
                guard length == 2 else { throw .malformed("SACK permitted length") }
                option = .sackPermitted
            case TCPOptionKind.sack:
                guard length >= 10, (length - 2) % 8 == 0, (length - 2) / 8 <= TCPSackBlocks.capacity else {
                    throw .malformed("SACK length")
                }
                var blocks = TCPSackBlocks()
                for i in 0..<((length - 2) / 8) {
                    blocks.append(TCPSackBlock(left: data.bigEndian32(at: 8 * i), right: data.bigEndian32(at: 8 * i + 4)))
                }
                option = .sack(blocks)
            case TCPOptionKind.timestamps:
                guard length == 10 else { throw .malformed("timestamps length") }
                option = .timestamps(TCPTimestamps(value: data.bigEndian32(at: 0), echoReply: data.bigEndian32(at: 4)))
            case TCPOptionKind.md5Signature:
                guard length == 18 else { throw .malformed("MD5 signature length") }
                option = .md5Signature(TCPMD5Digest(high: data.bigEndian64(at: 0), low: data.bigEndian64(at: 8)))
            default:
                option = .unknown(kind: kind, length: length)
            }
            optionOffset = offset
            offset += length
            return option
        }
        return nil
    }
}

/// The options srouter's TCP speaks, as values: what `parse` keeps of an options area and
/// what `emit` writes. Unknown options are skipped; when a kind appears twice the last wins.
public struct TCPOptions: Hashable, Sendable {
    /// The most option bytes a header holds (data offset 15).
    public static let maximumLength = 40

    /// MSS (RFC 9293 §3.7.1), sent on SYNs.
    public var maximumSegmentSize: UInt16?
    /// Window scale shift (RFC 7323 §2), sent on SYNs.
    public var windowScale: UInt8?
    /// SACK permitted (RFC 2018 §2), sent on SYNs.
    public var sackPermitted = false
    /// Timestamps (RFC 7323 §3).
    public var timestamps: TCPTimestamps?
    /// SACK blocks (RFC 2018 §3); empty for none.
    public var sackBlocks = TCPSackBlocks()
    /// MD5 signature (RFC 2385).
    public var md5Signature: TCPMD5Digest?

    /// Creates a set of options (none by default).
    public init(maximumSegmentSize: UInt16? = nil, windowScale: UInt8? = nil, sackPermitted: Bool = false,
                timestamps: TCPTimestamps? = nil, sackBlocks: TCPSackBlocks = [], md5Signature: TCPMD5Digest? = nil) {
        self.maximumSegmentSize = maximumSegmentSize
        self.windowScale = windowScale
        self.sackPermitted = sackPermitted
        self.timestamps = timestamps
        self.sackBlocks = sackBlocks
        self.md5Signature = md5Signature
    }

    /// No options.
    public static let none = TCPOptions()

    /// Reads an options area; see `TCPOptionReader` for what is malformed.
    public static func parse(_ area: UnsafeRawBufferPointer) throws(WireError) -> TCPOptions {
        var options = TCPOptions()
        var reader = TCPOptionReader(area)
        while let option = try reader.next() {
            switch option {
            case .maximumSegmentSize(let mss): options.maximumSegmentSize = mss
            case .windowScale(let shift): options.windowScale = shift
            case .sackPermitted: options.sackPermitted = true
            case .sack(let blocks): options.sackBlocks = blocks
            case .timestamps(let timestamps): options.timestamps = timestamps
            case .md5Signature(let digest): options.md5Signature = digest
            case .unknown: break
            }
        }
        return options
    }

    /// The bytes before any SACK option, in Linux's layout (tcp_options_write): each option
    /// padded with no-operations to 4 bytes, SACK-permitted sharing a word with timestamps.
    private var fixedLength: Int {
        var length = 0
        if md5Signature != nil { length += 20 }
        if maximumSegmentSize != nil { length += 4 }
        if timestamps != nil { length += 12 } else if sackPermitted { length += 4 }
        if windowScale != nil { length += 4 }
        return length
    }

    /// How many SACK blocks `emit` writes: as many as fit in 40 bytes after the other
    /// options (RFC 2018 §3: three with timestamps, four without).
    public var emittedSackBlockCount: Int {
        guard !sackBlocks.isEmpty else { return 0 }
        return min(sackBlocks.count, max(0, (Self.maximumLength - fixedLength - 4) / 8))
    }

    /// The options area's length: a multiple of 4, at most 40.
    public var bufferLength: Int {
        let blocks = emittedSackBlockCount
        return fixedLength + (blocks > 0 ? 4 + 8 * blocks : 0)
    }

    /// Writes the options area (`bufferLength` bytes) into `buffer`, in Linux's order: MD5,
    /// MSS, SACK-permitted with timestamps, window scale, SACK blocks. Traps if `buffer` is
    /// shorter than `bufferLength`.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= bufferLength, "TCPOptions.emit: buffer shorter than the options")
        let nop = TCPOptionKind.noOperation
        var at = 0
        func put(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
            buffer.storeBigEndian32(UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d), at: at)
            at += 4
        }
        if let digest = md5Signature {
            put(nop, nop, TCPOptionKind.md5Signature, 18)
            buffer.storeBigEndian64(digest.high, at: at)
            buffer.storeBigEndian64(digest.low, at: at + 8)
            at += 16
        }
        if let mss = maximumSegmentSize {
            put(TCPOptionKind.maximumSegmentSize, 4, UInt8(mss >> 8), UInt8(mss & 0xff))
        }
        if let timestamps {
            if sackPermitted { put(TCPOptionKind.sackPermitted, 2, TCPOptionKind.timestamps, 10) }
            else { put(nop, nop, TCPOptionKind.timestamps, 10) }
            buffer.storeBigEndian32(timestamps.value, at: at)
            buffer.storeBigEndian32(timestamps.echoReply, at: at + 4)
            at += 8
        } else if sackPermitted {
            put(nop, nop, TCPOptionKind.sackPermitted, 2)
        }
        if let shift = windowScale {
            put(nop, TCPOptionKind.windowScale, 3, shift)
        }
        let blocks = emittedSackBlockCount
        if blocks > 0 {
            put(nop, nop, TCPOptionKind.sack, UInt8(2 + 8 * blocks))
            for block in sackBlocks.prefix(blocks) {
                buffer.storeBigEndian32(block.left, at: at)
                buffer.storeBigEndian32(block.right, at: at + 4)
                at += 8
            }
        }
    }
}
