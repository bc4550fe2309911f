import Wire

/// What a peer is configured with (wg-quick's [Peer], or UAPI `set`).
public struct PeerConfiguration: Sendable, Equatable {
    /// The peer's static public key.
    public var publicKey: WireGuardKey
    /// The preshared key (all zeros: none).
    public var presharedKey: WireGuardKey
    /// Where to send until the peer is heard from (it roams to the source of authenticated
    /// packets).
    public var endpoint: Endpoint?
    /// The source addresses accepted from this peer and the destinations routed to it.
    public var allowedIPs: [IPPrefix]
    /// PersistentKeepalive in seconds (0: off).
    public var persistentKeepalive: UInt16

    /// Creates a peer configuration.
    public init(publicKey: WireGuardKey, presharedKey: WireGuardKey = .zero,
                endpoint: Endpoint? = nil, allowedIPs: [IPPrefix] = [],
                persistentKeepalive: UInt16 = 0) {
        self.publicKey = publicKey
        self.presharedKey = presharedKey
        self.endpoint = endpoint
        self.allowedIPs = allowedIPs
        self.persistentKeepalive = persistentKeepalive
    }
}

/// One peer's protocol state: its keypairs (current, previous, and a responder's next one
/// awaiting confirmation, paper §5.4.6), its handshake in flight, timers, cookie, counters.
public final class WireGuardPeer {
    /// Configuration (endpoint updated by roaming).
    public internal(set) var configuration: PeerConfiguration
    /// The keypair transport packets are sent with.
    public internal(set) var current: Keypair?
    /// The keypair before it, still accepted for packets in flight.
    var previous: Keypair?
    /// A responder's new keypair, used once the initiator's first transport packet arrives.
    var next: Keypair?
    /// Our initiation in flight, if any.
    var initiation: NoiseHandshake.InitiatorState?
    /// When our last initiation went out (monotonic ns).
    var lastInitiationSent: UInt64?
    /// When we last processed an initiation from this peer (flood limit).
    var lastInitiationConsumed: UInt64?
    /// The greatest TAI64N timestamp received (replayed initiations are refused).
    var greatestTimestamp = TAI64N.zero
    /// mac1/mac2 for messages to this peer.
    var cookies: CookieGenerator
    /// Timers.
    public internal(set) var timers = PeerTimers()
    /// Packets waiting for a session (bounded).
    var staged: [[UInt8]] = []
    /// Bytes received in authenticated datagrams (as `wg show` counts them).
    public internal(set) var receivedBytes: UInt64 = 0
    /// Bytes sent in datagrams.
    public internal(set) var sentBytes: UInt64 = 0
    /// Wall-clock time of the last completed handshake (seconds, nanoseconds), if any.
    public internal(set) var lastHandshake: (seconds: UInt64, nanoseconds: UInt32)?

    /// The most packets kept while a handshake is in flight (wireguard-go: 128 per peer).
    static let maximumStaged = 128

    init(configuration: PeerConfiguration) {
        self.configuration = configuration
        cookies = CookieGenerator(remotePublic: configuration.publicKey)
        timers.persistentKeepaliveInterval = configuration.persistentKeepalive
    }

    /// The peer's public key.
    public var publicKey: WireGuardKey { configuration.publicKey }

    /// Where packets to this peer go now.
    public var endpoint: Endpoint? { configuration.endpoint }

    /// Keeps a packet for when the session is up, dropping the oldest beyond the bound.
    func stage(_ packet: [UInt8]) {
        if staged.count >= Self.maximumStaged { staged.removeFirst() }
        staged.append(packet)
    }

    /// Every keypair this peer holds.
    var keypairs: [Keypair] { [current, previous, next].compactMap { $0 } }
}
