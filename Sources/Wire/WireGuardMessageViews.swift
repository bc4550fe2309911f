// Byte views of the four WireGuard messages (WireGuard paper §5.4.2–5.4.7): each checks the
// type, the three reserved zero bytes and the length once, then reads fields in place.
// Byte fields come back as views into the buffer; nothing here allocates. A view must not
// outlive its buffer.

/// Checks a message's first word: `type` and three zero bytes (WireGuard paper §5.4).
private func checkType(_ bytes: UnsafeRawBufferPointer, _ type: WireGuardMessageType) throws(WireError) {
    guard bytes.count >= 4 else { throw .truncated }
    guard bytes.byte(at: 0) == type.rawValue else { throw .malformed("message type") }
    guard bytes.byte(at: 1) == 0, bytes.byte(at: 2) == 0, bytes.byte(at: 3) == 0 else { throw .malformed("reserved") }
}

/// What handshake messages share: mac1 and mac2 as their last 32 bytes (WireGuard paper
/// §5.4.4), and the regions each mac covers.
public protocol WireGuardHandshakeMessage {
    /// The whole message.
    var buffer: UnsafeRawBufferPointer { get }
}

extension WireGuardHandshakeMessage {
    /// msg_α: everything before mac1, what mac1 covers.
    public var beforeMac1: UnsafeRawBufferPointer { buffer.bytes(0, buffer.count - 32) }
    /// mac1 = MAC(HASH(LABEL_MAC1 ‖ Spub_m′), msg_α).
    public var mac1: UnsafeRawBufferPointer { buffer.bytes(buffer.count - 32, 16) }
    /// msg_β: everything before mac2 (msg_α and mac1), what mac2 covers.
    public var beforeMac2: UnsafeRawBufferPointer { buffer.bytes(0, buffer.count - 16) }
    /// mac2 = MAC(cookie, msg_β), or zeros without a cookie.
    public var mac2: UnsafeRawBufferPointer { buffer.bytes(buffer.count - 16, 16) }
}

/// A view of a handshake initiation (WireGuard paper §5.4.2), 148 bytes.
public struct WireGuardInitiationMessage: WireGuardHandshakeMessage {
    /// Byte offsets.
    public enum Field {
        /// Type (1) and three reserved bytes.
        public static let type = 0
        /// sender: the initiator's session index, u32 LE.
        public static let sender = 4
        /// unencrypted_ephemeral, 32 bytes.
        public static let ephemeral = 8
        /// encrypted_static, 32 + 16 bytes.
        public static let encryptedStatic = 40
        /// encrypted_timestamp, 12 + 16 bytes (TAI64N).
        public static let encryptedTimestamp = 88
        /// mac1, 16 bytes.
        public static let mac1 = 116
        /// mac2, 16 bytes.
        public static let mac2 = 132
    }

    /// The message's length.
    public static let length = 148

    /// The message.
    public let buffer: UnsafeRawBufferPointer

    /// Checks type 1, reserved zeros and exactly 148 bytes.
    public init(checking buffer: UnsafeRawBufferPointer) throws(WireError) {
        try checkType(buffer, .initiation)
        guard buffer.count == Self.length else { throw .malformed("initiation length") }
        self.buffer = buffer
    }

    /// The initiator's session index.
    public var sender: UInt32 { buffer.littleEndian32(at: Field.sender) }
    /// The initiator's ephemeral public key.
    public var ephemeral: UnsafeRawBufferPointer { buffer.bytes(Field.ephemeral, 32) }
    /// The initiator's static public key, sealed.
    public var encryptedStatic: UnsafeRawBufferPointer { buffer.bytes(Field.encryptedStatic, 48) }
    /// The TAI64N timestamp, sealed.
    public var encryptedTimestamp: UnsafeRawBufferPointer { buffer.bytes(Field.encryptedTimestamp, 28) }
}

/// A view of a handshake response (WireGuard paper §5.4.3), 92 bytes.
public struct WireGuardResponseMessage: WireGuardHandshakeMessage {
    /// Byte offsets.
    public enum Field {
        /// Type (2) and three reserved bytes.
        public static let type = 0
        /// sender: the responder's session index, u32 LE.
        public static let sender = 4
        /// receiver: the initiator's session index, u32 LE.
        public static let receiver = 8
        /// unencrypted_ephemeral, 32 bytes.
        public static let ephemeral = 12
        /// encrypted_nothing, 0 + 16 bytes.
        public static let encryptedNothing = 44
        /// mac1, 16 bytes.
        public static let mac1 = 60
        /// mac2, 16 bytes.
        public static let mac2 = 76
    }

