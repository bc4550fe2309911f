/// The byte layout of WireGuard's four messages (paper §5.4.2–5.4.7): little-endian integers,
/// fixed sizes, mac1 and mac2 as the last 32 bytes of the two handshake messages.
enum MessageLayout {
    static let initiationType: UInt8 = 1
    static let responseType: UInt8 = 2
    static let cookieReplyType: UInt8 = 3
    static let transportType: UInt8 = 4

    static let initiationLength = 148
    static let responseLength = 92
    static let cookieReplyLength = 64
    /// type, reserved, receiver, counter: what precedes a transport packet's ciphertext.
    static let transportHeaderLength = 16
    /// The shortest transport packet: a keepalive (header plus the 16-byte tag).
    static let transportMinimumLength = transportHeaderLength + AEAD.tagLength

    /// The message type if the first four bytes are a type and three zero bytes.
    static func type(of datagram: [UInt8]) -> UInt8? {
        guard datagram.count >= 4, datagram[1] == 0, datagram[2] == 0, datagram[3] == 0 else {
            return nil
        }
        return datagram[0]
    }

    static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }

    static func readUInt64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }

    static func littleEndian(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * UInt32($0))) }
    }

    static func littleEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    // MARK: - Handshake messages (without their macs: the last 32 bytes are zero)

    static func encode(_ m: NoiseHandshake.Initiation) -> [UInt8] {
        [initiationType, 0, 0, 0] + littleEndian(m.sender) + m.ephemeral + m.encryptedStatic
            + m.encryptedTimestamp + [UInt8](repeating: 0, count: 32)
    }

    static func decodeInitiation(_ d: [UInt8]) -> NoiseHandshake.Initiation? {
        guard d.count == initiationLength else { return nil }
        return .init(sender: readUInt32(d, at: 4), ephemeral: Array(d[8..<40]),
                     encryptedStatic: Array(d[40..<88]), encryptedTimestamp: Array(d[88..<116]))
    }

    static func encode(_ m: NoiseHandshake.Response) -> [UInt8] {
        [responseType, 0, 0, 0] + littleEndian(m.sender) + littleEndian(m.receiver) + m.ephemeral
            + m.encryptedNothing + [UInt8](repeating: 0, count: 32)
    }

    static func decodeResponse(_ d: [UInt8]) -> NoiseHandshake.Response? {
        guard d.count == responseLength else { return nil }
        return .init(sender: readUInt32(d, at: 4), receiver: readUInt32(d, at: 8),
                     ephemeral: Array(d[12..<44]), encryptedNothing: Array(d[44..<60]))
    }

    static func encodeCookieReply(receiver: UInt32, nonce: [UInt8], encryptedCookie: [UInt8]) -> [UInt8] {
        [cookieReplyType, 0, 0, 0] + littleEndian(receiver) + nonce + encryptedCookie
    }

    /// Fills in mac1 and mac2 (the last 32 bytes).
    static func stamp(_ message: inout [UInt8], mac1: [UInt8], mac2: [UInt8]) {
        message.replaceSubrange((message.count - 32)..<(message.count - 16), with: mac1)
        message.replaceSubrange((message.count - 16)..<message.count, with: mac2)
    }
}
