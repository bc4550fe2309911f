import NetStack

/// `srouter show routes [--table T|all]`: the FIB, as `ip route show table T` lists it.
public struct RoutesReport: Codable, Sendable, Equatable {
    /// The routes: IPv4 first, then IPv6; within a family by table, then destination, then metric.
    public var routes: [Route]

    /// One route.
    public struct Route: Codable, Sendable, Equatable {
        /// The table number (254 main, 255 local, 253 default).
        public var table: UInt32
        /// `inet` or `inet6`.
        public var family: String
        /// The prefix (`10.0.0.0/24`, `0.0.0.0/0`).
        public var destination: String
        /// `unicast`, `local`, `broadcast`, `multicast`, `blackhole`, `unreachable`, `prohibit`, `throw`, `anycast`.
        public var type: String
        /// The next hops (none for reject types; several for multipath).
        public var nextHops: [NextHop]
        /// The metric (`ip route`'s `metric`).
        public var metric: UInt32
        /// Who installed it, as iproute2 names protocols (`kernel`, `boot`, `static`, `bird`, or a number).
        public var proto: String
        /// `global`, `link`, `host`, or a number.
        public var scope: String
        /// The preferred source (`src`), if any.
        public var source: String?
        /// The route's MTU, if any.
        public var mtu: Int?

        /// The report's form of `route`, naming interfaces from `interfaces`.
        public init(_ route: NetStack.Route, interfaces: InterfaceTable) {
            table = route.table
            family = route.destination.address.bitWidth == 32 ? "inet" : "inet6"
            destination = route.destination.description
            type = "\(route.type)"
            nextHops = route.nextHops.map { hop in
                NextHop(gateway: hop.gateway?.description,
                        device: interfaces[hop.interfaceIndex]?.name ?? "#\(hop.interfaceIndex)", weight: hop.weight)
            }
            metric = route.metric
            proto = RoutesReport.protocolName(route.protocolNumber)
            scope = RoutesReport.scopeName(route.scope)
            source = route.preferredSource?.description
            mtu = route.mtu
        }

        /// A route as the fields say (tests).
        public init(table: UInt32, family: String, destination: String, type: String, nextHops: [NextHop],
                    metric: UInt32, proto: String, scope: String, source: String?, mtu: Int?) {
            self.table = table
            self.family = family
            self.destination = destination
            self.type = type
            self.nextHops = nextHops
            self.metric = metric
            self.proto = proto
            self.scope = scope
            self.source = source
            self.mtu = mtu
        }
    }

    /// One next hop.
    public struct NextHop: Codable, Sendable, Equatable {
        /// The gateway (`via`); nil for a directly connected route.
        public var gateway: String?
        /// The output interface's name (`#N` if it has none).
        public var device: String
        /// The multipath weight (1 unless set).
        public var weight: Int
    }

    /// The routes of `tables` (nil: every table) in `routing`, naming interfaces from `interfaces`.
    public init(_ routing: RoutingPolicy, interfaces: InterfaceTable, tables: [UInt32]?) {
        routes = Self.select(routing, tables: tables).map { Route($0, interfaces: interfaces) }
    }

    /// The FIB's routes of `tables` (nil: every table) in the report's order.
    public static func select(_ routing: RoutingPolicy, tables: [UInt32]?) -> [NetStack.Route] {
        var selected: [NetStack.Route] = []
        for ipv6 in [false, true] {
            if let tables {
                for number in tables { selected += routing.table.routes(table: number, ipv6: ipv6) }
            } else {
                selected += routing.table.routes(table: nil, ipv6: ipv6)
            }
        }
        return selected
    }

    /// Table numbers for a `table` argument: nil (main), `main`, `local`, `default`, `all` or
    /// a number; nil result means every table; throws the error text for anything else.
    public static func tables(for argument: String?) -> Result<[UInt32]?, TableError> {
        switch argument ?? "main" {
        case "all": return .success(nil)
        case "main": return .success([RouteTable.main])
        case "local": return .success([RouteTable.local])
        case "default": return .success([RouteTable.default])
        case let text:
            guard let number = UInt32(text) else { return .failure(TableError(text: text)) }
            return .success([number])
        }
    }

    /// A `table` argument that is no table.
    public struct TableError: Error, CustomStringConvertible {
        /// The argument.
        public var text: String
        /// The message for the client.
        public var description: String { "no table \"\(text)\" (a number, main, local, default or all)" }
    }

    /// iproute2's names for route protocols (`/usr/share/iproute2/rt_protos`).
    public static func protocolName(_ number: UInt8) -> String {
        switch number {
        case 0: "unspec"
        case 1: "redirect"
        case 2: "kernel"
        case 3: "boot"
        case 4: "static"
        case 8: "gated"
        case 9: "ra"
        case 10: "mrt"
        case 11: "zebra"
        case 12: "bird"
        case 13: "dnrouted"
        case 14: "xorp"
        case 15: "ntk"
        case 16: "dhcp"
        case 42: "babel"
        case 186: "bgp"
        case 187: "isis"
        case 188: "ospf"
        case 189: "rip"
        default: "\(number)"
        }
    }

    /// iproute2's names for scopes.
    public static func scopeName(_ number: UInt8) -> String {
        switch number {
        case 0: "global"
        case 200: "site"
        case 253: "link"
        case 254: "host"
        case 255: "nowhere"
        default: "\(number)"
        }
    }

    /// iproute2's names for tables.
    public static func tableName(_ number: UInt32) -> String {
        switch number {
        case RouteTable.main: "main"
        case RouteTable.local: "local"
        case RouteTable.default: "default"
        default: "\(number)"
        }
    }
}
