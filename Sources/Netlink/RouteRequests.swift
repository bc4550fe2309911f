import NetStack
import Wire

/// RTM_NEWROUTE and RTM_DELROUTE into the FIB, the single lookup of RTM_GETROUTE (`ip route
/// get`), and the RTM_GETRULE dump of Linux's default rules. Errors and their extended-ack
/// messages are the ones Linux 6.x gives iproute2 for the same requests.
extension RouteNetlinkServer {
    /// `RTCF_LOCAL` in `rtm_flags`: the lookup ended in a local route.
    static let localRouteFlag: UInt32 = 0x8000_0000
    /// `RTA_UID` in a route lookup's answer.
    static let userIDAttribute: UInt16 = 25

    // MARK: - Changes

    /// RTM_NEWROUTE / RTM_DELROUTE. Adds follow NLM_F_CREATE/EXCL/REPLACE/APPEND as
    /// `fib_table_insert` does (see `RouteTable.add`); deletes match the destination, table,
    /// and whatever else the request gives (metric, type, protocol, gateway, device).
    func changeRoute(_ request: NetlinkMessage, add: Bool) throws {
        let header = try parseHeader(request, RouteRepr.parse)
        let isV6 = header.family == Family.inet6
        let attributes = try attributeMap(request, after: RouteRepr.length, policy: Self.routePolicy(ipv6: isV6))
        let bits = isV6 ? 128 : 32
        guard Int(header.destinationLength) <= bits else { throw NetlinkFailure.invalid("Invalid prefix length") }
        guard let type = RouteType(rawValue: header.type == 0 && !add ? 1 : header.type) else {
            throw NetlinkFailure.invalid("Invalid route type")
        }
        let zero: IPAddress = isV6 ? .v6(.any) : .v4(.any)
        let destination = try address(attributes[RouteRepr.Attribute.destination], family: header.family) ?? zero
        guard let prefix = IPPrefix(address: destination, length: Int(header.destinationLength)) else {
            throw NetlinkFailure.invalid("Invalid prefix length")
        }
        if !isV6 && prefix.masked.address != destination {
            throw NetlinkFailure.invalid("Invalid prefix for given prefix length")
        }
        var table = attributes[RouteRepr.Attribute.table]?.uint32 ?? UInt32(header.table)
        if table == 0 { table = RouteTable.main }
        var metric = attributes[RouteRepr.Attribute.priority]?.uint32 ?? 0
        let hops = try nextHops(attributes, header: header)
        if !add {
            let gateway = hops.first?.gateway
            let interfaceIndex = hops.first.flatMap { $0.interfaceIndex > 0 ? $0.interfaceIndex : nil }
            let match = RouteMatch(destination: prefix.masked, table: table, metric: metric == 0 ? nil : metric,
                                   type: header.type == 0 ? nil : type,
                                   protocolNumber: header.protocolNumber == 0 ? nil : header.protocolNumber,
                                   gateway: gateway, interfaceIndex: interfaceIndex)
            try routing.delete(match)
            return
        }
        if isV6 && metric == 0 { metric = Self.userRouteMetricV6 }
        let preferredSource = try address(attributes[RouteRepr.Attribute.preferredSource], family: header.family)
        if let preferredSource, !interfaces.isLocal(preferredSource) {
            throw NetlinkFailure.invalid(isV6 ? "Invalid source address" : "Invalid prefsrc address")
        }
        var route = Route(destination: prefix, table: table, type: type, metric: metric, nextHops: [],
                          protocolNumber: header.protocolNumber, scope: header.scope, preferredSource: preferredSource,
                          mtu: try mtu(attributes), tos: header.tos)
        switch type {
        case .blackhole, .unreachable, .prohibit, .throw:
            if !hops.isEmpty {
                throw NetlinkFailure.invalid("Gateway, device and multipath can not be specified for this route type")
            }
        default:
            route.nextHops = try hops.map { try checkedNextHop($0, routeIsV6: isV6, table: table) }
            if route.nextHops.isEmpty { throw NetlinkFailure.noDevice() }
        }
        try routing.add(route, flags: RouteAddFlags(rawValue: request.flags.rawValue & 0x0f00))
    }

