import CSRouterLinux
import Glibc
import LinuxABI
import NetStack
import Sandbox
import Wire

/// setsockopt(2) at IPPROTO_IP, IPPROTO_IPV6 and IPPROTO_ICMPV6, in the order of checks of
/// `do_ip_setsockopt` (net/ipv4/ip_sockglue.c), `do_ipv6_setsockopt`
/// (net/ipv6/ipv6_sockglue.c) and `rawv6_setsockopt`.
extension SocketService {
    // MARK: - SOL_IP

    /// `do_ip_setsockopt`. On an IPv6 socket IP_TTL and IP_TOS are the inet fields that
    /// v4-mapped traffic uses, apart from the hop limit and the traffic class.
    func setIPLevel(_ socket: GuestSocket, _ name: Int32, _ bytes: [UInt8]) throws(LinuxErrno) -> Bool {
        func integer() throws(LinuxErrno) -> Int32 { try SocketOptionValue.integer(bytes, level: Level.ip, name: name) }
        switch name {
        case 1:  // IP_TOS: TCP keeps its ECN bits (__ip_sock_set_tos)
            var value = try integer()
            let old = socket.isIPv6 ? socket.options.mappedTypeOfService : socket.options.typeOfService
            if socket.type == .stream { value = (value & ~3) | Int32(old & 3) }
            let tos = UInt8(truncatingIfNeeded: value)
            if socket.isIPv6 { socket.options.mappedTypeOfService = tos } else { socket.options.typeOfService = tos }
        case 2:  // IP_TTL
            let value = try integer()
            guard value == -1 || (value >= 1 && value <= 255) else { throw LinuxErrno.EINVAL }
            let ttl: UInt8? = value == -1 ? nil : UInt8(value)
            if socket.isIPv6 { socket.options.mappedTimeToLive = ttl } else { socket.options.timeToLive = ttl }
        case 3:  // IP_HDRINCL
            let value = try integer()
            guard socket.type == .raw else { throw LinuxErrno.ENOPROTOOPT }
            socket.options.includesHeader = value != 0
        case 8: socket.options.receivePacketInfo = try integer() != 0        // IP_PKTINFO
        case 12: socket.options.receiveTimeToLive = try integer() != 0      // IP_RECVTTL
        case 13: socket.options.receiveTypeOfService = try integer() != 0   // IP_RECVTOS
        case 10:  // IP_MTU_DISCOVER
            let value = try integer()
            guard value >= 0 && value <= 5 else { throw LinuxErrno.EINVAL }
            socket.options.mtuDiscover = value
        case 11: socket.options.receiveErrors = try integer() != 0          // IP_RECVERR
        case 15:  // IP_FREEBIND
            let value = try integer()
            guard !bytes.isEmpty else { throw LinuxErrno.EINVAL }
            socket.options.freeBind = value != 0
        case 21:  // IP_MINTTL
            let value = try integer()
            guard value >= 0 && value <= 255 else { throw LinuxErrno.EINVAL }
            socket.options.minimumTimeToLive = UInt8(value)
        case 33:  // IP_MULTICAST_TTL: not for TCP
            guard socket.type != .stream else { throw LinuxErrno.EINVAL }
            let value = try integer()
            guard value >= -1 && value <= 255 else { throw LinuxErrno.EINVAL }
            socket.options.multicastTimeToLive = value == -1 ? 1 : UInt8(value)
        case 34: socket.options.multicastLoop = try integer() != 0          // IP_MULTICAST_LOOP
        case 32:  // IP_MULTICAST_IF
            try setMulticastInterface(socket, bytes)
        case 35, 36:  // IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP
            guard let d = socket.datagram else { throw LinuxErrno(rawValue: 71) }  // EPROTO (TCP)
            let request = try SocketOptionValue.ipMembership(bytes, allowShort: false)
            // ip_mc_join_group: a group that is not multicast is EINVAL, before the device.
            if name == 35 && request.group.value >> 28 != 0xe { throw LinuxErrno.EINVAL }
            let index = try membershipInterface(for: request)
            do {
                if name == 35 {
                    try stack.datagrams.join(d, group: .v4(request.group), interfaceIndex: index)
                } else {
                    try stack.datagrams.leave(d, group: .v4(request.group), interfaceIndex: index)
                }
            } catch {
                throw LinuxErrno(rawValue: error.rawValue)
            }
        case 6, 7, 24:
            // IP_RECVOPTS, IP_RETOPTS, IP_BIND_ADDRESS_NO_PORT: accepted
            _ = try integer()
        default:
            return false
        }
        return true
    }

