import Wire

extension NetworkStack {
    /// Errno values of local sends.
    public enum SendErrno {
        /// The packet exceeds the path MTU and may not be fragmented (EMSGSIZE).
        public static let messageTooLong: Int32 = 90
        /// The output interface is down or refused the packet (ENETDOWN).
        public static let networkDown: Int32 = 100
        /// No source address for the destination (EADDRNOTAVAIL).
        public static let addressNotAvailable: Int32 = 99
    }

    /// Routes and sends a locally originated packet: an IP header for `source` → `destination`
    /// around `payloadLength` bytes that `fill` writes (the transport header and data, with
    /// its checksum). `interfaceIndex` pins the output interface (a link-local scope id or
    /// SO_BINDTODEVICE). Returns nil when sent, else the errno Linux's sender would get.
    @discardableResult
    public func sendIP(source: IPAddress, destination: IPAddress, protocolNumber: UInt8, timeToLive: UInt8,
                       typeOfService: UInt8 = 0, payloadLength: Int, interfaceIndex: Int? = nil,
                       dontFragment: Bool = true, now: StackInstant,
                       fill: (UnsafeMutableRawBufferPointer) -> Void) -> Int32? {
        let isV4: Bool
        if case .v4 = destination { isV4 = true } else { isV4 = false }
        let headerLength = isV4 ? IPv4Packet.minimumHeaderLength : IPv6Packet.headerLength
        let total = headerLength + payloadLength
        guard total <= Self.maximumPacketSize else { return SendErrno.messageTooLong }

        let output: NetworkInterface, nextHop: IPAddress, mtu: Int
        switch outputRoute(source: source, destination: destination, interfaceIndex: interfaceIndex) {
        case .success(let route): (output, nextHop, mtu) = route
        case .failure(let error): return error.errno
        }
        if total > mtu && dontFragment && output.kind != .loopback { return SendErrno.messageTooLong }

        let packet = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<total])
        let body = UnsafeMutableRawBufferPointer(rebasing: packet[headerLength...])
        fill(body)
        switch (source, destination) {
        case (.v4(let s), .v4(let d)):
            var header = IPv4Repr(protocolNumber: protocolNumber, source: s, destination: d,
                                  timeToLive: timeToLive, payloadLength: payloadLength)
            header.typeOfService = typeOfService
            header.dontFragment = dontFragment
            header.identification = nextIdentification
            nextIdentification &+= 1
            header.emit(into: packet)
        case (.v6(let s), .v6(let d)):
            var header = IPv6Repr(nextHeader: protocolNumber, source: s, destination: d, hopLimit: timeToLive,
                                  payloadLength: payloadLength)
            header.trafficClass = typeOfService
            header.emit(into: packet)
        default:
            return 22 // EINVAL: mixed families
        }
        if total > mtu && output.kind != .loopback {
            if isV4 { return fragmentAndTransmit(UnsafeRawBufferPointer(packet), mtu: mtu, on: output, nextHop: nextHop) }
            return fragmentIPv6AndTransmit(UnsafeRawBufferPointer(packet), mtu: mtu, on: output, nextHop: nextHop)
        }
        return transmit(UnsafeRawBufferPointer(packet), on: output, nextHop: nextHop) ? nil : SendErrno.networkDown
    }

    /// A routing failure's errno, as an Error for `Result`.
    struct RouteFailure: Error {
        /// The errno the sender gets.
        var errno: Int32
    }

    /// Where a locally originated packet goes (`ip_route_output_flow`, `ip6_dst_lookup_flow`):
    /// to ourselves through lo, out of a pinned interface for a link-scoped or multicast
    /// destination, else where routing says (a pinned interface must then agree:
    /// EHOSTUNREACH, as with SO_BINDTODEVICE). The MTU is the interface's, lowered by the
    /// route's.
    func outputRoute(source: IPAddress, destination: IPAddress, interfaceIndex: Int?)
        -> Result<(output: NetworkInterface, nextHop: IPAddress, mtu: Int), RouteFailure> {
        var output: NetworkInterface?
        var nextHop = destination
        var routeMTU: Int?
        if interfaces.isLocal(destination) {
            output = loopback
        } else if let pinned = interfaceIndex, destination.isLinkScoped || isMulticast(destination) {
            // A scope id naming no interface: no route (ENETUNREACH), as ip6_dst_lookup_flow.
            guard let pinnedInterface = interfaces[pinned] else { return .failure(RouteFailure(errno: 101)) }
            output = pinnedInterface
        } else {
            let decision = routing.resolve(destination, flowHash: flowHash(source, destination))
            switch decision {
            case .forward(let index, let hop, _, let mtu):
                if let pinned = interfaceIndex, pinned != index { return .failure(RouteFailure(errno: 113)) }
                output = interfaces[index]
                nextHop = hop
                routeMTU = mtu
            case .local:
                output = loopback
            default:
                return .failure(RouteFailure(errno: decision.sendErrno ?? SendErrno.networkDown))
            }
        }
        guard let output, output.isUp else { return .failure(RouteFailure(errno: SendErrno.networkDown)) }
        return .success((output, nextHop, min(output.mtu, routeMTU ?? Int.max)))
    }

    /// The errno a connect (or send) toward `destination` gets from routing, or nil when a
    /// route exists (`ip_route_connect`, `ip6_dst_lookup_flow`: ENETUNREACH without a route,
    /// EHOSTUNREACH for an unreachable one…).
    public func routeErrno(toward destination: IPAddress, interfaceIndex: Int?) -> Int32? {
        let source: IPAddress = destination.bitWidth == 32 ? .v4(.any) : .v6(.any)
        if case .failure(let error) = outputRoute(source: source, destination: destination, interfaceIndex: interfaceIndex) {
            return error.errno
        }
        return nil
    }

    /// Whether sending to `destination` is a broadcast (Linux's RTCF_BROADCAST): the limited
    /// broadcast address, or the subnet broadcast of one of our IPv4 addresses with a prefix
    /// shorter than /31 (`fib_add_ifaddr` adds those broadcast routes). Senders need
    /// SO_BROADCAST (EACCES otherwise).
    public func isBroadcast(_ destination: IPAddress) -> Bool {
        guard case .v4(let d) = destination else { return false }
        if d.value == 0xffff_ffff { return true }
        for interface in interfaces.all {
            for entry in interface.addresses where entry.prefixLength < 31 {
                guard case .v4(let a) = entry.address else { continue }
                let host: UInt32 = entry.prefixLength == 0 ? 0xffff_ffff : (1 << UInt32(32 - entry.prefixLength)) - 1
                if d.value == a.value | host { return true }
            }
        }
        return false
    }

    /// Sends a packet whose IPv4 header the user wrote (a raw socket with IP_HDRINCL, Linux's
    /// `raw_send_hdrinc`): routed toward `destination` (the sendto address, not the header's),
    /// the header completed by `IPv4Packet.completeUserHeader`, never fragmented (longer
    /// than the MTU: EMSGSIZE; shorter than a header: EINVAL).
    func sendIncludedHeader(_ data: UnsafeRawBufferPointer, source: IPAddress, destination: IPAddress,
                            interfaceIndex: Int?) -> Int32? {
        guard case .v4(let s) = source, case .v4 = destination else { return 22 }
        let output: NetworkInterface, nextHop: IPAddress, mtu: Int
        switch outputRoute(source: source, destination: destination, interfaceIndex: interfaceIndex) {
        case .success(let route): (output, nextHop, mtu) = route
        case .failure(let error): return error.errno
        }
        if data.count > mtu && output.kind != .loopback { return SendErrno.messageTooLong }
        guard data.count <= Self.maximumPacketSize else { return SendErrno.messageTooLong }
        let packet = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<data.count])
        packet.copyMemory(from: data)
        guard IPv4Packet.completeUserHeader(in: packet, source: s, identification: nextIdentification) else { return 22 }
        nextIdentification &+= 1
        return transmit(UnsafeRawBufferPointer(packet), on: output, nextHop: nextHop) ? nil : SendErrno.networkDown
    }

    /// Hands a finished packet to an interface (lo queues it for the next poll).
    func transmit(_ packet: UnsafeRawBufferPointer, on interface: NetworkInterface, nextHop: IPAddress) -> Bool {
        if interface.kind == .loopback {
            loopbackQueue.append(Array(packet))
            interface.counters.sentPackets += 1
            interface.counters.sentBytes += packet.count
            return true
        }
        guard interface.isUp, interface.transmit(packet, nextHop) else {
            interface.counters.sendDrops += 1
            counters.transmitFailed += 1
            return false
        }
        interface.counters.sentPackets += 1
        interface.counters.sentBytes += packet.count
        return true
    }

    /// Splits an IPv4 packet without DF into fragments that fit `mtu` (RFC 791 §3.2,
    /// RFC 815): each carries the header (options are not copied, which is allowed for
    /// options without the copy bit and simplest for the rest) and a multiple of 8 bytes.
    func fragmentAndTransmit(_ packet: UnsafeRawBufferPointer, mtu: Int, on interface: NetworkInterface,
                             nextHop: IPAddress) -> Int32? {
        guard let view = try? IPv4Packet(checking: packet), var header = try? IPv4Repr.parse(view) else {
            return 22
        }
        let payload = view.payload
        let chunk = (mtu - IPv4Packet.minimumHeaderLength) / 8 * 8
        guard chunk >= 8 else { return SendErrno.messageTooLong }
        let originalOffset = Int(header.fragmentOffset) * 8
        let originalMore = header.moreFragments
        header.options = []
        var fragment = [UInt8](repeating: 0, count: IPv4Packet.minimumHeaderLength + chunk)
        var offset = 0
        while offset < payload.count {
            let length = min(chunk, payload.count - offset)
            header.payloadLength = length
            header.fragmentOffset = UInt16((originalOffset + offset) / 8)
            header.moreFragments = offset + length < payload.count || originalMore
            let ok = fragment.withUnsafeMutableBytes { out -> Bool in
                let region = UnsafeMutableRawBufferPointer(rebasing: out[0..<(IPv4Packet.minimumHeaderLength + length)])
                header.emit(into: region)
                UnsafeMutableRawBufferPointer(rebasing: region[IPv4Packet.minimumHeaderLength...])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: payload[offset..<(offset + length)]))
                return transmit(UnsafeRawBufferPointer(region), on: interface, nextHop: nextHop)
            }
            guard ok else { return SendErrno.networkDown }
            offset += length
        }
        return nil
    }

    /// Source fragmentation of a locally sent IPv6 packet (RFC 8200 §4.5; only the source may
    /// fragment): a Fragment header after the fixed header, pieces of a multiple of 8 bytes.
    func fragmentIPv6AndTransmit(_ packet: UnsafeRawBufferPointer, mtu: Int, on interface: NetworkInterface,
                                 nextHop: IPAddress) -> Int32? {
        guard let view = try? IPv6Packet(checking: packet) else { return 22 }
        var header = IPv6Repr.parse(view)
        let payload = view.payload
        let chunk = (mtu - IPv6Packet.headerLength - IPv6FragmentRepr.length) / 8 * 8
        guard chunk >= 8 else { return SendErrno.messageTooLong }
        let identification = nextFragmentIdentification
        nextFragmentIdentification &+= 1
        let upper = header.nextHeader
        header.nextHeader = IPProtocolNumber.fragment
        var piece = [UInt8](repeating: 0, count: IPv6Packet.headerLength + IPv6FragmentRepr.length + chunk)
        var offset = 0
        while offset < payload.count {
            let length = min(chunk, payload.count - offset)
            header.payloadLength = IPv6FragmentRepr.length + length
            let fragment = IPv6FragmentRepr(nextHeader: upper, fragmentOffset: UInt16(offset / 8),
                                            moreFragments: offset + length < payload.count, identification: identification)
            let ok = piece.withUnsafeMutableBytes { out -> Bool in
                let region = UnsafeMutableRawBufferPointer(rebasing: out[0..<(header.bufferLength)])
                header.emit(into: region)
                fragment.emit(into: UnsafeMutableRawBufferPointer(rebasing: region[IPv6Packet.headerLength...]))
                UnsafeMutableRawBufferPointer(rebasing: region[(IPv6Packet.headerLength + IPv6FragmentRepr.length)...])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: payload[offset..<(offset + length)]))
                return transmit(UnsafeRawBufferPointer(region), on: interface, nextHop: nextHop)
            }
            guard ok else { return SendErrno.networkDown }
            offset += length
        }
        return nil
    }

    /// The source address Linux would pick for `destination` (RFC 6724 in spirit): the route's
    /// preferred source, else an address of the output interface, else any address of the
    /// family with global scope (the node's addresses on a dummy interface).
    public func sourceAddress(toward destination: IPAddress, interfaceIndex: Int? = nil) -> IPAddress? {
        if interfaces.isLocal(destination) {
            if case .v4(let a) = destination, a.value >> 24 == 127 { return destination }
            return destination
        }
        if let pinned = interfaceIndex.flatMap({ interfaces[$0] }),
           let address = pinned.preferredAddress(toward: destination) {
            return address
        }
        if case .forward(let index, _, let preferred, _) = routing.resolve(destination, flowHash: 0) {
            if let preferred { return preferred }
            if let address = interfaces[index]?.preferredAddress(toward: destination) { return address }
        }
        return anyAddress(sameFamilyAs: destination)
    }

    /// The first global-scope address of `destination`'s family on any interface but lo.
    func anyAddress(sameFamilyAs destination: IPAddress) -> IPAddress? {
        for interface in interfaces.all where interface.kind != .loopback {
            if let a = interface.addresses.first(where: {
                $0.address.hasSameFamily(as: destination) && $0.scope == InterfaceAddress.Scope.universe
            }) {
                return a.address
            }
        }
        return nil
    }

    /// Linux's default multipath hash (fib_multipath_hash_policy 0): source and destination.
    func flowHash(_ source: IPAddress, _ destination: IPAddress) -> UInt32 {
        var hasher = Hasher()
        hasher.combine(source)
        hasher.combine(destination)
        return UInt32(truncatingIfNeeded: hasher.finalize())
    }

    func isMulticast(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let a): a.value >> 28 == 0xe
        case .v6(let a): a.isMulticast
        }
    }
}

extension IPAddress {
    /// Whether the address only means something on one link (IPv6 link-local or link-scope
    /// multicast), so a scope id must pick the interface.
    public var isLinkScoped: Bool {
        switch self {
        case .v4: false
        case .v6(let a): a.isLinkLocal || (a.isMulticast && (a.high >> 48) & 0xf == 2)
        }
    }
}
