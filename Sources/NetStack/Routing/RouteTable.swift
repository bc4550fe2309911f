import Wire

/// Errors of route changes, as the errno rtnetlink returns (Linux's fib_table_insert,
/// fib_table_delete, ip6_route_add, ip6_route_del).
public enum RouteError: Int32, Error, Sendable {
    /// A route with the same key exists (EEXIST): NLM_F_EXCL, or an identical route.
    case exists = 17
    /// No route matched a delete (ESRCH).
    case notFound = 3
    /// Replace without create found nothing to replace (ENOENT).
    case noEntry = 2
    /// The route is malformed (EINVAL).
    case invalid = 22
}

/// How a route is added: rtnetlink's NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE and
/// NLM_F_APPEND (`ip route add` = create+exclusive, `replace` = create+replace,
/// `change` = replace, `append` = create+append, `prepend` = create).
public struct RouteAddFlags: OptionSet, Sendable {
    /// The raw bits.
    public let rawValue: UInt16
    /// Creates flags from bits.
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// NLM_F_REPLACE (0x100).
    public static let replace = RouteAddFlags(rawValue: 0x100)
    /// NLM_F_EXCL (0x200).
    public static let exclusive = RouteAddFlags(rawValue: 0x200)
    /// NLM_F_CREATE (0x400).
    public static let create = RouteAddFlags(rawValue: 0x400)
    /// NLM_F_APPEND (0x800).
    public static let append = RouteAddFlags(rawValue: 0x800)
}

/// What a delete request names; nil fields match anything (Linux's fib_table_delete matches
/// only the attributes the request carries).
public struct RouteMatch: Sendable {
    /// Destination (required).
    public var destination: IPPrefix
    /// Table.
    public var table: UInt32
    /// Metric, if given.
    public var metric: UInt32?
    /// Type, if given.
    public var type: RouteType?
    /// Protocol, if given.
    public var protocolNumber: UInt8?
    /// Gateway, if given.
    public var gateway: IPAddress?
    /// Output interface, if given.
    public var interfaceIndex: Int?

    /// A match on destination and table.
    public init(destination: IPPrefix, table: UInt32, metric: UInt32? = nil, type: RouteType? = nil,
                protocolNumber: UInt8? = nil, gateway: IPAddress? = nil, interfaceIndex: Int? = nil) {
        self.destination = destination.masked
        self.table = table
        self.metric = metric
        self.type = type
        self.protocolNumber = protocolNumber
        self.gateway = gateway
        self.interfaceIndex = interfaceIndex
    }

    func matches(_ route: Route) -> Bool {
        if let metric, route.metric != metric { return false }
        if let type, route.type != type { return false }
        if let protocolNumber, route.protocolNumber != protocolNumber { return false }
        if gateway != nil || interfaceIndex != nil {
            return route.nextHops.contains { hop in
                (gateway == nil || hop.gateway == gateway) && (interfaceIndex == nil || hop.interfaceIndex == interfaceIndex)
            }
        }
        return true
    }
}

/// The FIB: every routing table, both families, with longest-prefix-match lookups and
/// incremental changes under rtnetlink's rules.
///
/// Storage (`TableIndex`): everything of a route but its destination is interned once in an
/// `AttributePool` shared by all tables; each table keeps, per family, a compact map from
/// prefix to attribute indices and a Poptrie-like multibit trie (`Poptrie`) for
/// longest-prefix match, updated incrementally. A lookup reads a direct array and a node or
/// two and never allocates; a change costs a few hash updates and repaints or rebuilds one
/// subtree.
public final class RouteTable {
    /// RT_TABLE_MAIN.
    public static let main: UInt32 = 254
    /// RT_TABLE_LOCAL.
    public static let local: UInt32 = 255
    /// RT_TABLE_DEFAULT.
    public static let `default`: UInt32 = 253

    private var tables: [UInt32: TableIndex] = [:]
    /// Every route's attributes, interned once for all tables.
    let attributePool = AttributePool()
    /// Routes in all tables.
    public private(set) var count = 0

    /// An empty FIB.
    public init() {}

    /// Table numbers that hold routes.
    public var tableNumbers: [UInt32] { tables.filter { $0.value.count > 0 }.keys.sorted() }

    /// The storage of table `number`, made empty if absent (tables are never dropped, so a
    /// `ForwardingTable` stays valid).
    func tableIndex(_ number: UInt32) -> TableIndex {
        if let existing = tables[number] { return existing }
        let made = TableIndex(pool: attributePool)
        tables[number] = made
        return made
    }

