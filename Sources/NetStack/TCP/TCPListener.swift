import Wire

/// A listening socket's state (RFC 9293 §3.10.1 passive OPEN): the half-open connections of
/// its SYN queue and the established ones waiting for `accept`.
///
/// Memory is bounded: at most `maximumHalfOpen` connections in SYN-RECEIVED (without
/// buffers; a new SYN beyond the bound evicts the oldest half-open one, so a SYN flood
/// cannot keep a real peer out for long), and at most `backlog + 1` established
/// connections waiting for accept, as Linux allows (`sk_acceptq_is_full`); beyond that the
/// completing handshake is reset.
public final class TCPListener {
    /// The address listened on; nil for the wildcard.
    public let localAddress: IPAddress?
    /// The port.
    public let port: UInt16
    /// Whether an IPv6 wildcard listener also takes IPv4 (IPV6_V6ONLY off, Linux's default).
    public let acceptsIPv4: Bool
    /// Whether IPv6 is taken (false for IPv4 listeners).
    public let acceptsIPv6: Bool
    /// `listen`'s backlog (Linux caps it at net.core.somaxconn, 4096).
    public var backlog: Int
    /// Template for accepted connections (options set on the listener are inherited).
    public var configuration: TCPConfiguration
    /// TCP_MD5SIG keys set on the listener, by peer address (RFC 2385).
    public var md5Keys: [IPAddress: [UInt8]] = [:]
    /// Called when a connection becomes ready to accept.
    public var onEvent: ((TCPListener) -> Void)?
    /// The most half-open connections kept.
    public let maximumHalfOpen: Int

    var halfOpen: [TCPConnection] = []
    var acceptQueue: [TCPConnection] = []
    /// SYNs that evicted an older half-open connection.
    public internal(set) var evictedHalfOpen = 0
    /// Handshakes reset because the accept queue was full.
    public internal(set) var acceptQueueOverflows = 0
    /// Whether the listener was closed.
    public internal(set) var isClosed = false

    init(localAddress: IPAddress?, port: UInt16, acceptsIPv4: Bool, acceptsIPv6: Bool, backlog: Int,
         configuration: TCPConfiguration) {
        self.localAddress = localAddress
        self.port = port
        self.acceptsIPv4 = acceptsIPv4
        self.acceptsIPv6 = acceptsIPv6
        self.backlog = min(max(backlog, 0), 4096)
        self.configuration = configuration
        maximumHalfOpen = max(16, min(1024, 2 * max(backlog, 1)))
    }

    /// Takes the oldest established connection (the `accept` call), or nil.
    public func accept() -> TCPConnection? {
        acceptQueue.isEmpty ? nil : acceptQueue.removeFirst()
    }

    /// Whether `accept` would return a connection (EPOLLIN on a listener).
    public var isReadable: Bool { !acceptQueue.isEmpty }

    /// Connections in SYN-RECEIVED.
    public var halfOpenCount: Int { halfOpen.count }
    /// Connections waiting for accept.
    public var pendingAcceptCount: Int { acceptQueue.count }

    /// Whether this listener takes segments sent to `address`.
    func matches(_ address: IPAddress) -> Bool {
        if let localAddress { return localAddress == address }
        switch address {
        case .v4: return acceptsIPv4
        case .v6: return acceptsIPv6
        }
    }
}
