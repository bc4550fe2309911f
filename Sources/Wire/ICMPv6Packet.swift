// ICMPv6 (RFC 4443): a byte view over a received message and the message as values
// (`ICMPv6Repr`). The checksum covers the IPv6 pseudo-header (RFC 4443 §2.3); the data after
// the 8-byte header stays in the buffer, and nothing here allocates.

/// A read-only view of an ICMPv6 message (RFC 4443 §2.1): the upper-layer payload of an
/// IPv6 packet.
///
/// `init(checking:)` validates the length the accessors rely on, so no accessor traps
/// afterwards. The view must not outlive the buffer.
public struct ICMPv6Packet {
    /// Byte offsets of the header fields (RFC 4443 §2.1).
    public enum Field {
        /// Type; below 128 an error message, from 128 informational.
        public static let type = 0
        /// Code.
        public static let code = 1
        /// Checksum over the pseudo-header and the message.
        public static let checksum = 2
        /// The second 32-bit word (identifier and sequence, MTU, pointer, or unused).
        public static let restOfHeader = 4
        /// Echo data, or as much of the invoking packet as fits (RFC 4443 §3).
        public static let data = 8
    }

    /// The header's length.
    public static let headerLength = 8

    /// The message, header first.
    public let buffer: UnsafeRawBufferPointer

    /// Checks that `buffer` holds at least the 8-byte header.
    public init(checking buffer: UnsafeRawBufferPointer) throws(WireError) {
        guard buffer.count >= Self.headerLength else { throw .truncated }
        self.buffer = buffer
    }

    /// Type.
    public var type: UInt8 { buffer.byte(at: Field.type) }
    /// Code.
    public var code: UInt8 { buffer.byte(at: Field.code) }
    /// Checksum as stored.
    public var checksum: UInt16 { buffer.bigEndian16(at: Field.checksum) }
    /// The second 32-bit word.
    public var restOfHeader: UInt32 { buffer.bigEndian32(at: Field.restOfHeader) }
    /// An echo's identifier (RFC 4443 §4.1).
    public var identifier: UInt16 { buffer.bigEndian16(at: Field.restOfHeader) }
    /// An echo's sequence number.
    public var sequenceNumber: UInt16 { buffer.bigEndian16(at: Field.restOfHeader + 2) }
    /// What follows the header.
    public var data: UnsafeRawBufferPointer { buffer.bytes(from: Field.data) }
    /// Whether this is an error message (type < 128, RFC 4443 §2.1).
    public var isError: Bool { type < 128 }

    /// Whether the checksum verifies for a packet from `source` to `destination` (RFC 4443 §2.3).
    public func checksumIsValid(source: IPv6Address, destination: IPv6Address) -> Bool {
        var sum = PseudoHeader.ipv6(source: source, destination: destination, nextHeader: IPProtocolNumber.icmpv6,
                                    length: buffer.count)
        sum.add(buffer)
        return sum.value == 0
    }

    /// The invoking packet an error message quotes, checked as a quoted IPv6 header.
    public func quotedPacket() throws(WireError) -> IPv6Packet {
        try IPv6Packet(checkingQuoted: data)
    }
}

/// An ICMPv6 message's type-specific header fields (RFC 4443 §3, §4). Each case is one
/// canonical encoding; anything else (other types such as NDP's, or nonzero "unused" bits)
/// is `other`, so parse and emit round-trip every message.
public enum ICMPv6Message: Equatable, Sendable {
    /// Type 1: destination unreachable (RFC 4443 §3.1).
    case destinationUnreachable(code: UInt8)
    /// Type 2 code 0: packet too big, with the next hop's MTU (RFC 4443 §3.2).
    case packetTooBig(mtu: UInt32)
    /// Type 3: time exceeded (code 0 hop limit, 1 reassembly; RFC 4443 §3.3).
    case timeExceeded(code: UInt8)
    /// Type 4: parameter problem at byte `pointer` of the invoking packet (RFC 4443 §3.4).
    case parameterProblem(code: UInt8, pointer: UInt32)
    /// Type 128 code 0: echo request (RFC 4443 §4.1).
    case echoRequest(identifier: UInt16, sequenceNumber: UInt16)
    /// Type 129 code 0: echo reply (RFC 4443 §4.2).
    case echoReply(identifier: UInt16, sequenceNumber: UInt16)
    /// Any other type, code and second word.
    case other(type: UInt8, code: UInt8, restOfHeader: UInt32)

    /// Destination-unreachable codes (RFC 4443 §3.1).
    public enum UnreachableCode {
        /// No route to destination.
        public static let noRoute: UInt8 = 0
        /// Communication administratively prohibited.
        public static let administrativelyProhibited: UInt8 = 1
        /// Address unreachable.
        public static let address: UInt8 = 3
        /// Port unreachable.
        public static let port: UInt8 = 4
        /// Reject route to destination.
        public static let rejectRoute: UInt8 = 6
    }

    /// Parameter-problem codes (RFC 4443 §3.4).
    public enum ParameterProblemCode {
        /// Erroneous header field.
        public static let erroneousField: UInt8 = 0
        /// Unrecognized next header type.
        public static let unrecognizedNextHeader: UInt8 = 1
        /// Unrecognized IPv6 option.
        public static let unrecognizedOption: UInt8 = 2
        /// First fragment has an incomplete header chain (RFC 7112).
        public static let incompleteHeaderChain: UInt8 = 3
    }

