import NetStack
import Wire

/// Notifications: every change to links, addresses and routes — by the guest's requests,
/// by srouter's configuration or by the stack itself — as the message Linux multicasts to
/// the group (`rtmsg_ifinfo`, `rtmsg_ifa`, `rtmsg_fib`, `inet6_rt_notify`). A change made by a
/// request carries its port id and sequence number; others carry 0.
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
            let localTable = held.filter { $0.route.table == RouteTable.local }
            if isV6 { held.filter { $0.route.table != RouteTable.local }.forEach(routeChanged) }
            notify(isV6 ? .ipv6Address : .ipv4Address, type: RouteNetlinkType.newAddress) {
                fillAddress(address, on: interface, into: &$0)
            }
            (isV6 ? localTable : held).forEach(routeChanged)
        case .addressRemoved(let interface, let address):
            notify(address.address.bitWidth == 128 ? .ipv6Address : .ipv4Address, type: RouteNetlinkType.deleteAddress) {
                fillAddress(address, on: interface, into: &$0)
            }
            addressStamps[AddressKey(interface.index, address.address)] = nil
            kernelRoutes()
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
            notify(route.destination.address.bitWidth == 128 ? .ipv6Route : .ipv4Route, type: RouteNetlinkType.newRoute) {
                fillRoute(route, into: &$0)
            }
        case .removed(let route):
            notify(route.destination.address.bitWidth == 128 ? .ipv6Route : .ipv4Route, type: RouteNetlinkType.deleteRoute) {
                fillRoute(route, into: &$0)
            }
        }
    }

    private func notify(_ group: RouteNetlinkGroup, type: UInt16, _ body: (inout NetlinkWriter) -> Void) {
        guard let broadcast else { return }
        var writer = NetlinkWriter()
        writer.begin(NetlinkHeader(type: type, sequence: origin?.sequence ?? 0, portID: origin?.portID ?? 0))
        body(&writer)
        writer.end()
        broadcast(group, writer.bytes)
    }
}
