import Wire

/// One routing table's storage: a `PrefixIndex` per family over the FIB's shared
/// `AttributePool`. It turns between the `Route` values rtnetlink speaks and the interned,
/// compact form: a route costs a few bytes in a prefix map plus its share of the trie.
final class TableIndex {
    /// IPv4 prefixes.
    let v4 = PrefixIndex<IPv4Address>()
    /// IPv6 prefixes.
    let v6 = PrefixIndex<IPv6Address>()
    /// Routes in this table.
    private(set) var count = 0
    /// IPv6 routes in this table (the rest are IPv4).
    private(set) var ipv6Count = 0
    private let pool: AttributePool

    /// An empty table interning into `pool`.
    init(pool: AttributePool) { self.pool = pool }

    /// The routes of exactly `prefix` (masked), best first.
    func routes(for prefix: IPPrefix) -> [Route] {
        switch prefix.address {
        case .v4(let a): v4.attributeIndices(a, length: prefix.length).map { pool[$0].route(to: prefix) }
        case .v6(let a): v6.attributeIndices(a, length: prefix.length).map { pool[$0].route(to: prefix) }
        }
    }

    /// The route of `prefix` (masked) if it has exactly one, else nil: what a delete needs
    /// in the usual case, without an array.
    func soleRoute(for prefix: IPPrefix) -> Route? {
        let indices = switch prefix.address {
        case .v4(let a): v4.attributeIndices(a, length: prefix.length)
        case .v6(let a): v6.attributeIndices(a, length: prefix.length)
        }
        guard case .one(let index) = indices else { return nil }
        return pool[index].route(to: prefix)
    }

    /// Replaces the routes of `prefix` (masked) by `routes` (same destination, best first).
    /// Their interned indices go to the prefix map from a buffer on the stack, and the map
    /// hands back the ones they replace: one probe of the map, and no array unless the
    /// prefix keeps several routes.
    func set<Routes: Collection<Route>>(_ routes: Routes, for prefix: IPPrefix) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: routes.count) { buffer in
            var filled = 0
            for route in routes {
                buffer[filled] = pool.intern(RouteAttributes(of: route))
                filled += 1
            }
            let interned = UnsafeBufferPointer(rebasing: buffer[..<filled])
            let previous: AttributeIndices
            switch prefix.address {
            case .v4(let a):
                previous = v4.set(interned, a, length: prefix.length)
            case .v6(let a):
                previous = v6.set(interned, a, length: prefix.length)
                ipv6Count += filled - previous.count
            }
            count += filled - previous.count
            previous.forEach { pool.release($0) }
        }
    }

    /// The best route of the longest prefix holding `address`; shares the interned next
    /// hops, allocates nothing.
    func longestMatch(_ address: IPAddress) -> Route? {
        let leaf: UInt32
        switch address {
        case .v4(let a): leaf = v4.match(a)
        case .v6(let a): leaf = v6.match(a)
        }
        guard leaf != 0 else { return nil }
        let length = Int(leaf & 0xff)
        return pool[(leaf >> 8) - 1].route(to: IPPrefix(address: address, length: length)!)
    }

    /// The routes now at the prefix `key` of `index` (`v4` or `v6`), best first; none if the
    /// prefix holds no route. A dump's walk reads prefixes so (`RouteCursor`).
    func routes<A: TrieAddress>(key: A.PrefixKey, in index: PrefixIndex<A>) -> [Route] {
        var result: [Route] = []
        append(A.prefix(of: key), from: index, to: &result)
        return result
    }

    /// The prefixes with a route through one of the attribute sets `wanted`.
    func prefixes(using wanted: Set<UInt32>) -> [IPPrefix] {
        v4.keys(using: wanted).map { key in
            let (address, length) = IPv4Address.prefix(of: key)
            return IPPrefix(address: .v4(address), length: length)!
        } + v6.keys(using: wanted).map { key in
            let (address, length) = IPv6Address.prefix(of: key)
            return IPPrefix(address: .v6(address), length: length)!
        }
    }

    private func append<A: TrieAddress>(_ prefix: (address: A, length: Int), from index: PrefixIndex<A>,
                                        to result: inout [Route]) {
        let destination = IPPrefix(address: prefix.address.ipAddress, length: prefix.length)!
        index.attributeIndices(prefix.address, length: prefix.length).forEach { result.append(pool[$0].route(to: destination)) }
    }
}
