/// The protocol's constants (WireGuard paper §6.1 and §6.4), in nanoseconds where they are
/// times. Kept apart from implementation choices, as wireguard-go's constants.go does.
public enum ProtocolConstants {
    /// A keypair is renewed after this many messages: 2^60.
    public static let rekeyAfterMessages: UInt64 = 1 << 60
    /// No message is sent or received on a keypair after this many: 2^64 − 2^13 − 1.
    public static let rejectAfterMessages: UInt64 = UInt64.max - (1 << 13)
    /// The initiator of a keypair starts a new handshake when sending on it after 120 s.
    public static let rekeyAfterTime: UInt64 = 120 * second
    /// A keypair older than 180 s is never used.
    public static let rejectAfterTime: UInt64 = 180 * second
    /// Handshake retries stop after 90 s without success.
    public static let rekeyAttemptTime: UInt64 = 90 * second
    /// An unanswered initiation is retransmitted after 5 s (plus jitter).
    public static let rekeyTimeout: UInt64 = 5 * second
    /// The jitter added to each retransmission: up to a third of a second.
    public static let rekeyTimeoutJitterMax: UInt64 = second / 3
    /// A keepalive goes out after 10 s of receiving without sending.
    public static let keepaliveTimeout: UInt64 = 10 * second
    /// At most one initiation per peer is processed per this interval (wireguard-go: 50/s).
    public static let handshakeInitiationRate: UInt64 = second / 50

    /// One second in nanoseconds.
    public static let second: UInt64 = 1_000_000_000
}
