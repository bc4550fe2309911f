import NetStack
import Wire

/// Addresses: RTM_GETADDR dumps and RTM_NEWADDR/RTM_DELADDR, laid out as Linux's
/// `inet_fill_ifaddr` (IPv4) and `inet6_fill_ifaddr` (IPv6) lay them out.
extension RouteNetlinkServer {
    /// `IFA_F_NODAD`: srouter runs no duplicate address detection, as an address added with
    /// `nodad`.
    static let noDuplicateDetection: UInt32 = 0x02
    /// `IFA_F_PERMANENT`: a configured address (no lifetime).
    static let permanent: UInt32 = 0x80
    /// `IFAPROT_KERNEL_LO`: the kernel's own ::1 on lo.
    static let loopbackAddressProtocol: UInt8 = 1

    /// Writes one RTM_NEWADDR (or RTM_DELADDR) body for `address` on `interface`.
    func fillAddress(_ address: InterfaceAddress, on interface: NetworkInterface, into writer: inout NetlinkWriter) {
        typealias A = InterfaceAddressRepr.Attribute
        let isV6 = address.address.bitWidth == 128
        var flags = Self.permanent
        let isKernelLoopback = isV6 && interface.kind == .loopback && address.address == IPAddress("::1")
        if isV6 && !isKernelLoopback { flags |= Self.noDuplicateDetection }
        writer.appendBytes(InterfaceAddressRepr(family: isV6 ? Family.inet6 : Family.inet,
                                                prefixLength: UInt8(address.prefixLength),
                                                flags: UInt8(truncatingIfNeeded: flags), scope: address.scope,
                                                index: UInt32(interface.index)).bytes)
        let stamp = addressStamps[AddressKey(interface.index, address.address)] ?? 0
        if isV6 {
            if let peer = address.peer {
                writer.appendAttribute(A.local, address: address.address)
                writer.appendAttribute(A.address, address: peer)
            } else {
                writer.appendAttribute(A.address, address: address.address)
            }
            appendCacheInfo(stamp, into: &writer)
            writer.appendAttribute(A.flags, uint32: flags)
            if isKernelLoopback { writer.appendAttribute(A.proto, uint8: Self.loopbackAddressProtocol) }
        } else {
            writer.appendAttribute(A.address, address: address.peer ?? address.address)
            writer.appendAttribute(A.local, address: address.address)
            writer.appendAttribute(A.label, string: interface.name)
            writer.appendAttribute(A.flags, uint32: flags)
            appendCacheInfo(stamp, into: &writer)
        }
    }

