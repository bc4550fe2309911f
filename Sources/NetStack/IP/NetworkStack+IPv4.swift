import Wire

extension NetworkStack {
    /// IPv4 input (RFC 1812 §5.2.2, RFC 1122 §3.2.1): check the header, then deliver locally
    /// or forward.
    func receiveIPv4(_ buffer: UnsafeMutableRawBufferPointer, on interface: NetworkInterface, now: StackInstant) {
        guard let packet = try? IPv4Packet(checking: UnsafeRawBufferPointer(buffer)), packet.checksumIsValid else {
            counters.malformed += 1
            interface.counters.receiveDrops += 1
            return
        }
        let source = packet.source
        let destination = packet.destination
        // Martian sources (Linux's ip_route_input_slow): multicast, limited broadcast,
        // 0.0.0.0, and 127/8 arriving from outside.
        if source.value >> 28 == 0xe || source.value == 0xffff_ffff || source.value == 0
            || (source.value >> 24 == 127 && interface.kind != .loopback) {
            counters.martianSource += 1
            interface.counters.receiveDrops += 1
            return
        }
        let trimmed = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<packet.payloadEnd])
        if interfaces.isLocal(.v4(destination)) || destination.value == 0xffff_ffff
            || (destination.value >> 28 == 0xe && datagrams.isJoined(.v4(destination), interfaceIndex: interface.index)) {
            deliverIPv4(packet, on: interface, now: now)
        } else {
            forwardIPv4(trimmed, packet: packet, from: interface, now: now)
        }
    }

    /// Local delivery: TCP, UDP, ICMP, and copies for raw sockets of the protocol.
    func deliverIPv4(_ packet: IPv4Packet, on interface: NetworkInterface, now: StackInstant) {
        if packet.isFragment {
            reassembleIPv4(packet, on: interface, now: now)
            return
        }
        counters.delivered += 1
        let source = IPAddress.v4(packet.source)
        let destination = IPAddress.v4(packet.destination)
        let meta = ReceivedPacketInfo(source: source, destination: destination, interfaceIndex: interface.index,
                                      timeToLive: packet.timeToLive, typeOfService: packet.typeOfService)
        let rawTaken = datagrams.deliverRaw(protocolNumber: packet.protocolNumber, packet: packet.buffer,
                                            headerLength: packet.headerLength, info: meta)
        switch packet.protocolNumber {
        case IPProtocolNumber.tcp:
            tcp.receive(packet.payload, source: source, destination: destination, timeToLive: packet.timeToLive,
                        interfaceIndex: interface.index, now: now)
        case IPProtocolNumber.udp:
            if !datagrams.deliverUDP(packet.payload, info: meta, verifyChecksum: true) && destination != .v4(IPv4Address(0xffff_ffff)) {
                counters.unreachablePort += 1
                sendICMPv4Error(.destinationUnreachable(code: ICMPv4Message.UnreachableCode.port, nextHopMTU: 0),
                                about: packet, arrivedOn: interface, now: now)
            }
        case IPProtocolNumber.icmp:
            receiveICMPv4(packet, info: meta, on: interface, now: now)
        default:
            if !rawTaken {
                counters.unreachablePort += 1
                sendICMPv4Error(.destinationUnreachable(code: ICMPv4Message.UnreachableCode.protocol, nextHopMTU: 0),
                                about: packet, arrivedOn: interface, now: now)
            }
        }
    }

    /// A fragment for us: into the reassembler; a completed datagram is delivered with a
    /// fresh header (MF clear, offset 0, the whole length).
    func reassembleIPv4(_ packet: IPv4Packet, on interface: NetworkInterface, now: StackInstant) {
        let key = FragmentReassembler.Key(source: .v4(packet.source), destination: .v4(packet.destination),
                                          identification: UInt32(packet.identification), protocolNumber: packet.protocolNumber)
        let quote = UnsafeRawBufferPointer(rebasing: packet.buffer[0..<min(packet.payloadEnd, packet.headerLength + 8)])
        guard let payload = reassembler4.insert(key, offset: Int(packet.fragmentOffset) * 8, more: packet.moreFragments,
                                                data: packet.payload, quote: quote, now: now) else { return }
        guard var header = try? IPv4Repr.parse(packet, verifyChecksum: false) else { return }
        header.moreFragments = false
        header.fragmentOffset = 0
        header.payloadLength = payload.count
        var whole = [UInt8](repeating: 0, count: header.bufferLength)
        whole.replaceSubrange(header.headerLength..., with: payload)
        whole.withUnsafeMutableBytes { header.emit(into: $0) }
        whole.withUnsafeBytes { raw in
            guard let complete = try? IPv4Packet(checking: raw) else { return }
            deliverIPv4(complete, on: interface, now: now)
        }
    }

    /// Datagrams whose reassembly timed out: ICMP time exceeded, code 1, if the first
    /// fragment came (RFC 792; RFC 8200 §4.5), rate-limited like every error.
    func expireFragments(now: StackInstant) {
        for expired in reassembler4.expire(now: now) {
            counters.fragmentsDropped += 1
            expired.firstFragment.withUnsafeBytes { raw in
                guard let quoted = try? IPv4Packet(checkingQuoted: raw),
                      let interface = interfaces.owner(of: .v4(quoted.destination)) else { return }
                sendICMPv4Error(.timeExceeded(code: 1), about: quoted, arrivedOn: interface, now: now)
            }
        }
        for expired in reassembler6.expire(now: now) {
            counters.fragmentsDropped += 1
            expired.firstFragment.withUnsafeBytes { raw in
                guard let quoted = try? IPv6Packet(checkingQuoted: raw),
                      let interface = interfaces.owner(of: .v6(quoted.destination)) else { return }
                sendICMPv6Error(.timeExceeded(code: 1), about: quoted, arrivedOn: interface, now: now)
            }
        }
    }

    /// ICMP for us: echo requests answered (RFC 792; never rate-limited), echo replies to ping
    /// sockets, errors to the transports they quote.
    func receiveICMPv4(_ packet: IPv4Packet, info: ReceivedPacketInfo, on interface: NetworkInterface, now: StackInstant) {
        guard let icmp = try? ICMPv4Packet(checking: packet.payload), icmp.checksumIsValid,
              let repr = try? ICMPv4Repr.parse(icmp, verifyChecksum: false) else {
            counters.malformed += 1
            return
        }
        switch repr.message {
        case .echoRequest(let identifier, let sequence):
            guard packet.destination.value != 0xffff_ffff else { return } // icmp_echo_ignore_broadcasts
            let reply = ICMPv4Repr(message: .echoReply(identifier: identifier, sequenceNumber: sequence),
                                   payloadLength: repr.payloadLength)
            let data = icmp.data
            let sent = sendIP(source: info.destination, destination: info.source, protocolNumber: IPProtocolNumber.icmp,
                              timeToLive: 64, typeOfService: packet.typeOfService, payloadLength: reply.bufferLength,
                              dontFragment: false, now: now) { body in
                UnsafeMutableRawBufferPointer(rebasing: body[ICMPv4Packet.headerLength...]).copyMemory(from: data)
                reply.emit(into: body)
            }
            if sent == nil { counters.echoRepliesSent += 1 }
        case .echoReply:
            datagrams.deliverPingReply(icmp.buffer, info: info)
        default:
            if icmp.isError, let quoted = try? icmp.quotedPacket() {
                if quoted.protocolNumber == IPProtocolNumber.tcp {
                    var mtu: Int?
                    var unreachable: TCPConnectionError?
                    if case .destinationUnreachable(let code, let nextHopMTU) = repr.message {
                        if code == ICMPv4Message.UnreachableCode.fragmentationNeeded {
                            // RFC 1191 §5: an old router reports 0; fall back to a plateau below.
                            mtu = nextHopMTU > 0 ? Int(nextHopMTU) : max(576, quoted.totalLength - 40)
                        } else {
                            unreachable = code == ICMPv4Message.UnreachableCode.network ? .networkUnreachable : .hostUnreachable
                        }
                    }
                    tcp.receiveICMPError(mtu: mtu, unreachable: unreachable, quotedHeader: quoted.payload,
                                         local: .v4(quoted.source), remote: .v4(quoted.destination))
                    tcp.poll(now: now, emit: { sendTCP($0, now: now) })
                }
                datagrams.deliverICMPError(repr.message.type, code: repr.message.code, quoted: quoted, info: info)
            }
        }
    }

    /// Forwarding (RFC 1812 §5.2–5.3): TTL, route, reverse path, MTU; the TTL is decremented
    /// in place and the packet leaves by its next hop. Errors go back rate-limited.
    func forwardIPv4(_ buffer: UnsafeMutableRawBufferPointer, packet: IPv4Packet, from interface: NetworkInterface,
                     now: StackInstant) {
        guard forwardingEnabled else {
            counters.notForwarded += 1
            return
        }
        let destination = packet.destination
        // Multicast and broadcast are not routed (no multicast routing here).
        if destination.value >> 28 == 0xe || destination.value == 0xffff_ffff {
            counters.notForwarded += 1
            return
        }
        if packet.timeToLive <= 1 {
            counters.timeExceeded += 1
            sendICMPv4Error(.timeExceeded(code: 0), about: packet, arrivedOn: interface, now: now)
            return
        }
        let decision = routing.resolve(.v4(destination), flowHash: flowHash(.v4(packet.source), .v4(destination)))
        guard case .forward(let outIndex, let nextHop, _, let routeMTU) = decision,
              let output = interfaces[outIndex] else {
            refuse(decision, ipv4: packet, arrivedOn: interface, now: now)
            return
        }
        guard passesReversePath(.v4(packet.source), arrivedOn: interface) else {
            counters.reversePathFiltered += 1
            interface.counters.receiveDrops += 1
            return
        }
        let mtu = min(output.mtu, routeMTU ?? Int.max)
        if packet.totalLength > mtu {
            if packet.dontFragment {
                counters.tooBig += 1
                sendICMPv4Error(.destinationUnreachable(code: ICMPv4Message.UnreachableCode.fragmentationNeeded,
                                                        nextHopMTU: UInt16(clamping: mtu)),
                                about: packet, arrivedOn: interface, now: now)
                return
            }
            IPv4Packet.decrementTimeToLive(in: buffer)
            if fragmentAndTransmit(UnsafeRawBufferPointer(buffer), mtu: mtu, on: output, nextHop: nextHop) == nil {
                counters.forwarded += 1
            }
            return
        }
        IPv4Packet.decrementTimeToLive(in: buffer)
        if transmit(UnsafeRawBufferPointer(buffer), on: output, nextHop: nextHop) {
            counters.forwarded += 1
        } else {
            sendICMPv4Error(.destinationUnreachable(code: ICMPv4Message.UnreachableCode.host, nextHopMTU: 0),
                            about: packet, arrivedOn: interface, now: now)
        }
    }

    /// Unreachables by route type (Linux's ip_error): no route → net unreachable, unreachable
    /// → host unreachable, prohibit → administratively prohibited, blackhole → silence.
    func refuse(_ decision: RouteDecision, ipv4 packet: IPv4Packet, arrivedOn interface: NetworkInterface,
                now: StackInstant) {
        let code: UInt8
        switch decision {
        case .blackhole:
            counters.blackholed += 1
            return
        case .unreachable:
            counters.rejected += 1
            code = ICMPv4Message.UnreachableCode.host
        case .prohibit:
            counters.rejected += 1
            code = ICMPv4Message.UnreachableCode.administrativelyProhibited
        default:
            counters.noRoute += 1
            code = ICMPv4Message.UnreachableCode.network
        }
        sendICMPv4Error(.destinationUnreachable(code: code, nextHopMTU: 0), about: packet, arrivedOn: interface, now: now)
    }

    /// Linux's rp_filter (RFC 3704): strict wants the best route back to the source to leave
    /// through the arrival interface, loose wants any route back.
    func passesReversePath(_ source: IPAddress, arrivedOn interface: NetworkInterface) -> Bool {
        switch interface.reversePathFilter {
        case .off:
            return true
        case .loose:
            if case .forward = routing.resolve(source, flowHash: 0) { return true }
            return false
        case .strict:
            if case .forward(let index, _, _, _) = routing.resolve(source, flowHash: 0) { return index == interface.index }
            return false
        }
    }

    /// An ICMP error about `packet` (RFC 792; RFC 1812 §4.3.2): never about ICMP errors,
    /// non-first fragments, or broadcast/multicast; quoting as much of the packet as fits in
    /// 576 bytes; from the address of the interface it arrived on; rate-limited.
    func sendICMPv4Error(_ message: ICMPv4Message, about packet: IPv4Packet, arrivedOn interface: NetworkInterface,
                         now: StackInstant) {
        let source = packet.source
        let destination = packet.destination
        if packet.fragmentOffset != 0 { return }
        if destination.value >> 28 == 0xe || destination.value == 0xffff_ffff { return }
        if source.value >> 28 == 0xe || source.value == 0 || source.value == 0xffff_ffff { return }
        if packet.protocolNumber == IPProtocolNumber.icmp, let inner = try? ICMPv4Packet(checking: packet.payload),
           inner.isError || ![0, 8, 13, 14, 15, 16, 17, 18].contains(inner.type) { return }
        guard icmpLimiter.allow(to: .v4(source), now: now) else {
            counters.icmpRateLimited += 1
            return
        }
        guard let from = interface.preferredAddress(toward: .v4(source)) ?? sourceAddress(toward: .v4(source)) else { return }
        let quote = UnsafeRawBufferPointer(rebasing: packet.buffer[0..<min(packet.payloadEnd, 576 - 28)])
        let repr = ICMPv4Repr(message: message, payloadLength: quote.count)
        let sent = sendIP(source: from, destination: .v4(source), protocolNumber: IPProtocolNumber.icmp, timeToLive: 64,
                          typeOfService: 0xc0, payloadLength: repr.bufferLength, dontFragment: false, now: now) { body in
            UnsafeMutableRawBufferPointer(rebasing: body[ICMPv4Packet.headerLength...]).copyMemory(from: quote)
            repr.emit(into: body)
        }
        if sent == nil { counters.icmpErrorsSent += 1 }
    }
}

/// What a transport learns about a received packet besides its payload: addresses, the
/// interface (IP_PKTINFO), TTL (IP_RECVTTL) and TOS.
public struct ReceivedPacketInfo: Sendable {
    /// The packet's source.
    public var source: IPAddress
    /// The packet's destination.
    public var destination: IPAddress
    /// The interface it arrived on.
    public var interfaceIndex: Int
    /// TTL or hop limit as received.
    public var timeToLive: UInt8
    /// TOS or traffic class.
    public var typeOfService: UInt8

    /// What a packet's headers and arrival said.
    public init(source: IPAddress, destination: IPAddress, interfaceIndex: Int, timeToLive: UInt8, typeOfService: UInt8) {
        self.source = source
        self.destination = destination
        self.interfaceIndex = interfaceIndex
        self.timeToLive = timeToLive
        self.typeOfService = typeOfService
    }
}
