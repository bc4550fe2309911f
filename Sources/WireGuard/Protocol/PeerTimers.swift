/// A peer's timers (WireGuard paper §6; the hooks follow wireguard-go's timers.go): one
/// method per protocol event, each arming or disarming the timers that event concerns, and
/// `expire(now:)` to collect the timers that have run out. Time is passed in.
///
/// | timer | armed by | on expiry |
/// |---|---|---|
/// | retransmitHandshake | an initiation sent (REKEY_TIMEOUT + jitter) | resend, up to REKEY_ATTEMPT_TIME |
/// | sendKeepalive | data received (KEEPALIVE_TIMEOUT), unless already armed | send a keepalive |
/// | newHandshake | data sent (KEEPALIVE + REKEY_TIMEOUT), unless already armed | initiate |
/// | zeroKeyMaterial | a session derived (3 × REJECT_AFTER_TIME) | forget every key |
/// | persistentKeepalive | any authenticated packet in or out (the configured interval) | send a keepalive |
public struct PeerTimers: Sendable {
    /// The timers.
    public enum Kind: CaseIterable, Sendable {
        /// Retransmit an unanswered initiation.
        case retransmitHandshake
        /// Answer received data with a keepalive if nothing else goes out.
        case sendKeepalive
        /// Sent data got no answer: the session may be dead, initiate.
        case newHandshake
        /// No new session for a long time: erase the keys.
        case zeroKeyMaterial
        /// The configured persistent keepalive.
        case persistentKeepalive
    }

    private var deadlines: [Kind: UInt64] = [:]
    /// Initiations sent since the last completed handshake.
    public private(set) var handshakeAttempts = 0
    /// PersistentKeepalive in seconds (0: off).
    public var persistentKeepaliveInterval: UInt16 = 0

    /// The retransmission limit: REKEY_ATTEMPT_TIME / REKEY_TIMEOUT.
    public static let maximumHandshakeAttempts = Int(ProtocolConstants.rekeyAttemptTime
                                                     / ProtocolConstants.rekeyTimeout)

    /// No timer armed.
    public init() {}

    /// Whether `kind` is armed.
    public func isArmed(_ kind: Kind) -> Bool { deadlines[kind] != nil }

    /// When `kind` fires, if armed.
    public func deadline(_ kind: Kind) -> UInt64? { deadlines[kind] }

    /// The earliest armed deadline.
    public var nextDeadline: UInt64? { deadlines.values.min() }

    // MARK: - Events

    /// An initiation went out; `jitter` is up to REKEY_TIMEOUT_JITTER_MAX (from entropy).
    public mutating func handshakeInitiated(now: UInt64, jitter: UInt64) {
        handshakeAttempts += 1
        deadlines[.retransmitHandshake] = now + ProtocolConstants.rekeyTimeout
            + jitter % (ProtocolConstants.rekeyTimeoutJitterMax + 1)
    }

    /// A handshake completed (response received, or first data on a responder's keypair).
    public mutating func handshakeComplete() {
        deadlines[.retransmitHandshake] = nil
        handshakeAttempts = 0
    }

    /// New transport keys were derived.
    public mutating func sessionDerived(now: UInt64) {
        deadlines[.zeroKeyMaterial] = now + 3 * ProtocolConstants.rejectAfterTime
    }

    /// A data packet (not a keepalive) was sent.
    public mutating func dataSent(now: UInt64) {
        if deadlines[.newHandshake] == nil {
            deadlines[.newHandshake] = now + ProtocolConstants.keepaliveTimeout
                + ProtocolConstants.rekeyTimeout
        }
    }

    /// A data packet (not a keepalive) was received.
    public mutating func dataReceived(now: UInt64) {
        if deadlines[.sendKeepalive] == nil {
            deadlines[.sendKeepalive] = now + ProtocolConstants.keepaliveTimeout
        }
    }

    /// Any authenticated packet (data, keepalive or handshake) was sent.
    public mutating func anyAuthenticatedPacketSent() {
        deadlines[.sendKeepalive] = nil
    }

    /// Any authenticated packet was received.
    public mutating func anyAuthenticatedPacketReceived() {
        deadlines[.newHandshake] = nil
    }

    /// Any authenticated packet went either way: the persistent keepalive starts over.
    public mutating func anyAuthenticatedPacketTraversal(now: UInt64) {
        if persistentKeepaliveInterval > 0 {
            deadlines[.persistentKeepalive] = now
                + UInt64(persistentKeepaliveInterval) * ProtocolConstants.second
        }
    }

    /// The keys were erased.
    public mutating func keysZeroed() {
        deadlines[.zeroKeyMaterial] = nil
    }

    /// Gives up retransmitting (REKEY_ATTEMPT_TIME passed).
    public mutating func handshakeAbandoned() {
        deadlines[.retransmitHandshake] = nil
        handshakeAttempts = 0
    }

    /// Disarms and returns every timer whose deadline is at or before `now`.
    public mutating func expire(now: UInt64) -> [Kind] {
        let due = Kind.allCases.filter { kind in deadlines[kind].map { $0 <= now } ?? false }
        for kind in due { deadlines[kind] = nil }
        return due
    }
}
