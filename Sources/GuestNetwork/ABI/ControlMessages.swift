import LinuxABI
import Wire

/// One control message (`struct cmsghdr` and its data).
public struct ControlMessage: Equatable, Sendable {
    /// cmsg_level (SOL_IP 0, SOL_IPV6 41, SOL_SOCKET 1).
    public var level: Int32
    /// cmsg_type.
    public var type: Int32
    /// The data after the header.
    public var data: [UInt8]

    /// A control message.
    public init(level: Int32, type: Int32, data: [UInt8]) {
        self.level = level
        self.type = type
        self.data = data
    }

    /// IP_PKTINFO (8): `struct in_pktinfo` {ipi_ifindex, ipi_spec_dst, ipi_addr}.
    public static func ipPacketInfo(interfaceIndex: Int32, specificDestination: IPv4Address,
                                    destination: IPv4Address) -> ControlMessage {
        ControlMessage(level: 0, type: 8,
                       data: littleEndianBytes(interfaceIndex) + specificDestination.octets + destination.octets)
    }

    /// IP_TTL (2) as IP_RECVTTL delivers it: an int.
    public static func ipTimeToLive(_ value: Int32) -> ControlMessage {
        ControlMessage(level: 0, type: 2, data: littleEndianBytes(value))
    }

    /// IP_TOS (1) as IP_RECVTOS delivers it: one byte.
    public static func ipTypeOfService(_ value: UInt8) -> ControlMessage {
        ControlMessage(level: 0, type: 1, data: [value])
    }

    /// IPV6_PKTINFO (50): `struct in6_pktinfo` {ipi6_addr, ipi6_ifindex}.
    public static func ipv6PacketInfo(address: IPv6Address, interfaceIndex: UInt32) -> ControlMessage {
        ControlMessage(level: 41, type: 50, data: address.bytes + littleEndianBytes(interfaceIndex))
    }

    /// IPV6_HOPLIMIT (52): an int.
    public static func ipv6HopLimit(_ value: Int32) -> ControlMessage {
        ControlMessage(level: 41, type: 52, data: littleEndianBytes(value))
    }

    /// IPV6_TCLASS (67): an int.
    public static func ipv6TrafficClass(_ value: Int32) -> ControlMessage {
        ControlMessage(level: 41, type: 67, data: littleEndianBytes(value))
    }
}

/// What a sendmsg's control messages ask of one datagram (`struct ipcm_cookie`,
/// `struct ipcm6_cookie`).
public struct SendControl: Equatable, Sendable {
    /// IP_PKTINFO ipi_spec_dst / IPV6_PKTINFO ipi6_addr: the source address.
    public var sourceAddress: IPAddress?
    /// IP_PKTINFO / IPV6_PKTINFO interface.
    public var interfaceIndex: Int?
    /// IP_TTL.
    public var timeToLive: Int?
    /// IPV6_HOPLIMIT (-1: the default).
    public var hopLimit: Int?
    /// IPV6_TCLASS.
    public var trafficClass: Int?
    /// IP_TOS.
    public var typeOfService: Int?

    /// Nothing asked.
    public init() {}
}

/// Control message buffers (`cmsg(3)`; LP64: a 16-byte header, data aligned to 8).
public enum ControlMessages {
    /// sizeof(struct cmsghdr).
    public static let headerSize = 16

    /// CMSG_ALIGN.
    static func align(_ length: Int) -> Int { (length + 7) & ~7 }

    /// Parses a sendmsg control buffer; a header shorter than cmsghdr or running past the
    /// buffer is EINVAL (`CMSG_OK`, as `ip_cmsg_send` checks).
    public static func parse(_ bytes: [UInt8]) throws(LinuxErrno) -> [ControlMessage] {
        var messages: [ControlMessage] = []
        var offset = 0
        while bytes.count - offset >= headerSize {
            let length = bytes.word64(at: offset)
            guard length >= UInt64(headerSize), length <= UInt64(bytes.count - offset) else { throw .EINVAL }
            let level = Int32(bitPattern: bytes.word32(at: offset + 8))
            let type = Int32(bitPattern: bytes.word32(at: offset + 12))
            messages.append(ControlMessage(level: level, type: type,
                                           data: Array(bytes[(offset + headerSize)..<(offset + Int(length))])))
            offset += align(Int(length))
        }
        return messages
    }

    /// Lays out received control messages in `capacity` bytes as `put_cmsg` does: a message
    /// that does not fit is cut (MSG_CTRUNC), one whose header does not fit is dropped.
    public static func encode(_ messages: [ControlMessage], capacity: Int) -> (bytes: [UInt8], truncated: Bool) {
        var out: [UInt8] = []
        var truncated = false
        for message in messages {
            let room = capacity - out.count
            if room < headerSize {
                truncated = true
                break
            }
            var length = headerSize + message.data.count
            if length > room {
                truncated = true
                length = room
            }
            out += littleEndianBytes(UInt64(length)) + littleEndianBytes(message.level) + littleEndianBytes(message.type)
            out += message.data.prefix(length - headerSize)
            let space = min(align(headerSize + message.data.count), capacity - (out.count - length))
            out += [UInt8](repeating: 0, count: max(0, space - length))
        }
        return (out, truncated)
    }

