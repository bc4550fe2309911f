import LinuxABI
import NetStack
import Wire

/// An IPv4 or IPv6 socket address as sockaddr_in / sockaddr_in6 carry it.
public struct InetEndpoint: Hashable, Sendable {
    /// The address, as written (a v4-mapped ::ffff:a.b.c.d stays IPv6; see `unmapped`).
    public var address: IPAddress
    /// The port.
    public var port: UInt16
    /// sin6_flowinfo (host order).
    public var flowInfo: UInt32
    /// sin6_scope_id: the interface of a link-local address (RFC 4007 §6).
    public var scopeID: UInt32

    /// An endpoint.
    public init(address: IPAddress, port: UInt16, flowInfo: UInt32 = 0, scopeID: UInt32 = 0) {
        self.address = address
        self.port = port
        self.flowInfo = flowInfo
        self.scopeID = scopeID
    }

    /// Whether the address is v4-mapped (::ffff:a.b.c.d, RFC 4291 §2.5.5.2).
    public var isV4Mapped: Bool {
        if case .v6(let a) = address { return a.high == 0 && a.low >> 32 == 0xffff }
        return false
    }

    /// The endpoint with a v4-mapped address turned into the IPv4 one.
    public var unmapped: InetEndpoint {
        var copy = self
        copy.address = DatagramSocket.unmapped(address)
        return copy
    }
}

/// What the guest's socket is, for the address rules that differ by protocol.
public enum SocketKind: Sendable {
    /// SOCK_STREAM (TCP).
    case stream
    /// SOCK_DGRAM with IPPROTO_UDP.
    case datagram
    /// SOCK_DGRAM with IPPROTO_ICMP/ICMPV6: a ping socket (no ports).
    case ping
    /// SOCK_RAW.
    case raw
}

/// sockaddr decoding and encoding with Linux's checks, in Linux's order.
public enum SocketAddress {
    /// AF_UNSPEC, AF_INET, AF_INET6.
    static let unspecified: UInt16 = 0, inet: UInt16 = 2, inet6: UInt16 = 10
    /// sizeof(struct sockaddr_in).
    public static let inetLength = 16
    /// sizeof(struct sockaddr_in6).
    public static let inet6Length = 28
    /// SIN6_LEN_RFC2133: a sockaddr_in6 without sin6_scope_id, which Linux still accepts.
    public static let inet6MinimumLength = 24

    /// Where a connect points.
    public enum Destination: Equatable, Sendable {
        /// AF_UNSPEC: dissolve the association (`inet_stream_connect` → disconnect,
        /// `inet_dgram_connect` → `udp_disconnect`).
        case disconnect
        /// A peer.
        case endpoint(InetEndpoint)
    }

    /// `move_addr_to_kernel`: a length outside 0…sizeof(sockaddr_storage) is EINVAL.
    public static func validateLength(_ length: Int64) throws(LinuxErrno) {
        guard length >= 0 && length <= 128 else { throw .EINVAL }
    }

    /// The address family field (sa_family, host order), or nil if the bytes are too short.
    static func family(_ bytes: [UInt8]) -> UInt16? {
        bytes.count >= 2 ? UInt16(bytes[0]) | UInt16(bytes[1]) << 8 : nil
    }

    /// Reads a sockaddr_in's fields (the caller checked the length).
    static func decodeInet(_ bytes: [UInt8]) -> InetEndpoint {
        InetEndpoint(address: .v4(IPv4Address(bytes[4], bytes[5], bytes[6], bytes[7])),
                     port: UInt16(bytes[2]) << 8 | UInt16(bytes[3]))
    }

