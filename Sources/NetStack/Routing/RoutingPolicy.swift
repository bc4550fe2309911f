import Wire

/// Linux's routing policy over the FIB, with its default rules (`ip rule`: 0 local,
/// 32766 main, 32767 default): the local table first, then main, then default; a `throw`
/// route passes the lookup on to the next table. It also keeps the routes Linux itself
/// adds for interface addresses (`proto kernel`): `local` entries in table 255 and the
/// connected prefix in main, added and removed as addresses come and go.
public final class RoutingPolicy: RouteResolver {
    /// The tables.
    public let table: RouteTable
    /// Table numbers consulted in order (RT_TABLE_LOCAL, RT_TABLE_MAIN, RT_TABLE_DEFAULT).
    public var ruleTables: [UInt32] = [RouteTable.local, RouteTable.main, RouteTable.default] {
        didSet { ruleFIBs = ruleTables.map(table.forwardingTable) }
    }
    /// The rules' tables resolved once, for `resolve`'s allocation-free lookups.
    private var ruleFIBs: [ForwardingTable]
    /// Called after every route change made here (netlink notifications hook in).
    public var onChange: ((RouteChange) -> Void)?

    /// An empty FIB.
    public init() {
        table = RouteTable()
        ruleFIBs = ruleTables.map(table.forwardingTable)
    }

    /// Keeps the kernel routes of `interfaces` up to date.
    public func follow(_ interfaces: InterfaceTable) {
        for interface in interfaces.all {
            addMulticastRoute(for: interface)
            for address in interface.addresses { addKernelRoutes(for: address, on: interface) }
        }
        let previous = interfaces.onChange
        interfaces.onChange = { [weak self] change in
            previous?(change)
            guard let self else { return }
            switch change {
            case .addressAdded(let interface, let address): self.addKernelRoutes(for: address, on: interface)
            case .addressRemoved(let interface, let address): self.removeKernelRoutes(for: address, on: interface)
            case .removed(let interface): self.table.removeRoutes(throughInterface: interface.index)
            case .added(let interface): self.addMulticastRoute(for: interface)
            case .updated: break
            }
        }
    }

    /// Adds (or replaces) a route, reporting the change.
    public func addRoute(_ route: Route) {
        do {
            try table.add(route, replace: true)
            onChange?(.added(route))
        } catch {
            // A replace cannot collide; other errors mean a malformed route, which callers prevent.
        }
    }

    /// Adds a route as RTM_NEWROUTE asks (`RouteTable.add`'s flags), reporting the change.
    public func add(_ route: Route, flags: RouteAddFlags) throws(RouteError) {
        try table.add(route, flags: flags)
        onChange?(.added(route))
    }

    /// Deletes the first route matching `match` (RTM_DELROUTE), reporting the change.
    @discardableResult
    public func delete(_ match: RouteMatch) throws(RouteError) -> Route {
        let removed = try table.delete(match)
        onChange?(.removed(removed))
        return removed
    }

    /// The decision for `destination` (Linux's fib_lookup through the rules): one trie
    /// lookup per table consulted, the interned attributes read in place.
    public func resolve(_ destination: IPAddress, flowHash: UInt32) -> RouteDecision {
        for fib in ruleFIBs {
            guard let route = fib.attributes(of: fib.match(destination)) else { continue }
            switch route.type {
            case .local: return .local
            case .blackhole: return .blackhole
            case .unreachable: return .unreachable
            case .prohibit: return .prohibit
            case .throw: continue
            case .unicast, .broadcast, .multicast:
                // A subnet broadcast or a multicast group is sent out of the route's interface,
                // to the destination itself.
                guard let hop = route.nextHop(forFlowHash: flowHash) else { return .unreachable }
                return .forward(interfaceIndex: hop.interfaceIndex, nextHop: hop.gateway ?? destination,
                                preferredSource: route.preferredSource, mtu: route.mtu)
            default:
                return .unreachable
            }
        }
        return .noRoute
    }

