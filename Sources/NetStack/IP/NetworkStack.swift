import Wire

/// srouter's network stack: interfaces, the IP layer that delivers or forwards what the
/// tunnels bring in, ICMP, and the transports. It is driven from outside: `receive` for each
/// packet an interface hands in, `poll` after user calls and at `nextDeadline`; time is
/// always passed in.
public final class NetworkStack {
    /// The interfaces.
    public let interfaces: InterfaceTable
    /// Where routing decisions come from (the FIB through the policy rules).
    public var routing: RouteResolver
    /// TCP.
    public let tcp: TCPLayer
    /// UDP, ping and raw sockets.
    public let datagrams: DatagramLayer
    /// net.ipv4.ip_forward / net.ipv6.conf.all.forwarding (a router forwards).
    public var forwardingEnabled = true
    /// ICMP error rate limits.
    public var icmpLimiter = ICMPRateLimiter()
    /// Drops and deliveries.
    public internal(set) var counters = StackCounters()
    /// IPv4 reassembly for local delivery.
    public let reassembler4 = FragmentReassembler()
    /// IPv6 reassembly (ip6frag_time: 60 s).
    public let reassembler6: FragmentReassembler = {
        var limits = ReassemblyLimits()
        limits.timeout = 60 * StackDuration.second
        return FragmentReassembler(limits: limits)
    }()

    /// One packet's worth of scratch space for packets the stack builds (errors, replies,
    /// TCP segments): allocated once, so building a packet allocates nothing.
    let scratch: UnsafeMutableRawBufferPointer
    /// Packets sent to ourselves, delivered on the next poll (as Linux's loopback does).
    var loopbackQueue: [[UInt8]] = []
    /// The next IPv4 identification.
    var nextIdentification: UInt16 = 1
    /// The next IPv6 Fragment header identification.
    var nextFragmentIdentification: UInt32 = 1

    /// The largest packet the stack builds or accepts.
    public static let maximumPacketSize = 65535

    /// A stack with an empty interface table; `lo` is added with index 1 and 127.0.0.1/8 and ::1/128.
    public init(routing: RouteResolver,
                sequenceSource: @escaping (TCPFourTuple, StackInstant) -> (isn: UInt32, timestampOffset: UInt32)) {
        interfaces = InterfaceTable()
        self.routing = routing
        tcp = TCPLayer(sequenceSource: sequenceSource)
        datagrams = DatagramLayer()
        scratch = .allocate(byteCount: Self.maximumPacketSize + 64, alignment: 16)
        tcp.pathMSS = { [unowned self] remote in self.pathMTU(toward: remote).map { $0 - (remote.bitWidth == 32 ? 40 : 60) } }
        if let lo = try? interfaces.add(name: "lo", kind: .loopback, mtu: 65536) {
            try? interfaces.addAddress(InterfaceAddress(address: .v4(.loopback), prefixLength: 8), to: lo)
            try? interfaces.addAddress(InterfaceAddress(address: .v6(.loopback), prefixLength: 128), to: lo)
        }
    }

    deinit { scratch.deallocate() }

    /// `lo`.
    public var loopback: NetworkInterface { interfaces[1]! }

    // MARK: - Input

    /// A packet that arrived on `interface` (decrypted from a tunnel, or looped back). The
    /// buffer may be modified in place (TTL decrement when forwarding).
    public func receive(_ packet: UnsafeMutableRawBufferPointer, on interface: NetworkInterface, now: StackInstant) {
        interface.counters.receivedPackets += 1
        interface.counters.receivedBytes += packet.count
        guard interface.isUp else {
            counters.interfaceDown += 1
            interface.counters.receiveDrops += 1
            return
        }
        switch packet.first.map({ $0 >> 4 }) {
        case 4: receiveIPv4(packet, on: interface, now: now)
        case 6: receiveIPv6(packet, on: interface, now: now)
        default:
            counters.malformed += 1
            interface.counters.receiveDrops += 1
        }
        tcp.poll(now: now, emit: { sendTCP($0, now: now) })
    }

    // MARK: - Timers

    /// Runs TCP's output and timers and delivers looped-back packets.
    public func poll(now: StackInstant) {
        expireFragments(now: now)
        var rounds = 0
        repeat {
            tcp.poll(now: now, emit: { sendTCP($0, now: now) })
            let queued = loopbackQueue
            loopbackQueue.removeAll()
            for var packet in queued {
                packet.withUnsafeMutableBytes { receive($0, on: loopback, now: now) }
            }
            rounds += 1
        } while !loopbackQueue.isEmpty && rounds < 64
    }

    /// The earliest time `poll` has timer work.
    public var nextDeadline: StackInstant? {
        guard loopbackQueue.isEmpty else { return 0 }
        return [tcp.nextDeadline, reassembler4.nextDeadline, reassembler6.nextDeadline].compactMap { $0 }.min()
    }

    /// Sends one TCP segment built by the TCP layer, out of the connection's interface when it
    /// has one (a link-local peer's scope or SO_BINDTODEVICE), as Linux's sk_bound_dev_if pins
    /// `ip6_dst_lookup_flow`: fe80::/64 is on every tunnel, so routing alone cannot choose.
    func sendTCP(_ segment: TCPOutgoingSegment, now: StackInstant) {
        let length = segment.header.bufferLength
        let error = sendIP(source: segment.source, destination: segment.destination, protocolNumber: IPProtocolNumber.tcp,
                   timeToLive: segment.timeToLive, typeOfService: segment.typeOfService, payloadLength: length,
                   interfaceIndex: segment.interfaceIndex, now: now) { body in
            let headerLength = segment.header.headerLength
            segment.copyPayload(into: UnsafeMutableRawBufferPointer(rebasing: body[headerLength...]))
            segment.header.emit(into: body, source: segment.source, destination: segment.destination,
                                fillChecksum: segment.md5Key == nil)
            if let key = segment.md5Key {
                TCPSignature.sign(body, source: segment.source, destination: segment.destination, key: key)
            }
        }
        // The route's MTU shrank under a connection (an interface MTU change): as if the
        // first hop had sent "fragmentation needed" (Linux's ip_queue_xmit → EMSGSIZE).
        if error == SendErrno.messageTooLong, let mtu = pathMTU(toward: segment.destination) {
            let tuple = TCPFourTuple(localAddress: segment.source, localPort: segment.header.sourcePort,
                                     remoteAddress: segment.destination, remotePort: segment.header.destinationPort)
            tcp.connections[tuple]?.pathMTUChanged(to: mtu)
        }
    }

    /// The MTU toward `destination`: the output interface's, lowered by the route's.
    public func pathMTU(toward destination: IPAddress) -> Int? {
        if interfaces.isLocal(destination) { return loopback.mtu }
        guard case .forward(let index, _, _, let mtu) = routing.resolve(destination, flowHash: 0),
              let interface = interfaces[index] else { return nil }
        return min(interface.mtu, mtu ?? Int.max)
    }

}
