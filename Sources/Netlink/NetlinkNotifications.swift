import NetStack
import Wire

/// Notifications: every change to links, addresses and routes — by the guest's requests,
/// by srouter's configuration or by the stack itself — as the message Linux multicasts to
/// the group (`rtmsg_ifinfo`, `rtmsg_ifa`, `rtmsg_fib`, `inet6_rt_notify`). A change made by a
/// request carries its port id and sequence number; others — among them the routes an
/// address brings or takes (`fib_add_ifaddr`, `addrconf_prefix_route`), which have no
/// `nlmsghdr` in their `nl_info` — carry 0. RTM_NEWROUTE carries NLM_F_REPLACE for a
/// replacement and NLM_F_CREATE|NLM_F_EXCL otherwise (`fib_table_insert`, `fib6_add_rt2node`).
extension RouteNetlinkServer {
    /// Reports an interface table change; `kernelRoutes` runs the FIB's own follow-up (the
    /// routes an address brings or takes), whose notifications are put in Linux's order: an
    /// IPv4 address before its routes (`rtmsg_ifa`, then `fib_add_ifaddr`); an IPv6 address
    /// after its prefix route and before its local route (`addrconf_prefix_route`, then
    /// `ipv6_ifa_notify`).
    func interfaceChanged(_ change: InterfaceTable.Change, kernelRoutes: () -> Void) {
        switch change {
        case .added(let interface), .updated(let interface):
            notify(.link, type: RouteNetlinkType.newLink) { fillLink(interface, into: &$0) }
            kernelRoutes()
        case .removed(let interface):
            notify(.link, type: RouteNetlinkType.deleteLink) { fillLink(interface, into: &$0) }
            kernelRoutes()
        case .addressAdded(let interface, let address):
            addressStamps[AddressKey(interface.index, address.address)] = clock()
            let isV6 = address.address.bitWidth == 128
            heldRouteChanges = []
            kernelRoutes()
            let held = heldRouteChanges ?? []
            heldRouteChanges = nil
            let requestOrigin = origin
            defer { origin = requestOrigin }
            let kernelRouteChanged = { (change: RouteChange) in
                self.origin = nil
                self.routeChanged(change)
                self.origin = requestOrigin
            }
            let localTable = held.filter { $0.route.table == RouteTable.local }
            if isV6 { held.filter { $0.route.table != RouteTable.local }.forEach(kernelRouteChanged) }
            notify(isV6 ? .ipv6Address : .ipv4Address, type: RouteNetlinkType.newAddress) {
                fillAddress(address, on: interface, into: &$0)
            }
            (isV6 ? localTable : held).forEach(kernelRouteChanged)
        case .addressRemoved(let interface, let address):
            notify(address.address.bitWidth == 128 ? .ipv6Address : .ipv4Address, type: RouteNetlinkType.deleteAddress) {
                fillAddress(address, on: interface, into: &$0)
            }
            addressStamps[AddressKey(interface.index, address.address)] = nil
            let requestOrigin = origin
            origin = nil
            kernelRoutes()
            origin = requestOrigin
        }
    }

    /// Reports a FIB change (or holds it back while an address change runs).
    func routeChanged(_ change: RouteChange) {
        if heldRouteChanges != nil {
            heldRouteChanges?.append(change)
            return
        }
        switch change {
        case .added(let route):
            let flags: NetlinkFlags = origin?.flags.contains(.replace) == true ? .replace : [.create, .exclusive]
            notify(route.destination.address.bitWidth == 128 ? .ipv6Route : .ipv4Route, type: RouteNetlinkType.newRoute,
                   flags: flags) {
                fillRoute(route, into: &$0)
            }
        case .removed(let route):
            notify(route.destination.address.bitWidth == 128 ? .ipv6Route : .ipv4Route, type: RouteNetlinkType.deleteRoute) {
                fillRoute(route, into: &$0)
            }
        }
    }

    private func notify(_ group: RouteNetlinkGroup, type: UInt16, flags: NetlinkFlags = [],
                        _ body: (inout NetlinkWriter) -> Void) {
        guard let broadcast, hasListeners?(group) ?? true else { return }
        var writer = NetlinkWriter()
        writer.begin(NetlinkHeader(type: type, flags: flags, sequence: origin?.sequence ?? 0, portID: origin?.portID ?? 0))
        body(&writer)
        writer.end()
        broadcast(group, writer.bytes)
    }
}
