// IPv6 (RFC 8200 §3): a byte view over a received buffer, and the fixed header as values
// (`IPv6Repr`). Extension headers are walked in IPv6ExtensionHeaders.swift.

/// A read-only view of an IPv6 packet (RFC 8200 §3) in a buffer the caller owns.
///
/// `init(checking:)` validates every length the accessors rely on, so no accessor traps
/// afterwards. The view must not outlive the buffer.
public struct IPv6Packet {
    /// Byte offsets of the fixed header's fields (RFC 8200 §3).
    public enum Field {
        /// Version (4 bits), traffic class (8), flow label (20).
        public static let versionClassAndFlow = 0
        /// Payload length: everything after the fixed header, extension headers included.
        public static let payloadLength = 4
        /// Next header: the first extension header or the upper-layer protocol.
        public static let nextHeader = 6
        /// Hop limit.
        public static let hopLimit = 7
        /// Source address.
        public static let source = 8
        /// Destination address.
        public static let destination = 24
    }

    /// The fixed header's length.
    public static let headerLength = 40

    /// The buffer as given (it may extend past the payload length).
    public let buffer: UnsafeRawBufferPointer
    /// Where the payload ends: 40 + payload length, or the buffer's end for a quoted packet.
    public let payloadEnd: Int

    /// Checks that `buffer` starts with a whole IPv6 packet: at least 40 bytes, version 6, and
    /// the payload length within the buffer (RFC 8200 §3). A payload length of 0 is an empty
    /// payload (jumbograms, RFC 2675, are not supported and fail the extension-header walk).
    public init(checking buffer: UnsafeRawBufferPointer) throws(WireError) {
        let payloadLength = try Self.checkHeader(buffer)
        guard buffer.count >= Self.headerLength + payloadLength else { throw .truncated }
        self.buffer = buffer
        self.payloadEnd = Self.headerLength + payloadLength
    }

    /// Checks the fixed header only, for the start of a packet quoted in an ICMPv6 error
    /// ("as much of invoking packet as possible", RFC 4443 §3): the payload is whatever follows
    /// the header, up to the payload length.
    public init(checkingQuoted buffer: UnsafeRawBufferPointer) throws(WireError) {
        let payloadLength = try Self.checkHeader(buffer)
        self.buffer = buffer
        self.payloadEnd = min(Self.headerLength + payloadLength, buffer.count)
    }

    private static func checkHeader(_ buffer: UnsafeRawBufferPointer) throws(WireError) -> Int {
        guard buffer.count >= headerLength else { throw .truncated }
        guard buffer.byte(at: Field.versionClassAndFlow) >> 4 == 6 else { throw .malformed("version") }
        return Int(buffer.bigEndian16(at: Field.payloadLength))
    }

    /// Version: 6.
    public var version: UInt8 { buffer.byte(at: Field.versionClassAndFlow) >> 4 }
    /// Traffic class (RFC 8200 §7): DSCP and ECN.
    public var trafficClass: UInt8 { UInt8(truncatingIfNeeded: buffer.bigEndian32(at: Field.versionClassAndFlow) >> 20) }
    /// Flow label, 20 bits (RFC 6437).
    public var flowLabel: UInt32 { buffer.bigEndian32(at: Field.versionClassAndFlow) & 0xfffff }
    /// Payload length as stored.
    public var payloadLength: Int { Int(buffer.bigEndian16(at: Field.payloadLength)) }
    /// The first next-header value: an extension header or the upper-layer protocol.
    public var nextHeader: UInt8 { buffer.byte(at: Field.nextHeader) }
    /// Hop limit.
    public var hopLimit: UInt8 { buffer.byte(at: Field.hopLimit) }
    /// Source address.
    public var source: IPv6Address { buffer.ipv6Address(at: Field.source) }
    /// Destination address.
    public var destination: IPv6Address { buffer.ipv6Address(at: Field.destination) }
    /// The payload: extension headers and upper-layer data, up to the payload length.
    public var payload: UnsafeRawBufferPointer { buffer.bytes(Self.headerLength, payloadEnd - Self.headerLength) }

    /// Walks the extension headers to the upper-layer header (RFC 8200 §4).
    public func extensionHeaders(maximumHeaders: Int = IPv6ExtensionHeaderChain.defaultMaximumHeaders) throws(WireError)
        -> IPv6ExtensionHeaderChain
    {
        try IPv6ExtensionHeaderChain.walk(payload, nextHeader: nextHeader, maximumHeaders: maximumHeaders)
    }

    /// The upper-layer header and data once the extension headers are walked: the view
    /// that UDP, TCP and ICMPv6 parse. For a fragment other than the first, these are
    /// fragment data, not a header (check `chain.fragment` first).
    public func upperLayerPayload(_ chain: IPv6ExtensionHeaderChain) -> UnsafeRawBufferPointer {
        payload.bytes(from: min(chain.upperLayerOffset, payload.count))
    }

