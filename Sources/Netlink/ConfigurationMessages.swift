import NetStack
import Wire

/// RTM_GETNETCONF (`inet_netconf_get_devconf`, `inet6_netconf_get_devconf`): a device's
/// forwarding and filtering switches as rtnetlink reports them, and the traffic-control
/// requests (qdiscs, classes, filters, chains) a device without queueing disciplines refuses.
extension RouteNetlinkServer {
    /// `NETCONFA_IFINDEX_ALL` and `NETCONFA_IFINDEX_DEFAULT`.
    static let allDevices: Int32 = -1
    static let defaultDevice: Int32 = -2

    /// RTM_GETNETCONF for NETCONFA_IFINDEX (a device, `all` or `default`): one RTM_NEWNETCONF.
    /// EINVAL without the index; ENODEV for a device that does not exist.
    func networkConfiguration(_ request: NetlinkMessage, settings: NetlinkSocketSettings) throws -> [UInt8] {
        let attributes = try attributeMap(request, after: 4)
        guard let raw = attributes[1]?.uint32 else { throw NetlinkFailure.invalid() }
        let index = Int32(bitPattern: raw)
        if index != Self.allDevices && index != Self.defaultDevice && interfaces[Int(index)] == nil {
            throw NetlinkFailure.noDevice()
        }
        var writer = NetlinkWriter()
        writer.begin(NetlinkHeader(type: RouteNetlinkType.newNetworkConfiguration, sequence: request.sequence,
                                   portID: settings.portID))
        fillNetworkConfiguration(family: request.family ?? 0, index: index, into: &writer)
        writer.end()
        return writer.bytes
    }

    /// The RTM_GETNETCONF dump: every device, then `all` and `default`.
    func dumpNetworkConfiguration(family: UInt8, into dump: inout DumpWriter) {
        for index in interfaces.all.map({ Int32($0.index) }) + [Self.allDevices, Self.defaultDevice] {
            dump.add(type: RouteNetlinkType.newNetworkConfiguration) {
                fillNetworkConfiguration(family: family, index: index, into: &$0)
            }
        }
    }

    /// `struct netconfmsg`, then NETCONFA_IFINDEX, FORWARDING (1: srouter forwards),
    /// RP_FILTER (IPv4), MC_FORWARDING, BC_FORWARDING (IPv4), PROXY_NEIGH and
    /// IGNORE_ROUTES_WITH_LINKDOWN, in `inet_netconf_fill_devconf`'s order.
    private func fillNetworkConfiguration(family: UInt8, index: Int32, into writer: inout NetlinkWriter) {
        writer.appendBytes([family, 0, 0, 0])
        writer.appendAttribute(1, uint32: UInt32(bitPattern: index))  // NETCONFA_IFINDEX
        writer.appendAttribute(2, uint32: 1)  // NETCONFA_FORWARDING
        if family == Family.inet { writer.appendAttribute(3, uint32: 0) }  // NETCONFA_RP_FILTER
        writer.appendAttribute(4, uint32: 0)  // NETCONFA_MC_FORWARDING
        if family == Family.inet { writer.appendAttribute(8, uint32: 0) }  // NETCONFA_BC_FORWARDING
        writer.appendAttribute(5, uint32: 0)  // NETCONFA_PROXY_NEIGH
        writer.appendAttribute(6, uint32: 0)  // NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN
    }

    /// RTM_NEW/DEL/GETQDISC (36–39), TCLASS (40–43), TFILTER (44–47) and CHAIN (100–102).
    static func isTrafficControl(_ type: UInt16) -> Bool {
        (36...47).contains(type) || (100...102).contains(type)
    }

    /// A traffic-control request: the device of `struct tcmsg` (`tcm_ifindex`) must exist
    /// (ENODEV; a filter's block lookup answers ENOENT, as `tc_new_tfilter` does); srouter's
    /// devices have no queueing disciplines to change (EOPNOTSUPP).
    func trafficControl(_ request: NetlinkMessage) throws {
        let index = Int(TrafficControlHeader.interfaceIndex(request.payload) ?? 0)
        guard interfaces[index] != nil else {
            throw NetlinkFailure((44...47).contains(request.type) ? 2 : 19)
        }
        throw NetlinkFailure.notSupported
    }
}
