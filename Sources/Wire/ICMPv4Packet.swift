// ICMP for IPv4 (RFC 792): a byte view over a received message and the message as values
// (`ICMPv4Repr`). The data after the 8-byte header (echo data, or the invoking packet of an
// error) stays in the buffer; nothing here allocates.

/// A read-only view of an ICMP message (RFC 792): the whole IPv4 payload.
///
/// `init(checking:)` validates the length the accessors rely on, so no accessor traps
/// afterwards. The view must not outlive the buffer.
public struct ICMPv4Packet {
    /// Byte offsets of the header fields (RFC 792).
    public enum Field {
        /// Type.
        public static let type = 0
        /// Code.
        public static let code = 1
        /// Checksum of the whole message.
        public static let checksum = 2
        /// The second 32-bit word: identifier and sequence number, next-hop MTU, pointer,
        /// gateway address, or unused.
        public static let restOfHeader = 4
        /// Echo data, or the invoking packet's header and first 8 data bytes.
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
    /// An echo's identifier (RFC 792, "Echo or Echo Reply Message").
    public var identifier: UInt16 { buffer.bigEndian16(at: Field.restOfHeader) }
    /// An echo's sequence number.
    public var sequenceNumber: UInt16 { buffer.bigEndian16(at: Field.restOfHeader + 2) }
    /// What follows the header.
    public var data: UnsafeRawBufferPointer { buffer.bytes(from: Field.data) }
    /// Whether the checksum over the whole message verifies (RFC 792).
    public var checksumIsValid: Bool { InternetChecksum.checksum(buffer) == 0 }
    /// Whether the type is an error message that quotes an invoking packet (RFC 792, RFC 1812
    /// §4.3.2.3): destination unreachable, source quench, redirect, time exceeded, parameter
    /// problem.
    public var isError: Bool {
        switch type {
        case 3, 4, 5, 11, 12: true
        default: false
        }
    }

    /// The invoking packet an error message quotes, checked as a quoted IPv4 header.
    public func quotedPacket() throws(WireError) -> IPv4Packet {
        try IPv4Packet(checkingQuoted: data)
    }
}

/// An ICMP message's type-specific header fields (RFC 792; RFC 1191 §4 for the next-hop MTU).
/// Each case is one canonical encoding; anything else, including known types with nonzero
/// bits where RFC 792 says "unused", is `other`, so parse and emit round-trip every message.
public enum ICMPv4Message: Equatable, Sendable {
    /// Type 0: echo reply (code 0).
    case echoReply(identifier: UInt16, sequenceNumber: UInt16)
    /// Type 3: destination unreachable; `nextHopMTU` for code 4 (RFC 1191 §4), else 0.
    case destinationUnreachable(code: UInt8, nextHopMTU: UInt16)
    /// Type 5: redirect to `gateway`.
    case redirect(code: UInt8, gateway: IPv4Address)
    /// Type 8: echo request (code 0).
    case echoRequest(identifier: UInt16, sequenceNumber: UInt16)
    /// Type 11: time exceeded (code 0 TTL, 1 reassembly).
    case timeExceeded(code: UInt8)
    /// Type 12 code 0: parameter problem at byte `pointer` of the invoking header.
    case parameterProblem(pointer: UInt8)
    /// Any other type, code and second word.
    case other(type: UInt8, code: UInt8, restOfHeader: UInt32)

    /// Destination-unreachable codes (RFC 792; RFC 1812 §5.2.7.1 for 13).
    public enum UnreachableCode {
        /// Net unreachable.
        public static let network: UInt8 = 0
        /// Host unreachable.
        public static let host: UInt8 = 1
        /// Protocol unreachable.
        public static let `protocol`: UInt8 = 2
        /// Port unreachable.
        public static let port: UInt8 = 3
        /// Fragmentation needed and DF set (RFC 1191).
        public static let fragmentationNeeded: UInt8 = 4
        /// Communication administratively prohibited (RFC 1812).
        public static let administrativelyProhibited: UInt8 = 13
    }

