import NetStack
import Wire

/// Routes: RTM_GETROUTE dumps and RTM_NEWROUTE/RTM_DELROUTE into srouter's FIB, laid out as
/// Linux's `fib_dump_info` (IPv4) and `rt6_fill_node` (IPv6) lay them out, with the checks
/// and extended-ack messages of `fib_create_info` and `ip6_route_info_create` (each seen on
/// Linux 6.x with iproute2 in a network namespace).
extension RouteNetlinkServer {
    /// `RTNH_F_ONLINK`.
    static let onLinkFlag: UInt32 = 0x4
    /// `RTM_F_CLONED`: a dump of the route cache (empty here, as IPv4's is).
    static let clonedFlag: UInt32 = 0x200
    /// `RT_TABLE_COMPAT`: `rtm_table` for table numbers over 255.
    static let compatibilityTable: UInt8 = 252
    /// `IP6_RT_PRIO_USER`: the metric of an IPv6 route added without one.
    static let userRouteMetricV6: UInt32 = 1024
    /// `RTAX_MTU` inside RTA_METRICS.
    static let metricMTU: UInt16 = 2
    /// `RTA_CACHEINFO`.
    static let cacheInfoAttribute: UInt16 = 12

    // MARK: - Writing

    /// Writes one route message's body (RTM_NEWROUTE or RTM_DELROUTE).
    func fillRoute(_ route: Route, into writer: inout NetlinkWriter) {
        typealias A = RouteRepr.Attribute
        let isV6 = route.destination.address.bitWidth == 128
        var flags: UInt32 = 0
        if route.nextHops.count == 1, route.nextHops[0].onLink { flags |= Self.onLinkFlag }
        writer.appendBytes(RouteRepr(family: isV6 ? Family.inet6 : Family.inet,
                                     destinationLength: UInt8(route.destination.length), tos: route.tos,
                                     table: route.table > 255 ? Self.compatibilityTable : UInt8(route.table),
                                     protocolNumber: route.protocolNumber, scope: isV6 ? 0 : route.scope,
                                     type: route.type.rawValue, flags: flags).bytes)
        writer.appendAttribute(A.table, uint32: route.table)
        if route.destination.length > 0 { writer.appendAttribute(A.destination, address: route.destination.address) }
        if isV6 {
            if let source = route.preferredSource { writer.appendAttribute(A.preferredSource, address: source) }
            appendMetrics(route, into: &writer)
            writer.appendAttribute(A.priority, uint32: route.metric)
            appendNextHops(route, isV6: true, into: &writer)
            writer.appendAttribute(Self.cacheInfoAttribute, bytes: [UInt8](repeating: 0, count: 32))
            writer.appendAttribute(A.preference, uint8: 0)
        } else {
            if route.metric != 0 { writer.appendAttribute(A.priority, uint32: route.metric) }
            appendMetrics(route, into: &writer)
            if let source = route.preferredSource { writer.appendAttribute(A.preferredSource, address: source) }
            appendNextHops(route, isV6: false, into: &writer)
        }
    }

    /// RTA_METRICS with RTAX_MTU, when the route has one.
    private func appendMetrics(_ route: Route, into writer: inout NetlinkWriter) {
        guard let mtu = route.mtu else { return }
        writer.beginNested(RouteRepr.Attribute.metrics)
        writer.appendAttribute(Self.metricMTU, uint32: UInt32(mtu))
        writer.endNested()
    }

    /// One next hop as RTA_GATEWAY (or RTA_VIA for an IPv6 gateway of an IPv4 route) and
    /// RTA_OIF; several as RTA_MULTIPATH's `struct rtnexthop` records. IPv6 reject routes
    /// report lo as their device, as Linux's do.
    private func appendNextHops(_ route: Route, isV6: Bool, into writer: inout NetlinkWriter) {
        typealias A = RouteRepr.Attribute
        if route.nextHops.count > 1 {
            writer.beginNested(A.multipath)
            for hop in route.nextHops {
                writer.appendNextHopRecord(flags: hop.onLink ? UInt8(Self.onLinkFlag) : 0, hops: UInt8(hop.weight - 1),
                                           interfaceIndex: Int32(hop.interfaceIndex)) {
                    appendGateway(hop.gateway, routeIsV6: isV6, into: &$0)
                }
            }
            writer.endNested()
            return
        }
        if let hop = route.nextHops.first {
            appendGateway(hop.gateway, routeIsV6: isV6, into: &writer)
            if hop.interfaceIndex > 0 { writer.appendAttribute(A.outputInterface, uint32: UInt32(hop.interfaceIndex)) }
        } else if isV6 {
            writer.appendAttribute(A.outputInterface, uint32: 1)
        }
    }

