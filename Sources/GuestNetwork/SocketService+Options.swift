import CSRouterLinux
import Glibc
import LinuxABI
import NetStack
import Sandbox
import Wire

/// setsockopt(2) and getsockopt(2): the options issue 5 lists, applied to the stack's
/// objects, with Linux's value rules (`sk_setsockopt`, `do_ip_setsockopt`,
/// `do_ipv6_setsockopt`, `do_tcp_setsockopt` and their getsockopt twins). An option srouter
/// does not serve gets ENOPROTOOPT, as an unknown one gets from Linux, and one debug line.
extension SocketService {
    /// Option levels.
    enum Level {
        static let socket: Int32 = 1, ip: Int32 = 0, ipv6: Int32 = 41, tcp: Int32 = 6, icmpv6: Int32 = 58, raw: Int32 = 255
    }

    /// The longest option value read from the guest (TCP_MD5SIG's 216 bytes fit).
    static let maximumOptionLength = 512

    func setOption(_ socket: GuestSocket, _ n: SyscallNotification, descriptor: GuestDescriptor) -> SyscallAnswer {
        let level = n.int32Argument(1), name = n.int32Argument(2)
        let length = Int(n.int32Argument(4))
        guard length >= 0 else { return .error(.EINVAL) }
        do throws(LinuxErrno) {
            let bytes = length == 0 ? [] : try GuestMemory(tid: n.tid).read(
                at: n.arguments[3], count: min(length, Self.maximumOptionLength))
            guard notifications?.isStillPending(n.id) ?? false else { return .withdrawn }
            let handled: Bool
            switch level {
            case Level.socket: handled = try setSocketLevel(socket, name, bytes, n: n)
            case Level.ip: handled = try setIPLevel(socket, name, bytes)
            case Level.ipv6: handled = socket.isIPv6 ? try setIPv6Level(socket, name, bytes) : false
            case Level.tcp: handled = socket.type == .stream ? try setTCPLevel(socket, name, bytes) : false
            case Level.icmpv6: handled = try setICMPv6Level(socket, name, bytes)
            default: handled = false
            }
            if !handled {
                logUnknownOption(level: level, name: name, set: true)
                return .error(.ENOPROTOOPT)
            }
            applyToStack(socket)
            return .value(0)
        } catch {
            return .error(error)
        }
    }

    func logUnknownOption(level: Int32, name: Int32, set: Bool) {
        let key = "\(set ? "set" : "get")sockopt(\(level), \(name))"
        if unknownOptionsLogged.insert(key).inserted {
            logger.debug("option not served: \(key) → ENOPROTOOPT")
        }
    }

    // MARK: - SOL_SOCKET

    private func setSocketLevel(_ socket: GuestSocket, _ name: Int32, _ bytes: [UInt8],
                                n: SyscallNotification) throws(LinuxErrno) -> Bool {
        func integer() throws(LinuxErrno) -> Int32 { try SocketOptionValue.integer(bytes, level: Level.socket, name: name) }
        switch name {
        case SO_REUSEADDR: socket.options.reuseAddress = try integer() != 0
        case SO_REUSEPORT: socket.options.reusePort = try integer() != 0
        case SO_KEEPALIVE:
            socket.options.keepAlive = try integer() != 0
            socket.options.tcp.keepAlive = socket.options.keepAlive
        case SO_DONTROUTE: socket.options.dontRoute = try integer() != 0
        case SO_BROADCAST: socket.options.broadcast = try integer() != 0
        case SO_PRIORITY:
            let value = try integer()
            // sk_setsockopt: priorities above 6 need CAP_NET_ADMIN (the guest has none).
            guard value >= 0 && value <= 6 else { throw LinuxErrno.EPERM }
            socket.options.priority = value
        case SO_RCVBUF:
            // sk_setsockopt: doubled for overhead, within [SOCK_MIN_RCVBUF, 2 × rmem_max].
            let value = Int64(try integer())
            socket.options.receiveBuffer = Int32(max(2304, min(max(value, 0), 212_992) * 2))
        case SO_SNDBUF:
            let value = Int64(try integer())
            socket.options.sendBuffer = Int32(max(4608, min(max(value, 0), 212_992) * 2))
        case SO_LINGER:
            let linger = try SocketOptionValue.linger(bytes)
            socket.options.linger = linger.onoff != 0 ? max(0, linger.seconds) : nil
        case SO_RCVTIMEO, 66:  // SO_RCVTIMEO_OLD, SO_RCVTIMEO_NEW
            socket.options.receiveTimeout = try SocketOptionValue.timeout(bytes, newLayout: name == 66)
            setNativeTimeout(n, name: SO_RCVTIMEO, microseconds: socket.options.receiveTimeout)
        case SO_SNDTIMEO, 67:
            socket.options.sendTimeout = try SocketOptionValue.timeout(bytes, newLayout: name == 67)
            setNativeTimeout(n, name: SO_SNDTIMEO, microseconds: socket.options.sendTimeout)
        case SO_BINDTODEVICE:
            let device = SocketOptionValue.deviceName(bytes)
            if device.isEmpty {
                socket.options.boundInterface = 0
            } else {
                guard let interface = stack.interfaces[device] else { throw LinuxErrno.ENODEV }
                socket.options.boundInterface = interface.index
            }
        case 62:  // SO_BINDTOIFINDEX
            let index = Int(try integer())
            guard index == 0 || stack.interfaces[index] != nil else { throw LinuxErrno.ENODEV }
            socket.options.boundInterface = index
        case SO_TIMESTAMP, SO_TIMESTAMPNS, SO_OOBINLINE, SO_PASSCRED, SO_RCVLOWAT:
            _ = try integer()  // accepted and kept by Linux; nothing here depends on them
        case 36:  // SO_MARK: CAP_NET_ADMIN
            _ = try integer()
            throw LinuxErrno.EPERM
        default:
            return false
        }
        return true
    }

