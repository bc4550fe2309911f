import LinuxABI
import Wire

/// IP_ADD_MEMBERSHIP's request: `struct ip_mreq` or `struct ip_mreqn`.
public struct IPMembershipRequest: Equatable, Sendable {
    /// imr_multiaddr.
    public var group: IPv4Address
    /// imr_address / imr_interface.
    public var interfaceAddress: IPv4Address
    /// imr_ifindex (ip_mreqn only; 0 otherwise).
    public var interfaceIndex: Int32
}

/// Option values as Linux reads and writes them, per level (`sk_setsockopt`,
/// `do_ip_setsockopt`, `do_ipv6_setsockopt`, `do_tcp_setsockopt`, and the getsockopt twins).
public enum SocketOptionValue {
    /// An integer option's value. SOL_IP reads an int from 4 bytes or more, an unsigned char
    /// from 1–3 (0 from none, which IP_TTL, IP_MULTICAST_TTL/LOOP and IP_MINTTL refuse);
    /// the other levels need a whole int.
    public static func integer(_ bytes: [UInt8], level: Int32, name: Int32) throws(LinuxErrno) -> Int32 {
        if level == 0 {
            if bytes.count >= 4 { return Int32(bitPattern: bytes.word32(at: 0)) }
            if bytes.count >= 1 { return Int32(bytes[0]) }
            if [2, 21, 33, 34].contains(name) { throw .EINVAL }
            return 0
        }
        guard bytes.count >= 4 else { throw .EINVAL }
        return Int32(bitPattern: bytes.word32(at: 0))
    }

    /// `struct linger` {l_onoff, l_linger} (short: EINVAL).
    public static func linger(_ bytes: [UInt8]) throws(LinuxErrno) -> (onoff: Int32, seconds: Int32) {
        guard bytes.count >= 8 else { throw .EINVAL }
        return (Int32(bitPattern: bytes.word32(at: 0)), Int32(bitPattern: bytes.word32(at: 4)))
    }

    /// `struct linger` for getsockopt.
    public static func encodeLinger(onoff: Int32, seconds: Int32) -> [UInt8] {
        littleEndianBytes(onoff) + littleEndianBytes(seconds)
    }

    /// SO_RCVTIMEO/SO_SNDTIMEO (`sock_set_timeout`): a timeval (both layouts are two 64-bit
    /// words on LP64) in microseconds; tv_usec outside 0…999999 is EDOM; negative seconds
    /// mean no wait (0).
    public static func timeout(_ bytes: [UInt8], newLayout: Bool) throws(LinuxErrno) -> Int64 {
        guard bytes.count >= 16 else { throw .EINVAL }
        let seconds = Int64(bitPattern: bytes.word64(at: 0))
        let micro = Int64(bitPattern: bytes.word64(at: 8))
        guard micro >= 0 && micro < 1_000_000 else { throw LinuxErrno(rawValue: 33) }  // EDOM
        if seconds < 0 { return 0 }
        return seconds > Int64.max / 2_000_000 ? Int64.max / 2 : seconds * 1_000_000 + micro
    }

    /// A timeval for getsockopt.
    public static func encodeTimeout(_ microseconds: Int64, newLayout: Bool) -> [UInt8] {
        littleEndianBytes(microseconds / 1_000_000) + littleEndianBytes(microseconds % 1_000_000)
    }

    /// SO_BINDTODEVICE's and TCP_CONGESTION's string: up to the first NUL, at most 15 bytes
    /// (IFNAMSIZ - 1) as `sock_setbindtodevice` reads it.
    public static func deviceName(_ bytes: [UInt8]) -> String {
        let name = bytes.prefix(15).prefix { $0 != 0 }
        return String(decoding: name, as: UTF8.self)
    }

    /// ip_mreq (8 bytes), ip_mreqn (12) — or, for IP_MULTICAST_IF (`allowShort`), a bare
    /// in_addr (4). Shorter: EINVAL.
    public static func ipMembership(_ bytes: [UInt8], allowShort: Bool) throws(LinuxErrno) -> IPMembershipRequest {
        if allowShort && bytes.count >= 4 && bytes.count < 8 {
            return IPMembershipRequest(group: .any, interfaceAddress: IPv4Address(bytes[0], bytes[1], bytes[2], bytes[3]),
                                       interfaceIndex: 0)
        }
        guard bytes.count >= 8 else { throw .EINVAL }
        let group = IPv4Address(bytes[0], bytes[1], bytes[2], bytes[3])
        let address = IPv4Address(bytes[4], bytes[5], bytes[6], bytes[7])
        let index = bytes.count >= 12 ? Int32(bitPattern: bytes.word32(at: 8)) : 0
        return IPMembershipRequest(group: group, interfaceAddress: address, interfaceIndex: index)
    }

