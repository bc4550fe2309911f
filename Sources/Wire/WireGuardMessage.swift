// The four WireGuard messages (WireGuard paper §5.4.2–5.4.6): byte views that read fields in
// place (WireGuardMessageViews.swift), the transport header as values
// (`WireGuardTransportRepr`, the per-packet path), and `WireGuardMessage`, the owning value of
// any message (handshakes are rare; their fields are arrays).
//
// All integers are little-endian; the three bytes after the type are reserved and zero.
// Layouts (offset: field, bytes):
//   initiation   148: 0 type=1, 1 reserved 3, 4 sender 4, 8 ephemeral 32, 40 encrypted_static 48,
//                     88 encrypted_timestamp 28, 116 mac1 16, 132 mac2 16
//   response      92: 0 type=2, 1 reserved 3, 4 sender 4, 8 receiver 4, 12 ephemeral 32,
//                     44 encrypted_nothing 16, 60 mac1 16, 76 mac2 16
//   cookie reply  64: 0 type=3, 1 reserved 3, 4 receiver 4, 8 nonce 24, 32 encrypted_cookie 32
//   transport  ≥ 32: 0 type=4, 1 reserved 3, 4 receiver 4, 8 counter 8, 16 encrypted packet (≥ 16, the tag)

/// A WireGuard message type (WireGuard paper §5.4): the first byte of every message.
public enum WireGuardMessageType: UInt8, Sendable {
    /// Handshake initiation (§5.4.2).
    case initiation = 1
    /// Handshake response (§5.4.3).
    case response = 2
    /// Cookie reply (§5.4.7).
    case cookieReply = 3
    /// Transport data (§5.4.6).
    case transport = 4

    /// The type of the message in `bytes` if its first four bytes are a known type and three
    /// zero bytes; `nil` otherwise. Lengths are not checked.
    public init?(of bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 4, bytes.littleEndian32(at: 0) <= 0xff,
              let type = WireGuardMessageType(rawValue: bytes.byte(at: 0)) else { return nil }
        self = type
    }
}

/// The transport message's header as values (WireGuard paper §5.4.6): receiver index and
/// counter; the encrypted packet (ciphertext and 16-byte tag) stays in the buffer.
public struct WireGuardTransportRepr: Hashable, Sendable {
    /// The receiver's session index.
    public var receiver: UInt32
    /// The nonce counter.
    public var counter: UInt64
    /// The encrypted packet's length, tag included (at least 16).
    public var payloadLength: Int

    /// Creates a header.
    public init(receiver: UInt32, counter: UInt64, payloadLength: Int = WireGuardTransportMessage.tagLength) {
        self.receiver = receiver
        self.counter = counter
        self.payloadLength = payloadLength
    }

    /// The header's length, 16.
    public var headerLength: Int { WireGuardTransportMessage.headerLength }
    /// The message's length: header and encrypted packet.
    public var bufferLength: Int { WireGuardTransportMessage.headerLength + payloadLength }

    /// Reads a checked transport message.
    public static func parse(_ message: WireGuardTransportMessage) -> WireGuardTransportRepr {
        WireGuardTransportRepr(receiver: message.receiver, counter: message.counter,
                               payloadLength: message.buffer.count - WireGuardTransportMessage.headerLength)
    }

    /// Checks and parses the transport message in `bytes`.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> WireGuardTransportRepr {
        parse(try WireGuardTransportMessage(checking: bytes))
    }

    /// Writes the 16-byte header into `buffer`; the encrypted packet is written after it in
    /// place by the caller. Traps if `buffer` is shorter than 16 bytes.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        typealias F = WireGuardTransportMessage.Field
        precondition(buffer.count >= WireGuardTransportMessage.headerLength, "WireGuardTransportRepr.emit: buffer too short")
        buffer.storeLittleEndian32(UInt32(WireGuardMessageType.transport.rawValue), at: F.type)
        buffer.storeLittleEndian32(receiver, at: F.receiver)
        buffer.storeLittleEndian64(counter, at: F.counter)
    }
}