    private func appendGateway(_ gateway: IPAddress?, routeIsV6: Bool, into writer: inout NetlinkWriter) {
        guard let gateway else { return }
        if !routeIsV6, case .v6 = gateway {
            writer.appendAttribute(RouteRepr.Attribute.via, bytes: RouteVia.bytes(gateway))
        } else {
            writer.appendAttribute(RouteRepr.Attribute.gateway, address: gateway)
        }
    }

    // MARK: - Dumps

    /// RTM_GETROUTE with NLM_F_DUMP: IPv4 then IPv6 (AF_UNSPEC dumps both), table by table.
    /// Without strict checking every table is dumped whatever the request asks, as Linux
    /// does; with it the header is checked (`ip_valid_fib_dump_req`) and the table, protocol,
    /// type and RTA_OIF filter, with NLM_F_DUMP_FILTERED on the answer.
    func dumpRoutes(_ request: NetlinkMessage, settings: NetlinkSocketSettings, into dump: inout DumpWriter) throws {
        let family = request.family ?? 0
        var filter = RouteFilter()
        if settings.strictCheck {
            filter = try strictRouteFilter(request)
            // A strict dump without RTM_F_CLONED leaves the exceptions out (dump_exceptions
            // false), so its messages say NLM_F_DUMP_FILTERED whatever else it filters.
            dump.entriesFiltered = true
            dump.filtered = filter.isSet
        } else if let header = try? RouteRepr.parse(request.payload), header.flags & Self.clonedFlag != 0 {
            return  // the route cache: nothing to show
        }
        // Encoded as the reader reads (`RouteCursor`), a part at a time, as Linux's
        // `inet_dump_fib` fills one skb per recvmsg: a full table's dump is never held whole.
        var walks = [false, true].filter { family == Family.unspecified || (family == Family.inet6) == $0 }
            .map { routing.table.cursor(table: filter.table, ipv6: $0) }
        walks.reverse()  // taken from the end
        dump.continuation = { [self] part in
            while part.encodedBytes < DumpWriter.partBytes {
                guard let walk = walks.last else { return false }
                guard let route = walk.next() else {
                    walks.removeLast()
                    continue
                }
                if filter.matches(route) { part.add(type: RouteNetlinkType.newRoute) { fillRoute(route, into: &$0) } }
            }
            return true
        }
    }

    /// What a strict dump request selects.
    struct RouteFilter {
        var table: UInt32?
        var protocolNumber: UInt8?
        var type: UInt8?
        var interfaceIndex: Int?
        var isSet: Bool { table != nil || protocolNumber != nil || type != nil || interfaceIndex != nil }
        func matches(_ route: Route) -> Bool {
            if let protocolNumber, route.protocolNumber != protocolNumber { return false }
            if let type, route.type.rawValue != type { return false }
            if let interfaceIndex, !route.nextHops.contains(where: { $0.interfaceIndex == interfaceIndex }) { return false }
            return true
        }
    }

    private func strictRouteFilter(_ request: NetlinkMessage) throws -> RouteFilter {
        guard let header = try? RouteRepr.parse(request.payload) else {
            throw NetlinkFailure.invalid("Invalid header for FIB dump request")
        }
        guard header.destinationLength == 0, header.sourceLength == 0, header.tos == 0, header.scope == 0 else {
            throw NetlinkFailure.invalid("Invalid values in header for FIB dump request")
        }
        guard header.flags & ~(Self.clonedFlag | 0x800) == 0 else {
            throw NetlinkFailure.invalid("Invalid flags for FIB dump request")
        }
        var filter = RouteFilter()
        if header.table != 0 { filter.table = UInt32(header.table) }
        if header.protocolNumber != 0 { filter.protocolNumber = header.protocolNumber }
        if header.type != 0 { filter.type = header.type }
        for (type, attribute) in try attributeMap(request, after: RouteRepr.length, strict: true) {
            switch type {
            case RouteRepr.Attribute.table:
                guard let table = attribute.uint32 else { throw NetlinkFailure.invalid() }
                if table != 0 { filter.table = table }
            case RouteRepr.Attribute.outputInterface:
                guard let index = attribute.uint32 else { throw NetlinkFailure.invalid() }
                guard interfaces[Int(index)] != nil else { throw NetlinkFailure.noDevice() }
                filter.interfaceIndex = Int(index)
            default:
                throw NetlinkFailure.invalid("Unsupported attribute in dump request")
            }
        }
        return filter
    }
}
