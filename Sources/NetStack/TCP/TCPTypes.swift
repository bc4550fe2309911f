import Wire

/// The connection states of RFC 9293 §3.3.2, named as Linux's `ss` shows them.
public enum TCPState: String, Sendable, CaseIterable {
    /// No connection.
    case closed = "CLOSED"
    /// Waiting for a SYN (a listening socket).
    case listen = "LISTEN"
    /// Our SYN sent, waiting for the peer's.
    case synSent = "SYN-SENT"
    /// The peer's SYN received and ours sent, waiting for its ACK.
    case synReceived = "SYN-RECV"
    /// Open: data flows both ways.
    case established = "ESTAB"
    /// We closed; our FIN is not yet acknowledged.
    case finWait1 = "FIN-WAIT-1"
    /// We closed and our FIN is acknowledged; the peer may still send.
    case finWait2 = "FIN-WAIT-2"
    /// The peer closed; we may still send.
    case closeWait = "CLOSE-WAIT"
    /// Both closed at once; waiting for the ACK of our FIN.
    case closing = "CLOSING"
    /// The peer closed first, then we did; waiting for the ACK of our FIN.
    case lastAck = "LAST-ACK"
    /// Both closed; lingering 2·MSL for stray segments (Linux: 60 s).
    case timeWait = "TIME-WAIT"

    /// Linux's TCP_INFO `tcpi_state` number (include/net/tcp_states.h).
    public var linuxNumber: UInt8 {
        switch self {
        case .established: 1
        case .synSent: 2
        case .synReceived: 3
        case .finWait1: 4
        case .finWait2: 5
        case .timeWait: 6
        case .closed: 7
        case .closeWait: 8
        case .lastAck: 9
        case .listen: 10
        case .closing: 11
        }
    }

    /// Whether both SYNs have been exchanged (RFC 9293's "synchronized states").
    public var isSynchronized: Bool {
        switch self {
        case .closed, .listen, .synSent, .synReceived: false
        default: true
        }
    }
}

/// A connection's identity: local and remote address and port (RFC 9293 §3.4).
public struct TCPFourTuple: Hashable, Sendable, CustomStringConvertible {
    /// Our address.
    public var localAddress: IPAddress
    /// Our port.
    public var localPort: UInt16
    /// The peer's address.
    public var remoteAddress: IPAddress
    /// The peer's port.
    public var remotePort: UInt16

    /// Creates a tuple.
    public init(localAddress: IPAddress, localPort: UInt16, remoteAddress: IPAddress, remotePort: UInt16) {
        self.localAddress = localAddress
        self.localPort = localPort
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
    }

    /// `local:port → remote:port` with IPv6 addresses bracketed.
    public var description: String {
        func show(_ a: IPAddress, _ p: UInt16) -> String {
            if case .v6 = a { return "[\(a)]:\(p)" }
            return "\(a):\(p)"
        }
        return "\(show(localAddress, localPort)) → \(show(remoteAddress, remotePort))"
    }
}

/// Why a connection ended abnormally, as the errno Linux reports through `SO_ERROR`, a
/// failed `connect`, or a failed read or write.
public enum TCPConnectionError: Int32, Error, Sendable {
    /// The peer answered our SYN with a RST (ECONNREFUSED).
    case refused = 111
    /// The peer reset an open connection (ECONNRESET).
    case reset = 104
    /// Retransmissions or keepalives ran out (ETIMEDOUT).
    case timedOut = 110
    /// An ICMP error said the host is unreachable (EHOSTUNREACH).
    case hostUnreachable = 113
    /// An ICMP error said the network is unreachable (ENETUNREACH).
    case networkUnreachable = 101
    /// Writing after our side was shut down (EPIPE).
    case brokenPipe = 32
}