    /// IP_MULTICAST_IF (`do_ip_setsockopt`): not for TCP (EINVAL); an in_addr, ip_mreq or
    /// ip_mreqn (shorter than 4 bytes: EINVAL); all zero resets; otherwise the device named
    /// by index or by address must exist (EADDRNOTAVAIL) and agree with SO_BINDTODEVICE
    /// (EINVAL). getsockopt reports the address given.
    private func setMulticastInterface(_ socket: GuestSocket, _ bytes: [UInt8]) throws(LinuxErrno) {
        guard socket.type != .stream, bytes.count >= 4 else { throw LinuxErrno.EINVAL }
        let request = try SocketOptionValue.ipMembership(bytes, allowShort: true)
        var index = Int(request.interfaceIndex)
        if index == 0 {
            if request.interfaceAddress.value == 0 {
                socket.options.multicastInterface = 0
                socket.options.multicastInterfaceAddress = .any
                return
            }
            guard let owner = stack.interfaces.owner(of: .v4(request.interfaceAddress)) else {
                throw LinuxErrno.EADDRNOTAVAIL
            }
            index = owner.index
        } else if stack.interfaces[index] == nil {
            throw LinuxErrno.EADDRNOTAVAIL
        }
        let bound = socket.options.boundInterface
        guard bound == 0 || bound == index else { throw LinuxErrno.EINVAL }
        socket.options.multicastInterface = index
        socket.options.multicastInterfaceAddress = request.interfaceAddress
    }

    /// The interface of an IP_ADD/DROP_MEMBERSHIP (`ip_mc_find_dev`): by index, else by its
    /// address, else routing's choice (0); one that does not exist is ENODEV.
    private func membershipInterface(for request: IPMembershipRequest) throws(LinuxErrno) -> Int {
        if request.interfaceIndex != 0 {
            guard stack.interfaces[Int(request.interfaceIndex)] != nil else { throw LinuxErrno.ENODEV }
            return Int(request.interfaceIndex)
        }
        if request.interfaceAddress.value != 0 {
            guard let owner = stack.interfaces.owner(of: .v4(request.interfaceAddress)) else { throw LinuxErrno.ENODEV }
            return owner.index
        }
        return 0
    }

    // MARK: - SOL_IPV6