    /// `struct ifa_cacheinfo`: permanent lifetimes (INFINITY_LIFE_TIME) and the time stamps.
    private func appendCacheInfo(_ stamp: UInt32, into writer: inout NetlinkWriter) {
        var bytes: [UInt8] = []
        for value in [UInt32.max, UInt32.max, stamp, stamp] {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        writer.appendAttribute(InterfaceAddressRepr.Attribute.cacheInfo, bytes: bytes)
    }

    /// A device's addresses of one family in Linux's list order: IPv4 as added; IPv6 by
    /// scope, global before link-local, the newest first within a scope (`ipv6_link_dev_addr`).
    func addresses(of interface: NetworkInterface, ipv6: Bool) -> [InterfaceAddress] {
        let family = interface.addresses.filter { ($0.address.bitWidth == 128) == ipv6 }
        guard ipv6 else { return family }
        // ipv6_link_dev_addr puts a new address before the others of its scope.
        return family.enumerated().sorted { a, b in
            a.element.scope != b.element.scope ? a.element.scope < b.element.scope : a.offset > b.offset
        }.map(\.element)
    }

    /// RTM_GETADDR with NLM_F_DUMP: IPv4, then IPv6 (AF_UNSPEC dumps both, as
    /// `rtnl_dump_all`), device by device. With strict checking the header must be a whole
    /// `ifaddrmsg` with zero prefix length, flags and scope, and a nonzero `ifa_index` filters.
    func dumpAddresses(_ request: NetlinkMessage, settings: NetlinkSocketSettings, into dump: inout DumpWriter) throws {
        let family = request.family ?? 0
        var onlyIndex: UInt32 = 0
        if settings.strictCheck {
            // inet_valid_dump_ifaddr_req's messages say "ipv4: " (AF_UNSPEC runs it first);
            // inet6_valid_dump_ifaddr_req's say nothing of the family.
            let prefix = family == Family.inet6 ? "" : "ipv4: "
            guard request.payload.count >= InterfaceAddressRepr.length,
                  let header = try? InterfaceAddressRepr.parse(request.payload) else {
                throw NetlinkFailure.invalid(prefix + "Invalid header for address dump request")
            }
            guard header.prefixLength == 0, header.flags == 0, header.scope == 0 else {
                throw NetlinkFailure.invalid(prefix + "Invalid values in header for address dump request")
            }
            onlyIndex = header.index
            if onlyIndex != 0 {
                guard interfaces[Int(onlyIndex)] != nil else { throw NetlinkFailure.noDevice() }
                dump.filtered = true
            }
        }
        for ipv6 in [false, true] where family == Family.unspecified || (family == Family.inet6) == ipv6 {
            for interface in interfaces.all where onlyIndex == 0 || interface.index == Int(onlyIndex) {
                for address in addresses(of: interface, ipv6: ipv6) {
                    dump.add(type: RouteNetlinkType.newAddress) { fillAddress(address, on: interface, into: &$0) }
                }
            }
        }
    }

    /// RTM_NEWADDR / RTM_DELADDR (`inet_rtm_newaddr`/`inet_rtm_deladdr`,
    /// `inet6_rtm_newaddr`/`inet6_rtm_deladdr`): the device by `ifa_index` (ENODEV), the
    /// address from IFA_LOCAL and IFA_ADDRESS (a different IFA_ADDRESS is the peer); an
    /// existing address is EEXIST unless NLM_F_REPLACE; deleting one that is not there is
    /// EADDRNOTAVAIL.
    func changeAddress(_ request: NetlinkMessage, add: Bool) throws {
        let header = try parseHeader(request, InterfaceAddressRepr.parse)
        let attributes = try attributeMap(request, after: InterfaceAddressRepr.length)
        let family = header.family
        let isV6 = family == Family.inet6
        let local = try address(attributes[InterfaceAddressRepr.Attribute.local], family: family)
        let other = try address(attributes[InterfaceAddressRepr.Attribute.address], family: family)
        guard Int(header.prefixLength) <= (isV6 ? 128 : 32) else { throw NetlinkFailure.invalid() }
        guard let interface = interfaces[Int(header.index)] else { throw NetlinkFailure.noDevice() }
        if add {
            // IPv4 needs IFA_LOCAL (IFA_ADDRESS defaults to it); IPv6 takes either.
            guard let mine = local ?? (isV6 ? other : nil) else { throw NetlinkFailure.invalid() }
            let peer = other.flatMap { $0 == mine ? nil : $0 }
            let scope = isV6 ? nil : header.scope
            let address = InterfaceAddress(address: mine, prefixLength: Int(header.prefixLength), peer: peer,
                                           scope: scope)
            if interface.addresses.contains(where: { $0.address == mine }) {
                guard request.flags.contains(.replace) && !request.flags.contains(.exclusive) else {
                    throw NetlinkFailure(17, isV6 ? "ipv6: address already assigned" : "ipv4: Address already assigned")
                }
                return  // the same address again: nothing srouter keeps changes
            }
            try interfaces.addAddress(address, to: interface)
        } else {
            let wanted = local ?? other
            if isV6 && wanted == nil { throw NetlinkFailure.invalid() }
            guard let target = interface.addresses.first(where: { candidate in
                guard (candidate.address.bitWidth == 128) == isV6 else { return false }
                if let wanted, candidate.address != wanted && !(local == nil && candidate.peer == wanted) { return false }
                if !isV6, other != nil, candidate.prefixLength != Int(header.prefixLength) { return false }
                if isV6, candidate.prefixLength != Int(header.prefixLength) { return false }
                return true
            }) else {
                throw NetlinkFailure(99, isV6 ? "ipv6: address not found" : "ipv4: Address not found")
            }
            try interfaces.removeAddress(target, from: interface)
        }
    }
}