    /// Distinct attribute sets interned (every route's all but its destination).
    public var attributeSetCount: Int { attributePool.count }

    /// Bytes the tables' tries and prefix maps hold at least (arrays and hash tables at their
    /// capacity; not the attribute pool or allocator overhead): a lower bound on the heap.
    var storageByteCount: Int {
        tables.values.reduce(0) { $0 + $1.v4.trieByteCount + $1.v4.mapByteCount + $1.v6.trieByteCount + $1.v6.mapByteCount }
    }

    /// Bytes of the tries' large arrays, which live in mappings of their own on huge pages
    /// rather than on the heap: add them to a heap count (`mallinfo2`) for the FIB's memory.
    public var mappedByteCount: Int {
        tables.values.reduce(0) { $0 + $1.v4.trieMappedByteCount + $1.v6.trieMappedByteCount }
    }

    /// Adds a route (RTM_NEWROUTE). With an existing route of the same key (table,
    /// destination, metric, TOS): exclusive → EEXIST; replace → replaces it; append → adds
    /// the next hops to it (IPv6's multipath siblings; for IPv4, another route after it);
    /// plain create → IPv4 puts the new route first, IPv6 merges a different next hop, and an
    /// identical route is EEXIST. Without an existing route, create is required (else ENOENT).
    public func add(_ route: Route, flags: RouteAddFlags = [.create, .exclusive]) throws(RouteError) {
        guard route.destination.length <= route.destination.address.bitWidth else { throw .invalid }
        switch route.type {
        case .unicast, .local, .broadcast, .anycast, .multicast:
            guard !route.nextHops.isEmpty else { throw .invalid }
        default:
            break
        }
        guard attributePool.hasRoom else { throw .invalid }
        let map = tableIndex(route.table)
        var routes = map.routes(for: route.destination)
        let isV6: Bool
        if case .v6 = route.destination.address { isV6 = true } else { isV6 = false }
        if let at = routes.firstIndex(where: { $0.hasSameKey(as: route) }) {
            if flags.contains(.exclusive) { throw .exists }
            if flags.contains(.replace) {
                routes[at] = route
            } else if flags.contains(.append) {
                if isV6 && routes[at].type == .unicast && route.type == .unicast {
                    if route.nextHops.allSatisfy(routes[at].nextHops.contains) { throw .exists }
                    routes[at].nextHops += route.nextHops.filter { !routes[at].nextHops.contains($0) }
                } else {
                    if routes.contains(route) { throw .exists }
                    let last = routes.lastIndex(where: { $0.hasSameKey(as: route) })!
                    routes.insert(route, at: last + 1)
                    count += 1
                }
            } else {
                guard flags.contains(.create) else { throw .noEntry }
                if routes.contains(where: { $0.hasSameKey(as: route) && $0.nextHops == route.nextHops && $0.type == route.type }) {
                    throw .exists
                }
                if isV6 && routes[at].type == .unicast && route.type == .unicast {
                    routes[at].nextHops += route.nextHops.filter { !routes[at].nextHops.contains($0) }
                } else {
                    routes.insert(route, at: at)
                    count += 1
                }
            }
        } else {
            guard flags.contains(.create) else { throw .noEntry }
            count += 1
            // The usual change, a prefix's first route, builds no array.
            guard !routes.isEmpty else { return map.set(CollectionOfOne(route), for: route.destination) }
            let at = routes.firstIndex { $0.metric > route.metric } ?? routes.count
            routes.insert(route, at: at)
        }
        map.set(routes, for: route.destination)
    }

    /// Adds or replaces (`ip route replace`).
    public func add(_ route: Route, replace: Bool) throws(RouteError) {
        try add(route, flags: replace ? [.create, .replace] : [.create, .exclusive])
    }