/// What a connection is configured with: Linux's defaults, changed by socket options.
public struct TCPConfiguration: Sendable {
    /// SO_RCVBUF: the receive buffer (and the most window we advertise).
    public var receiveBufferSize = 512 * 1024
    /// SO_SNDBUF: the send buffer.
    public var sendBufferSize = 512 * 1024
    /// The MSS we announce: the outgoing interface's MTU less the IP and TCP headers
    /// (RFC 9293 §3.7.1). `TCPLayer` sets it from the route when the connection opens.
    public var maximumSegmentSize = 1380
    /// TCP_MAXSEG: an upper bound the user set on the MSS, if any.
    public var maximumSegmentSizeClamp: Int?
    /// TCP_NODELAY: no Nagle (RFC 9293 §3.7.4).
    public var noDelay = false
    /// SO_KEEPALIVE.
    public var keepAlive = false
    /// TCP_KEEPIDLE (Linux default 7200 s).
    public var keepAliveIdle: UInt64 = 7200 * StackDuration.second
    /// TCP_KEEPINTVL (Linux default 75 s).
    public var keepAliveInterval: UInt64 = 75 * StackDuration.second
    /// TCP_KEEPCNT (Linux default 9).
    public var keepAliveCount = 9
    /// Whether to offer timestamps (RFC 7323; Linux net.ipv4.tcp_timestamps=1).
    public var timestamps = true
    /// Whether to offer SACK (RFC 2018; Linux net.ipv4.tcp_sack=1).
    public var selectiveAcknowledgments = true
    /// Whether to offer window scaling (RFC 7323 §2; Linux net.ipv4.tcp_window_scaling=1).
    public var windowScaling = true
    /// SYN retransmissions before giving up (Linux net.ipv4.tcp_syn_retries = 6).
    public var synRetries = 6
    /// Data retransmissions before giving up (Linux net.ipv4.tcp_retries2 = 15).
    public var dataRetries = 15
    /// TCP_USER_TIMEOUT: give up when data stays unacknowledged this long (0: use retries).
    public var userTimeout: UInt64 = 0
    /// IP_TTL / IPV6_UNICAST_HOPS for our segments.
    public var timeToLive: UInt8 = 64
    /// IP_TOS / IPV6_TCLASS for our segments.
    public var typeOfService: UInt8 = 0
    /// IP_MINTTL / IPV6_MINHOPCOUNT: drop segments arriving with less (RFC 5082, GTSM).
    public var minimumTimeToLive: UInt8 = 0
    /// TCP_MD5SIG key for the peer (RFC 2385); segments without a valid signature are dropped.
    public var md5Key: [UInt8]?
    /// SO_BINDTODEVICE, or the scope id of a link-local connection (RFC 4007 §6): the
    /// interface segments leave by (and, on a listener, the only one it takes SYNs from);
    /// nil lets routing decide.
    public var interfaceIndex: Int?
    /// How long TIME-WAIT lasts (Linux TCP_TIMEWAIT_LEN, 60 s).
    public var timeWaitDuration: UInt64 = 60 * StackDuration.second
    /// TCP_CONGESTION: "cubic" (Linux's default) or "reno".
    public var congestionControl = "cubic"

    /// Linux's defaults.
    public init() {}
}

/// A segment a connection wants sent: the header and where its data lies in the send buffer.
/// The caller (the IP layer) lays out the IP header, copies the data with `copyPayload`,
/// signs the segment if `md5Key` is set, and fills the checksum; nothing here allocates.
public struct TCPOutgoingSegment {
    /// The TCP header and options; `payloadLength` is the data's length.
    public var header: TCPRepr
    /// Our address.
    public var source: IPAddress
    /// The peer's address.
    public var destination: IPAddress
    /// TTL / hop limit for the IP header.
    public var timeToLive: UInt8
    /// TOS / traffic class for the IP header.
    public var typeOfService: UInt8
    /// The RFC 2385 key to sign with, if any.
    public var md5Key: [UInt8]?
    /// The interface the segment must leave by (SO_BINDTODEVICE, or the scope of a
    /// link-local peer); nil: routing decides.
    public var interfaceIndex: Int?
    let payloadRing: ByteRing?
    let payloadOffset: Int

    /// Creates a segment; data, if any, is `header.payloadLength` bytes at `payloadOffset` in `ring`.
    init(header: TCPRepr, source: IPAddress, destination: IPAddress, timeToLive: UInt8, typeOfService: UInt8,
         md5Key: [UInt8]?, interfaceIndex: Int? = nil, payloadRing: ByteRing? = nil, payloadOffset: Int = 0) {
        self.interfaceIndex = interfaceIndex
        self.header = header
        self.source = source
        self.destination = destination
        self.timeToLive = timeToLive
        self.typeOfService = typeOfService
        self.md5Key = md5Key
        self.payloadRing = payloadRing
        self.payloadOffset = payloadOffset
    }

    /// Copies the segment's data (exactly `header.payloadLength` bytes) into `destination`.
    public func copyPayload(into destination: UnsafeMutableRawBufferPointer) {
        guard header.payloadLength > 0, let ring = payloadRing else { return }
        let target = UnsafeMutableRawBufferPointer(rebasing: destination[0..<header.payloadLength])
        let copied = ring.read(into: target, at: payloadOffset)
        precondition(copied == header.payloadLength, "TCP segment data outside the send buffer")
    }
}
