// IPv4 (RFC 791 §3.1): a byte view over a received buffer, and the parsed header (`IPv4Repr`)
// that emits itself. The view reads fields in place and allocates nothing.

/// A read-only view of an IPv4 packet (RFC 791 §3.1) in a buffer the caller owns.
///
/// `init(checking:)` validates every length the accessors rely on, so no accessor traps
/// afterwards. The view must not outlive the buffer.
public struct IPv4Packet {
    /// Byte offsets of the header fields (RFC 791 §3.1, figure 4).
    public enum Field {
        /// Version (high nibble) and IHL (low nibble, in 32-bit words).
        public static let versionAndHeaderLength = 0
        /// Type of service: DSCP (RFC 2474) and ECN (RFC 3168).
        public static let typeOfService = 1
        /// Total length of header and data, in bytes.
        public static let totalLength = 2
        /// Identification.
        public static let identification = 4
        /// Flags (reserved, DF, MF) and the 13-bit fragment offset.
        public static let flagsAndFragmentOffset = 6
        /// Time to live.
        public static let timeToLive = 8
        /// Protocol.
        public static let protocolNumber = 9
        /// Header checksum.
        public static let checksum = 10
        /// Source address.
        public static let source = 12
        /// Destination address.
        public static let destination = 16
        /// Options start here (when IHL > 5).
        public static let options = 20
    }

    /// The header without options (IHL 5).
    public static let minimumHeaderLength = 20
    /// The header with 40 bytes of options (IHL 15).
    public static let maximumHeaderLength = 60

    /// The buffer as given (it may extend past the total length, e.g. link padding).
    public let buffer: UnsafeRawBufferPointer
    /// The header's length in bytes (IHL × 4).
    public let headerLength: Int
    /// Where the payload ends: the total length, or the buffer's end for a quoted packet.
    public let payloadEnd: Int

    /// Checks that `buffer` starts with a whole IPv4 packet: at least 20 bytes, version 4,
    /// IHL ≥ 5, the header inside the buffer, and total length ≥ header length and within
    /// the buffer (RFC 791 §3.1; RFC 1122 §3.2.1.1–2).
    public init(checking buffer: UnsafeRawBufferPointer) throws(WireError) {
        let (headerLength, totalLength) = try Self.checkHeader(buffer)
        guard buffer.count >= totalLength else { throw .truncated }
        self.buffer = buffer
        self.headerLength = headerLength
        self.payloadEnd = totalLength
    }

    /// The checks `IPv4Repr.parse` makes beyond the view's, without allocating: the reserved
    /// flag clear, the datagram within 65,535 bytes once reassembled (RFC 791 §3.2) and the
    /// options well-formed (RFC 791 §3.1). The checksum is not verified.
    public func validate() throws(WireError) {
        guard !reservedFlag else { throw .malformed("reserved flag") }
        guard Int(fragmentOffset) * 8 + (payloadEnd - headerLength) <= 65_535 - headerLength else {
            throw .malformed("fragment offset")
        }
        var reader = IPv4OptionReader(options)
        while try reader.next() != nil {}
    }

    /// Checks the header only, for the start of a packet quoted in an ICMP error (RFC 792:
    /// "Internet Header + 64 bits of Original Data Datagram"; RFC 1812 §4.3.2.3 allows more):
    /// the payload is whatever follows the header, up to the total length.
    public init(checkingQuoted buffer: UnsafeRawBufferPointer) throws(WireError) {
        let (headerLength, totalLength) = try Self.checkHeader(buffer)
        self.buffer = buffer
        self.headerLength = headerLength
        self.payloadEnd = min(totalLength, buffer.count)
    }

    private static func checkHeader(_ buffer: UnsafeRawBufferPointer) throws(WireError) -> (Int, Int) {
        guard buffer.count >= minimumHeaderLength else { throw .truncated }
        let first = buffer.byte(at: Field.versionAndHeaderLength)
        guard first >> 4 == 4 else { throw .malformed("version") }
        let headerLength = Int(first & 0x0f) * 4
        guard headerLength >= minimumHeaderLength else { throw .malformed("header length") }
        guard buffer.count >= headerLength else { throw .truncated }
        let totalLength = Int(buffer.bigEndian16(at: Field.totalLength))
        guard totalLength >= headerLength else { throw .malformed("total length") }
        return (headerLength, totalLength)
    }