    /// `struct ipv6_mreq` {ipv6mr_multiaddr, ipv6mr_interface} (20 bytes).
    public static func ipv6Membership(_ bytes: [UInt8]) throws(LinuxErrno) -> (group: IPv6Address, interfaceIndex: Int32) {
        guard bytes.count >= 20 else { throw .EINVAL }
        return (IPv6Address(bytes: bytes[0..<16])!, Int32(bitPattern: bytes.word32(at: 16)))
    }

    /// `struct icmp6_filter`: eight 32-bit words, a set bit blocks that type (RFC 3542 §3.2).
    public static func icmp6Filter(_ bytes: [UInt8]) throws(LinuxErrno) -> [UInt32] {
        var padded = Array(bytes.prefix(32))
        padded += [UInt8](repeating: 0, count: 32 - padded.count)
        return (0..<8).map { padded.word32(at: $0 * 4) }
    }

    /// `struct icmp6_filter` for getsockopt.
    public static func encodeICMP6Filter(_ words: [UInt32]) -> [UInt8] {
        (0..<8).flatMap { littleEndianBytes($0 < words.count ? words[$0] : 0) }
    }

    /// `struct tcp_md5sig` (216 bytes: sockaddr_storage, flags, prefixlen, keylen, ifindex,
    /// key[80]) as `tcp_v4_parse_md5_keys`/`tcp_v6_parse_md5_keys` read it: short is EINVAL,
    /// an address family that is not the socket's (`family`) EINVAL, a key over 80 bytes
    /// EINVAL. An empty key asks to delete the peer's.
    public static func md5Signature(_ bytes: [UInt8], extended: Bool, family socketFamily: UInt16) throws(LinuxErrno)
        -> (peer: InetEndpoint, prefixLength: Int?, key: [UInt8]) {
        guard bytes.count >= 216 else { throw .EINVAL }
        let family = UInt16(bytes[0]) | UInt16(bytes[1]) << 8
        guard family == socketFamily else { throw .EINVAL }
        let peer: InetEndpoint
        switch family {
        case SocketAddress.inet: peer = SocketAddress.decodeInet(bytes)
        case SocketAddress.inet6: peer = SocketAddress.decodeInet6(Array(bytes[0..<28]))
        default: throw .EINVAL
        }
        let flags = bytes[128]
        let prefixLength = extended && flags & 1 != 0 ? Int(bytes[129]) : nil
        let keyLength = Int(UInt16(bytes[130]) | UInt16(bytes[131]) << 8)
        guard keyLength <= 80 else { throw .EINVAL }
        return (peer, prefixLength, Array(bytes[136..<(136 + keyLength)]))
    }

    /// Reads the guest's option length (`get_user(len, optlen)`).
    static func readLength(_ memory: some GuestAddressSpace, at address: UInt64) throws(LinuxErrno) -> Int32 {
        Int32(bitPattern: try memory.read(at: address, count: 4).word32(at: 0))
    }

    /// getsockopt of an integer: SOL_SOCKET and SOL_TCP (negative length EINVAL, at most 4
    /// bytes), SOL_IP (the same, but a single byte when 0 < len < 4 and the value fits one),
    /// SOL_IPV6 (at most 4, the length compared unsigned: a negative one reads as large).
    public static func copyOutInteger(_ value: Int32, level: Int32, name: Int32, to memory: some GuestAddressSpace,
                                      valueAddress: UInt64, lengthAddress: UInt64) throws(LinuxErrno) {
        let length = try readLength(memory, at: lengthAddress)
        var bytes = littleEndianBytes(value)
        switch level {
        case 1, 0, 6:
            guard length >= 0 else { throw .EINVAL }
            if level == 0 && length > 0 && length < 4 && value >= 0 && value <= 255 {
                bytes = [UInt8(value)]
            } else {
                bytes = Array(bytes.prefix(Int(length)))
            }
        default:
            bytes = Array(bytes.prefix(Int(UInt32(bitPattern: length) > 4 ? 4 : UInt32(bitPattern: length))))
        }
        if !bytes.isEmpty { try memory.write(bytes, at: valueAddress) }
        try memory.write(littleEndianBytes(Int32(bytes.count)), at: lengthAddress)
    }

    /// getsockopt of a structure or string: as much as the guest's length allows, and the
    /// length copied (negative: EINVAL). `minimumLength`: a shorter buffer is EINVAL
    /// (`sock_getbindtodevice` wants IFNAMSIZ).
    public static func copyOutBytes(_ bytes: [UInt8], minimumLength: Int32 = 0, to memory: some GuestAddressSpace,
                                    valueAddress: UInt64, lengthAddress: UInt64) throws(LinuxErrno) {
        let length = try readLength(memory, at: lengthAddress)
        guard length >= 0, length >= minimumLength else { throw .EINVAL }
        let out = Array(bytes.prefix(Int(length)))
        if !out.isEmpty { try memory.write(out, at: valueAddress) }
        try memory.write(littleEndianBytes(Int32(out.count)), at: lengthAddress)
    }
}
