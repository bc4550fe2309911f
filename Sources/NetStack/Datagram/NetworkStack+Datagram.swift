import Wire

extension NetworkStack {
    /// Sends one datagram from `socket` (sendto/sendmsg): to `destination` or, if nil, to the
    /// connected peer. UDP gets its header and checksum; a ping socket's data is an ICMP echo
    /// request whose identifier and checksum the stack fills (as Linux's ping sockets do);
    /// a raw socket's data is the protocol payload. An unbound socket is bound to an
    /// ephemeral port first. Returns nil when sent, else the errno.
    ///
    /// `sourceOverride` (IP_PKTINFO / IPV6_PKTINFO, v4-mapped addresses taken as IPv4) must
    /// be one of our addresses of the destination's family: otherwise IPv4 answers
    /// ENETUNREACH (`ip_route_output_key_hash_rcu` finds no device for the source) and IPv6
    /// EINVAL (`ip6_datagram_send_ctl`'s `ipv6_chk_addr`). A bound address of the other
    /// family is EINVAL, never a trap. `typeOfService` (IP_TOS / IPV6_TCLASS control
    /// messages) overrides the socket's for this datagram.
    public func send(_ socket: DatagramSocket, _ data: UnsafeRawBufferPointer,
                     to destination: (address: IPAddress, port: UInt16)?, interfaceIndex: Int? = nil,
                     sourceOverride: IPAddress? = nil, timeToLive: UInt8? = nil, typeOfService: UInt8? = nil,
                     now: StackInstant) -> Int32? {
        guard let target = destination ?? socket.remote else { return DatagramError.destinationRequired.rawValue }
        let remote = DatagramSocket.unmapped(target.address)
        if case .v4 = remote, socket.isIPv6 && socket.v6Only { return DatagramError.familyNotSupported.rawValue }
        if case .v6 = remote, !socket.isIPv6 { return DatagramError.familyNotSupported.rawValue }
        let override = sourceOverride.map(DatagramSocket.unmapped)
        if let override {
            guard override.hasSameFamily(as: remote) else { return DatagramError.invalid.rawValue }
            guard interfaces.isLocal(override) else {
                if case .v4 = remote { return 101 } // ENETUNREACH
                return DatagramError.invalid.rawValue
            }
        }
        if socket.localPort == 0, socket.kind == .udp || socket.kind == .ping {
            do { try datagrams.bind(socket, address: socket.localAddress, port: 0) } catch { return error.rawValue }
        }
        let pinned = interfaceIndex ?? (socket.boundInterface != 0 ? socket.boundInterface : nil)
            ?? (isMulticast(remote) && socket.multicastInterface != 0 ? socket.multicastInterface : nil)
        let bound = socket.localAddress.map(DatagramSocket.unmapped)
        guard let source = override ?? (bound.flatMap { isWildcard($0) ? nil : $0 })
                ?? sourceAddress(toward: remote, interfaceIndex: pinned) else {
            return SendErrno.addressNotAvailable
        }
        guard source.hasSameFamily(as: remote) else { return DatagramError.invalid.rawValue }
        let ttl = timeToLive ?? (isMulticast(remote) ? socket.multicastTimeToLive : socket.timeToLive)
        let tos = typeOfService ?? socket.typeOfService
        switch socket.kind {
        case .udp:
            let repr = UDPRepr(sourcePort: socket.localPort, destinationPort: target.port, payloadLength: data.count)
            return sendIP(source: source, destination: remote, protocolNumber: IPProtocolNumber.udp, timeToLive: ttl,
                          typeOfService: tos, payloadLength: repr.bufferLength, interfaceIndex: pinned,
                          dontFragment: false, now: now) { body in
                UnsafeMutableRawBufferPointer(rebasing: body[UDPPacket.headerLength...]).copyMemory(from: data)
                repr.emit(into: body, source: source, destination: remote)
            }
        case .ping:
            guard data.count >= 8 else { return DatagramError.invalid.rawValue }
            let isV6: Bool
            if case .v6 = remote { isV6 = true } else { isV6 = false }
            guard let request = try? ICMPv4Packet(checking: data) else { return DatagramError.invalid.rawValue }
            guard request.type == (isV6 ? 128 : 8), request.code == 0 else { return DatagramError.invalid.rawValue }
            let sequence = request.sequenceNumber
            let echo = request.data
            let identifier = socket.localPort
            return sendIP(source: source, destination: remote, protocolNumber: isV6 ? IPProtocolNumber.icmpv6 : IPProtocolNumber.icmp,
                          timeToLive: ttl, typeOfService: tos, payloadLength: data.count,
                          interfaceIndex: pinned, dontFragment: false, now: now) { body in
                UnsafeMutableRawBufferPointer(rebasing: body[8...]).copyMemory(from: echo)
                switch (source, remote) {
                case (.v6(let s), .v6(let d)):
                    ICMPv6Repr(message: .echoRequest(identifier: identifier, sequenceNumber: sequence),
                               payloadLength: echo.count).emit(into: body, source: s, destination: d)
                default:
                    ICMPv4Repr(message: .echoRequest(identifier: identifier, sequenceNumber: sequence),
                               payloadLength: echo.count).emit(into: body)
                }
            }
        case .raw(let proto):
            if socket.includesHeader && !socket.isIPv6 {
                return sendIncludedHeader(data, source: source, destination: remote, interfaceIndex: pinned)
            }
            let checksumAt = socket.checksumOffset
            return sendIP(source: source, destination: remote, protocolNumber: proto, timeToLive: ttl,
                          typeOfService: tos, payloadLength: data.count, interfaceIndex: pinned,
                          dontFragment: false, now: now) { body in
                body.copyMemory(from: data)
                if checksumAt >= 0 && checksumAt + 2 <= body.count {
                    // IPV6_CHECKSUM (RFC 3542 §3.1): the stack fills the upper-layer checksum.
                    PseudoHeader.fillChecksum(in: body, at: checksumAt, source: source, destination: remote,
                                              protocolNumber: proto)
                }
            }
        }
    }

    func isWildcard(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let a): a.value == 0
        case .v6(let a): a == .any
        }
    }
}