    /// Version: 4.
    public var version: UInt8 { buffer.byte(at: Field.versionAndHeaderLength) >> 4 }
    /// Type of service (RFC 791), read today as DSCP and ECN.
    public var typeOfService: UInt8 { buffer.byte(at: Field.typeOfService) }
    /// Differentiated services code point, the high six bits (RFC 2474 §3).
    public var dscp: UInt8 { typeOfService >> 2 }
    /// Explicit congestion notification, the low two bits (RFC 3168 §5).
    public var ecn: UInt8 { typeOfService & 0x03 }
    /// Total length (header and data).
    public var totalLength: Int { Int(buffer.bigEndian16(at: Field.totalLength)) }
    /// Identification (RFC 791; RFC 6864 for atomic datagrams).
    public var identification: UInt16 { buffer.bigEndian16(at: Field.identification) }
    /// The reserved flag bit, which must be zero (RFC 791 §3.1).
    public var reservedFlag: Bool { buffer.bigEndian16(at: Field.flagsAndFragmentOffset) & 0x8000 != 0 }
    /// DF: don't fragment.
    public var dontFragment: Bool { buffer.bigEndian16(at: Field.flagsAndFragmentOffset) & 0x4000 != 0 }
    /// MF: more fragments.
    public var moreFragments: Bool { buffer.bigEndian16(at: Field.flagsAndFragmentOffset) & 0x2000 != 0 }
    /// Fragment offset in 8-byte units.
    public var fragmentOffset: UInt16 { buffer.bigEndian16(at: Field.flagsAndFragmentOffset) & 0x1fff }
    /// Whether this is a fragment (MF set or a nonzero offset).
    public var isFragment: Bool { moreFragments || fragmentOffset != 0 }
    /// Time to live.
    public var timeToLive: UInt8 { buffer.byte(at: Field.timeToLive) }
    /// The payload's protocol (`IPProtocolNumber`).
    public var protocolNumber: UInt8 { buffer.byte(at: Field.protocolNumber) }
    /// The header checksum as stored.
    public var headerChecksum: UInt16 { buffer.bigEndian16(at: Field.checksum) }
    /// Source address.
    public var source: IPv4Address { buffer.ipv4Address(at: Field.source) }
    /// Destination address.
    public var destination: IPv4Address { buffer.ipv4Address(at: Field.destination) }
    /// The header, options included.
    public var header: UnsafeRawBufferPointer { buffer.bytes(0, headerLength) }
    /// The options area (empty for IHL 5).
    public var options: UnsafeRawBufferPointer { buffer.bytes(Field.options, headerLength - Field.options) }
    /// The payload: after the header, up to the total length (link padding excluded).
    public var payload: UnsafeRawBufferPointer { buffer.bytes(headerLength, payloadEnd - headerLength) }
    /// Whether the header checksum verifies (RFC 791 §3.1).
    public var checksumIsValid: Bool { InternetChecksum.checksum(header) == 0 }

    /// Decrements the TTL of the (checked) packet in `buffer` and adjusts its checksum
    /// incrementally (RFC 1812 §5.3.1; RFC 1624 §3). Returns the new TTL; a TTL of 0 is left
    /// alone (the caller answers with time exceeded instead of forwarding).
    @discardableResult
    public static func decrementTimeToLive(in buffer: UnsafeMutableRawBufferPointer) -> UInt8 {
        precondition(buffer.count >= minimumHeaderLength, "decrementTimeToLive: not an IPv4 header")
        let view = buffer.readOnly
        let ttl = view.byte(at: Field.timeToLive)
        guard ttl > 0 else { return 0 }
        let oldWord = view.bigEndian16(at: Field.timeToLive)
        let newWord = oldWord &- 0x0100
        buffer.storeBigEndian16(newWord, at: Field.timeToLive)
        let adjusted = InternetChecksum.adjusted(view.bigEndian16(at: Field.checksum), replacing: oldWord, with: newWord)
        buffer.storeBigEndian16(adjusted, at: Field.checksum)
        return ttl - 1
    }
}

