import Wire

/// Errors of datagram socket calls, as Linux's errno.
public enum DatagramError: Int32, Error, Sendable {
    /// EADDRINUSE: the port is taken and reuse does not allow sharing.
    case addressInUse = 98
    /// EADDRNOTAVAIL: the address is not local.
    case addressNotAvailable = 99
    /// EINVAL.
    case invalid = 22
    /// EAFNOSUPPORT: an IPv4 address on an IPv6-only socket or the reverse.
    case familyNotSupported = 97
    /// EDESTADDRREQ: send without an address on an unconnected socket.
    case destinationRequired = 89
    /// EMSGSIZE.
    case messageTooLong = 90
    /// EAGAIN: no ephemeral port left.
    case wouldBlock = 11
}

/// UDP, ping and raw sockets: binding, demultiplexing and delivery. Sending goes through
/// `NetworkStack.send(_:…)`, which owns routing.
public final class DatagramLayer {
    /// Every open socket.
    public private(set) var sockets: [DatagramSocket] = []
    private var nextEphemeral: UInt16 = 32768
    /// UDP datagrams dropped for a bad checksum or length.
    public internal(set) var malformed = 0

    init() {}

    /// Opens a socket (the socket call).
    public func open(kind: DatagramKind, isIPv6: Bool) -> DatagramSocket {
        let socket = DatagramSocket(kind: kind, isIPv6: isIPv6)
        sockets.append(socket)
        return socket
    }

    /// Closes a socket: its port is free at once.
    public func close(_ socket: DatagramSocket) {
        socket.isClosed = true
        socket.onEvent = nil
        sockets.removeAll { $0 === socket }
    }

    /// Binds (the bind call): port 0 picks an ephemeral port (UDP; ping sockets get an
    /// identifier the same way). A port may be shared only when both sockets set
    /// SO_REUSEADDR or both SO_REUSEPORT, or their addresses differ and neither is a wildcard
    /// (Linux's udp_lib_lport_inuse).
    public func bind(_ socket: DatagramSocket, address: IPAddress?, port: UInt16) throws(DatagramError) {
        guard socket.localPort == 0 && socket.localAddress == nil else { throw .invalid }
        var chosen = port
        if chosen == 0, socket.kind == .udp || socket.kind == .ping {
            guard let free = ephemeralPort(for: socket, address: address) else { throw .wouldBlock }
            chosen = free
        } else if conflicts(socket, address: address, port: chosen) {
            throw .addressInUse
        }
        socket.localAddress = address
        socket.localPort = chosen
        // inet_bind: an explicit port sets SOCK_BINDPORT_LOCK and a specific address
        // SOCK_BINDADDR_LOCK; what was chosen for the socket is undone by a disconnect.
        socket.portFromConnect = port == 0
        socket.addressFromConnect = false
    }

    /// Connects (connect on a datagram socket, Linux's `__ip4_datagram_connect` and
    /// `__ip6_datagram_connect`): `address`:`port` becomes the default destination and the
    /// only source taken. An unbound socket gets an ephemeral port, and a wildcard-bound one
    /// the route's `source`, both undone by `disconnect` as Linux's `__udp_disconnect` does.
    /// A link-scoped destination with a scope id binds the socket to that interface
    /// (`__ip6_datagram_connect` sets `sk_bound_dev_if`), which names then report.
    public func connect(_ socket: DatagramSocket, to address: IPAddress, port: UInt16,
                        source: IPAddress?, scopeInterface: Int? = nil) throws(DatagramError) {
        if let scopeInterface, address.isLinkScoped { socket.boundInterface = scopeInterface }
        if socket.localPort == 0, socket.kind == .udp || socket.kind == .ping {
            guard let free = ephemeralPort(for: socket, address: socket.localAddress) else { throw .wouldBlock }
            socket.localPort = free
            socket.portFromConnect = true
        }
        if socket.localAddress == nil, let source {
            socket.localAddress = socket.isIPv6 && source.bitWidth == 32 ? DatagramSocket.mapped(source) : source
            socket.addressFromConnect = true
        }
        socket.remote = (address, port)
    }

    /// Dissolves a connection (connect with AF_UNSPEC, `__udp_disconnect`): the device
    /// binding is dropped, and an address or port the socket did not bind explicitly (one
    /// connect chose, or an ephemeral port bind chose for port 0) is unbound.
    public func disconnect(_ socket: DatagramSocket) {
        socket.remote = nil
        socket.boundInterface = 0
        if socket.addressFromConnect { socket.localAddress = nil }
        if socket.portFromConnect { socket.localPort = 0 }
        socket.addressFromConnect = false
        socket.portFromConnect = false
    }