    /// SO_RCVTIMEO/SO_SNDTIMEO also bound the guest's native reads and writes on its end of
    /// the pair: set them there too.
    private func setNativeTimeout(_ n: SyscallNotification, name: Int32, microseconds: Int64) {
        guard let copy = try? GuestFiles.copy(tid: n.tid, fd: n.int32Argument(0)) else { return }
        var value = timeval(tv_sec: Int(microseconds / 1_000_000), tv_usec: Int(microseconds % 1_000_000))
        _ = setsockopt(copy, SOL_SOCKET, name, &value, socklen_t(MemoryLayout<timeval>.size))
        close(copy)
    }

    // MARK: - SOL_IP

    private func setIPLevel(_ socket: GuestSocket, _ name: Int32, _ bytes: [UInt8]) throws(LinuxErrno) -> Bool {
        func integer() throws(LinuxErrno) -> Int32 { try SocketOptionValue.integer(bytes, level: Level.ip, name: name) }
        switch name {
        case 1:  // IP_TOS
            let value = try integer()
            socket.options.typeOfService = UInt8(truncatingIfNeeded: value) & 0xfc
        case 2:  // IP_TTL
            let value = try integer()
            guard value == -1 || (value >= 1 && value <= 255) else { throw LinuxErrno.EINVAL }
            socket.options.timeToLive = value == -1 ? nil : UInt8(value)
        case 3:  // IP_HDRINCL
            guard socket.type == .raw else { throw LinuxErrno.ENOPROTOOPT }
            socket.options.includesHeader = try integer() != 0
        case 8: socket.options.receivePacketInfo = try integer() != 0        // IP_PKTINFO
        case 12: socket.options.receiveTimeToLive = try integer() != 0      // IP_RECVTTL
        case 13: socket.options.receiveTypeOfService = try integer() != 0   // IP_RECVTOS
        case 10:  // IP_MTU_DISCOVER
            let value = try integer()
            guard value >= 0 && value <= 5 else { throw LinuxErrno.EINVAL }
            socket.options.mtuDiscover = value
        case 21:  // IP_MINTTL
            let value = try integer()
            guard value >= 0 && value <= 255 else { throw LinuxErrno.EINVAL }
            socket.options.minimumTimeToLive = UInt8(value)
        case 33:  // IP_MULTICAST_TTL
            let value = try integer()
            guard value >= -1 && value <= 255 else { throw LinuxErrno.EINVAL }
            socket.options.multicastTimeToLive = value == -1 ? 1 : UInt8(value)
        case 34: socket.options.multicastLoop = try integer() != 0          // IP_MULTICAST_LOOP
        case 32:  // IP_MULTICAST_IF: struct in_addr, ip_mreq or ip_mreqn
            let request = try SocketOptionValue.ipMembership(bytes, allowShort: true)
            socket.options.multicastInterface = try interfaceIndex(for: request)
        case 35, 36:  // IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP
            guard let d = socket.datagram else { throw LinuxErrno(rawValue: 71) }
            let request = try SocketOptionValue.ipMembership(bytes, allowShort: false)
            let index = try interfaceIndex(for: request)
            do {
                if name == 35 {
                    try stack.datagrams.join(d, group: .v4(request.group), interfaceIndex: index)
                } else {
                    try stack.datagrams.leave(d, group: .v4(request.group), interfaceIndex: index)
                }
            } catch {
                throw LinuxErrno(rawValue: error.rawValue)
            }
        case 6, 7, 11, 15, 24:
            // IP_RECVOPTS, IP_RETOPTS, IP_RECVERR, IP_FREEBIND, IP_BIND_ADDRESS_NO_PORT: accepted
            _ = try integer()
        default:
            return false
        }
        return true
    }