extension IPv4Packet {
    /// Completes a header the user of a raw socket wrote (IP_HDRINCL, Linux's
    /// `raw_send_hdrinc`): with an IHL of at least 5, a zero source becomes `source`, the total
    /// length the buffer's length, a zero identification `identification`, and the checksum
    /// is computed; a smaller IHL leaves the header as written. Returns false (EINVAL) when the
    /// buffer is shorter than 20 bytes or than the header its IHL announces.
    public static func completeUserHeader(in buffer: UnsafeMutableRawBufferPointer, source: IPv4Address,
                                          identification: UInt16) -> Bool {
        guard buffer.count >= minimumHeaderLength, buffer.count <= 65_535 else { return false }
        let view = buffer.readOnly
        let headerLength = Int(view.byte(at: Field.versionAndHeaderLength) & 0x0f) * 4
        guard headerLength <= buffer.count else { return false }
        guard headerLength >= minimumHeaderLength else { return true }
        if view.ipv4Address(at: Field.source).value == 0 { buffer.storeIPv4Address(source, at: Field.source) }
        buffer.storeBigEndian16(UInt16(buffer.count), at: Field.totalLength)
        if view.bigEndian16(at: Field.identification) == 0 {
            buffer.storeBigEndian16(identification, at: Field.identification)
        }
        buffer.storeBigEndian16(0, at: Field.checksum)
        buffer.storeBigEndian16(InternetChecksum.checksum(view.bytes(0, headerLength)), at: Field.checksum)
        return true
    }
}

/// Walks IPv4 options (RFC 791 §3.1, "Options"): end-of-list (0) ends the list, no-operation
/// (1) is one byte, every other option is type, length (≥ 2, counting type and length) and data,
/// and must fit in the area.
public struct IPv4OptionReader {
    /// One option: its type byte and its data (after type and length).
    public struct Option {
        /// The option type (copied flag, class, number).
        public var type: UInt8
        /// The data bytes.
        public var data: UnsafeRawBufferPointer
    }

    private let area: UnsafeRawBufferPointer
    private var offset = 0

    /// A reader over an options area.
    public init(_ area: UnsafeRawBufferPointer) { self.area = area }

    /// The next option, skipping no-operations; `nil` at end-of-list or the area's end.
    public mutating func next() throws(WireError) -> Option? {
        while offset < area.count {
            let type = area.byte(at: offset)
            switch type {
            case 0:
                offset = area.count
                return nil
            case 1:
                offset += 1
            default:
                guard offset + 1 < area.count else { throw .malformed("options") }
                let length = Int(area.byte(at: offset + 1))
                guard length >= 2, offset + length <= area.count else { throw .malformed("options") }
                let option = Option(type: type, data: area.bytes(offset + 2, length - 2))
                offset += length
                return option
            }
        }
        return nil
    }
}

/// The IPv4 header as values (RFC 791 §3.1): what `parse` accepts and `emit` writes.
///
/// Options are kept as raw bytes; an empty array (the common case) costs no allocation.
public struct IPv4Repr: Equatable, Sendable {
    /// Type of service / DSCP+ECN.
    public var typeOfService: UInt8 = 0
    /// Identification (fragment reassembly).
    public var identification: UInt16 = 0
    /// DF: don't fragment.
    public var dontFragment = false
    /// MF: more fragments.
    public var moreFragments = false
    /// Fragment offset in 8-byte units (13 bits).
    public var fragmentOffset: UInt16 = 0
    /// Time to live.
    public var timeToLive: UInt8 = 64
    /// The payload's protocol (`IPProtocolNumber`: 1 ICMP, 6 TCP, 17 UDP, 89 OSPF…).
    public var protocolNumber: UInt8
    /// Source address.
    public var source: IPv4Address
    /// Destination address.
    public var destination: IPv4Address
    /// Options as on the wire, at most 40 bytes; `emit` pads them to a multiple of 4 with
    /// end-of-list bytes.
    public var options: [UInt8] = []
    /// The payload's length in bytes (total length − header length).
    public var payloadLength: Int

    /// Creates a header with no options.
    public init(protocolNumber: UInt8, source: IPv4Address, destination: IPv4Address,
                timeToLive: UInt8 = 64, payloadLength: Int = 0) {
        self.protocolNumber = protocolNumber
        self.source = source
        self.destination = destination
        self.timeToLive = timeToLive
        self.payloadLength = payloadLength
    }

    /// The header's length with options padded (RFC 791 §3.1: IHL counts 32-bit words).
    public var headerLength: Int { IPv4Packet.minimumHeaderLength + (options.count + 3) / 4 * 4 }
    /// The packet's length: header and payload.
    public var bufferLength: Int { headerLength + payloadLength }

