import NetStack
import Wire

/// Notifications: every change to links, addresses and routes — by the guest's requests,
/// by srouter's configuration or by the stack itself — as the message Linux multicasts to
/// the group (`rtmsg_ifinfo`, `rtmsg_ifa`, `rtmsg_fib`, `inet6_rt_notify`). A change made by a
/// request carries its port id and sequence number; others carry 0.
extension RouteNetlinkServer {
    /// Reports an interface table change.
    func interfaceChanged(_ change: InterfaceTable.Change) {
        switch change {
        case .added(let interface), .updated(let interface):
            notify(.link, type: RouteNetlinkType.newLink) { fillLink(interface, into: &$0) }
        case .removed(let interface):
            notify(.link, type: RouteNetlinkType.deleteLink) { fillLink(interface, into: &$0) }
        case .addressAdded(let interface, let address):
            addressStamps[AddressKey(interface.index, address.address)] = clock()
            notify(address.address.bitWidth == 128 ? .ipv6Address : .ipv4Address, type: RouteNetlinkType.newAddress) {
                fillAddress(address, on: interface, into: &$0)
            }
        case .addressRemoved(let interface, let address):
            notify(address.address.bitWidth == 128 ? .ipv6Address : .ipv4Address, type: RouteNetlinkType.deleteAddress) {
                fillAddress(address, on: interface, into: &$0)
            }
            addressStamps[AddressKey(interface.index, address.address)] = nil
        }
    }

    /// Reports a FIB change.
    func routeChanged(_ change: RouteChange) {
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
