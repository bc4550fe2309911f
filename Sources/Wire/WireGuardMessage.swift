/// The four WireGuard messages (WireGuard paper §5.4.2–5.4.7): fixed sizes, little-endian
/// integers, reserved bytes zero.
public enum WireGuardMessage: Equatable, Sendable {
    /// Type 1, 148 bytes.
    case initiation(sender: UInt32, ephemeral: [UInt8], encryptedStatic: [UInt8],
                    encryptedTimestamp: [UInt8], mac1: [UInt8], mac2: [UInt8])
    /// Type 2, 92 bytes.
    case response(sender: UInt32, receiver: UInt32, ephemeral: [UInt8], encryptedNothing: [UInt8],
                  mac1: [UInt8], mac2: [UInt8])
    /// Type 3, 64 bytes.
    case cookieReply(receiver: UInt32, nonce: [UInt8], encryptedCookie: [UInt8])
    /// Type 4: header and at least a 16-byte tag.
    case transport(receiver: UInt32, counter: UInt64, encryptedPacket: [UInt8])

    /// Message lengths.
    public static let initiationLength = 148, responseLength = 92, cookieReplyLength = 64
    /// The shortest transport message (a keepalive).
    public static let transportMinimumLength = 32

    /// Parses a UDP payload.
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(WireError) -> WireGuardMessage {
        guard bytes.count >= 4 else { throw .truncated }
        guard bytes.u8(1) == 0, bytes.u8(2) == 0, bytes.u8(3) == 0 else { throw .malformed("reserved") }
        func take(_ offset: Int, _ count: Int) -> [UInt8] { Array(bytes.dropFirst(offset).prefix(count)) }
        func le32(_ offset: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes.u8(offset + $1)) << (8 * UInt32($1)) } }
        switch bytes.u8(0) {
        case 1:
            guard bytes.count == initiationLength else { throw .malformed("initiation length") }
            return .initiation(sender: le32(4), ephemeral: take(8, 32), encryptedStatic: take(40, 48),
                               encryptedTimestamp: take(88, 28), mac1: take(116, 16), mac2: take(132, 16))
        case 2:
            guard bytes.count == responseLength else { throw .malformed("response length") }
            return .response(sender: le32(4), receiver: le32(8), ephemeral: take(12, 32),
                             encryptedNothing: take(44, 16), mac1: take(60, 16), mac2: take(76, 16))
        case 3:
            guard bytes.count == cookieReplyLength else { throw .malformed("cookie reply length") }
            return .cookieReply(receiver: le32(4), nonce: take(8, 24), encryptedCookie: take(32, 32))
        case 4:
            guard bytes.count >= transportMinimumLength else { throw .truncated }
            let counter = UInt64(le32(8)) | UInt64(le32(12)) << 32
            return .transport(receiver: le32(4), counter: counter, encryptedPacket: Array(bytes.dropFirst(16)))
        default:
            throw .unsupported("message type \(bytes.u8(0))")
        }
    }

    /// The message's bytes.
    public func emit() -> [UInt8] {
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
        func fit(_ bytes: [UInt8], _ count: Int) -> [UInt8] {
            Array(bytes.prefix(count)) + [UInt8](repeating: 0, count: max(0, count - bytes.count))
        }
        switch self {
        case .initiation(let sender, let ephemeral, let encryptedStatic, let encryptedTimestamp, let mac1, let mac2):
            return [1, 0, 0, 0] + le32(sender) + fit(ephemeral, 32) + fit(encryptedStatic, 48)
                + fit(encryptedTimestamp, 28) + fit(mac1, 16) + fit(mac2, 16)
        case .response(let sender, let receiver, let ephemeral, let encryptedNothing, let mac1, let mac2):
            return [2, 0, 0, 0] + le32(sender) + le32(receiver) + fit(ephemeral, 32)
                + fit(encryptedNothing, 16) + fit(mac1, 16) + fit(mac2, 16)
        case .cookieReply(let receiver, let nonce, let encryptedCookie):
            return [3, 0, 0, 0] + le32(receiver) + fit(nonce, 24) + fit(encryptedCookie, 32)
        case .transport(let receiver, let counter, let encryptedPacket):
            return [4, 0, 0, 0] + le32(receiver) + le32(UInt32(truncatingIfNeeded: counter))
                + le32(UInt32(truncatingIfNeeded: counter >> 32)) + encryptedPacket
        }
    }
}

extension WireGuardMessage {
    /// The transport header's length: type, reserved, receiver, counter.
    public static let transportHeaderLength = 16

    /// The message type of a datagram whose first four bytes are a type and three zero bytes
    /// (no copy; `nil` otherwise).
    public static func type(of bytes: [UInt8]) -> UInt8? {
        guard bytes.count >= 4, bytes.u8(1) == 0, bytes.u8(2) == 0, bytes.u8(3) == 0 else { return nil }
        return bytes.u8(0)
    }

    /// A little-endian 32-bit field.
    static func littleEndian32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }

    /// The receiver and counter of a transport message (at least 32 bytes), without copying
    /// its payload: the receive path's view of the header.
    public static func transportHeader(_ bytes: [UInt8]) -> (receiver: UInt32, counter: UInt64)? {
        guard bytes.count >= transportMinimumLength, type(of: bytes) == 4 else { return nil }
        let counter = UInt64(littleEndian32(bytes, at: 8)) | UInt64(littleEndian32(bytes, at: 12)) << 32
        return (littleEndian32(bytes, at: 4), counter)
    }

    /// Appends a transport header (the send path writes the payload after it in place).
    public static func appendTransportHeader(to bytes: inout [UInt8], receiver: UInt32, counter: UInt64) {
        bytes += [4, 0, 0, 0]
        for shift in stride(from: UInt32(0), to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: receiver >> shift)) }
        for shift in stride(from: UInt64(0), to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: counter >> shift)) }
    }

    /// A handshake message's bytes with mac1 and mac2 (its last 32 bytes) replaced.
    public static func stampMacs(_ bytes: [UInt8], mac1: [UInt8], mac2: [UInt8]) -> [UInt8] {
        guard bytes.count >= 32, mac1.count == 16, mac2.count == 16 else { return bytes }
        return Array(bytes.dropLast(32)) + mac1 + mac2
    }
}

/// The parts of a handshake message (initiation or response) that mac1 and mac2 cover
/// (WireGuard paper §5.4.4): `msg_α` is everything before mac1, `msg_β` everything before mac2.
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
