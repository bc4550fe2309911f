import Wire

/// Route types, with Linux's RTN_* numbers (rtnetlink.h).
public enum RouteType: UInt8, Sendable, CaseIterable {
    /// A gateway or direct route.
    case unicast = 1
    /// A local address (table local).
    case local = 2
    /// A broadcast address.
    case broadcast = 3
    /// Anycast (IPv6).
    case anycast = 4
    /// Multicast.
    case multicast = 5
    /// Drop silently.
    case blackhole = 6
    /// Refuse: host unreachable.
    case unreachable = 7
    /// Refuse: administratively prohibited.
    case prohibit = 8
    /// Continue the lookup in the next table of the rules.
    case `throw` = 9
}

/// Route protocols, Linux's RTPROT_* numbers (who installed the route).
public enum RouteProtocol {
    /// Unknown.
    public static let unspecified: UInt8 = 0
    /// Added by the kernel for an address (connected and local routes).
    public static let kernel: UInt8 = 2
    /// Added at boot (wg-quick's AllowedIPs routes, `ip route add` without `proto`).
    public static let boot: UInt8 = 3
    /// Static, by an administrator.
    public static let `static`: UInt8 = 4
    /// BIRD.
    public static let bird: UInt8 = 12
}

/// One next hop of a route (RTA_GATEWAY/RTA_VIA and RTA_OIF, or one `rtnexthop`).
public struct NextHop: Hashable, Sendable, CustomStringConvertible {
    /// The gateway; nil for a directly connected route. For an IPv4 route it may be IPv6
    /// (RFC 8950 extended next hop; Linux's RTA_VIA).
    public var gateway: IPAddress?
    /// The output interface.
    public var interfaceIndex: Int
    /// The multipath weight, 1…256 (Linux's rtnh_hops + 1).
    public var weight: Int
    /// RTNH_F_ONLINK: the gateway is on the link even if no prefix says so.
    public var onLink: Bool

    /// Creates a next hop.
    public init(gateway: IPAddress?, interfaceIndex: Int, weight: Int = 1, onLink: Bool = false) {
        self.gateway = gateway
        self.interfaceIndex = interfaceIndex
        self.weight = max(1, min(256, weight))
        self.onLink = onLink
    }

    /// The next hop of `hops` for a flow: hash-threshold over the weights (RFC 2992 §2;
    /// Linux's fib_select_multipath), so one flow always takes one path.
    static func select(from hops: [NextHop], forFlowHash hash: UInt32) -> NextHop? {
        guard hops.count > 1 else { return hops.first }
        var total = 0
        for hop in hops { total += hop.weight }
        var point = Int((UInt64(hash) * UInt64(total)) >> 32)
        for hop in hops {
            if point < hop.weight { return hop }
            point -= hop.weight
        }
        return hops.last
    }

    /// `via GATEWAY dev #N` as `ip route` writes it (with the index for the device name).
    public var description: String {
        (gateway.map { "via \($0) " } ?? "") + "dev #\(interfaceIndex)" + (weight > 1 ? " weight \(weight)" : "")
    }
}

/// A route as rtnetlink sees it: destination, table, type, metric, next hops and the
/// attributes kept and reported back (protocol, scope, preferred source, MTU).
public struct Route: Hashable, Sendable, CustomStringConvertible {
    /// The destination prefix, host bits clear.
    public var destination: IPPrefix
    /// The table (main 254, local 255, default 253, or any other number).
    public var table: UInt32
    /// The type.
    public var type: RouteType
    /// The metric ("priority"; lower wins).
    public var metric: UInt32
    /// Next hops: one for a plain route, several for multipath, none for reject types.
    public var nextHops: [NextHop]
    /// Who installed it (RTPROT_*).
    public var protocolNumber: UInt8
    /// RT_SCOPE_* (universe 0, link 253, host 254).
    public var scope: UInt8
    /// RTA_PREFSRC.
    public var preferredSource: IPAddress?
    /// RTAX_MTU in RTA_METRICS.
    public var mtu: Int?
    /// The TOS key (IPv4; kept and reported).
    public var tos: UInt8

    /// Creates a route; the destination is masked.
    public init(destination: IPPrefix, table: UInt32 = RouteTable.main, type: RouteType = .unicast, metric: UInt32 = 0,
                nextHops: [NextHop] = [], protocolNumber: UInt8 = RouteProtocol.boot, scope: UInt8 = 0,
                preferredSource: IPAddress? = nil, mtu: Int? = nil, tos: UInt8 = 0) {
        self.destination = destination.masked
        self.table = table
        self.type = type
        self.metric = metric
        self.nextHops = nextHops
        self.protocolNumber = protocolNumber
        self.scope = scope
        self.preferredSource = preferredSource
        self.mtu = mtu
        self.tos = tos
    }

    /// The next hop for a flow: hash-threshold over the weights (RFC 2992 §2; Linux's
    /// fib_select_multipath), so one flow always takes one path.
    public func nextHop(forFlowHash hash: UInt32) -> NextHop? { NextHop.select(from: nextHops, forFlowHash: hash) }

    /// Whether both routes have the same key: table, destination, metric and TOS
    /// (Linux's fib_table_insert / fib6_add_rt2node).
    public func hasSameKey(as other: Route) -> Bool {
        table == other.table && destination == other.destination && metric == other.metric && tos == other.tos
    }

    /// `ip route`-like text.
    public var description: String {
        var text = type == .unicast ? "\(destination)" : "\(type) \(destination)"
        for hop in nextHops { text += " \(hop)" }
        if metric != 0 { text += " metric \(metric)" }
        if table != RouteTable.main { text += " table \(table)" }
        return text
    }
}
