import Testing
import Wire
@testable import NetStack

/// The FIB against what Linux answers (checked with `ip route` in a netns) and against a
/// slow reference under random changes.
@Suite struct RouteTableTests {
    func route(_ prefix: String, via gateway: String? = nil, dev: Int = 2, metric: UInt32 = 0,
               table: UInt32 = RouteTable.main, type: RouteType = .unicast, proto: UInt8 = RouteProtocol.boot) -> Route {
        Route(destination: IPPrefix(prefix)!, table: table, type: type, metric: metric,
              nextHops: type == .unicast ? [NextHop(gateway: gateway.flatMap(IPAddress.init), interfaceIndex: dev)] : [],
              protocolNumber: proto)
    }

    @Test func longestPrefixThenLowestMetric() throws {
        let fib = RouteTable()
        try fib.add(route("0.0.0.0/0", via: "10.0.0.1"))
        try fib.add(route("192.0.2.0/24", dev: 3, metric: 10))
        try fib.add(route("192.0.2.0/24", dev: 4, metric: 5))
        try fib.add(route("192.0.2.128/25", dev: 5))
        try fib.add(route("192.0.2.200/32", type: .blackhole))
        #expect(fib.lookup(IPAddress("192.0.2.7")!)?.nextHops.first?.interfaceIndex == 4)
        #expect(fib.lookup(IPAddress("192.0.2.130")!)?.nextHops.first?.interfaceIndex == 5)
        #expect(fib.lookup(IPAddress("192.0.2.200")!)?.type == .blackhole)
        #expect(fib.lookup(IPAddress("8.8.8.8")!)?.nextHops.first?.gateway == IPAddress("10.0.0.1")!)
        #expect(fib.lookup(IPAddress("8.8.8.8")!, table: 100) == nil)
        #expect(fib.lookup(IPAddress("2001:db8::1")!) == nil)
    }

