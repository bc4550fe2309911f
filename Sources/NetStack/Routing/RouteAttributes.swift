import Wire

/// Everything of a route but its destination: what the FIB interns once and shares between
/// all the prefixes that carry it (a full BGP table has few distinct next-hop sets).
public struct RouteAttributes: Hashable, Sendable {
    /// The table.
    public var table: UInt32
    /// The type.
    public var type: RouteType
    /// The metric.
    public var metric: UInt32
    /// The next hops (one array, shared by every route materialised from this set).
    public var nextHops: [NextHop]
    /// RTPROT_*.
    public var protocolNumber: UInt8
    /// RT_SCOPE_*.
    public var scope: UInt8
    /// RTA_PREFSRC.
    public var preferredSource: IPAddress?
    /// RTAX_MTU.
    public var mtu: Int?
    /// The TOS key.
    public var tos: UInt8

    /// The attributes of `route`.
    public init(of route: Route) {
        table = route.table
        type = route.type
        metric = route.metric
        nextHops = route.nextHops
        protocolNumber = route.protocolNumber
        scope = route.scope
        preferredSource = route.preferredSource
        mtu = route.mtu
        tos = route.tos
    }

    /// The next hop for a flow (`Route.nextHop(forFlowHash:)`).
    public func nextHop(forFlowHash hash: UInt32) -> NextHop? { NextHop.select(from: nextHops, forFlowHash: hash) }

    /// The route to `destination` with these attributes; shares `nextHops`, allocates nothing.
    public func route(to destination: IPPrefix) -> Route {
        Route(destination: destination, table: table, type: type, metric: metric, nextHops: nextHops,
              protocolNumber: protocolNumber, scope: scope, preferredSource: preferredSource, mtu: mtu, tos: tos)
    }
}

/// Interned `RouteAttributes` with reference counts: each distinct set is stored once and
/// named by a small index that the FIB's prefix map and trie leaves hold.
final class AttributePool {
    /// Indices must fit a trie leaf (`PrefixIndex.leaf`): 23 bits.
    static var capacity: Int { (1 << 23) - 2 }

    private var sets: [RouteAttributes] = []
    private var references: [UInt32] = []
    private var indices: [RouteAttributes: UInt32] = [:]
    private var vacant: [UInt32] = []

    /// Distinct sets in use.
    var count: Int { indices.count }
    /// Whether another distinct set would fit.
    var hasRoom: Bool { sets.count - vacant.count < Self.capacity }

    /// The set at `index`.
    @inline(__always)
    subscript(index: UInt32) -> RouteAttributes { sets[Int(index)] }

    /// The index of `attributes`, storing them if new; one more reference.
    func intern(_ attributes: RouteAttributes) -> UInt32 {
        if let index = indices[attributes] {
            references[Int(index)] += 1
            return index
        }
        let index: UInt32
        if let reused = vacant.popLast() {
            index = reused
            sets[Int(index)] = attributes
            references[Int(index)] = 1
        } else {
            index = UInt32(sets.count)
            sets.append(attributes)
            references.append(1)
        }
        indices[attributes] = index
        return index
    }

    /// Drops one reference; the set is forgotten with its last.
    func release(_ index: UInt32) {
        references[Int(index)] -= 1
        guard references[Int(index)] == 0 else { return }
        indices[sets[Int(index)]] = nil
        sets[Int(index)].nextHops = []
        vacant.append(index)
    }

    /// Indices of the sets in use for which `predicate` holds.
    func indices(where predicate: (RouteAttributes) -> Bool) -> Set<UInt32> {
        Set(indices.filter { predicate($0.key) }.map(\.value))
    }
}
