import NetStack
import Wire

/// The per-device IPv4 and IPv6 settings Linux reports inside IFLA_AF_SPEC (and, for the
/// AF_INET6 link dump, IFLA_PROTINFO): `inet_fill_link_af` and `inet6_fill_ifla6_attrs`, with
/// the values a new device gets on Linux 6.x (`net.ipv4.conf.default`, `net.ipv6.conf.default`)
/// except that srouter forwards: `forwarding` is 1, as on a router. lo differs where Linux's lo
/// does (IPv4 noxfrm/nopolicy; IPv6 address generation eui64).
enum DeviceConfiguration {
    /// IPV4_DEVCONF_* values 1…33, in order (`IFLA_INET_CONF`).
    static func ipv4(_ interface: NetworkInterface) -> [Int32] {
        let loopback: Int32 = interface.kind == .loopback ? 1 : 0
        return [1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, loopback, loopback, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                10000, 1000, 0, 0, 0, 0, 1]
    }

    /// DEVCONF_* values 0…59 (`IFLA_INET6_CONF`): hop limit 64, the device's MTU, router
    /// solicitation timers, temporary-address lifetimes and the rest of Linux's defaults.
    static func ipv6(_ interface: NetworkInterface) -> [Int32] {
        [1, 64, Int32(interface.mtu), 1, 1, 1, 1, -1, 4000, 1000, -1, 604_800, 86400, 3, 600, 16, 0, 1, 1, 1, 60000,
         0, 0, 0, 0, 0, 0, -1, 0, 0, 10000, 1000, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 3_600_000, 0, 0, 1,
         interface.kind == .loopback ? 0 : 1, 0, 0, 0, 0, 1024, 0, 65535, -1, 1, 0, 0, 0]
    }

    /// `IPSTATS_MIB_MAX` and `ICMP6_MIB_MAX`: the counter arrays' lengths (their first element).
    static let ipv6StatisticsCount = 38
    static let icmpv6StatisticsCount = 7

    /// IFLA_AF_SPEC: AF_INET {IFLA_INET_CONF}, AF_INET6 {…}.
    static func appendFamilySpecific(_ interface: NetworkInterface, stamp: UInt32, into writer: inout NetlinkWriter) {
        writer.beginNested(26)  // IFLA_AF_SPEC
        writer.beginNested(2)  // AF_INET
        writer.appendAttribute(1, bytes: words(ipv4(interface)))  // IFLA_INET_CONF
        writer.endNested()
        writer.beginNested(10)  // AF_INET6
        appendInet6(interface, stamp: stamp, into: &writer)
        writer.endNested()
        writer.endNested()
    }

    /// The attributes of `inet6_fill_ifla6_attrs`: flags (IF_READY), cache info, settings,
    /// IPv6 and ICMPv6 statistics (counts only), token, address generation mode.
    static func appendInet6(_ interface: NetworkInterface, stamp: UInt32, into writer: inout NetlinkWriter) {
        writer.appendAttribute(1, uint32: 0x8000_0000)  // IFLA_INET6_FLAGS: IF_READY
        // IFLA_INET6_CACHEINFO: max_reasm_len, tstamp, reachable_time, retrans_time.
        writer.appendAttribute(5, bytes: words([65535, Int32(bitPattern: stamp), 30000, 1000]))
        writer.appendAttribute(2, bytes: words(ipv6(interface)))  // IFLA_INET6_CONF
        writer.appendAttribute(3, bytes: counters(ipv6StatisticsCount))  // IFLA_INET6_STATS
        writer.appendAttribute(6, bytes: counters(icmpv6StatisticsCount))  // IFLA_INET6_ICMP6STATS
        writer.appendAttribute(7, bytes: [UInt8](repeating: 0, count: 16))  // IFLA_INET6_TOKEN
        writer.appendAttribute(8, uint8: interface.kind == .loopback ? 0 : 1)  // IFLA_INET6_ADDR_GEN_MODE
    }

    /// Host-order 32-bit words.
    private static func words(_ values: [Int32]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for value in values { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        return bytes
    }

    /// A counter array as Linux lays it out: its length first, then the (zero) counters.
    private static func counters(_ count: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt64(count).littleEndian) { Array($0) } + [UInt8](repeating: 0, count: (count - 1) * 8)
    }
}