    @Test func errorsAsLinuxReturnsThem() throws {
        let fib = RouteTable()
        try fib.add(route("192.0.2.0/24"))
        #expect(throws: RouteError.exists) { try fib.add(route("192.0.2.0/24")) } // ip route add twice
        #expect(throws: RouteError.notFound) { try fib.delete(RouteMatch(destination: IPPrefix("198.51.100.0/24")!, table: 254)) }
        #expect(throws: RouteError.noEntry) { try fib.add(route("198.51.100.0/24"), flags: [.replace]) } // ip route change
        #expect(throws: RouteError.notFound) {
            try fib.delete(RouteMatch(destination: IPPrefix("192.0.2.0/24")!, table: 254, gateway: IPAddress("10.9.0.9")!))
        }
        #expect(throws: RouteError.notFound) {
            try fib.delete(RouteMatch(destination: IPPrefix("192.0.2.0/24")!, table: 254, protocolNumber: RouteProtocol.static))
        }
        #expect(throws: RouteError.invalid) { try fib.add(Route(destination: IPPrefix("10.0.0.0/8")!, nextHops: [])) }
    }

    @Test func ipv4PrependAndAppendKeepAliasesInLinuxOrder() throws {
        let fib = RouteTable()
        try fib.add(route("192.0.2.0/24", dev: 2))
        try fib.add(route("192.0.2.0/24", dev: 2, metric: 10))
        try fib.add(route("192.0.2.0/24", via: "10.9.0.2"), flags: [.create]) // ip route prepend
        try fib.add(route("192.0.2.0/24", via: "10.9.0.3"), flags: [.create, .append]) // ip route append
        let order = fib.routes(exactly: IPPrefix("192.0.2.0/24")!, table: 254).map { $0.nextHops.first?.gateway?.description ?? "dev \($0.metric)" }
        #expect(order == ["10.9.0.2", "dev 0", "10.9.0.3", "dev 10"]) // as `ip route` listed them
        #expect(fib.count == 4)
    }

    @Test func ipv6SiblingsFormMultipath() throws {
        let fib = RouteTable()
        try fib.add(route("2001:db8::/32", via: "fd00::2", metric: 1024))
        try fib.add(route("2001:db8::/32", via: "fd00::3", metric: 1024), flags: [.create, .append])
        try fib.add(route("2001:db8::/32", via: "fd00::4", metric: 1024), flags: [.create])
        #expect(throws: RouteError.exists) { try fib.add(route("2001:db8::/32", via: "fd00::5", metric: 1024)) }
        var routes = fib.routes(exactly: IPPrefix("2001:db8::/32")!, table: 254)
        #expect(routes.count == 1)
        #expect(routes[0].nextHops.map { $0.gateway!.description } == ["fd00::2", "fd00::3", "fd00::4"])
        try fib.delete(RouteMatch(destination: IPPrefix("2001:db8::/32")!, table: 254, gateway: IPAddress("fd00::3")!))
        routes = fib.routes(exactly: IPPrefix("2001:db8::/32")!, table: 254)
        #expect(routes[0].nextHops.map { $0.gateway!.description } == ["fd00::2", "fd00::4"])
    }

    @Test func multipathSpreadsByWeightAndIsStablePerFlow() {
        let hops = [NextHop(gateway: IPAddress("10.0.0.1")!, interfaceIndex: 2, weight: 1),
                    NextHop(gateway: IPAddress("10.0.0.2")!, interfaceIndex: 3, weight: 3)]
        let r = Route(destination: IPPrefix("0.0.0.0/0")!, nextHops: hops)
        var counts = [0, 0]
        var random = SeededRandom(seed: 9)
        for _ in 0..<40_000 {
            let hash = UInt32(truncatingIfNeeded: random.next())
            counts[r.nextHop(forFlowHash: hash)!.interfaceIndex - 2] += 1
            #expect(r.nextHop(forFlowHash: hash) == r.nextHop(forFlowHash: hash))
        }
        #expect(abs(Double(counts[1]) / 40_000 - 0.75) < 0.02)
    }

    @Test func ipv4RouteWithIPv6NextHop() throws {
        let fib = RouteTable()
        try fib.add(route("172.20.0.0/14", via: "fe80::1", dev: 7, proto: RouteProtocol.bird))
        let found = try #require(fib.lookup(IPAddress("172.22.1.1")!))
        #expect(found.nextHops.first?.gateway == IPAddress("fe80::1")!)
        #expect(found.protocolNumber == RouteProtocol.bird)
    }

    @Test func removingAnInterfaceRemovesItsRoutes() throws {
        let fib = RouteTable()
        try fib.add(route("192.0.2.0/24", dev: 2))
        try fib.add(route("198.51.100.0/24", dev: 3))
        try fib.add(Route(destination: IPPrefix("2001:db8::/32")!, nextHops: [
            NextHop(gateway: IPAddress("fe80::1")!, interfaceIndex: 2), NextHop(gateway: IPAddress("fe80::2")!, interfaceIndex: 3)]))
        let removed = fib.removeRoutes(throughInterface: 2)
        #expect(removed.count == 1)
        #expect(fib.lookup(IPAddress("192.0.2.1")!) == nil)
        #expect(fib.lookup(IPAddress("2001:db8::1")!)?.nextHops.count == 1)
        #expect(fib.count == 2)
    }

    /// Thousands of random adds and deletes, skewed like the real table (IPv4 mostly /24 and
    /// /16–/23, IPv6 mostly /48 and /32–/44), in two tables; every lookup compared with a
    /// linear scan.
    @Test(arguments: [UInt64(1), 2, 3]) func randomChangesAgreeWithAReference(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let fib = RouteTable()
        var reference: [Route] = []
        func randomPrefix() -> IPPrefix {
            if random.chance(0.6) {
                let lengths = [24, 24, 24, 24, 22, 23, 20, 16, 19, 21, 32, 8, 0, 28]
                let length = lengths[random.below(lengths.count)]
                // A narrow address space so prefixes nest and collide.
                let value = UInt32(0x0a00_0000) | UInt32(truncatingIfNeeded: random.next() & 0x000f_ffff)
                return IPPrefix(address: .v4(IPv4Address(value)), length: length)!.masked
            }
            let lengths = [48, 48, 48, 32, 36, 40, 44, 64, 128, 0, 29]
            let length = lengths[random.below(lengths.count)]
            let high = 0x2001_0db8_0000_0000 | (random.next() & 0x0000_0000_00ff_ffff) << 8
            return IPPrefix(address: .v6(IPv6Address(high: high, low: random.next() & 0xff)), length: length)!.masked
        }
        for round in 0..<4_000 {
            let table: UInt32 = random.chance(0.8) ? RouteTable.main : 100
            if random.chance(0.65) || reference.isEmpty {
                let candidate = Route(destination: randomPrefix(), table: table, metric: UInt32(random.below(3)),
                                      nextHops: [NextHop(gateway: nil, interfaceIndex: 1 + random.below(4))])
                do {
                    try fib.add(candidate)
                    reference.append(candidate)
                } catch {
                    #expect(reference.contains { $0.hasSameKey(as: candidate) })
                }
            } else {
                let victim = reference.remove(at: random.below(reference.count))
                try fib.delete(RouteMatch(destination: victim.destination, table: victim.table, metric: victim.metric))
            }
            if round % 20 == 0 {
                #expect(fib.count == reference.count)
                for t in [RouteTable.main, UInt32(100)] {
                    for ipv6 in [false, true] {
                        let expected = reference.filter { $0.table == t && ($0.destination.address.bitWidth == 128) == ipv6 }.count
                        #expect(fib.routeCount(table: t, ipv6: ipv6) == expected)
                    }
                    #expect(fib.routeCount(table: t) == reference.filter { $0.table == t }.count)
                }
                for _ in 0..<50 {
                    let probe: IPAddress = random.chance(0.6)
                        ? .v4(IPv4Address(0x0a00_0000 | UInt32(truncatingIfNeeded: random.next() & 0x000f_ffff)))
                        : .v6(IPv6Address(high: 0x2001_0db8_0000_0000 | (random.next() & 0x0000_0000_00ff_ffff) << 8,
                                          low: random.next() & 0xff))
                    for t in [RouteTable.main, UInt32(100)] {
                        let expected = reference.filter { $0.table == t && $0.destination.contains(probe) }
                            .min { ($0.destination.length, $1.metric) > ($1.destination.length, $0.metric) }
                        #expect(fib.lookup(probe, table: t) == expected, "\(probe) table \(t)")
                    }
                }
            }
        }
    }
}