    /// Whether binding `socket` to `address`:`port` would collide with another socket.
    func conflicts(_ socket: DatagramSocket, address: IPAddress?, port: UInt16) -> Bool {
        guard case .udp = socket.kind else {
            if case .ping = socket.kind {
                return sockets.contains { $0 !== socket && $0.kind == .ping && $0.localPort == port
                    && $0.isIPv6 == socket.isIPv6 }
            }
            return false
        }
        for other in sockets where other !== socket && other.kind == .udp && other.localPort == port {
            if socket.reuseAddress && other.reuseAddress { continue }
            if socket.reusePort && other.reusePort { continue }
            if !familiesOverlap(socket, address, other) { continue }
            if let a = address, let b = other.localAddress, !DatagramSocket.sameAddress(a, b) { continue }
            if socket.boundInterface != 0 && other.boundInterface != 0 && socket.boundInterface != other.boundInterface {
                continue
            }
            return true
        }
        return false
    }

    private func familiesOverlap(_ socket: DatagramSocket, _ address: IPAddress?, _ other: DatagramSocket) -> Bool {
        func takesV4(_ s: DatagramSocket, _ a: IPAddress?) -> Bool {
            if let a { if case .v4 = DatagramSocket.unmapped(a) { return true } else { return false } }
            return !s.isIPv6 || !s.v6Only
        }
        func takesV6(_ s: DatagramSocket, _ a: IPAddress?) -> Bool {
            if let a { if case .v6 = DatagramSocket.unmapped(a) { return true } else { return false } }
            return s.isIPv6
        }
        return (takesV4(socket, address) && takesV4(other, other.localAddress))
            || (takesV6(socket, address) && takesV6(other, other.localAddress))
    }

    func ephemeralPort(for socket: DatagramSocket, address: IPAddress?) -> UInt16? {
        for _ in 0..<(60999 - 32768 + 1) {
            let port = nextEphemeral
            nextEphemeral = nextEphemeral >= 60999 ? 32768 : nextEphemeral + 1
            if !conflicts(socket, address: address, port: port) { return port }
        }
        return nil
    }

    /// Joins a multicast group on an interface (IP_ADD_MEMBERSHIP / IPV6_ADD_MEMBERSHIP).
    public func join(_ socket: DatagramSocket, group: IPAddress, interfaceIndex: Int) throws(DatagramError) {
        guard !socket.memberships.contains(where: { $0.group == group && $0.interfaceIndex == interfaceIndex }) else {
            throw .addressInUse // Linux: EADDRINUSE for a second join of the same group
        }
        socket.memberships.append((group, interfaceIndex))
    }

    /// Leaves a group (IP_DROP_MEMBERSHIP); EADDRNOTAVAIL if not joined.
    public func leave(_ socket: DatagramSocket, group: IPAddress, interfaceIndex: Int) throws(DatagramError) {
        guard let at = socket.memberships.firstIndex(where: {
            $0.group == group && (interfaceIndex == 0 || $0.interfaceIndex == interfaceIndex)
        }) else { throw .addressNotAvailable }
        socket.memberships.remove(at: at)
    }

    /// Whether some socket joined `group` on the interface (or on any, index 0).
    public func isJoined(_ group: IPAddress, interfaceIndex: Int) -> Bool {
        sockets.contains { $0.memberships.contains { $0.group == group && ($0.interfaceIndex == interfaceIndex || $0.interfaceIndex == 0) } }
    }

    // MARK: - Delivery

    /// A UDP datagram for us: checked (RFC 768; a zero checksum is allowed over IPv4 only,
    /// RFC 8200 §8.1), then given to the best matching socket — or to every match for
    /// multicast and broadcast. Returns whether some socket took it.
    func deliverUDP(_ segment: UnsafeRawBufferPointer, info: ReceivedPacketInfo, verifyChecksum: Bool) -> Bool {
        guard let udp = try? UDPPacket(checking: segment),
              let repr = try? UDPRepr.parse(udp, source: info.source, destination: info.destination,
                                            verifyChecksum: verifyChecksum) else {
            malformed += 1
            return true // dropped, but not a reason for port unreachable
        }
        let matches = sockets.filter {
            $0.kind == .udp && $0.localPort == repr.destinationPort && $0.accepts(info, sourcePort: repr.sourcePort)
        }
        guard !matches.isEmpty else { return false }
        let datagram = ReceivedDatagram(data: Array(udp.payload), info: info, sourcePort: repr.sourcePort)
        if isGroupOrBroadcast(info.destination) {
            for socket in matches { socket.enqueue(datagram) }
        } else {
            // Linux's compute_score: connected and address-bound sockets win over wildcards.
            let best = matches.max { score($0) < score($1) }!
            best.enqueue(datagram)
        }
        return true
    }