    /// Decrements the hop limit of the (checked) packet in `buffer` (RFC 8200 §3; IPv6 has
    /// no header checksum). Returns the new hop limit; 0 is left alone.
    @discardableResult
    public static func decrementHopLimit(in buffer: UnsafeMutableRawBufferPointer) -> UInt8 {
        precondition(buffer.count >= headerLength, "decrementHopLimit: not an IPv6 header")
        let hopLimit = buffer.readOnly.byte(at: Field.hopLimit)
        guard hopLimit > 0 else { return 0 }
        buffer.storeByte(hopLimit - 1, at: Field.hopLimit)
        return hopLimit - 1
    }
}

/// The IPv6 fixed header as values (RFC 8200 §3): what `parse` accepts and `emit` writes.
public struct IPv6Repr: Equatable, Sendable {
    /// Traffic class.
    public var trafficClass: UInt8 = 0
    /// Flow label (20 bits).
    public var flowLabel: UInt32 = 0
    /// The first next-header value (an extension header or the upper layer).
    public var nextHeader: UInt8
    /// Hop limit.
    public var hopLimit: UInt8 = 64
    /// Source address.
    public var source: IPv6Address
    /// Destination address.
    public var destination: IPv6Address
    /// The payload's length: extension headers and upper-layer data.
    public var payloadLength: Int

    /// Creates a header.
    public init(nextHeader: UInt8, source: IPv6Address, destination: IPv6Address, hopLimit: UInt8 = 64,
                payloadLength: Int = 0) {
        self.nextHeader = nextHeader
        self.source = source
        self.destination = destination
        self.hopLimit = hopLimit
        self.payloadLength = payloadLength
    }

    /// The fixed header's length, 40.
    public var headerLength: Int { IPv6Packet.headerLength }
    /// The packet's length: header and payload.
    public var bufferLength: Int { IPv6Packet.headerLength + payloadLength }

    /// Reads a checked packet's fixed header (the view already checked version and lengths).
    public static func parse(_ packet: IPv6Packet) -> IPv6Repr {
        var repr = IPv6Repr(nextHeader: packet.nextHeader, source: packet.source, destination: packet.destination,
                            hopLimit: packet.hopLimit, payloadLength: packet.payloadEnd - IPv6Packet.headerLength)
        repr.trafficClass = packet.trafficClass
        repr.flowLabel = packet.flowLabel
        return repr
    }

    /// Checks and parses the packet at the start of `bytes`.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> IPv6Repr {
        parse(try IPv6Packet(checking: bytes))
    }

    /// Writes the 40-byte header into `buffer`; the payload area is not touched. Traps if
    /// `buffer` is shorter than 40 bytes or the payload exceeds 65,535 bytes.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        typealias F = IPv6Packet.Field
        precondition(buffer.count >= IPv6Packet.headerLength, "IPv6Repr.emit: buffer shorter than the header")
        precondition(payloadLength <= 65_535, "IPv6Repr.emit: payload over 65535 (jumbograms unsupported)")
        buffer.storeBigEndian32(UInt32(6) << 28 | UInt32(trafficClass) << 20 | (flowLabel & 0xfffff), at: F.versionClassAndFlow)
        buffer.storeBigEndian16(UInt16(payloadLength), at: F.payloadLength)
        buffer.storeByte(nextHeader, at: F.nextHeader)
        buffer.storeByte(hopLimit, at: F.hopLimit)
        buffer.storeIPv6Address(source, at: F.source)
        buffer.storeIPv6Address(destination, at: F.destination)
    }
}

// MARK: - Array conveniences (allocate; for control paths and tests)

/// The name the first Wire layer used for `IPv6Repr`.
public typealias IPv6Header = IPv6Repr

extension IPv6Repr {
    /// The fixed header's length.
    public static let length = IPv6Packet.headerLength

    /// Parses the fixed header of the packet at the start of `bytes`.
    /// - Returns: the header and the range of `bytes` after it up to the payload length.
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(WireError) -> (IPv6Repr, Range<Int>) {
        let start = bytes.startIndex
        return try withBytes(bytes) { raw throws(WireError) in
            let packet = try IPv6Packet(checking: raw)
            return (parse(packet), (start + IPv6Packet.headerLength)..<(start + packet.payloadEnd))
        }
    }

    /// The header bytes for a payload of `payloadLength`.
    public func emit(payloadLength: Int) -> [UInt8] {
        var header = self
        header.payloadLength = payloadLength
        return makeBytes(count: IPv6Packet.headerLength) { header.emit(into: $0) }
    }
}