extension RouteTableTests {
    /// A dump's order (`routes(table:ipv6:)`): by table, IPv4 before IPv6, then address, then
    /// length, each prefix's routes as `routes(exactly:)` keeps them — whatever the order of
    /// the adds.
    @Test(arguments: [UInt64(5), 6]) func dumpsInAStableOrder(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let fib = RouteTable()
        for _ in 0..<600 {
            let v6 = random.chance(0.4)
            let length = v6 ? [0, 32, 48, 64, 128][random.below(5)] : [0, 8, 16, 24, 32][random.below(5)]
            let address: IPAddress = v6 ? .v6(IPv6Address(high: 0x2001_0db8_0000_0000 | random.next() & 0xffff_ffff, low: random.next()))
                                        : .v4(IPv4Address(UInt32(truncatingIfNeeded: random.next()) & 0xff0f_ff0f))
            let route = Route(destination: IPPrefix(address: address, length: length)!, table: random.chance(0.5) ? 254 : 100,
                              metric: UInt32(random.below(3)), nextHops: [NextHop(gateway: nil, interfaceIndex: 1 + random.below(3))])
            try? fib.add(route, flags: [.create])
        }
        func key(_ route: Route) -> (UInt32, Int, UInt64, UInt64, Int) {
            switch route.destination.address {
            case .v4(let a): (route.table, 0, 0, UInt64(a.value), route.destination.length)
            case .v6(let a): (route.table, 1, a.high, a.low, route.destination.length)
            }
        }
        let all = fib.routes()
        #expect(all.count == fib.count)
        for (a, b) in zip(all, all.dropFirst()) { #expect(key(a) <= key(b)) }
        var expected: [Route] = []
        for route in all where expected.last?.destination != route.destination || expected.last?.table != route.table {
            expected += fib.routes(exactly: route.destination, table: route.table)
        }
        #expect(all == expected)
        #expect(fib.routes(table: 100, ipv6: true) == all.filter { $0.table == 100 && key($0).1 == 1 })
    }
}

extension RouteTableTests {
    /// Random adds under every rtnetlink flag (create, exclusive, replace, append, prepend)
    /// and deletes by key or by next hop, on prefixes that collect several routes (IPv4
    /// aliases, IPv6 multipath): after each step the counters agree with what
    /// `routes(exactly:)` lists, a lookup answers the best route of the longest prefix the
    /// dump holds, and removing everything leaves no interned attribute set and no trie node.
    @Test(arguments: [UInt64(11), 12, 13]) func randomChangesUnderEveryFlagStayConsistent(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let fib = RouteTable()
        let v4Prefixes = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.128/25", "10.1.3.0/24", "0.0.0.0/0", "10.1.2.7/32"]
        let v6Prefixes = ["2001:db8::/32", "2001:db8:1::/48", "2001:db8:1:2::/64", "::/0", "2001:db8:1:2::9/128"]
        let flagChoices: [RouteAddFlags] = [[.create, .exclusive], [.create], [.create, .append], [.create, .replace], [.replace]]
        func candidate() -> Route {
            let v6 = random.chance(0.5)
            let prefix = IPPrefix(v6 ? v6Prefixes[random.below(v6Prefixes.count)] : v4Prefixes[random.below(v4Prefixes.count)])!
            let gateway: IPAddress = v6 ? .v6(IPv6Address(high: 0xfe80 << 48, low: UInt64(1 + random.below(3))))
                                        : .v4(IPv4Address(0x0a09_0000 | UInt32(1 + random.below(3))))
            return Route(destination: prefix, table: random.chance(0.8) ? RouteTable.main : 100, metric: UInt32(random.below(2)),
                         nextHops: [NextHop(gateway: gateway, interfaceIndex: 1 + random.below(3))])
        }
        func probes() -> [IPAddress] {
            ["10.1.2.7", "10.1.2.200", "10.1.3.1", "10.9.9.9", "192.0.2.1",
             "2001:db8:1:2::9", "2001:db8:1:2::1", "2001:db8:1:3::1", "2001:db8:2::1", "2002::1"].map { IPAddress($0)! }
        }
        for round in 0..<3_000 {
            if random.chance(0.6) {
                try? fib.add(candidate(), flags: flagChoices[random.below(flagChoices.count)])
            } else {
                let route = candidate()
                let match = random.chance(0.5)
                    ? RouteMatch(destination: route.destination, table: route.table, metric: route.metric)
                    : RouteMatch(destination: route.destination, table: route.table, gateway: route.nextHops[0].gateway)
                _ = try? fib.delete(match)
            }
            guard round % 10 == 0 else { continue }
            let all = fib.routes()
            #expect(fib.count == all.count)
            for table in [RouteTable.main, UInt32(100)] {
                for ipv6 in [false, true] {
                    let listed = all.filter { $0.table == table && ($0.destination.address.bitWidth == 128) == ipv6 }
                    #expect(fib.routeCount(table: table, ipv6: ipv6) == listed.count)
                }
                for probe in probes() {
                    // The first route listed for the longest prefix holding the probe.
                    let expected = all.filter { $0.table == table && $0.destination.contains(probe) }
                        .max { $0.destination.length < $1.destination.length }
                        .flatMap { best in all.first { $0.table == table && $0.destination == best.destination } }
                    #expect(fib.lookup(probe, table: table) == expected, "\(probe) table \(table) round \(round)")
                }
            }
        }
        for route in fib.routes() { _ = try? fib.delete(RouteMatch(destination: route.destination, table: route.table)) }
        #expect(fib.count == 0)
        #expect(fib.attributeSetCount == 0)
        for table in [RouteTable.main, UInt32(100)] {
            let index = fib.tableIndex(table)
            #expect(index.v4.trieLiveElements.nodes == 0 && index.v4.trieLiveElements.leaves == 0)
            #expect(index.v6.trieLiveElements.nodes == 0 && index.v6.trieLiveElements.leaves == 0)
        }
    }
}

@Suite struct RoutingPolicyTests {
    @Test func addressesBringLinuxKernelRoutes() throws {
        let policy = RoutingPolicy()
        let interfaces = InterfaceTable()
        policy.follow(interfaces)
        let wg = try interfaces.add(name: "wg0", kind: .wireguard, mtu: 1420)
        try interfaces.addAddress(InterfaceAddress(address: IPAddress("10.0.0.2")!, prefixLength: 24), to: wg)
        try interfaces.addAddress(InterfaceAddress(address: IPAddress("172.20.1.1")!, prefixLength: 32,
                                                   peer: IPAddress("172.20.1.2")!), to: wg)
        try interfaces.addAddress(InterfaceAddress(address: IPAddress("fe80::2")!, prefixLength: 64), to: wg)
        #expect(policy.resolve(IPAddress("10.0.0.2")!, flowHash: 0) == .local)
        #expect(policy.resolve(IPAddress("10.0.0.9")!, flowHash: 0)
                == .forward(interfaceIndex: wg.index, nextHop: IPAddress("10.0.0.9")!, preferredSource: IPAddress("10.0.0.2")!, mtu: nil))
        #expect(policy.resolve(IPAddress("172.20.1.2")!, flowHash: 0)
                == .forward(interfaceIndex: wg.index, nextHop: IPAddress("172.20.1.2")!, preferredSource: IPAddress("172.20.1.1")!, mtu: nil))
        #expect(policy.resolve(IPAddress("fe80::1")!, flowHash: 0)
                == .forward(interfaceIndex: wg.index, nextHop: IPAddress("fe80::1")!, preferredSource: nil, mtu: nil))
        #expect(policy.table.routes(exactly: IPPrefix("fe80::/64")!, table: RouteTable.main).first?.metric == 256)
        #expect(policy.resolve(IPAddress("8.8.8.8")!, flowHash: 0) == .noRoute)
        try interfaces.removeAddress(InterfaceAddress(address: IPAddress("10.0.0.2")!, prefixLength: 24), from: wg)
        #expect(policy.resolve(IPAddress("10.0.0.9")!, flowHash: 0) == .noRoute)
    }

    /// `ForwardingTable.match(_:into:)` answers a batch as `match` does one by one, for both
    /// families, an empty table, and a batch shorter than its results.
    @Test func batchedMatchAgreesWithSingleMatches() throws {
        func route(_ prefix: String, dev: Int) -> Route {
            Route(destination: IPPrefix(prefix)!, nextHops: [NextHop(gateway: nil, interfaceIndex: dev)], protocolNumber: RouteProtocol.boot)
        }
        let fib = RouteTable()
        let empty = fib.forwardingTable(100)
        try fib.add(route("10.0.0.0/8", dev: 2))
        try fib.add(route("10.1.0.0/16", dev: 3))
        try fib.add(route("10.1.2.128/25", dev: 4))
        try fib.add(route("2001:db8::/32", dev: 2))
        try fib.add(route("2001:db8:1::/48", dev: 3))
        let main = fib.forwardingTable(RouteTable.main)
        var random = SeededRandom(seed: 9)
        let v4 = (0..<50).map { _ in IPv4Address(0x0a01_0200 | UInt32(truncatingIfNeeded: random.next()) & (random.chance(0.5) ? 0xff : 0xffff_ffff)) }
        let v6 = (0..<50).map { _ in IPv6Address(high: 0x2001_0db8_0000_0000 | random.next() & 0x1_0000, low: random.next()) }
        var results = [FIBMatch](repeating: main.match(IPv4Address(0)), count: 64)
        results.withUnsafeMutableBufferPointer { out in v4.withUnsafeBufferPointer { main.match($0, into: out) } }
        #expect(Array(results.prefix(50)) == v4.map { main.match($0) })
        results.withUnsafeMutableBufferPointer { out in v6.withUnsafeBufferPointer { main.match($0, into: out) } }
        #expect(Array(results.prefix(50)) == v6.map { main.match($0) })
        results.withUnsafeMutableBufferPointer { out in v4.withUnsafeBufferPointer { empty.match($0, into: out) } }
        #expect(results.prefix(50).allSatisfy { !$0.found })
    }

    @Test func throwRoutesFallThroughToTheNextTable() throws {
        let policy = RoutingPolicy()
        try policy.table.add(Route(destination: IPPrefix("0.0.0.0/0")!, table: RouteTable.default,
                                   nextHops: [NextHop(gateway: IPAddress("10.0.0.1")!, interfaceIndex: 2)]))
        try policy.table.add(Route(destination: IPPrefix("192.0.2.0/24")!, type: .throw))
        try policy.table.add(Route(destination: IPPrefix("198.51.100.0/24")!, type: .prohibit))
        #expect(policy.resolve(IPAddress("192.0.2.1")!, flowHash: 0)
                == .forward(interfaceIndex: 2, nextHop: IPAddress("10.0.0.1")!, preferredSource: nil, mtu: nil))
        #expect(policy.resolve(IPAddress("198.51.100.1")!, flowHash: 0) == .prohibit)
    }
}