    /// What sendmsg's control messages ask (`ip_cmsg_send`, `ip6_datagram_send_ctl`): exact
    /// lengths, values in range, unknown IP-level types EINVAL; other levels are another
    /// protocol's and ignored, SOL_SOCKET ones as `__sock_cmsg_send` treats them.
    ///
    /// Which parser runs depends on the datagram, not only on the socket: an AF_INET6 socket
    /// sending to an IPv4 (or v4-mapped) destination goes through `udp_sendmsg` and so
    /// `ip_cmsg_send` with `allow_ipv6`: SOL_IP messages apply, IPV6_PKTINFO is taken only
    /// with a v4-mapped address (its low 32 bits become the source; any other address is
    /// EINVAL), and every other SOL_IPV6 message is ignored. `ipv4Destination` defaults to
    /// the socket's family.
    public static func sendControl(_ messages: [ControlMessage], isIPv6Socket: Bool,
                                   ipv4Destination: Bool? = nil) throws(LinuxErrno) -> SendControl {
        let ipv4Path = ipv4Destination ?? !isIPv6Socket
        if ipv4Path && isIPv6Socket { return try mappedSendControl(messages) }
        return try sendControl(messages, ipv4Path: ipv4Path)
    }

    /// `ip_cmsg_send(…, allow_ipv6: true)`: IPV6_PKTINFO with a v4-mapped source, other
    /// SOL_IPV6 messages skipped, the rest as for an AF_INET socket.
    private static func mappedSendControl(_ messages: [ControlMessage]) throws(LinuxErrno) -> SendControl {
        var control = try sendControl(messages.filter { $0.level != 41 }, ipv4Path: true)
        for message in messages where message.level == 41 && message.type == 50 {  // IPV6_PKTINFO
            guard message.data.count >= 20 else { throw .EINVAL }
            let address = IPv6Address(bytes: message.data[0..<16])!
            guard address.high == 0, address.low >> 32 == 0xffff else { throw .EINVAL }
            let index = message.data.word32(at: 16)
            if index != 0 { control.interfaceIndex = Int(index) }
            let source = IPv4Address(UInt32(truncatingIfNeeded: address.low))
            control.sourceAddress = source.value != 0 ? .v4(source) : nil
        }
        return control
    }

    private static func sendControl(_ messages: [ControlMessage], ipv4Path: Bool) throws(LinuxErrno) -> SendControl {
        let isIPv6Socket = !ipv4Path
        var control = SendControl()
        for message in messages {
            let data = message.data
            func integer() throws(LinuxErrno) -> Int32 {
                guard data.count == 4 else { throw .EINVAL }
                return Int32(bitPattern: data.word32(at: 0))
            }
            switch message.level {
            case 1:  // SOL_SOCKET
                switch message.type {
                case 36: throw .EPERM  // SO_MARK needs CAP_NET_ADMIN
                case 1, 2: continue    // SCM_RIGHTS, SCM_CREDENTIALS: ignored on inet sockets
                default: throw .EINVAL
                }
            case 0:  // SOL_IP
                if isIPv6Socket { continue }  // ip6_datagram_send_ctl skips other levels
                switch message.type {
                case 8:  // IP_PKTINFO
                    guard data.count == 12 else { throw .EINVAL }
                    let index = Int32(bitPattern: data.word32(at: 0))
                    if index != 0 { control.interfaceIndex = Int(index) }
                    let source = IPv4Address(data[4], data[5], data[6], data[7])
                    if source.value != 0 { control.sourceAddress = .v4(source) }
                case 2:  // IP_TTL
                    let value = try integer()
                    guard value >= 1 && value <= 255 else { throw .EINVAL }
                    control.timeToLive = Int(value)
                case 1:  // IP_TOS: an int or a byte
                    let value: Int32
                    if data.count == 4 { value = Int32(bitPattern: data.word32(at: 0)) } else if data.count == 1 {
                        value = Int32(data[0])
                    } else { throw .EINVAL }
                    guard value >= 0 && value <= 255 else { throw .EINVAL }
                    control.typeOfService = Int(value)
                default:
                    throw .EINVAL
                }
            case 41 where isIPv6Socket:  // SOL_IPV6
                switch message.type {
                case 50:  // IPV6_PKTINFO
                    guard data.count >= 20 else { throw .EINVAL }
                    let index = data.word32(at: 16)
                    if index != 0 { control.interfaceIndex = Int(index) }
                    let source = IPv6Address(bytes: data[0..<16])!
                    if source != .any { control.sourceAddress = .v6(source) }
                case 52:  // IPV6_HOPLIMIT
                    let value = try integer()
                    guard value >= -1 && value <= 255 else { throw .EINVAL }
                    control.hopLimit = Int(value)
                case 67:  // IPV6_TCLASS
                    let value = try integer()
                    guard value >= -1 && value <= 255 else { throw .EINVAL }
                    control.trafficClass = Int(value)
                default:
                    throw .EINVAL
                }
            default:
                continue
            }
        }
        return control
    }
}