    /// Decodes the header fields.
    public init(type: UInt8, code: UInt8, restOfHeader rest: UInt32) {
        let high = UInt16(rest >> 16), low = UInt16(rest & 0xffff)
        switch (type, code) {
        case (0, 0): self = .echoReply(identifier: high, sequenceNumber: low)
        case (8, 0): self = .echoRequest(identifier: high, sequenceNumber: low)
        case (3, _) where high == 0: self = .destinationUnreachable(code: code, nextHopMTU: low)
        case (5, _): self = .redirect(code: code, gateway: IPv4Address(rest))
        case (11, _) where rest == 0: self = .timeExceeded(code: code)
        case (12, 0) where rest & 0x00ff_ffff == 0: self = .parameterProblem(pointer: UInt8(rest >> 24))
        default: self = .other(type: type, code: code, restOfHeader: rest)
        }
    }

    /// Type.
    public var type: UInt8 {
        switch self {
        case .echoReply: 0
        case .destinationUnreachable: 3
        case .redirect: 5
        case .echoRequest: 8
        case .timeExceeded: 11
        case .parameterProblem: 12
        case .other(let type, _, _): type
        }
    }

    /// Code.
    public var code: UInt8 {
        switch self {
        case .echoReply, .echoRequest, .parameterProblem: 0
        case .destinationUnreachable(let code, _), .redirect(let code, _), .timeExceeded(let code): code
        case .other(_, let code, _): code
        }
    }

    /// The second 32-bit word.
    public var restOfHeader: UInt32 {
        switch self {
        case .echoReply(let id, let seq), .echoRequest(let id, let seq): UInt32(id) << 16 | UInt32(seq)
        case .destinationUnreachable(_, let mtu): UInt32(mtu)
        case .redirect(_, let gateway): gateway.value
        case .timeExceeded: 0
        case .parameterProblem(let pointer): UInt32(pointer) << 24
        case .other(_, _, let rest): rest
        }
    }
}

/// An ICMP message as values (RFC 792): the header fields, and the length of the data that
/// follows (echo data, or the quoted invoking packet), which stays in the buffer.
public struct ICMPv4Repr: Equatable, Sendable {
    /// Type, code and second word.
    public var message: ICMPv4Message
    /// Bytes after the 8-byte header.
    public var payloadLength: Int

    /// Creates a message.
    public init(message: ICMPv4Message, payloadLength: Int = 0) {
        self.message = message
        self.payloadLength = payloadLength
    }

    /// The header's length, 8.
    public var headerLength: Int { ICMPv4Packet.headerLength }
    /// The message's length: header and data.
    public var bufferLength: Int { ICMPv4Packet.headerLength + payloadLength }

    /// Reads a checked message, verifying its checksum when `verifyChecksum` (RFC 792).
    public static func parse(_ packet: ICMPv4Packet, verifyChecksum: Bool = true) throws(WireError) -> ICMPv4Repr {
        if verifyChecksum && !packet.checksumIsValid { throw .badChecksum }
        return ICMPv4Repr(message: ICMPv4Message(type: packet.type, code: packet.code, restOfHeader: packet.restOfHeader),
                          payloadLength: packet.buffer.count - ICMPv4Packet.headerLength)
    }

    /// Checks and parses the message in `bytes` (the whole IPv4 payload).
    public static func parse(_ bytes: UnsafeRawBufferPointer, verifyChecksum: Bool = true) throws(WireError) -> ICMPv4Repr {
        try parse(ICMPv4Packet(checking: bytes), verifyChecksum: verifyChecksum)
    }

    /// Writes the header into `buffer` and the checksum over the first `bufferLength` bytes:
    /// the payload must already be in place after the header. Traps if `buffer` is shorter
    /// than `bufferLength`.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        typealias F = ICMPv4Packet.Field
        precondition(buffer.count >= bufferLength, "ICMPv4Repr.emit: buffer shorter than the message")
        buffer.storeByte(message.type, at: F.type)
        buffer.storeByte(message.code, at: F.code)
        buffer.storeBigEndian16(0, at: F.checksum)
        buffer.storeBigEndian32(message.restOfHeader, at: F.restOfHeader)
        buffer.storeBigEndian16(InternetChecksum.checksum(buffer.readOnly.bytes(0, bufferLength)), at: F.checksum)
    }
}

// MARK: - Array conveniences (allocate; for control paths and tests)

extension ICMPv4Repr {
    /// The message with `payload` as its data (its count becomes `payloadLength`).
    public func emit<C: Collection>(payload: C) -> [UInt8] where C.Element == UInt8 {
        var repr = self
        repr.payloadLength = payload.count
        return makeBytes(count: repr.bufferLength) { buffer in
            buffer.store(payload, at: ICMPv4Packet.headerLength)
            repr.emit(into: buffer)
        }
    }
}
