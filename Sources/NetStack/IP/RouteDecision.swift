import Wire

/// What routing decided for a destination: the forwarding plane's view of the FIB and the
/// policy rules (Linux's fib_lookup through the local, main and default tables).
public enum RouteDecision: Equatable, Sendable {
    /// Send out of `interfaceIndex` toward `nextHop` (the gateway, or the destination itself
    /// when directly connected), from `preferredSource` if the route names one (RTA_PREFSRC),
    /// limited to `mtu` if the route carries one (RTAX_MTU).
    case forward(interfaceIndex: Int, nextHop: IPAddress, preferredSource: IPAddress?, mtu: Int?)
    /// The destination is one of ours (RTN_LOCAL).
    case local
    /// Dropped silently (RTN_BLACKHOLE).
    case blackhole
    /// Refused with "host unreachable" / ICMPv6 "no route" (RTN_UNREACHABLE).
    case unreachable
    /// Refused with "administratively prohibited" (RTN_PROHIBIT).
    case prohibit
    /// No route at all: "network unreachable" (ENETUNREACH).
    case noRoute
}

/// Resolves destinations for the forwarding plane and for locally sent packets. The stack
/// does not know how routes are stored; the FIB adapter (`RoutingPolicy`) answers.
public protocol RouteResolver: AnyObject {
    /// The decision for `destination`; `flowHash` picks among multipath next hops
    /// (RFC 2992 hash-threshold).
    func resolve(_ destination: IPAddress, flowHash: UInt32) -> RouteDecision
}

/// The errno a local sender gets for a routing decision (Linux's ip_route_output_key).
extension RouteDecision {
    /// ENETUNREACH for no route, EHOSTUNREACH for unreachable, EACCES for prohibit, EINVAL
    /// for blackhole; nil when the packet can go.
    public var sendErrno: Int32? {
        switch self {
        case .forward, .local: nil
        case .noRoute: 101
        case .unreachable: 113
        case .prohibit: 13
        case .blackhole: 22
        }
    }
}
