import Wire

/// The kinds of message sockets the stack serves.
public enum DatagramKind: Equatable, Sendable {
    /// SOCK_DGRAM, IPPROTO_UDP.
    case udp
    /// SOCK_DGRAM, IPPROTO_ICMP / IPPROTO_ICMPV6: Linux's unprivileged "ping" sockets, which
    /// send echo requests and receive the matching replies (identifier = local port).
    case ping
    /// SOCK_RAW with a protocol number: every packet of that protocol, IPv4 with its header.
    case raw(UInt8)
}

/// A datagram waiting in a socket's receive queue, with what recvmsg reports about it.
public struct ReceivedDatagram: Sendable {
    /// The payload (for raw IPv4 sockets, the whole packet with its IP header, as Linux).
    public var data: [UInt8]
    /// Addresses, interface, TTL and TOS.
    public var info: ReceivedPacketInfo
    /// The source port (UDP) or 0.
    public var sourcePort: UInt16
}

/// One UDP, ping or raw socket of the stack: its binding, its receive queue (bounded by
/// SO_RCVBUF as Linux counts it, payload plus overhead), and its options.
public final class DatagramSocket {
    /// What the socket is.
    public let kind: DatagramKind
    /// AF_INET (false) or AF_INET6 (true).
    public let isIPv6: Bool
    /// Bound address (nil: wildcard).
    public internal(set) var localAddress: IPAddress?
    /// Bound port (UDP), identifier (ping), or 0.
    public internal(set) var localPort: UInt16 = 0
    /// Connected peer, if any (connect on a datagram socket).
    public internal(set) var remote: (address: IPAddress, port: UInt16)?
    /// IPV6_V6ONLY (Linux's default is off: an IPv6 socket also takes IPv4).
    public var v6Only = false
    /// SO_BINDTODEVICE / SO_BINDTOIFINDEX (0: none).
    public var boundInterface = 0
    /// IP_TTL / IPV6_UNICAST_HOPS.
    public var timeToLive: UInt8 = 64
    /// IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS (Linux default 1).
    public var multicastTimeToLive: UInt8 = 1
    /// IP_MULTICAST_IF / IPV6_MULTICAST_IF (interface index; 0: routing decides).
    public var multicastInterface = 0
    /// IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP.
    public var multicastLoop = true
    /// IP_TOS / IPV6_TCLASS.
    public var typeOfService: UInt8 = 0
    /// IP_MINTTL / IPV6_MINHOPCOUNT: drop what arrives below it.
    public var minimumTimeToLive: UInt8 = 0
    /// IP_HDRINCL on raw IPv4 sockets: the user supplies the IP header.
    public var includesHeader = false
    /// IPV6_CHECKSUM on raw IPv6 sockets: where to put the checksum (-1: none). ICMPv6 always
    /// has one at offset 2.
    public var checksumOffset = -1
    /// SO_REUSEADDR.
    public var reuseAddress = false
    /// SO_REUSEPORT.
    public var reusePort = false
    /// SO_RCVBUF in bytes (Linux's default rmem_default, 212992).
    public var receiveBufferSize = 212_992
    /// Joined multicast groups: (group, interface index).
    public internal(set) var memberships: [(group: IPAddress, interfaceIndex: Int)] = []
    /// ICMP6_FILTER: types blocked (bit set = blocked), raw ICMPv6 sockets only.
    public var icmp6Filter = [UInt32](repeating: 0, count: 8)
    /// A pending error from an ICMP error about our traffic (ECONNREFUSED…), for SO_ERROR.
    public var pendingError: Int32?
    /// How many ICMP errors set `pendingError` so far (tells a new error from one already
    /// signalled to the guest).
    public internal(set) var errorCount = 0
    /// Called when the socket becomes readable or an error is pending.
    public var onEvent: ((DatagramSocket) -> Void)?

    /// The local address was set by connect, not bind (disconnect clears it): Linux's
    /// SOCK_BINDADDR_LOCK unset.
    var addressFromConnect = false
    /// The local port was chosen for the socket (by connect, a send, or bind to port 0), not
    /// named by bind: disconnect frees it (SOCK_BINDPORT_LOCK unset).
    var portFromConnect = false

    /// Datagrams waiting to be read.
    public internal(set) var queue: [ReceivedDatagram] = []
    private var queuedBytes = 0
    /// Datagrams dropped because the receive buffer was full.
    public internal(set) var overflows = 0
    /// Whether the socket was closed.
    public internal(set) var isClosed = false

    init(kind: DatagramKind, isIPv6: Bool) {
        self.kind = kind
        self.isIPv6 = isIPv6
        if case .raw(let proto) = kind, isIPv6, proto == IPProtocolNumber.icmpv6 { checksumOffset = 2 }
    }

    /// Whether a read would not block (EPOLLIN).
    public var isReadable: Bool { !queue.isEmpty || pendingError != nil }

    /// Takes the oldest datagram (recvmsg), or peeks at it.
    public func receive(peek: Bool = false) -> ReceivedDatagram? {
        guard let first = queue.first else { return nil }
        if !peek {
            queue.removeFirst()
            queuedBytes -= first.data.count + Self.overhead
        }
        return first
    }

    /// The size of the next datagram (FIONREAD on a datagram socket).
    public var nextDatagramSize: Int { queue.first?.data.count ?? 0 }

    /// Linux charges each queued skb its truesize; this approximates the overhead per datagram.
    static let overhead = 768

    /// Queues a datagram if the receive buffer has room (else counts an overflow, as Linux
    /// counts RcvbufErrors).
    func enqueue(_ datagram: ReceivedDatagram) {
        let cost = datagram.data.count + Self.overhead
        guard queuedBytes + cost <= max(receiveBufferSize, 2 * Self.overhead) || queue.isEmpty else {
            overflows += 1
            return
        }
        queue.append(datagram)
        queuedBytes += cost
        onEvent?(self)
    }

    /// Whether this socket takes a packet sent to `destination` (family, bound address,
    /// bound device, connected peer).
    func accepts(_ info: ReceivedPacketInfo, sourcePort: UInt16) -> Bool {
        switch info.destination {
        case .v4: if isIPv6 && v6Only { return false }
        case .v6: if !isIPv6 { return false }
        }
        if info.timeToLive < minimumTimeToLive { return false }
        if boundInterface != 0 && boundInterface != info.interfaceIndex { return false }
        if let local = localAddress, !Self.sameAddress(local, info.destination) {
            let isGroup = memberships.contains { $0.group == info.destination }
            if !isGroup { return false }
        }
        if let remote {
            if !Self.sameAddress(remote.address, info.source) { return false }
            if remote.port != 0 && remote.port != sourcePort { return false }
        }
        return true
    }

    /// Equality that treats a v4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address.
    static func sameAddress(_ a: IPAddress, _ b: IPAddress) -> Bool {
        unmapped(a) == unmapped(b)
    }

    /// An IPv4 address as the v4-mapped IPv6 address ::ffff:a.b.c.d (IPv6 addresses as they are).
    public static func mapped(_ address: IPAddress) -> IPAddress {
        guard case .v4(let a) = address else { return address }
        return .v6(IPv6Address(high: 0, low: 0xffff_0000_0000 | UInt64(a.value)))
    }

    /// The IPv4 address inside a v4-mapped IPv6 address, or the address itself.
    public static func unmapped(_ address: IPAddress) -> IPAddress {
        if case .v6(let a) = address, a.high == 0, a.low >> 32 == 0xffff {
            return .v4(IPv4Address(UInt32(truncatingIfNeeded: a.low)))
        }
        return address
    }
}