    /// Decodes the header fields.
    public init(type: UInt8, code: UInt8, restOfHeader rest: UInt32) {
        let high = UInt16(rest >> 16), low = UInt16(rest & 0xffff)
        switch (type, code) {
        case (1, _) where rest == 0: self = .destinationUnreachable(code: code)
        case (2, 0): self = .packetTooBig(mtu: rest)
        case (3, _) where rest == 0: self = .timeExceeded(code: code)
        case (4, _): self = .parameterProblem(code: code, pointer: rest)
        case (128, 0): self = .echoRequest(identifier: high, sequenceNumber: low)
        case (129, 0): self = .echoReply(identifier: high, sequenceNumber: low)
        default: self = .other(type: type, code: code, restOfHeader: rest)
        }
    }

    /// Type.
    public var type: UInt8 {
        switch self {
        case .destinationUnreachable: 1
        case .packetTooBig: 2
        case .timeExceeded: 3
        case .parameterProblem: 4
        case .echoRequest: 128
        case .echoReply: 129
        case .other(let type, _, _): type
        }
    }

    /// Code.
    public var code: UInt8 {
        switch self {
        case .packetTooBig, .echoRequest, .echoReply: 0
        case .destinationUnreachable(let code), .timeExceeded(let code), .parameterProblem(let code, _): code
        case .other(_, let code, _): code
        }
    }

    /// The second 32-bit word.
    public var restOfHeader: UInt32 {
        switch self {
        case .destinationUnreachable, .timeExceeded: 0
        case .packetTooBig(let mtu): mtu
        case .parameterProblem(_, let pointer): pointer
        case .echoRequest(let id, let seq), .echoReply(let id, let seq): UInt32(id) << 16 | UInt32(seq)
        case .other(_, _, let rest): rest
        }
    }
}

/// An ICMPv6 message as values (RFC 4443): the header fields, and the length of the data
/// that follows, which stays in the buffer.
public struct ICMPv6Repr: Equatable, Sendable {
    /// Type, code and second word.
    public var message: ICMPv6Message
    /// Bytes after the 8-byte header.
    public var payloadLength: Int

    /// Creates a message.
    public init(message: ICMPv6Message, payloadLength: Int = 0) {
        self.message = message
        self.payloadLength = payloadLength
    }

    /// The header's length, 8.
    public var headerLength: Int { ICMPv6Packet.headerLength }
    /// The message's length: header and data.
    public var bufferLength: Int { ICMPv6Packet.headerLength + payloadLength }

    /// Reads a checked message from `source` to `destination`, verifying its checksum when
    /// `verifyChecksum` (RFC 4443 §2.3).
    public static func parse(_ packet: ICMPv6Packet, source: IPv6Address, destination: IPv6Address,
                             verifyChecksum: Bool = true) throws(WireError) -> ICMPv6Repr {
        if verifyChecksum && !packet.checksumIsValid(source: source, destination: destination) { throw .badChecksum }
        return ICMPv6Repr(message: ICMPv6Message(type: packet.type, code: packet.code, restOfHeader: packet.restOfHeader),
                          payloadLength: packet.buffer.count - ICMPv6Packet.headerLength)
    }

    /// Checks and parses the message in `bytes` (the upper-layer payload).
    public static func parse(_ bytes: UnsafeRawBufferPointer, source: IPv6Address, destination: IPv6Address,
                             verifyChecksum: Bool = true) throws(WireError) -> ICMPv6Repr {
        try parse(ICMPv6Packet(checking: bytes), source: source, destination: destination, verifyChecksum: verifyChecksum)
    }

    /// Writes the header into `buffer` and the checksum over the pseudo-header for
    /// `source`→`destination` and the first `bufferLength` bytes: the payload must already
    /// be in place after the header. Traps if `buffer` is shorter than `bufferLength`.
    public func emit(into buffer: UnsafeMutableRawBufferPointer, source: IPv6Address, destination: IPv6Address) {
        typealias F = ICMPv6Packet.Field
        precondition(buffer.count >= bufferLength, "ICMPv6Repr.emit: buffer shorter than the message")
        buffer.storeByte(message.type, at: F.type)
        buffer.storeByte(message.code, at: F.code)
        buffer.storeBigEndian16(0, at: F.checksum)
        buffer.storeBigEndian32(message.restOfHeader, at: F.restOfHeader)
        var sum = PseudoHeader.ipv6(source: source, destination: destination, nextHeader: IPProtocolNumber.icmpv6,
                                    length: bufferLength)
        sum.add(buffer.readOnly.bytes(0, bufferLength))
        buffer.storeBigEndian16(sum.value, at: F.checksum)
    }
}

// MARK: - Array conveniences (allocate; for control paths and tests)

extension ICMPv6Repr {
    /// The message with `payload` as its data (its count becomes `payloadLength`).
    public func emit<C: Collection>(payload: C, source: IPv6Address, destination: IPv6Address) -> [UInt8]
        where C.Element == UInt8
    {
        var repr = self
        repr.payloadLength = payload.count
        return makeBytes(count: repr.bufferLength) { buffer in
            buffer.store(payload, at: ICMPv6Packet.headerLength)
            repr.emit(into: buffer, source: source, destination: destination)
        }
    }
}