    /// The message's length.
    public static let length = 92

    /// The message.
    public let buffer: UnsafeRawBufferPointer

    /// Checks type 2, reserved zeros and exactly 92 bytes.
    public init(checking buffer: UnsafeRawBufferPointer) throws(WireError) {
        try checkType(buffer, .response)
        guard buffer.count == Self.length else { throw .malformed("response length") }
        self.buffer = buffer
    }

    /// The responder's session index.
    public var sender: UInt32 { buffer.littleEndian32(at: Field.sender) }
    /// The initiator's session index, echoed.
    public var receiver: UInt32 { buffer.littleEndian32(at: Field.receiver) }
    /// The responder's ephemeral public key.
    public var ephemeral: UnsafeRawBufferPointer { buffer.bytes(Field.ephemeral, 32) }
    /// The empty plaintext, sealed (its tag).
    public var encryptedNothing: UnsafeRawBufferPointer { buffer.bytes(Field.encryptedNothing, 16) }
}

/// A view of a cookie reply (WireGuard paper §5.4.7), 64 bytes.
public struct WireGuardCookieReplyMessage {
    /// Byte offsets.
    public enum Field {
        /// Type (3) and three reserved bytes.
        public static let type = 0
        /// receiver: the session index of the message being answered, u32 LE.
        public static let receiver = 4
        /// nonce, 24 bytes (XChaCha20-Poly1305).
        public static let nonce = 8
        /// encrypted_cookie, 16 + 16 bytes.
        public static let encryptedCookie = 32
    }

    /// The message's length.
    public static let length = 64

    /// The message.
    public let buffer: UnsafeRawBufferPointer

    /// Checks type 3, reserved zeros and exactly 64 bytes.
    public init(checking buffer: UnsafeRawBufferPointer) throws(WireError) {
        try checkType(buffer, .cookieReply)
        guard buffer.count == Self.length else { throw .malformed("cookie reply length") }
        self.buffer = buffer
    }

    /// The session index of the message this answers.
    public var receiver: UInt32 { buffer.littleEndian32(at: Field.receiver) }
    /// The XChaCha20-Poly1305 nonce.
    public var nonce: UnsafeRawBufferPointer { buffer.bytes(Field.nonce, 24) }
    /// The cookie, sealed.
    public var encryptedCookie: UnsafeRawBufferPointer { buffer.bytes(Field.encryptedCookie, 32) }
}

/// A view of a transport data message (WireGuard paper §5.4.6): a 16-byte header, then the
/// encrypted packet and its 16-byte tag.
public struct WireGuardTransportMessage {
    /// Byte offsets.
    public enum Field {
        /// Type (4) and three reserved bytes.
        public static let type = 0
        /// receiver: the recipient's session index, u32 LE.
        public static let receiver = 4
        /// counter: the nonce, u64 LE.
        public static let counter = 8
        /// encrypted_encapsulated_packet: ciphertext and tag.
        public static let encryptedPacket = 16
    }

    /// The header's length.
    public static let headerLength = 16
    /// The AEAD tag's length.
    public static let tagLength = 16
    /// The shortest message: a keepalive (header and tag).
    public static let minimumLength = headerLength + tagLength

    /// The message.
    public let buffer: UnsafeRawBufferPointer

    /// Checks type 4, reserved zeros and at least 32 bytes.
    public init(checking buffer: UnsafeRawBufferPointer) throws(WireError) {
        try checkType(buffer, .transport)
        guard buffer.count >= Self.minimumLength else { throw .truncated }
        self.buffer = buffer
    }

    /// The recipient's session index.
    public var receiver: UInt32 { buffer.littleEndian32(at: Field.receiver) }
    /// The nonce counter.
    public var counter: UInt64 { buffer.littleEndian64(at: Field.counter) }
    /// The ciphertext and tag.
    public var encryptedPacket: UnsafeRawBufferPointer { buffer.bytes(from: Field.encryptedPacket) }
    /// Whether this is a keepalive (an empty packet: the tag alone).
    public var isKeepalive: Bool { buffer.count == Self.minimumLength }
}