    /// Deletes the first route matching `match` (RTM_DELROUTE); ESRCH if none. For an IPv6
    /// multipath route, a gateway/interface in the request removes just that next hop.
    @discardableResult
    public func delete(_ match: RouteMatch) throws(RouteError) -> Route {
        guard let map = tables[match.table] else { throw .notFound }
        // The usual delete: the prefix's only route goes, with no array of its routes.
        if let sole = map.soleRoute(for: match.destination) {
            guard match.matches(sole) else { throw .notFound }
            if !Self.removesSomeNextHops(of: sole, match) {
                map.set(EmptyCollection(), for: match.destination)
                count -= 1
                return sole
            }
        }
        var routes = map.routes(for: match.destination)
        guard let at = routes.firstIndex(where: match.matches) else { throw .notFound }
        var removed = routes[at]
        if Self.removesSomeNextHops(of: routes[at], match) {
            let gone = routes[at].nextHops.filter {
                (match.gateway == nil || $0.gateway == match.gateway) && (match.interfaceIndex == nil || $0.interfaceIndex == match.interfaceIndex)
            }
            routes[at].nextHops.removeAll { gone.contains($0) }
            removed.nextHops = gone
            if routes[at].nextHops.isEmpty {
                routes.remove(at: at)
                count -= 1
            }
        } else {
            routes.remove(at: at)
            count -= 1
        }
        map.set(routes, for: match.destination)
        return removed
    }

    /// Whether deleting `route` by `match` removes only the next hops the match names: an
    /// IPv6 multipath route and a match on gateway or interface.
    private static func removesSomeNextHops(of route: Route, _ match: RouteMatch) -> Bool {
        guard route.nextHops.count > 1, match.gateway != nil || match.interfaceIndex != nil else { return false }
        if case .v6 = match.destination.address { return true }
        return false
    }

    /// Deletes the route with this exact key.
    @discardableResult
    public func delete(destination: IPPrefix, table: UInt32, metric: UInt32) throws(RouteError) -> Route {
        try delete(RouteMatch(destination: destination, table: table, metric: metric))
    }

    /// Removes every route through `interfaceIndex` (the interface went away); next hops of
    /// multipath routes through it are dropped and the rest kept. Returns the routes removed.
    /// Only the prefixes whose interned attributes name the interface are visited.
    @discardableResult
    public func removeRoutes(throughInterface interfaceIndex: Int) -> [Route] {
        let affected = attributePool.indices { $0.nextHops.contains { $0.interfaceIndex == interfaceIndex } }
        guard !affected.isEmpty else { return [] }
        var removed: [Route] = []
        for number in tables.keys.sorted() {
            let map = tables[number]!
            for prefix in map.prefixes(using: affected) {
                let routes = map.routes(for: prefix)
                var kept: [Route] = []
                for var route in routes {
                    if route.nextHops.contains(where: { $0.interfaceIndex == interfaceIndex }) {
                        route.nextHops.removeAll { $0.interfaceIndex == interfaceIndex }
                        if route.nextHops.isEmpty {
                            removed.append(route)
                            count -= 1
                            continue
                        }
                    }
                    kept.append(route)
                }
                if kept != routes { map.set(kept, for: prefix) }
            }
        }
        return removed
    }

    /// Longest-prefix match in one table: the lowest-metric route of the longest prefix
    /// holding `address`.
    public func lookup(_ address: IPAddress, table: UInt32 = RouteTable.main) -> Route? {
        tables[table]?.longestMatch(address)
    }

    /// How many routes `table` holds, of one family (both if nil), without listing them:
    /// counters kept as routes change (`show stats` and metrics on a full table).
    public func routeCount(table: UInt32, ipv6: Bool? = nil) -> Int {
        guard let index = tables[table] else { return 0 }
        switch ipv6 {
        case nil: return index.count
        case true?: return index.ipv6Count
        case false?: return index.count - index.ipv6Count
        }
    }

    /// The routes with exactly this destination in `table`, lowest metric first.
    public func routes(exactly destination: IPPrefix, table: UInt32) -> [Route] {
        tables[table]?.routes(for: destination.masked) ?? []
    }

    /// Every route of `table` (all tables if nil) of one family (both if nil), in a stable
    /// order: by table, then destination (IPv4 before IPv6, then address, then length), then
    /// as the prefix keeps them (by metric). A netlink dump walks the same order a route at a
    /// time (`cursor(table:ipv6:)`); this lists it whole.
    public func routes(table: UInt32? = nil, ipv6: Bool? = nil) -> [Route] {
        let walk = cursor(table: table, ipv6: ipv6)
        var result: [Route] = []
        result.reserveCapacity(table.map { routeCount(table: $0, ipv6: ipv6) } ?? (ipv6 == nil ? count : 0))
        while let route = walk.next() { result.append(route) }
        return result
    }

    /// Every table number the FIB has storage for (emptied tables included), ascending.
    var allTableNumbers: [UInt32] { tables.keys.sorted() }
}