    /// The next hops of a request: RTA_MULTIPATH's records, or RTA_GATEWAY / RTA_VIA with
    /// RTA_OIF (none for a reject route that gives neither).
    private func nextHops(_ attributes: [UInt16: NetlinkAttribute], header: RouteRepr) throws -> [NextHop] {
        typealias A = RouteRepr.Attribute
        let onLink = header.flags & Self.onLinkFlag != 0
        if let multipath = attributes[A.multipath] {
            return try multipathHops(multipath.payload, family: header.family, onLink: onLink)
        }
        let gateway = try gatewayAddress(attributes, family: header.family)
        let interfaceIndex = Int(attributes[A.outputInterface]?.uint32 ?? 0)
        if gateway == nil && interfaceIndex == 0 { return [] }
        return [NextHop(gateway: gateway, interfaceIndex: interfaceIndex, onLink: onLink)]
    }

    /// RTA_GATEWAY, or (IPv4 only) RTA_VIA's `struct rtvia` with an IPv6 address.
    private func gatewayAddress(_ attributes: [UInt16: NetlinkAttribute], family: UInt8) throws -> IPAddress? {
        if let gateway = try address(attributes[RouteRepr.Attribute.gateway], family: family) { return gateway }
        guard let via = attributes[RouteRepr.Attribute.via] else { return nil }
        guard family == Family.inet else { throw NetlinkFailure.invalid("IPv6 does not support RTA_VIA attribute") }
        guard let gateway = RouteVia.parse(via.payload) else {
            throw NetlinkFailure.invalid("Invalid attribute length for RTA_VIA")
        }
        return gateway
    }

    /// RTA_MULTIPATH's `struct rtnexthop` records with their own attributes.
    private func multipathHops(_ bytes: UnsafeRawBufferPointer, family: UInt8, onLink: Bool) throws -> [NextHop] {
        var hops: [NextHop] = []
        var records = RouteNextHopRecords(bytes)
        while let record = records.next() {
            var map: [UInt16: NetlinkAttribute] = [:]
            var attributes = NetlinkAttributes(record.attributes)
            while let attribute = attributes.next() { map[attribute.type] = attribute }
            if attributes.error != nil { throw NetlinkFailure.invalid("Invalid nexthop configuration") }
            hops.append(NextHop(gateway: try gatewayAddress(map, family: family), interfaceIndex: Int(record.interfaceIndex),
                                weight: Int(record.hops) + 1,
                                onLink: onLink || UInt32(record.flags) & Self.onLinkFlag != 0))
        }
        if records.error != nil { throw NetlinkFailure.invalid("Invalid nexthop configuration") }
        if hops.isEmpty { throw NetlinkFailure.invalid("Invalid nexthop configuration - no valid nexthops") }
        return hops
    }

    /// RTAX_MTU from RTA_METRICS.
    private func mtu(_ attributes: [UInt16: NetlinkAttribute]) throws -> Int? {
        guard let metrics = attributes[RouteRepr.Attribute.metrics] else { return nil }
        var nested = metrics.nested
        var mtu: Int?
        while let metric = nested.next() {
            if metric.type == Self.metricMTU { mtu = metric.uint32.map(Int.init) }
        }
        if nested.error != nil { throw NetlinkFailure.invalid() }
        return mtu
    }

