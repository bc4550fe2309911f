// UDP (RFC 768): a byte view over a received datagram and its header as values (`UDPRepr`).
// The checksum covers the IPv4 or IPv6 pseudo-header; the data stays in the buffer.

/// A read-only view of a UDP datagram (RFC 768) in a buffer the caller owns.
///
/// `init(checking:)` validates every length the accessors rely on, so no accessor traps
/// afterwards. The view must not outlive the buffer.
public struct UDPPacket {
    /// Byte offsets of the header fields (RFC 768, "Format").
    public enum Field {
        /// Source port.
        public static let sourcePort = 0
        /// Destination port.
        public static let destinationPort = 2
        /// Length of header and data.
        public static let length = 4
        /// Checksum over the pseudo-header, header and data (0: none, IPv4 only).
        public static let checksum = 6
        /// Data.
        public static let payload = 8
    }

    /// The header's length.
    public static let headerLength = 8

    /// The IP payload as given (it may extend past the UDP length).
    public let buffer: UnsafeRawBufferPointer

    /// Checks that `buffer` starts with a whole datagram: an 8-byte header and a length field
    /// of at least 8 that fits in the buffer (RFC 768; RFC 1122 §4.1.3.4 discards the rest).
    public init(checking buffer: UnsafeRawBufferPointer) throws(WireError) {
        guard buffer.count >= Self.headerLength else { throw .truncated }
        let length = Int(buffer.bigEndian16(at: Field.length))
        guard length >= Self.headerLength else { throw .malformed("length") }
        guard buffer.count >= length else { throw .truncated }
        self.buffer = buffer
    }

    /// Source port.
    public var sourcePort: UInt16 { buffer.bigEndian16(at: Field.sourcePort) }
    /// Destination port.
    public var destinationPort: UInt16 { buffer.bigEndian16(at: Field.destinationPort) }
    /// Length of header and data.
    public var length: Int { Int(buffer.bigEndian16(at: Field.length)) }
    /// Checksum as stored.
    public var checksum: UInt16 { buffer.bigEndian16(at: Field.checksum) }
    /// The datagram: header and data up to the length field.
    public var datagram: UnsafeRawBufferPointer { buffer.bytes(0, length) }
    /// The data.
    public var payload: UnsafeRawBufferPointer { buffer.bytes(Field.payload, length - Self.headerLength) }

    /// Whether the checksum verifies for `source`→`destination`; a zero checksum ("none",
    /// RFC 768) counts as valid over IPv4 only (RFC 8200 §8.1). Mixed families never verify.
    public func checksumIsValid(source: IPAddress, destination: IPAddress) -> Bool {
        guard source.hasSameFamily(as: destination) else { return false }
        if checksum == 0, case .v4 = source { return true }
        return PseudoHeader.checksum(source: source, destination: destination, protocolNumber: IPProtocolNumber.udp,
                                     segment: datagram) == 0
    }
}

/// A UDP header as values (RFC 768): ports and the length of the data, which stays in the
/// buffer.
public struct UDPRepr: Equatable, Sendable {
    /// Source port.
    public var sourcePort: UInt16
    /// Destination port.
    public var destinationPort: UInt16
    /// The data's length (the length field minus 8).
    public var payloadLength: Int

    /// Creates a header.
    public init(sourcePort: UInt16, destinationPort: UInt16, payloadLength: Int = 0) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.payloadLength = payloadLength
    }

    /// The header's length, 8.
    public var headerLength: Int { UDPPacket.headerLength }
    /// The datagram's length: header and data.
    public var bufferLength: Int { UDPPacket.headerLength + payloadLength }

    /// Reads a checked datagram carried from `source` to `destination`. With
    /// `verifyChecksum`, a nonzero checksum must verify, and a zero one ("no checksum",
    /// RFC 768) is refused over IPv6 (RFC 8200 §8.1) as Linux does by default.
    public static func parse(_ packet: UDPPacket, source: IPAddress, destination: IPAddress,
                             verifyChecksum: Bool = true) throws(WireError) -> UDPRepr {
        if verifyChecksum {
            if packet.checksum == 0, case .v6 = source { throw .malformed("zero checksum over IPv6") }
            guard packet.checksumIsValid(source: source, destination: destination) else { throw .badChecksum }
        }
        return UDPRepr(sourcePort: packet.sourcePort, destinationPort: packet.destinationPort,
                       payloadLength: packet.length - UDPPacket.headerLength)
    }

    /// Checks and parses the datagram at the start of `bytes`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, source: IPAddress, destination: IPAddress,
                             verifyChecksum: Bool = true) throws(WireError) -> UDPRepr {
        try parse(UDPPacket(checking: bytes), source: source, destination: destination, verifyChecksum: verifyChecksum)
    }

    /// Writes the header into `buffer` and, when `fillChecksum`, the checksum over the
    /// pseudo-header for `source`→`destination` and the first `bufferLength` bytes (the payload
    /// must already be in place; a computed 0 is sent as 0xffff, RFC 768). Without
    /// `fillChecksum` the field is 0. Traps if `buffer` is shorter than `bufferLength`, the
    /// length exceeds 65,535, or the families differ.
    public func emit(into buffer: UnsafeMutableRawBufferPointer, source: IPAddress, destination: IPAddress,
                     fillChecksum: Bool = true) {
        typealias F = UDPPacket.Field
        precondition(buffer.count >= bufferLength, "UDPRepr.emit: buffer shorter than the datagram")
        precondition(bufferLength <= 65_535, "UDPRepr.emit: datagram over 65535 bytes")
        buffer.storeBigEndian16(sourcePort, at: F.sourcePort)
        buffer.storeBigEndian16(destinationPort, at: F.destinationPort)
        buffer.storeBigEndian16(UInt16(bufferLength), at: F.length)
        buffer.storeBigEndian16(0, at: F.checksum)
        guard fillChecksum else { return }
        guard var sum = PseudoHeader.start(source: source, destination: destination, protocolNumber: IPProtocolNumber.udp,
                                           length: bufferLength) else {
            preconditionFailure("UDPRepr.emit: source and destination of different families")
        }
        sum.add(buffer.readOnly.bytes(0, bufferLength))
        let value = sum.value
        buffer.storeBigEndian16(value == 0 ? 0xffff : value, at: F.checksum)
    }
}

// MARK: - Array conveniences (allocate; for control paths and tests)

extension UDPRepr {
    /// The datagram with `payload` as its data (its count becomes `payloadLength`).
    public func emit<C: Collection>(payload: C, source: IPAddress, destination: IPAddress) -> [UInt8]
        where C.Element == UInt8
    {
        var repr = self
        repr.payloadLength = payload.count
        return makeBytes(count: repr.bufferLength) { buffer in
            buffer.store(payload, at: UDPPacket.headerLength)
            repr.emit(into: buffer, source: source, destination: destination)
        }
    }
}
