/// The transport keys of one completed handshake (paper §5.4.5–5.4.6), with the sending
/// counter and the receiving replay window.
public final class Keypair {
    /// `T^send`.
    public let sendingKey: [UInt8]
    /// `T^recv`.
    public let receivingKey: [UInt8]
    /// Our index (the receiver field of packets we accept on this keypair).
    public let localIndex: UInt32
    /// The peer's index (the receiver field of packets we send).
    public let remoteIndex: UInt32
    /// Whether we were the initiator of its handshake.
    public let isInitiator: Bool
    /// When the handshake completed (monotonic nanoseconds).
    public let created: UInt64
    /// The next sending counter.
    public private(set) var sendingCounter: UInt64 = 0
    /// The receiving window.
    public var replayWindow = ReplayWindow()

    /// Wraps the keys a handshake produced at time `created`.
    public init(keys: NoiseHandshake.SessionKeys, created: UInt64) {
        sendingKey = keys.sending
        receivingKey = keys.receiving
        localIndex = keys.localIndex
        remoteIndex = keys.remoteIndex
        isInitiator = keys.isInitiator
        self.created = created
    }

    /// Takes the next sending counter, or `nil` when the keypair may no longer send
    /// (REJECT_AFTER_MESSAGES or REJECT_AFTER_TIME reached).
    public func nextSendingCounter(now: UInt64) -> UInt64? {
        guard isUsable(now: now), sendingCounter < ProtocolConstants.rejectAfterMessages else {
            return nil
        }
        defer { sendingCounter += 1 }
        return sendingCounter
    }

    /// Whether the keypair is younger than REJECT_AFTER_TIME.
    public func isUsable(now: UInt64) -> Bool {
        now &- created < ProtocolConstants.rejectAfterTime
    }

    /// Whether sending on it calls for a new handshake (paper §6.2): we initiated it and it
    /// is older than REKEY_AFTER_TIME, or it has sent REKEY_AFTER_MESSAGES.
    public func wantsRekeyOnSend(now: UInt64) -> Bool {
        sendingCounter >= ProtocolConstants.rekeyAfterMessages
            || (isInitiator && now &- created >= ProtocolConstants.rekeyAfterTime)
    }

    /// Whether receiving on it calls for a new handshake (paper §6.2): we initiated it and it
    /// is older than REJECT_AFTER_TIME − KEEPALIVE_TIMEOUT − REKEY_TIMEOUT.
    public func wantsRekeyOnReceive(now: UInt64) -> Bool {
        isInitiator && now &- created >= ProtocolConstants.rejectAfterTime
            - ProtocolConstants.keepaliveTimeout - ProtocolConstants.rekeyTimeout
    }
}