    /// The interface an ip_mreqn names: by index, else by its address, else routing's choice (0).
    private func interfaceIndex(for request: IPMembershipRequest) throws(LinuxErrno) -> Int {
        if request.interfaceIndex != 0 {
            guard stack.interfaces[Int(request.interfaceIndex)] != nil else { throw LinuxErrno.ENODEV }
            return Int(request.interfaceIndex)
        }
        if request.interfaceAddress.value != 0 {
            guard let owner = stack.interfaces.owner(of: .v4(request.interfaceAddress)) else { throw LinuxErrno.EADDRNOTAVAIL }
            return owner.index
        }
        return 0
    }

    // MARK: - SOL_IPV6

    private func setIPv6Level(_ socket: GuestSocket, _ name: Int32, _ bytes: [UInt8]) throws(LinuxErrno) -> Bool {
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
        case 18:  // IPV6_MULTICAST_HOPS
            let value = try integer()
            guard value >= -1 && value <= 255 else { throw LinuxErrno.EINVAL }
            socket.options.multicastTimeToLive = value == -1 ? 1 : UInt8(value)
        case 19:  // IPV6_MULTICAST_LOOP
            let value = try integer()
            guard value == 0 || value == 1 else { throw LinuxErrno.EINVAL }
            socket.options.multicastLoop = value != 0
        case 17:  // IPV6_MULTICAST_IF
            let index = Int(try integer())
            guard index == 0 || stack.interfaces[index] != nil else { throw LinuxErrno.ENODEV }
            socket.options.multicastInterface = index
        case 20, 21:  // IPV6_ADD_MEMBERSHIP, IPV6_DROP_MEMBERSHIP
            guard let d = socket.datagram else { throw LinuxErrno(rawValue: 71) }
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
        case 67:  // IPV6_TCLASS
            let value = try integer()
            guard value >= -1 && value <= 255 else { throw LinuxErrno.EINVAL }
            socket.options.typeOfService = value == -1 ? 0 : UInt8(value)
        case 73:  // IPV6_MINHOPCOUNT
            let value = try integer()
            guard value >= 0 && value <= 255 else { throw LinuxErrno.EINVAL }
            socket.options.minimumTimeToLive = UInt8(value)
        case 49: socket.options.receiveIPv6PacketInfo = try integer() != 0  // IPV6_RECVPKTINFO
        case 51: socket.options.receiveHopLimit = try integer() != 0  // IPV6_RECVHOPLIMIT
        case 66: socket.options.receiveTrafficClass = try integer() != 0  // IPV6_RECVTCLASS
        case 23:  // IPV6_MTU_DISCOVER
            let value = try integer()
            guard value >= 0 && value <= 5 else { throw LinuxErrno.EINVAL }
            socket.options.mtuDiscover = value
        case 7:  // IPV6_CHECKSUM (raw sockets; ICMPv6 keeps its own)
            guard socket.type == .raw else { throw LinuxErrno.ENOPROTOOPT }
            let value = try integer()
            if socket.protocolNumber == Int32(IPPROTO_ICMPV6) { throw LinuxErrno.EINVAL }
            guard value == -1 || (value >= 0 && value & 1 == 0) else { throw LinuxErrno.EINVAL }
            socket.options.checksumOffset = Int(value)
        case 25:  // IPV6_RECVERR: accepted
            _ = try integer()
        default:
            return false
        }
        return true
    }

    private func setICMPv6Level(_ socket: GuestSocket, _ name: Int32, _ bytes: [UInt8]) throws(LinuxErrno) -> Bool {
        guard name == 1, socket.type == .raw, socket.isIPv6, socket.protocolNumber == Int32(IPPROTO_ICMPV6) else {
            return false
        }
        socket.datagram?.icmp6Filter = try SocketOptionValue.icmp6Filter(bytes)
        return true
    }

    // MARK: - SOL_TCP

    private func setTCPLevel(_ socket: GuestSocket, _ name: Int32, _ bytes: [UInt8]) throws(LinuxErrno) -> Bool {
        func integer() throws(LinuxErrno) -> Int32 { try SocketOptionValue.integer(bytes, level: Level.tcp, name: name) }
        switch name {
        case 1: socket.options.tcp.noDelay = try integer() != 0  // TCP_NODELAY
        case 2:  // TCP_MAXSEG: 88…32767, or 0 for none
            let value = try integer()
            guard value == 0 || (value >= 88 && value <= 32767) else { throw LinuxErrno.EINVAL }
            socket.options.tcp.maximumSegmentSizeClamp = value == 0 ? nil : Int(value)
        case 4:  // TCP_KEEPIDLE
            let value = try integer()
            guard value >= 1 && value <= 32767 else { throw LinuxErrno.EINVAL }
            socket.options.tcp.keepAliveIdle = UInt64(value) * StackDuration.second
        case 5:  // TCP_KEEPINTVL
            let value = try integer()
            guard value >= 1 && value <= 32767 else { throw LinuxErrno.EINVAL }
            socket.options.tcp.keepAliveInterval = UInt64(value) * StackDuration.second
        case 6:  // TCP_KEEPCNT
            let value = try integer()
            guard value >= 1 && value <= 127 else { throw LinuxErrno.EINVAL }
            socket.options.tcp.keepAliveCount = Int(value)
        case 7:  // TCP_SYNCNT
            let value = try integer()
            guard value >= 1 && value <= 127 else { throw LinuxErrno.EINVAL }
            socket.options.tcp.synRetries = Int(value)
        case 18:  // TCP_USER_TIMEOUT (ms)
            let value = try integer()
            guard value >= 0 else { throw LinuxErrno.EINVAL }
            socket.options.tcp.userTimeout = UInt64(value) * StackDuration.millisecond
        case 13:  // TCP_CONGESTION
            let name = SocketOptionValue.deviceName(bytes)
            guard name == "cubic" || name == "reno" else { throw LinuxErrno.ENOENT }
            socket.options.tcp.congestionControl = name
        case 14, 32:  // TCP_MD5SIG, TCP_MD5SIG_EXT (RFC 2385)
            let signature = try SocketOptionValue.md5Signature(bytes, extended: name == 32)
            let peer = signature.peer.unmapped.address
            if signature.key.isEmpty {
                socket.options.md5Keys[peer] = nil
            } else {
                socket.options.md5Keys[peer] = signature.key
            }
        case 3, 8, 9, 10, 12, 23, 25:
            // TCP_CORK, TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_WINDOW_CLAMP, TCP_QUICKACK,
            // TCP_FASTOPEN, TCP_NOTSENT_LOWAT: accepted, not acted on.
            _ = try integer()
        default:
            return false
        }
        return true
    }

    /// Pushes the socket's options into its stack objects.
    func applyToStack(_ socket: GuestSocket) {
        let o = socket.options
        var tcp = o.tcp
        tcp.timeToLive = o.timeToLive ?? 64
        tcp.typeOfService = o.typeOfService
        tcp.minimumTimeToLive = o.minimumTimeToLive
        tcp.keepAlive = o.keepAlive
        socket.options.tcp = tcp
        switch socket.state {
        case .connecting(let c), .connected(let c):
            let key = c.configuration.md5Key
            let interface = c.configuration.interfaceIndex
            let mss = c.configuration.maximumSegmentSize
            c.configuration = tcp
            c.configuration.md5Key = o.md5Keys[c.tuple.remoteAddress] ?? key
            c.configuration.interfaceIndex = interface
            c.configuration.maximumSegmentSize = mss
            stack.tcp.markActive(c)
        case .listening(let l):
            let interface = l.configuration.interfaceIndex
            l.configuration = tcp
            l.configuration.interfaceIndex = interface ?? (o.boundInterface != 0 ? o.boundInterface : nil)
            l.md5Keys = o.md5Keys
        case .datagram(let d):
            d.reuseAddress = o.reuseAddress
            d.reusePort = o.reusePort
            d.v6Only = o.v6Only
            d.boundInterface = o.boundInterface
            d.timeToLive = o.timeToLive ?? 64
            d.multicastTimeToLive = o.multicastTimeToLive
            d.multicastInterface = o.multicastInterface
            d.multicastLoop = o.multicastLoop
            d.typeOfService = o.typeOfService
            d.minimumTimeToLive = o.minimumTimeToLive
            d.receiveBufferSize = Int(o.receiveBuffer)
            if socket.type == .raw {
                d.includesHeader = o.includesHeader || socket.protocolNumber == Int32(IPPROTO_RAW)
                if let offset = o.checksumOffset { d.checksumOffset = offset }
            }
        case .idle:
            break
        }
    }
}