    /// `do_ipv6_setsockopt`. `isNull`: the guest passed a NULL value, read as 0 (`bytes`
    /// are zeros); the options that read a structure fault on it.
    func setIPv6Level(_ socket: GuestSocket, _ name: Int32, _ bytes: [UInt8], isNull: Bool) throws(LinuxErrno) -> Bool {
        func integer() throws(LinuxErrno) -> Int32 { try SocketOptionValue.integer(bytes, level: Level.ipv6, name: name) }
        switch name {
        case 26:  // IPV6_V6ONLY: only before bind (inet_sk(sk)->inet_num == 0)
            let value = try integer()
            if socket.boundPort != 0 || (socket.datagram?.localPort ?? 0) != 0 { throw LinuxErrno.EINVAL }
            socket.options.v6Only = value != 0
        case 16:  // IPV6_UNICAST_HOPS
            let value = try integer()
            guard value >= -1 && value <= 255 else { throw LinuxErrno.EINVAL }
            socket.options.timeToLive = value == -1 ? nil : UInt8(value)
        case 18:  // IPV6_MULTICAST_HOPS: not for TCP (ENOPROTOOPT, before the length)
            guard socket.type != .stream else { throw LinuxErrno.ENOPROTOOPT }
            let value = try integer()
            guard value >= -1 && value <= 255 else { throw LinuxErrno.EINVAL }
            socket.options.multicastTimeToLive = value == -1 ? 1 : UInt8(value)
        case 19:  // IPV6_MULTICAST_LOOP
            let value = try integer()
            guard value == 0 || value == 1 else { throw LinuxErrno.EINVAL }
            socket.options.multicastLoop = value != 0
        case 17:  // IPV6_MULTICAST_IF: not for TCP; the device must exist and agree with SO_BINDTODEVICE
            guard socket.type != .stream else { throw LinuxErrno.ENOPROTOOPT }
            let index = Int(try integer())
            if index != 0 {
                guard stack.interfaces[index] != nil else { throw LinuxErrno.ENODEV }
                let bound = socket.options.boundInterface
                guard bound == 0 || bound == index else { throw LinuxErrno.EINVAL }
            }
            socket.options.multicastInterface = index
        case 20, 21:  // IPV6_ADD_MEMBERSHIP, IPV6_DROP_MEMBERSHIP: the length, then TCP (EPROTO)
            guard bytes.count >= 20 else { throw LinuxErrno.EINVAL }
            guard let d = socket.datagram else { throw LinuxErrno(rawValue: 71) }
            if isNull { throw LinuxErrno.EFAULT }
            let request = try SocketOptionValue.ipv6Membership(bytes)
            guard request.group.isMulticast else { throw LinuxErrno.EINVAL }
            let index = Int(request.interfaceIndex)
            guard index == 0 || stack.interfaces[index] != nil else { throw LinuxErrno.ENODEV }
            do {
                if name == 20 {
                    try stack.datagrams.join(d, group: .v6(request.group), interfaceIndex: index)
                } else {
                    try stack.datagrams.leave(d, group: .v6(request.group), interfaceIndex: index)
                }
            } catch {
                throw LinuxErrno(rawValue: error.rawValue)
            }
        case 67:  // IPV6_TCLASS: -1 is 0; TCP keeps its ECN bits
            var value = try integer()
            guard value >= -1 && value <= 255 else { throw LinuxErrno.EINVAL }
            if value == -1 { value = 0 }
            if socket.type == .stream { value = (value & ~3) | Int32(socket.options.typeOfService & 3) }
            socket.options.typeOfService = UInt8(value)
        case 73:  // IPV6_MINHOPCOUNT
            let value = try integer()
            guard value >= 0 && value <= 255 else { throw LinuxErrno.EINVAL }
            socket.options.minimumTimeToLive = UInt8(value)
        case 49: socket.options.receiveIPv6PacketInfo = try integer() != 0  // IPV6_RECVPKTINFO
        case 51: socket.options.receiveHopLimit = try integer() != 0        // IPV6_RECVHOPLIMIT
        case 66: socket.options.receiveTrafficClass = try integer() != 0    // IPV6_RECVTCLASS
        case 23:  // IPV6_MTU_DISCOVER
            let value = try integer()
            guard value >= 0 && value <= 5 else { throw LinuxErrno.EINVAL }
            socket.options.mtuDiscover = value
        case 24:  // IPV6_MTU: 0, or at least IPV6_MIN_MTU
            let value = try integer()
            guard value == 0 || value >= 1280 else { throw LinuxErrno.EINVAL }
            socket.options.fragmentSize = value
        case 7:  // IPV6_CHECKSUM (rawv6_setsockopt; ICMPv6 keeps its own)
            guard socket.type == .raw else { throw LinuxErrno.ENOPROTOOPT }
            let value = try integer()
            if isNull { throw LinuxErrno.EFAULT }
            if socket.protocolNumber == Int32(IPPROTO_ICMPV6) { throw LinuxErrno.EINVAL }
            guard value == -1 || (value >= 0 && value & 1 == 0) else { throw LinuxErrno.EINVAL }
            socket.options.checksumOffset = Int(value)
        case 25: socket.options.receiveErrorsIPv6 = try integer() != 0      // IPV6_RECVERR
        default:
            return false
        }
        return true
    }

    /// ICMP6_FILTER (`rawv6_seticmpfilter`), for raw ICMPv6 sockets only.
    func setICMPv6Level(_ socket: GuestSocket, _ name: Int32, _ bytes: [UInt8]) throws(LinuxErrno) -> Bool {
        guard name == 1, socket.type == .raw, socket.isIPv6, socket.protocolNumber == Int32(IPPROTO_ICMPV6) else {
            return false
        }
        socket.datagram?.icmp6Filter = try SocketOptionValue.icmp6Filter(bytes)
        return true
    }
}