    /// Validates and reads a checked packet: the reserved flag clear, options well-formed,
    /// the datagram within 65,535 bytes once reassembled (RFC 791 §3.2), and the header
    /// checksum when `verifyChecksum` (RFC 791 §3.1). Allocates only if there are options.
    public static func parse(_ packet: IPv4Packet, verifyChecksum: Bool = true) throws(WireError) -> IPv4Repr {
        if verifyChecksum && !packet.checksumIsValid { throw .badChecksum }
        try packet.validate()
        let payloadLength = packet.payloadEnd - packet.headerLength
        var repr = IPv4Repr(protocolNumber: packet.protocolNumber, source: packet.source,
                            destination: packet.destination, timeToLive: packet.timeToLive,
                            payloadLength: payloadLength)
        repr.typeOfService = packet.typeOfService
        repr.identification = packet.identification
        repr.dontFragment = packet.dontFragment
        repr.moreFragments = packet.moreFragments
        repr.fragmentOffset = packet.fragmentOffset
        if !packet.options.isEmpty { repr.options = Array(packet.options) }
        return repr
    }

    /// Checks and parses the packet at the start of `bytes` (see `IPv4Packet.init(checking:)`).
    public static func parse(_ bytes: UnsafeRawBufferPointer, verifyChecksum: Bool = true) throws(WireError) -> IPv4Repr {
        try parse(IPv4Packet(checking: bytes), verifyChecksum: verifyChecksum)
    }

    /// Writes the header into the first `headerLength` bytes of `buffer`, checksum included;
    /// the payload area is not touched. Traps if `buffer` is shorter than the header, the
    /// options exceed 40 bytes, or the total exceeds 65,535 (programming errors).
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        typealias F = IPv4Packet.Field
        let headerLength = self.headerLength
        precondition(options.count <= 40, "IPv4Repr.emit: more than 40 bytes of options")
        precondition(bufferLength <= 65_535, "IPv4Repr.emit: total length over 65535")
        precondition(buffer.count >= headerLength, "IPv4Repr.emit: buffer shorter than the header")
        buffer.storeByte(0x40 | UInt8(headerLength / 4), at: F.versionAndHeaderLength)
        buffer.storeByte(typeOfService, at: F.typeOfService)
        buffer.storeBigEndian16(UInt16(bufferLength), at: F.totalLength)
        buffer.storeBigEndian16(identification, at: F.identification)
        let flags: UInt16 = (dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0) | (fragmentOffset & 0x1fff)
        buffer.storeBigEndian16(flags, at: F.flagsAndFragmentOffset)
        buffer.storeByte(timeToLive, at: F.timeToLive)
        buffer.storeByte(protocolNumber, at: F.protocolNumber)
        buffer.storeBigEndian16(0, at: F.checksum)
        buffer.storeIPv4Address(source, at: F.source)
        buffer.storeIPv4Address(destination, at: F.destination)
        options.withUnsafeBytes { buffer.copy($0, to: F.options, count: headerLength - F.options) }
        let sum = InternetChecksum.checksum(buffer.readOnly.bytes(0, headerLength))
        buffer.storeBigEndian16(sum, at: F.checksum)
    }
}

// MARK: - Array conveniences (allocate; for control paths and tests)

/// The name the first Wire layer used for `IPv4Repr`.
public typealias IPv4Header = IPv4Repr

extension IPv4Repr {
    /// The fixed header's length.
    public static let minimumLength = IPv4Packet.minimumHeaderLength

    /// Parses the packet at the start of `bytes`.
    /// - Returns: the header and the range of `bytes` holding its payload (link padding past
    ///   the total length excluded), in `bytes`' indices.
    public static func parse(_ bytes: ArraySlice<UInt8>, verifyChecksum: Bool = true) throws(WireError)
        -> (IPv4Repr, Range<Int>)
    {
        let start = bytes.startIndex
        return try withBytes(bytes) { raw throws(WireError) in
            let packet = try IPv4Packet(checking: raw)
            let repr = try parse(packet, verifyChecksum: verifyChecksum)
            return (repr, (start + packet.headerLength)..<(start + packet.payloadEnd))
        }
    }

    /// The header bytes for a payload of `payloadLength`, with a correct checksum.
    public func emit(payloadLength: Int) -> [UInt8] {
        var header = self
        header.payloadLength = payloadLength
        return makeBytes(count: header.headerLength) { header.emit(into: $0) }
    }
}