extension RouteTableTests {
    /// A dump's walk (`cursor(table:ipv6:)`) reads each prefix when it reaches it, as
    /// Linux's resumable `inet_dump_fib` does: a prefix removed before then is skipped, one
    /// replaced is given as it is then, and the walk ends after the last table and family.
    @Test func aCursorReadsEachPrefixWhenItGetsThere() throws {
        let fib = RouteTable()
        func route(_ prefix: String, table: UInt32 = 254, interface: Int = 1) -> Route {
            Route(destination: IPPrefix(prefix)!, table: table, nextHops: [NextHop(gateway: nil, interfaceIndex: interface)])
        }
        for prefix in ["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "fd00::/8"] { try fib.add(route(prefix)) }
        try fib.add(route("10.9.0.0/16", table: 100))
        let walk = fib.cursor()
        #expect(walk.next()?.destination == IPPrefix("10.9.0.0/16"))  // table 100 first
        #expect(walk.next()?.destination == IPPrefix("10.0.0.0/8"))
        _ = try fib.delete(RouteMatch(destination: IPPrefix("10.2.0.0/16")!, table: 254))
        try fib.add(route("10.3.0.0/16", interface: 2), replace: true)
        try fib.add(route("fd01::/16"))  // the IPv6 walk of table 254 has not begun: seen
        #expect(walk.next()?.destination == IPPrefix("10.1.0.0/16"))
        let replaced = walk.next()
        #expect(replaced?.destination == IPPrefix("10.3.0.0/16"))
        #expect(replaced?.nextHops.first?.interfaceIndex == 2)
        #expect(walk.next()?.destination == IPPrefix("fd00::/8"))
        #expect(walk.next()?.destination == IPPrefix("fd01::/16"))
        #expect(walk.next() == nil)
        #expect(walk.next() == nil)
        #expect(fib.cursor(table: 7).next() == nil)  // a table that never held a route
        #expect(fib.cursor(table: 254, ipv6: true).next()?.destination == IPPrefix("fd00::/8"))
    }
}
