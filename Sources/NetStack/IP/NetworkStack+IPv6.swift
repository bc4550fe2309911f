import Wire

extension NetworkStack {
    /// IPv6 input (RFC 8200): check the header and walk the extension headers, then deliver
    /// locally or forward. Link-local destinations are ours only on the interface that holds
    /// them.
    func receiveIPv6(_ buffer: UnsafeMutableRawBufferPointer, on interface: NetworkInterface, now: StackInstant) {
        guard let packet = try? IPv6Packet(checking: UnsafeRawBufferPointer(buffer)) else {
            counters.malformed += 1
            interface.counters.receiveDrops += 1
            return
        }
        let source = packet.source
        let destination = packet.destination
        if source.isMulticast || (source == .loopback && interface.kind != .loopback)
            || (destination == .loopback && interface.kind != .loopback) {
            counters.martianSource += 1
            interface.counters.receiveDrops += 1
            return
        }
        let trimmed = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<packet.payloadEnd])
        let isOurs: Bool
        if destination.isLinkLocal {
            isOurs = interface.addresses.contains { $0.address == .v6(destination) } || interface.kind == .loopback
        } else if destination.isMulticast {
            // All-nodes and all-routers (RFC 4291 §2.7.1), and groups sockets joined.
            let group = destination
            isOurs = group == IPv6Address.allNodes || group == IPv6Address.allRouters
                || datagrams.isJoined(.v6(group), interfaceIndex: interface.index)
        } else {
            isOurs = interfaces.isLocal(.v6(destination))
        }
        if isOurs {
            deliverIPv6(packet, on: interface, now: now)
        } else {
            forwardIPv6(trimmed, packet: packet, from: interface, now: now)
        }
    }

    /// Local delivery after the extension-header walk.
    func deliverIPv6(_ packet: IPv6Packet, on interface: NetworkInterface, now: StackInstant) {
        guard let chain = try? packet.extensionHeaders() else {
            counters.malformed += 1
            return
        }
        if let fragment = chain.fragment {
            reassembleIPv6(packet, fragment: fragment, on: interface, now: now)
            return
        }
        counters.delivered += 1
        let source = IPAddress.v6(packet.source)
        let destination = IPAddress.v6(packet.destination)
        let info = ReceivedPacketInfo(source: source, destination: destination, interfaceIndex: interface.index,
                                      timeToLive: packet.hopLimit, typeOfService: packet.trafficClass)
        let upper = packet.upperLayerPayload(chain)
        let rawTaken = datagrams.deliverRaw(protocolNumber: chain.upperLayerProtocol, packet: packet.buffer,
                                            headerLength: packet.buffer.count - upper.count, info: info)
        switch chain.upperLayerProtocol {
        case IPProtocolNumber.tcp:
            tcp.receive(upper, source: source, destination: destination, timeToLive: packet.hopLimit,
                        interfaceIndex: interface.index, now: now)
        case IPProtocolNumber.udp:
            if !datagrams.deliverUDP(upper, info: info, verifyChecksum: true) && !packet.destination.isMulticast {
                counters.unreachablePort += 1
                sendICMPv6Error(.destinationUnreachable(code: ICMPv6Message.UnreachableCode.port), about: packet,
                                arrivedOn: interface, now: now)
            }
        case IPProtocolNumber.icmpv6:
            receiveICMPv6(packet, upper: upper, info: info, on: interface, now: now)
        case IPProtocolNumber.noNextHeader:
            break
        default:
            if !rawTaken {
                counters.unreachablePort += 1
                sendICMPv6Error(.parameterProblem(code: ICMPv6Message.ParameterProblemCode.unrecognizedNextHeader,
                                                  pointer: UInt32(IPv6Packet.Field.nextHeader)),
                                about: packet, arrivedOn: interface, now: now)
            }
        }
    }

    /// A fragment for us (RFC 8200 §4.5). Fragments whose Fragment header directly follows
    /// the fixed header are reassembled (what senders emit; headers before it would be
    /// hop-by-hop or routing headers, which a tunnel endpoint does not see) and the datagram
    /// is delivered with the fragment's next header; others are counted and dropped.
    func reassembleIPv6(_ packet: IPv6Packet, fragment: IPv6FragmentRepr,
                        on interface: NetworkInterface, now: StackInstant) {
        guard packet.nextHeader == IPProtocolNumber.fragment, packet.payload.count >= IPv6FragmentRepr.length else {
            counters.fragmentsDropped += 1
            return
        }
        let data = UnsafeRawBufferPointer(rebasing: packet.payload[IPv6FragmentRepr.length...])
        let key = FragmentReassembler.Key(source: .v6(packet.source), destination: .v6(packet.destination),
                                          identification: fragment.identification, protocolNumber: fragment.nextHeader)
        let quote = UnsafeRawBufferPointer(rebasing: packet.buffer[0..<min(packet.payloadEnd, IPv6Packet.headerLength + 16)])
        guard let payload = reassembler6.insert(key, offset: Int(fragment.fragmentOffset) * 8, more: fragment.moreFragments,
                                                data: data, quote: quote, now: now) else { return }
        var header = IPv6Repr.parse(packet)
        header.nextHeader = fragment.nextHeader
        header.payloadLength = payload.count
        var whole = [UInt8](repeating: 0, count: header.bufferLength)
        whole.replaceSubrange(IPv6Packet.headerLength..., with: payload)
        whole.withUnsafeMutableBytes { header.emit(into: $0) }
        whole.withUnsafeBytes { raw in
            guard let complete = try? IPv6Packet(checking: raw) else { return }
            deliverIPv6(complete, on: interface, now: now)
        }
    }

    /// ICMPv6 for us: echo answered (RFC 4443 §4.2), echo replies to ping sockets, errors to
    /// the transports. Neighbour discovery has no place on layer-3 tunnels and is ignored.
    func receiveICMPv6(_ packet: IPv6Packet, upper: UnsafeRawBufferPointer, info: ReceivedPacketInfo,
                       on interface: NetworkInterface, now: StackInstant) {
        guard let icmp = try? ICMPv6Packet(checking: upper),
              let repr = try? ICMPv6Repr.parse(icmp, source: packet.source, destination: packet.destination) else {
            counters.malformed += 1
            return
        }
        switch repr.message {
        case .echoRequest(let identifier, let sequence):
            // A reply to a multicast request comes from the interface's own address.
            let from: IPAddress
            if packet.destination.isMulticast {
                guard let own = interface.preferredAddress(toward: info.source) else { return }
                from = own
            } else {
                from = info.destination
            }
            let reply = ICMPv6Repr(message: .echoReply(identifier: identifier, sequenceNumber: sequence),
                                   payloadLength: repr.payloadLength)
            let data = icmp.data
            guard case .v6(let s) = from, case .v6(let d) = info.source else { return }
            let sent = sendIP(source: from, destination: info.source, protocolNumber: IPProtocolNumber.icmpv6,
                              timeToLive: 64, typeOfService: packet.trafficClass, payloadLength: reply.bufferLength,
                              interfaceIndex: interface.index, dontFragment: false, now: now) { body in
                UnsafeMutableRawBufferPointer(rebasing: body[ICMPv6Packet.headerLength...]).copyMemory(from: data)
                reply.emit(into: body, source: s, destination: d)
            }
            if sent == nil { counters.echoRepliesSent += 1 }
        case .echoReply:
            datagrams.deliverPingReply(icmp.buffer, info: info)
        default:
            if icmp.isError, let quoted = try? icmp.quotedPacket() {
                if quoted.nextHeader == IPProtocolNumber.tcp {
                    var mtu: Int?
                    var unreachable: TCPConnectionError?
                    switch repr.message {
                    case .packetTooBig(let reported): mtu = Int(min(reported, 65535))
                    case .destinationUnreachable: unreachable = .hostUnreachable
                    default: break
                    }
                    tcp.receiveICMPError(mtu: mtu, unreachable: unreachable, quotedHeader: quoted.payload,
                                         local: .v6(quoted.source), remote: .v6(quoted.destination))
                    tcp.poll(now: now, emit: { sendTCP($0, now: now) })
                }
                datagrams.deliverICMPv6Error(repr.message.type, code: repr.message.code, quoted: quoted, info: info)
            }
        }
    }

    /// Forwarding (RFC 8200 §3, RFC 4443): hop limit, no link-local forwarding (RFC 4291
    /// §2.5.6), route, reverse path, MTU (routers never fragment IPv6: packet too big).
    func forwardIPv6(_ buffer: UnsafeMutableRawBufferPointer, packet: IPv6Packet, from interface: NetworkInterface,
                     now: StackInstant) {
        guard forwardingEnabled else {
            counters.notForwarded += 1
            return
        }
        let destination = packet.destination
        if destination.isMulticast {
            counters.notForwarded += 1
            return
        }
        if packet.source.isLinkLocal || destination.isLinkLocal {
            counters.linkLocalNotForwarded += 1
            sendICMPv6Error(.destinationUnreachable(code: 2), about: packet, arrivedOn: interface, now: now) // beyond scope
            return
        }
        if packet.hopLimit <= 1 {
            counters.timeExceeded += 1
            sendICMPv6Error(.timeExceeded(code: 0), about: packet, arrivedOn: interface, now: now)
            return
        }
        let decision = routing.resolve(.v6(destination), flowHash: flowHash(.v6(packet.source), .v6(destination)))
        guard case .forward(let outIndex, let nextHop, _, let routeMTU) = decision,
              let output = interfaces[outIndex] else {
            let code: UInt8
            switch decision {
            case .blackhole:
                counters.blackholed += 1
                return
            case .prohibit:
                counters.rejected += 1
                code = ICMPv6Message.UnreachableCode.administrativelyProhibited
            case .unreachable:
                counters.rejected += 1
                code = ICMPv6Message.UnreachableCode.noRoute
            default:
                counters.noRoute += 1
                code = ICMPv6Message.UnreachableCode.noRoute
            }
            sendICMPv6Error(.destinationUnreachable(code: code), about: packet, arrivedOn: interface, now: now)
            return
        }
        guard passesReversePath(.v6(packet.source), arrivedOn: interface) else {
            counters.reversePathFiltered += 1
            interface.counters.receiveDrops += 1
            return
        }
        let mtu = min(output.mtu, routeMTU ?? Int.max)
        if buffer.count > mtu {
            counters.tooBig += 1
            sendICMPv6Error(.packetTooBig(mtu: UInt32(mtu)), about: packet, arrivedOn: interface, now: now)
            return
        }
        IPv6Packet.decrementHopLimit(in: buffer)
        if transmit(UnsafeRawBufferPointer(buffer), on: output, nextHop: nextHop) {
            counters.forwarded += 1
        } else {
            sendICMPv6Error(.destinationUnreachable(code: ICMPv6Message.UnreachableCode.address), about: packet,
                            arrivedOn: interface, now: now)
        }
    }

    /// An ICMPv6 error about `packet` (RFC 4443 §2.4): never about an ICMPv6 error, never to a
    /// multicast destination except packet-too-big, never from the unspecified or a multicast
    /// source; quoting as much as fits in 1280 bytes; rate-limited except packet-too-big.
    func sendICMPv6Error(_ message: ICMPv6Message, about packet: IPv6Packet, arrivedOn interface: NetworkInterface,
                         now: StackInstant) {
        let source = packet.source
        var isTooBig = false
        if case .packetTooBig = message { isTooBig = true }
        if packet.destination.isMulticast && !isTooBig { return }
        if source.isMulticast || source == .any { return }
        if packet.nextHeader == IPProtocolNumber.icmpv6, let inner = try? ICMPv6Packet(checking: packet.payload),
           inner.isError { return }
        if !isTooBig {
            guard icmpLimiter.allow(to: .v6(source), now: now) else {
                counters.icmpRateLimited += 1
                return
            }
        }
        let from: IPAddress?
        if source.isLinkLocal {
            from = interface.addresses.first { if case .v6(let a) = $0.address { return a.isLinkLocal } else { return false } }?.address
        } else {
            from = interface.preferredAddress(toward: .v6(source)).flatMap { address -> IPAddress? in
                if case .v6(let a) = address, a.isLinkLocal { return nil }
                return address
            } ?? sourceAddress(toward: .v6(source))
        }
        guard let from, case .v6(let s) = from else { return }
        let quote = UnsafeRawBufferPointer(rebasing: packet.buffer[0..<min(packet.payloadEnd, 1280 - 48)])
        let repr = ICMPv6Repr(message: message, payloadLength: quote.count)
        let sent = sendIP(source: from, destination: .v6(source), protocolNumber: IPProtocolNumber.icmpv6,
                          timeToLive: 64, payloadLength: repr.bufferLength,
                          interfaceIndex: source.isLinkLocal ? interface.index : nil, now: now) { body in
            UnsafeMutableRawBufferPointer(rebasing: body[ICMPv6Packet.headerLength...]).copyMemory(from: quote)
            repr.emit(into: body, source: s, destination: source)
        }
        if sent == nil { counters.icmpErrorsSent += 1 }
    }
}

extension IPv6Address {
    /// ff02::1, all nodes on the link (RFC 4291 §2.7.1).
    public static let allNodes = IPv6Address(high: 0xff02_0000_0000_0000, low: 1)
    /// ff02::2, all routers on the link.
    public static let allRouters = IPv6Address(high: 0xff02_0000_0000_0000, low: 2)
}