    private func score(_ socket: DatagramSocket) -> Int {
        (socket.remote != nil ? 4 : 0) + (socket.localAddress != nil ? 2 : 0) + (socket.boundInterface != 0 ? 1 : 0)
    }

    private func isGroupOrBroadcast(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let a): a.value >> 28 == 0xe || a.value == 0xffff_ffff
        case .v6(let a): a.isMulticast
        }
    }

    /// Copies a packet to every raw socket of its protocol (Linux's raw_v4_input: IPv4 raw
    /// sockets see the IP header, IPv6 ones only the payload). Returns whether any took it.
    func deliverRaw(protocolNumber: UInt8, packet: UnsafeRawBufferPointer, headerLength: Int,
                    info: ReceivedPacketInfo) -> Bool {
        var taken = false
        for socket in sockets {
            guard case .raw(let proto) = socket.kind, proto == protocolNumber, socket.accepts(info, sourcePort: 0) else {
                continue
            }
            let data: [UInt8]
            if socket.isIPv6 {
                guard case .v6 = info.destination else { continue }
                let payload = UnsafeRawBufferPointer(rebasing: packet[min(headerLength, packet.count)...])
                if protocolNumber == IPProtocolNumber.icmpv6, let type = payload.first,
                   socket.icmp6Filter[Int(type) >> 5] & (1 << (UInt32(type) & 31)) != 0 { continue }
                data = Array(payload)
            } else {
                data = Array(packet)
            }
            socket.enqueue(ReceivedDatagram(data: data, info: info, sourcePort: 0))
            taken = true
        }
        return taken
    }

    /// An echo reply goes to the ping socket whose identifier (local port) it carries.
    func deliverPingReply(_ icmp: UnsafeRawBufferPointer, info: ReceivedPacketInfo) {
        guard let view = try? ICMPv4Packet(checking: icmp) else { return }
        let identifier = view.identifier // ICMPv6 echo has the same layout
        for socket in sockets where socket.kind == .ping && socket.localPort == identifier
            && socket.accepts(info, sourcePort: 0) {
            socket.enqueue(ReceivedDatagram(data: Array(icmp), info: info, sourcePort: 0))
            return
        }
    }

    /// An ICMP error quoting one of our UDP datagrams: a connected socket learns
    /// ECONNREFUSED (port unreachable) or EHOSTUNREACH/ENETUNREACH, as Linux reports them.
    func deliverICMPError(_ type: UInt8, code: UInt8, quoted: IPv4Packet, info: ReceivedPacketInfo) {
        guard quoted.protocolNumber == IPProtocolNumber.udp, quoted.payload.count >= 4 else { return }
        let errno: Int32
        switch (type, code) {
        case (3, 3): errno = 111
        case (3, 0): errno = 101
        case (3, 4): errno = 90
        case (3, _): errno = 113
        case (11, _): errno = 113
        default: return
        }
        notifyUDP(localAddress: .v4(quoted.source), remoteAddress: .v4(quoted.destination), quoted.payload, errno: errno)
    }

    /// The ICMPv6 counterpart (RFC 4443 §3; Linux's icmpv6_err_convert).
    func deliverICMPv6Error(_ type: UInt8, code: UInt8, quoted: IPv6Packet, info: ReceivedPacketInfo) {
        guard quoted.nextHeader == IPProtocolNumber.udp, quoted.payload.count >= 4 else { return }
        let errno: Int32
        switch (type, code) {
        case (1, 4): errno = 111
        case (1, 1): errno = 13
        case (1, _): errno = 113
        case (2, _): errno = 90
        case (3, _): errno = 113
        default: return
        }
        notifyUDP(localAddress: .v6(quoted.source), remoteAddress: .v6(quoted.destination), quoted.payload, errno: errno)
    }

    private func notifyUDP(localAddress: IPAddress, remoteAddress: IPAddress, _ header: UnsafeRawBufferPointer,
                           errno: Int32) {
        guard let udp = try? UDPPacket(checking: header.count >= UDPPacket.headerLength ? header : UnsafeRawBufferPointer(start: nil, count: 0)) else { return }
        for socket in sockets where socket.kind == .udp && socket.localPort == udp.sourcePort {
            guard let remote = socket.remote, DatagramSocket.sameAddress(remote.address, remoteAddress),
                  remote.port == udp.destinationPort else { continue }
            socket.pendingError = errno
            socket.errorCount += 1
            socket.onEvent?(socket)
        }
    }
}
