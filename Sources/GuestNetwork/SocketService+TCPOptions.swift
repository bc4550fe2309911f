import CSRouterLinux
import Glibc
import LinuxABI
import NetStack
import Sandbox
import Wire

/// setsockopt(2) at IPPROTO_TCP, as `do_tcp_setsockopt` (net/ipv4/tcp.c) and the
/// `tcp_v4_parse_md5_keys`/`tcp_v6_parse_md5_keys` it calls check values.
extension SocketService {
    /// `do_tcp_setsockopt`: TCP_CONGESTION reads a string (optlen 0: EINVAL), the others an
    /// int first (shorter: EINVAL).
    func setTCPLevel(_ socket: GuestSocket, _ name: Int32, _ bytes: [UInt8]) throws(LinuxErrno) -> Bool {
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
            guard !bytes.isEmpty else { throw LinuxErrno.EINVAL }
            let name = SocketOptionValue.deviceName(bytes)
            guard name == "cubic" || name == "reno" else { throw LinuxErrno.ENOENT }
            socket.options.tcp.congestionControl = name
        case 14, 32:  // TCP_MD5SIG, TCP_MD5SIG_EXT (RFC 2385)
            _ = try integer()
            let family = socket.isIPv6 ? SocketAddress.inet6 : SocketAddress.inet
            let signature = try SocketOptionValue.md5Signature(bytes, extended: name == 32, family: family)
            let peer = signature.peer.unmapped.address
            if signature.key.isEmpty {
                // tcp_md5_do_del: no key for that peer is ENOENT.
                guard socket.options.md5Keys.removeValue(forKey: peer) != nil else { throw LinuxErrno.ENOENT }
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

}