    /// Reads a sockaddr_in6's fields (≥ 24 bytes; the scope id only if present).
    static func decodeInet6(_ bytes: [UInt8]) -> InetEndpoint {
        func word(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        let flow = UInt32(bigEndian: word(4))
        let scope = bytes.count >= inet6Length ? word(24) : 0
        return InetEndpoint(address: .v6(IPv6Address(bytes: bytes[8..<24])!),
                            port: UInt16(bytes[2]) << 8 | UInt16(bytes[3]), flowInfo: flow, scopeID: scope)
    }

    /// bind(2): `inet_bind` (AF_UNSPEC accepted for INADDR_ANY), `inet6_bind`.
    public static func decodeForBind(_ bytes: [UInt8], isIPv6Socket: Bool, kind: SocketKind) throws(LinuxErrno) -> InetEndpoint {
        if isIPv6Socket {
            guard bytes.count >= inet6MinimumLength else { throw .EINVAL }
            guard family(bytes) == inet6 else { throw .EAFNOSUPPORT }
            return decodeInet6(bytes)
        }
        guard bytes.count >= inetLength else { throw .EINVAL }
        let endpoint = decodeInet(bytes)
        if family(bytes) != inet {
            guard family(bytes) == unspecified, endpoint.address == .v4(.any) else { throw .EAFNOSUPPORT }
        }
        return endpoint
    }

    /// connect(2): AF_UNSPEC dissolves (`inet_stream_connect`, `inet_dgram_connect`); then
    /// `tcp_v4_connect`, `tcp_v6_connect`, `__ip4_datagram_connect`, `__ip6_datagram_connect`
    /// (which takes a sockaddr_in on an IPv6 datagram socket unless IPV6_V6ONLY).
    public static func decodeForConnect(_ bytes: [UInt8], isIPv6Socket: Bool, kind: SocketKind,
                                        v6Only: Bool) throws(LinuxErrno) -> Destination {
        guard let family = family(bytes) else { throw .EINVAL }
        if family == unspecified { return .disconnect }
        if isIPv6Socket {
            if family == inet && kind != .stream && kind != .ping {
                if v6Only { throw .EAFNOSUPPORT }
                guard bytes.count >= inetLength else { throw .EINVAL }
                return .endpoint(decodeInet(bytes))
            }
            guard bytes.count >= inet6MinimumLength else { throw .EINVAL }
            guard family == inet6 else { throw .EAFNOSUPPORT }
            let endpoint = decodeInet6(bytes)
            if endpoint.isV4Mapped && v6Only { throw LinuxErrno(rawValue: 101) }  // ENETUNREACH
            return .endpoint(endpoint)
        }
        guard bytes.count >= inetLength else { throw .EINVAL }
        guard family == inet else { throw .EAFNOSUPPORT }
        return .endpoint(decodeInet(bytes))
    }

    /// The destination of sendto/sendmsg: `udp_sendmsg` (AF_UNSPEC read as AF_INET, port 0
    /// EINVAL), `udpv6_sendmsg` (AF_INET goes the IPv4 way, AF_UNSPEC means no address),
    /// `ping_v4_sendmsg`, `raw_sendmsg`, `rawv6_sendmsg`. nil: no destination given.
    public static func decodeForSend(_ bytes: [UInt8], isIPv6Socket: Bool, kind: SocketKind,
                                     v6Only: Bool) throws(LinuxErrno) -> InetEndpoint? {
        if bytes.isEmpty { return nil }
        guard let family = family(bytes) else { throw .EINVAL }
        if isIPv6Socket {
            switch family {
            case inet6:
                guard bytes.count >= inet6MinimumLength else { throw .EINVAL }
                let endpoint = decodeInet6(bytes)
                if kind == .datagram && endpoint.port == 0 { throw .EINVAL }
                if endpoint.isV4Mapped && v6Only { throw LinuxErrno(rawValue: 101) }  // ENETUNREACH
                return endpoint
            case inet where kind == .datagram:
                if v6Only { throw LinuxErrno(rawValue: 101) }
                guard bytes.count >= inetLength else { throw .EINVAL }
                let endpoint = decodeInet(bytes)
                if endpoint.port == 0 { throw .EINVAL }
                return endpoint
            case unspecified:
                if kind == .raw {
                    guard bytes.count >= inet6MinimumLength else { throw .EINVAL }
                    return decodeInet6(bytes)
                }
                return nil
            default:
                throw kind == .datagram ? .EINVAL : .EAFNOSUPPORT
            }
        }
        guard bytes.count >= inetLength else { throw .EINVAL }
        if family != inet {
            // udp_sendmsg and raw_sendmsg read AF_UNSPEC as AF_INET; ping sockets do not.
            guard family == unspecified, kind != .stream, kind != .ping else { throw .EAFNOSUPPORT }
        }
        let endpoint = decodeInet(bytes)
        if kind == .datagram && endpoint.port == 0 && family == inet { throw .EINVAL }
        return endpoint
    }

    /// sockaddr_in (16 bytes) or sockaddr_in6 (28 bytes) by the socket's family; an IPv4
    /// address on an IPv6 socket is written v4-mapped (`inet6_getname`).
    public static func encode(_ endpoint: InetEndpoint, isIPv6Socket: Bool) -> [UInt8] {
        let port = [UInt8(endpoint.port >> 8), UInt8(endpoint.port & 0xff)]
        if !isIPv6Socket, case .v4(let a) = DatagramSocket.unmapped(endpoint.address) {
            return [UInt8(inet), 0] + port + a.octets + [UInt8](repeating: 0, count: 8)
        }
        let address: [UInt8]
        switch endpoint.address {
        case .v4(let a): address = [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + a.octets
        case .v6(let a): address = a.bytes
        }
        let flow = endpoint.flowInfo.bigEndian, scope = endpoint.scopeID
        return [UInt8(inet6), 0] + port + withUnsafeBytes(of: flow) { Array($0) } + address
            + withUnsafeBytes(of: scope.littleEndian) { Array($0) }
    }

    /// `move_addr_to_user`: reads the guest's length (negative: EINVAL), writes as much of
    /// the address as fits, then the full length.
    public static func copyOut(_ bytes: [UInt8], to memory: some GuestAddressSpace, address: UInt64,
                               lengthAddress: UInt64) throws(LinuxErrno) {
        let raw = try memory.read(at: lengthAddress, count: 4)
        let length = Int32(bitPattern: UInt32(raw[0]) | UInt32(raw[1]) << 8 | UInt32(raw[2]) << 16 | UInt32(raw[3]) << 24)
        guard length >= 0 else { throw .EINVAL }
        let count = min(Int(length), bytes.count)
        if count > 0 { try memory.write(Array(bytes.prefix(count)), at: address) }
        try memory.write(withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { Array($0) }, at: lengthAddress)
    }
}