    /// Linux's routes for a new address (`fib_add_ifaddr`, `addrconf_prefix_route`): `local
    /// ADDR` in table local (scope host), and the connected prefix (`proto kernel scope link src
    /// ADDR`; IPv6 metric 256) unless the address is a host route without a peer. The prefix
    /// goes to main, but on lo to table local as `local` (scope host): all of 127.0.0.0/8 is
    /// this host's.
    func addKernelRoutes(for address: InterfaceAddress, on interface: NetworkInterface) {
        let hop = [NextHop(gateway: nil, interfaceIndex: interface.index)]
        let isV6: Bool
        if case .v6 = address.address { isV6 = true } else { isV6 = false }
        addRoute(Route(destination: IPPrefix(address: address.address, length: address.address.bitWidth)!,
                       table: RouteTable.local, type: .local, metric: 0, nextHops: hop,
                       protocolNumber: RouteProtocol.kernel, scope: InterfaceAddress.Scope.host,
                       preferredSource: isV6 ? nil : address.address))
        let subnet = address.subnet
        if subnet.length < address.address.bitWidth || address.peer != nil {
            let onLoopback = interface.kind == .loopback && !isV6
            addRoute(Route(destination: subnet, table: onLoopback ? RouteTable.local : RouteTable.main,
                           type: onLoopback ? .local : .unicast, metric: isV6 ? 256 : 0,
                           nextHops: hop, protocolNumber: RouteProtocol.kernel,
                           scope: onLoopback ? InterfaceAddress.Scope.host : InterfaceAddress.Scope.link,
                           preferredSource: isV6 ? nil : address.address))
        }
        if let broadcast = Self.broadcastAddress(of: address) {
            addRoute(Route(destination: IPPrefix(address: broadcast, length: 32)!, table: RouteTable.local,
                           type: .broadcast, metric: 0, nextHops: hop, protocolNumber: RouteProtocol.kernel,
                           scope: InterfaceAddress.Scope.link, preferredSource: address.address))
        }
    }

    /// `multicast ff00::/8 dev IFACE table local proto kernel metric 256`, which Linux adds for
    /// every device with IPv6 but lo (`addrconf_add_mroute`): IPv6 multicast leaves through
    /// the interface a socket names, or this one.
    func addMulticastRoute(for interface: NetworkInterface) {
        guard interface.kind != .loopback else { return }
        addRoute(Route(destination: IPPrefix("ff00::/8")!, table: RouteTable.local, type: .multicast, metric: 256,
                       nextHops: [NextHop(gateway: nil, interfaceIndex: interface.index)],
                       protocolNumber: RouteProtocol.kernel, scope: InterfaceAddress.Scope.universe))
    }

    /// The subnet broadcast address Linux adds a `broadcast` route for: IPv4 prefixes
    /// shorter than /31 (`fib_add_ifaddr`).
    static func broadcastAddress(of address: InterfaceAddress) -> IPAddress? {
        guard case .v4 = address.address, address.prefixLength < 31, case .v4(let net) = address.subnet.address else {
            return nil
        }
        let host: UInt32 = address.prefixLength == 0 ? 0xffff_ffff : (1 << UInt32(32 - address.prefixLength)) - 1
        return .v4(IPv4Address(net.value | host))
    }

    /// Removes what `addKernelRoutes` added, unless another address still provides it, in
    /// Linux's order: IPv4's prefix and broadcast routes, then the local one
    /// (`fib_del_ifaddr`); IPv6's local route, then the prefix (`__ipv6_ifa_notify`).
    func removeKernelRoutes(for address: InterfaceAddress, on interface: NetworkInterface) {
        let isV6: Bool
        if case .v6 = address.address { isV6 = true } else { isV6 = false }
        let host = IPPrefix(address: address.address, length: address.address.bitWidth)!
        let removeLocal = { [self] in
            if let removed = try? table.delete(destination: host, table: RouteTable.local, metric: 0) {
                onChange?(.removed(removed))
            }
        }
        if isV6 { removeLocal() }
        let subnet = address.subnet
        let stillProvided = interface.addresses.contains { $0.subnet == subnet }
        let onLoopback = interface.kind == .loopback && !isV6
        if !stillProvided, let removed = try? table.delete(destination: subnet,
                                                           table: onLoopback ? RouteTable.local : RouteTable.main,
                                                           metric: isV6 ? 256 : 0) {
            onChange?(.removed(removed))
        }
        if !stillProvided, let broadcast = Self.broadcastAddress(of: address),
           let removed = try? table.delete(destination: IPPrefix(address: broadcast, length: 32)!,
                                           table: RouteTable.local, metric: 0) {
            onChange?(.removed(removed))
        }
        if !isV6 { removeLocal() }
    }
}

/// A route change, for notifications.
public enum RouteChange {
    /// Added or replaced.
    case added(Route)
    /// Removed.
    case removed(Route)

    /// The route added or removed.
    public var route: Route {
        switch self {
        case .added(let route), .removed(let route): route
        }
    }
}
