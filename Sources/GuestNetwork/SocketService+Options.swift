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

    /// setsockopt(2) of a served socket: reads the value (as much as srouter handles), then
    /// dispatches by level as `__sys_setsockopt` → `sk_setsockopt` / the protocol's
    /// setsockopt does. A negative optlen is EINVAL. `do_ipv6_setsockopt` takes a NULL value
    /// as 0 (only the options that read a structure fault on it).
    func setOption(_ socket: GuestSocket, _ n: SyscallNotification, descriptor: GuestDescriptor) -> SyscallAnswer {
        let level = n.int32Argument(1), name = n.int32Argument(2)
        let length = Int(n.int32Argument(4))
        guard length >= 0 else { return .error(.EINVAL) }
        do throws(LinuxErrno) {
            let address = n.arguments[3]
            let nullIPv6 = address == 0 && level == Level.ipv6 && socket.isIPv6
            let bytes: [UInt8]
            if nullIPv6 {
                bytes = [UInt8](repeating: 0, count: min(length, Self.maximumOptionLength))
            } else {
                bytes = length == 0 ? [] : try GuestMemory(tid: n.tid).read(
                    at: address, count: min(length, Self.maximumOptionLength))
            }
            guard notifications?.isStillPending(n.id) ?? false else { return .withdrawn }
            let handled: Bool
            switch level {
            case Level.socket: handled = try setSocketLevel(socket, name, bytes, n: n)
            case Level.ip:
                // ipv6_setsockopt passes SOL_IP on to ip_setsockopt except for raw sockets.
                handled = socket.isIPv6 && socket.type == .raw ? false : try setIPLevel(socket, name, bytes)
            case Level.ipv6:
                handled = socket.isIPv6 ? try setIPv6Level(socket, name, bytes, isNull: nullIPv6) : false
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

    /// One debug line per option srouter does not serve.
    func logUnknownOption(level: Int32, name: Int32, set: Bool) {
        let key = "\(set ? "set" : "get")sockopt(\(level), \(name))"
        if unknownOptionsLogged.insert(key).inserted {
            logger.debug("option not served: \(key) → ENOPROTOOPT")
        }
    }

    // MARK: - SOL_SOCKET

    private func setSocketLevel(_ socket: GuestSocket, _ name: Int32, _ bytes: [UInt8],
                                n: SyscallNotification) throws(LinuxErrno) -> Bool {
        // sk_setsockopt: SO_BINDTODEVICE reads a string; every other option an int first.
        if name == SO_BINDTODEVICE {
            let device = SocketOptionValue.deviceName(bytes)
            var index = 0
            if !device.isEmpty {
                guard let interface = stack.interfaces[device] else { throw LinuxErrno.ENODEV }
                index = interface.index
            }
            try bindToIndex(socket, index)
            return true
        }
        let value = try SocketOptionValue.integer(bytes, level: Level.socket, name: name)
        switch name {
        case SO_REUSEADDR: socket.options.reuseAddress = value != 0
        case SO_REUSEPORT: socket.options.reusePort = value != 0
        case SO_KEEPALIVE:
            socket.options.keepAlive = value != 0
            socket.options.tcp.keepAlive = socket.options.keepAlive
        case SO_DONTROUTE: socket.options.dontRoute = value != 0
        case SO_BROADCAST: socket.options.broadcast = value != 0
        case SO_OOBINLINE: socket.options.outOfBandInline = value != 0
        case SO_PRIORITY:
            // sk_setsockopt takes priorities outside 0…6 only from CAP_NET_ADMIN or CAP_NET_RAW.
            // The guest administers srouter's network (it writes routes and opens raw sockets),
            // so it gets that answer: routing daemons mark control traffic TC_PRIO_CONTROL (7),
            // as BIRD's BFD does. srouter queues nothing by priority.
            socket.options.priority = value
        case SO_TYPE, SO_PROTOCOL, SO_DOMAIN, SO_ERROR:
            throw LinuxErrno.ENOPROTOOPT
        case SO_RCVBUF:
            // __sock_set_rcvbuf: doubled for overhead, within [SOCK_MIN_RCVBUF, 2 × rmem_max].
            socket.options.receiveBuffer = Int32(max(2304, min(max(Int64(value), 0), 212_992) * 2))
            socket.options.receiveBufferLocked = true
        case SO_SNDBUF:
            socket.options.sendBuffer = Int32(max(4608, min(max(Int64(value), 0), 212_992) * 2))
        case SO_RCVLOWAT:
            setReceiveLowWater(socket, value, n: n)
        case SO_LINGER:
            let linger = try SocketOptionValue.linger(bytes)
            if linger.onoff == 0 {
                socket.options.linger = nil
                socket.options.lingerForever = false
            } else {
                // An l_linger below 0 is a huge unsigned long: MAX_SCHEDULE_TIMEOUT.
                socket.options.lingerForever = linger.seconds < 0
                socket.options.linger = linger.seconds < 0 ? Int32.max : linger.seconds
            }
        case SO_RCVTIMEO, 66:  // SO_RCVTIMEO_OLD, SO_RCVTIMEO_NEW
            socket.options.receiveTimeout = try SocketOptionValue.timeout(bytes, newLayout: name == 66)
            setNativeOption(n, name: SO_RCVTIMEO, timeout: socket.options.receiveTimeout)
        case SO_SNDTIMEO, 67:
            socket.options.sendTimeout = try SocketOptionValue.timeout(bytes, newLayout: name == 67)
            setNativeOption(n, name: SO_SNDTIMEO, timeout: socket.options.sendTimeout)
        case 62:  // SO_BINDTOIFINDEX
            try bindToIndex(socket, Int(value))
        case SO_TIMESTAMP, SO_TIMESTAMPNS, SO_PASSCRED:
            break  // accepted and kept by Linux; nothing here depends on them
        case 36:  // SO_MARK: CAP_NET_ADMIN or CAP_NET_RAW
            throw LinuxErrno.EPERM
        default:
            return false
        }
        return true
    }

    /// `sock_bindtoindex_locked`: once a socket is bound to a device only CAP_NET_RAW may
    /// change it (the guest has none: EPERM, even to unbind); a negative index is EINVAL. Linux
    /// does not check that the index exists.
    private func bindToIndex(_ socket: GuestSocket, _ index: Int) throws(LinuxErrno) {
        guard socket.options.boundInterface == 0 else { throw LinuxErrno.EPERM }
        guard index >= 0 else { throw LinuxErrno.EINVAL }
        socket.options.boundInterface = index
    }

    /// SO_RCVLOWAT (`sk_setsockopt`): a negative value is INT_MAX; TCP (`tcp_set_rcvlowat`)
    /// caps it at half the receive buffer (SO_RCVBUF's if set, else tcp_rmem[2]'s); 0 is 1.
    /// The guest's end of a stream pair gets it too, so its reads wait for that many bytes
    /// as they would on a TCP socket.
    private func setReceiveLowWater(_ socket: GuestSocket, _ requested: Int32, n: SyscallNotification) {
        var value = requested < 0 ? Int32.max : requested
        if socket.type == .stream {
            let cap = socket.options.receiveBufferLocked ? socket.options.receiveBuffer >> 1
                : Self.tcpReceiveBufferMaximum >> 1
            value = min(value, cap)
        }
        socket.options.receiveLowWater = value == 0 ? 1 : value
        if socket.type == .stream { setNativeOption(n, name: SO_RCVLOWAT, integer: socket.options.receiveLowWater) }
    }

    /// net.ipv4.tcp_rmem's maximum (inherited by every network namespace from the host's).
    static let tcpReceiveBufferMaximum: Int32 = {
        let fd = open("/proc/sys/net/ipv4/tcp_rmem", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 6_291_456 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return 6_291_456 }
        let fields = String(decoding: buffer.prefix(count), as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        guard fields.count == 3, let maximum = Int32(fields[2]) else { return 6_291_456 }
        return maximum
    }()

    /// What getsockopt(SO_LINGER) reports after l_linger < 0: MAX_SCHEDULE_TIMEOUT / HZ cut
    /// to an int, which depends on the kernel's HZ, so the host's kernel is asked once.
    static let foreverLingerSeconds: Int32 = {
        let fallback = Int32(truncatingIfNeeded: Int64.max / 250)
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return fallback }
        defer { close(fd) }
        var value = linger(l_onoff: 1, l_linger: -1)
        let size = socklen_t(MemoryLayout<linger>.size)
        guard setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, size) == 0 else { return fallback }
        var length = size
        value = linger()
        guard getsockopt(fd, SOL_SOCKET, SO_LINGER, &value, &length) == 0 else { return fallback }
        return value.l_linger
    }()

    /// SO_RCVTIMEO/SO_SNDTIMEO also bound the guest's native reads and writes on its end of
    /// the pair: set them there too.
    private func setNativeOption(_ n: SyscallNotification, name: Int32, timeout microseconds: Int64) {
        guard let copy = try? GuestFiles.copy(tid: n.tid, fd: n.int32Argument(0)) else { return }
        var value = timeval(tv_sec: Int(microseconds / 1_000_000), tv_usec: Int(microseconds % 1_000_000))
        _ = setsockopt(copy.fd, SOL_SOCKET, name, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// An int option set on the guest's end of its pair as well.
    private func setNativeOption(_ n: SyscallNotification, name: Int32, integer: Int32) {
        guard let copy = try? GuestFiles.copy(tid: n.tid, fd: n.int32Argument(0)) else { return }
        var value = integer
        _ = setsockopt(copy.fd, SOL_SOCKET, name, &value, socklen_t(MemoryLayout<Int32>.size))
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