    /// Linux's next-hop checks (`fib_check_nh`, `fib6_nh_init`): a device that exists; a
    /// device for `onlink` and for a link-local gateway; a gateway that is not one of ours
    /// (IPv6) and is reachable through a directly connected route (unless `onlink`), which
    /// also gives the device when none was named.
    private func checkedNextHop(_ hop: NextHop, routeIsV6: Bool, table: UInt32) throws -> NextHop {
        var hop = hop
        if hop.interfaceIndex != 0 && interfaces[hop.interfaceIndex] == nil { throw NetlinkFailure.noDevice() }
        guard let gateway = hop.gateway else {
            if hop.interfaceIndex == 0 { throw NetlinkFailure.noDevice() }
            return hop
        }
        if hop.onLink {
            guard hop.interfaceIndex != 0 else { throw NetlinkFailure.invalid("Nexthop device required for onlink") }
            return hop
        }
        let gatewayIsV6 = gateway.bitWidth == 128
        if gatewayIsV6 {
            if case .v6(let address) = gateway, address.isLinkLocal {
                guard hop.interfaceIndex != 0 else { throw NetlinkFailure.invalid("Egress device not specified") }
                return hop
            }
            if interfaces.isLocal(gateway) { throw NetlinkFailure.invalid("Gateway can not be a local address") }
        }
        guard let connected = connectedInterface(toward: gateway, table: table) else {
            if gatewayIsV6 { throw NetlinkFailure(113) }  // EHOSTUNREACH
            throw NetlinkFailure(101, "Nexthop has invalid gateway")  // ENETUNREACH
        }
        if hop.interfaceIndex == 0 {
            hop.interfaceIndex = connected
        } else if hop.interfaceIndex != connected {
            if gatewayIsV6 { throw NetlinkFailure(113) }
            throw NetlinkFailure(101, "Nexthop has invalid gateway")
        }
        return hop
    }

    /// The interface of the directly connected (gateway-less) or local route to `gateway`:
    /// the route's own table first, then the rules' tables.
    private func connectedInterface(toward gateway: IPAddress, table: UInt32) -> Int? {
        var tables = routing.ruleTables
        if table != RouteTable.main { tables.insert(table, at: 0) }
        for number in tables {
            guard let route = routing.table.lookup(gateway, table: number) else { continue }
            guard route.type == .unicast || route.type == .local,
                  let hop = route.nextHops.first, hop.gateway == nil else { return nil }
            return hop.interfaceIndex
        }
        return nil
    }

    // MARK: - Lookup (`ip route get`)

    /// RTM_GETROUTE without NLM_F_DUMP: the route the stack would use for RTA_DST, as one
    /// RTM_NEWROUTE with RTM_F_CLONED (`inet_rtm_getroute`, `inet6_rtm_getroute`);
    /// ENETUNREACH without a route.
    func getRoute(_ request: NetlinkMessage, settings: NetlinkSocketSettings) throws -> [UInt8] {
        typealias A = RouteRepr.Attribute
        let header = try parseHeader(request, RouteRepr.parse)
        let isV6 = header.family == Family.inet6
        let attributes = try attributeMap(request, after: RouteRepr.length, policy: Self.routePolicy(ipv6: isV6))
        let zero: IPAddress = isV6 ? .v6(.any) : .v4(.any)
        let destination = try address(attributes[A.destination], family: header.family) ?? zero
        guard case (let route, var tableNumber)? = lookup(destination) else { throw NetlinkFailure(101) }
        // Without custom rules Linux merges table local into main (`fib_unmerge` undoes it), so
        // an IPv4 lookup that ends in the local table reports main.
        if !isV6 && tableNumber == RouteTable.local { tableNumber = RouteTable.main }
        // IPv4's answer is a cached route (RTM_F_CLONED, with RTCF_LOCAL for a local one);
        // IPv6's is the FIB entry itself.
        let flags: UInt32 = isV6 ? 0 : Self.clonedFlag | (route.type == .local ? Self.localRouteFlag : 0)
        var hop = route.nextHops.first
        let interface = hop.flatMap { interfaces[$0.interfaceIndex] }
        // Local delivery goes through lo, whichever device holds the address.
        if route.type == .local { hop = NextHop(gateway: nil, interfaceIndex: 1) }
        let source = route.preferredSource ?? interface?.preferredAddress(toward: destination)
        var writer = NetlinkWriter()
        writer.begin(NetlinkHeader(type: RouteNetlinkType.newRoute, sequence: request.sequence, portID: settings.portID))
        writer.appendBytes(RouteRepr(family: header.family, destinationLength: UInt8(destination.bitWidth),
                                     sourceLength: isV6 ? 128 : 0, tos: header.tos,
                                     table: tableNumber > 255 ? Self.compatibilityTable : UInt8(tableNumber),
                                     protocolNumber: isV6 ? route.protocolNumber : 0, scope: 0, type: route.type.rawValue,
                                     flags: flags).bytes)
        writer.appendAttribute(A.table, uint32: tableNumber)
        writer.appendAttribute(A.destination, address: destination)
        var cacheInfo = [UInt8](repeating: 0, count: 32)
        cacheInfo[0] = 2  // rta_clntref, as Linux reports it for a lookup
        if isV6 {
            writer.appendAttribute(A.source, address: zero)
            if let source { writer.appendAttribute(A.preferredSource, address: source) }
            writer.appendAttribute(A.priority, uint32: route.metric)
            if let gateway = hop?.gateway { writer.appendAttribute(A.gateway, address: gateway) }
            writer.appendAttribute(A.outputInterface, uint32: UInt32(hop?.interfaceIndex ?? 1))
            writer.appendAttribute(Self.cacheInfoAttribute, bytes: cacheInfo)
            writer.appendAttribute(A.preference, uint8: 0)
        } else {
            if let hop, hop.interfaceIndex > 0 { writer.appendAttribute(A.outputInterface, uint32: UInt32(hop.interfaceIndex)) }
            if let source { writer.appendAttribute(A.preferredSource, address: source) }
            if let gateway = hop?.gateway, !interfaces.isLocal(gateway) {
                if case .v6 = gateway {
                    writer.appendAttribute(A.via, bytes: RouteVia.bytes(gateway))
                } else {
                    writer.appendAttribute(A.gateway, address: gateway)
                }
            }
            writer.appendAttribute(Self.userIDAttribute, uint32: 0)
            writer.appendAttribute(Self.cacheInfoAttribute, bytes: cacheInfo)
        }
        writer.end()
        return writer.bytes
    }