/// Any WireGuard message as an owning value (WireGuard paper §5.4.2–5.4.6): fixed sizes,
/// little-endian integers, reserved bytes zero. Handshake fields are arrays (rare messages);
/// the per-packet path uses `WireGuardTransportMessage` and `WireGuardTransportRepr` instead.
public enum WireGuardMessage: Equatable, Sendable {
    /// Type 1, 148 bytes (§5.4.2).
    case initiation(sender: UInt32, ephemeral: [UInt8], encryptedStatic: [UInt8],
                    encryptedTimestamp: [UInt8], mac1: [UInt8], mac2: [UInt8])
    /// Type 2, 92 bytes (§5.4.3).
    case response(sender: UInt32, receiver: UInt32, ephemeral: [UInt8], encryptedNothing: [UInt8],
                  mac1: [UInt8], mac2: [UInt8])
    /// Type 3, 64 bytes (§5.4.7).
    case cookieReply(receiver: UInt32, nonce: [UInt8], encryptedCookie: [UInt8])
    /// Type 4: header and at least a 16-byte tag (§5.4.6).
    case transport(receiver: UInt32, counter: UInt64, encryptedPacket: [UInt8])

    /// The handshake initiation's length.
    public static let initiationLength = WireGuardInitiationMessage.length
    /// The handshake response's length.
    public static let responseLength = WireGuardResponseMessage.length
    /// The cookie reply's length.
    public static let cookieReplyLength = WireGuardCookieReplyMessage.length
    /// The shortest transport message (a keepalive: header and tag).
    public static let transportMinimumLength = WireGuardTransportMessage.minimumLength
    /// The transport header's length: type, reserved, receiver, counter.
    public static let transportHeaderLength = WireGuardTransportMessage.headerLength

    /// The message type.
    public var type: WireGuardMessageType {
        switch self {
        case .initiation: .initiation
        case .response: .response
        case .cookieReply: .cookieReply
        case .transport: .transport
        }
    }

    /// Parses any message: a known type, three zero bytes, and the type's length.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> WireGuardMessage {
        guard bytes.count >= 4 else { throw .truncated }
        guard bytes.byte(at: 1) == 0, bytes.byte(at: 2) == 0, bytes.byte(at: 3) == 0 else { throw .malformed("reserved") }
        switch WireGuardMessageType(rawValue: bytes.byte(at: 0)) {
        case .initiation:
            let m = try WireGuardInitiationMessage(checking: bytes)
            return .initiation(sender: m.sender, ephemeral: Array(m.ephemeral), encryptedStatic: Array(m.encryptedStatic),
                               encryptedTimestamp: Array(m.encryptedTimestamp), mac1: Array(m.mac1), mac2: Array(m.mac2))
        case .response:
            let m = try WireGuardResponseMessage(checking: bytes)
            return .response(sender: m.sender, receiver: m.receiver, ephemeral: Array(m.ephemeral),
                             encryptedNothing: Array(m.encryptedNothing), mac1: Array(m.mac1), mac2: Array(m.mac2))
        case .cookieReply:
            let m = try WireGuardCookieReplyMessage(checking: bytes)
            return .cookieReply(receiver: m.receiver, nonce: Array(m.nonce), encryptedCookie: Array(m.encryptedCookie))
        case .transport:
            let m = try WireGuardTransportMessage(checking: bytes)
            return .transport(receiver: m.receiver, counter: m.counter, encryptedPacket: Array(m.encryptedPacket))
        case nil:
            throw .unsupported("message type")
        }
    }

    /// Parses any message in an array slice.
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(WireError) -> WireGuardMessage {
        try withBytes(bytes) { raw throws(WireError) in try parse(raw) }
    }

    /// The message's length.
    public var bufferLength: Int {
        switch self {
        case .initiation: Self.initiationLength
        case .response: Self.responseLength
        case .cookieReply: Self.cookieReplyLength
        case .transport(_, _, let packet): Self.transportHeaderLength + packet.count
        }
    }

    /// Writes the message into the first `bufferLength` bytes of `buffer`. Byte fields of the
    /// wrong size are cut or zero-filled to their size (so `mac1: []` writes zeros). Traps if
    /// `buffer` is shorter than `bufferLength`.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= bufferLength, "WireGuardMessage.emit: buffer too short")
        func put(_ bytes: [UInt8], at offset: Int, count: Int) {
            bytes.withUnsafeBytes { buffer.copy($0, to: offset, count: count) }
        }
        buffer.storeLittleEndian32(UInt32(type.rawValue), at: 0)
        switch self {
        case .initiation(let sender, let ephemeral, let encryptedStatic, let encryptedTimestamp, let mac1, let mac2):
            typealias F = WireGuardInitiationMessage.Field
            buffer.storeLittleEndian32(sender, at: F.sender)
            put(ephemeral, at: F.ephemeral, count: 32)
            put(encryptedStatic, at: F.encryptedStatic, count: 48)
            put(encryptedTimestamp, at: F.encryptedTimestamp, count: 28)
            put(mac1, at: F.mac1, count: 16)
            put(mac2, at: F.mac2, count: 16)
        case .response(let sender, let receiver, let ephemeral, let encryptedNothing, let mac1, let mac2):
            typealias F = WireGuardResponseMessage.Field
            buffer.storeLittleEndian32(sender, at: F.sender)
            buffer.storeLittleEndian32(receiver, at: F.receiver)
            put(ephemeral, at: F.ephemeral, count: 32)
            put(encryptedNothing, at: F.encryptedNothing, count: 16)
            put(mac1, at: F.mac1, count: 16)
            put(mac2, at: F.mac2, count: 16)
        case .cookieReply(let receiver, let nonce, let encryptedCookie):
            typealias F = WireGuardCookieReplyMessage.Field
            buffer.storeLittleEndian32(receiver, at: F.receiver)
            put(nonce, at: F.nonce, count: 24)
            put(encryptedCookie, at: F.encryptedCookie, count: 32)
        case .transport(let receiver, let counter, let encryptedPacket):
            WireGuardTransportRepr(receiver: receiver, counter: counter, payloadLength: encryptedPacket.count).emit(into: buffer)
            put(encryptedPacket, at: WireGuardTransportMessage.Field.encryptedPacket, count: encryptedPacket.count)
        }
    }

    /// The message's bytes.
    public func emit() -> [UInt8] {
        makeBytes(count: bufferLength) { emit(into: $0) }
    }
}