    /// The route for `destination` through the rules, and the table it came from.
    private func lookup(_ destination: IPAddress) -> (Route, UInt32)? {
        for number in routing.ruleTables {
            guard let route = routing.table.lookup(destination, table: number) else { continue }
            if route.type == .throw { continue }
            return (route, number)
        }
        return nil
    }

    // MARK: - Rules

    /// RTM_GETRULE dump: Linux's default rules, IPv4 `0: local`, `32766: main`,
    /// `32767: default`, IPv6 without the last (`fib_nl_fill_rule`).
    func dumpRules(_ request: NetlinkMessage, settings: NetlinkSocketSettings, into dump: inout DumpWriter) {
        let family = request.family ?? 0
        let rules: [(UInt8, UInt32, UInt32)] = [
            (Family.inet, 0, RouteTable.local), (Family.inet, 32766, RouteTable.main),
            (Family.inet, 32767, RouteTable.default),
            (Family.inet6, 0, RouteTable.local), (Family.inet6, 32766, RouteTable.main),
        ]
        for (ruleFamily, priority, table) in rules where family == Family.unspecified || family == ruleFamily {
            dump.add(type: RouteNetlinkType.newRule) { writer in
                // struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action
                // (FR_ACT_TO_TBL), flags.
                writer.appendBytes([ruleFamily, 0, 0, 0, UInt8(table), 0, 0, 1, 0, 0, 0, 0])
                writer.appendAttribute(RuleAttribute.table, uint32: table)
                writer.appendAttribute(RuleAttribute.suppressPrefixLength, uint32: UInt32.max)
                writer.appendAttribute(RuleAttribute.protocolNumber, uint8: RouteProtocol.kernel)
                if priority != 0 { writer.appendAttribute(RuleAttribute.priority, uint32: priority) }
            }
        }
    }

    /// Rule attributes (`FRA_…`).
    enum RuleAttribute {
        static let priority: UInt16 = 6
        static let suppressPrefixLength: UInt16 = 14
        static let table: UInt16 = 15
        static let protocolNumber: UInt16 = 21
    }
}