// MARK: - Array conveniences for the WireGuard device

extension WireGuardMessage {
    /// The message type of a datagram whose first four bytes are a type and three zero bytes
    /// (no copy; `nil` otherwise, any type value accepted).
    public static func type(of bytes: [UInt8]) -> UInt8? {
        bytes.withUnsafeBytes { raw in
            guard raw.count >= 4, raw.littleEndian32(at: 0) <= 0xff else { return nil }
            return raw.byte(at: 0)
        }
    }

    /// The receiver and counter of a transport message (at least 32 bytes), without copying
    /// its payload: the receive path's view of the header.
    public static func transportHeader(_ bytes: [UInt8]) -> (receiver: UInt32, counter: UInt64)? {
        bytes.withUnsafeBytes { raw in
            guard let message = try? WireGuardTransportMessage(checking: raw) else { return nil }
            return (message.receiver, message.counter)
        }
    }

    /// Appends a transport header (the send path writes the payload after it in place).
    public static func appendTransportHeader(to bytes: inout [UInt8], receiver: UInt32, counter: UInt64) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: transportHeaderLength))
        bytes.withUnsafeMutableBytes { raw in
            WireGuardTransportRepr(receiver: receiver, counter: counter)
                .emit(into: UnsafeMutableRawBufferPointer(rebasing: raw[start...]))
        }
    }

    /// A handshake message's bytes with mac1 and mac2 (its last 32 bytes) replaced
    /// (WireGuard paper §5.4.4); unchanged unless both macs are 16 bytes.
    public static func stampMacs(_ bytes: [UInt8], mac1: [UInt8], mac2: [UInt8]) -> [UInt8] {
        guard bytes.count >= 32, mac1.count == 16, mac2.count == 16 else { return bytes }
        var out = bytes
        out.withUnsafeMutableBytes { raw in
            mac1.withUnsafeBytes { raw.copy($0, to: raw.count - 32, count: 16) }
            mac2.withUnsafeBytes { raw.copy($0, to: raw.count - 16, count: 16) }
        }
        return out
    }
}

/// The parts of a handshake message (initiation or response) that mac1 and mac2 cover
/// (WireGuard paper §5.4.4): `msg_α` is everything before mac1, `msg_β` everything before mac2.
/// Copies; views offer the same regions in place (`WireGuardHandshakeMessage`).
public struct HandshakeMacRegions: Sendable {
    /// msg_α.
    public let beforeMac1: [UInt8]
    /// mac1 as received.
    public let mac1: [UInt8]
    /// msg_β (msg_α and mac1).
    public let beforeMac2: [UInt8]
    /// mac2 as received.
    public let mac2: [UInt8]

    /// Splits a handshake message; `nil` for anything shorter than its two macs.
    public init?(_ message: [UInt8]) {
        guard message.count >= 32 else { return nil }
        let mac1Start = message.count - 32, mac2Start = message.count - 16
        beforeMac1 = Array(message[..<mac1Start])
        mac1 = Array(message[mac1Start..<mac2Start])
        beforeMac2 = Array(message[..<mac2Start])
        mac2 = Array(message[mac2Start...])
    }
}
