import NetStack
import Wire

/// A synthetic full Internet table, the same for a seed: IPv4 prefixes with the length mix of
/// the global BGP table (most /24, then /22, /23, /20, /21, /16–/19, a few shorter and longer)
/// spread over 1.0.0.0–223.255.255.255, IPv6 prefixes (mostly /48, then /32, /40, /44, /29)
/// under the regional registries' /12s, and a few dozen next-hop sets as from a handful of
/// BGP peers.
struct SyntheticTable {
    /// The routes, IPv4 then IPv6, each destination once.
    private(set) var ipv4: [Route] = []
    /// IPv6 routes.
    private(set) var ipv6: [Route] = []

    /// (length, weight) for IPv4, after the 2024 table's distribution.
    static let ipv4Lengths: [(Int, Int)] = [
        (24, 600), (22, 110), (23, 100), (20, 45), (21, 45), (19, 25), (16, 15), (18, 15), (17, 12),
        (15, 4), (14, 4), (13, 3), (12, 2), (11, 1), (10, 1), (8, 1), (25, 2), (26, 2), (27, 2), (28, 2),
        (29, 2), (30, 2), (32, 2),
    ]
    /// (length, weight) for IPv6.
    static let ipv6Lengths: [(Int, Int)] = [
        (48, 470), (32, 120), (40, 70), (44, 100), (29, 50), (36, 30), (46, 25), (47, 20), (45, 15),
        (42, 15), (28, 10), (33, 10), (34, 10), (35, 10), (38, 10), (56, 10), (64, 10), (24, 5), (20, 2), (128, 5),
    ]

    /// Generates `ipv4Count` and `ipv6Count` distinct prefixes from `seed`.
    init(ipv4Count: Int, ipv6Count: Int, seed: UInt64) {
        var random = Xorshift(seed: seed)
        let hops4 = (0..<32).map { peer in
            [NextHop(gateway: .v4(IPv4Address(0xc633_6400 | UInt32(peer + 1))), interfaceIndex: 2 + peer % 4)]
        }
        let hops6 = (0..<32).map { peer in
            [NextHop(gateway: .v6(IPv6Address(high: 0xfe80 << 48, low: UInt64(peer + 1))), interfaceIndex: 2 + peer % 4)]
        }
        var seen4 = Set<UInt64>(), seen6 = Set<IPPrefix>()
        while ipv4.count < ipv4Count {
            let length = Self.pick(Self.ipv4Lengths, &random)
            let value = UInt32(0x0100_0000) + UInt32(truncatingIfNeeded: random.next() % 0xdf00_0000)
            let prefix = IPPrefix(address: .v4(IPv4Address(value)), length: length)!.masked
            guard case .v4(let masked) = prefix.address, seen4.insert(UInt64(masked.value) << 8 | UInt64(length)).inserted else { continue }
            ipv4.append(Route(destination: prefix, nextHops: hops4[Self.peer(&random)], protocolNumber: RouteProtocol.bird))
        }
        let registries: [UInt64] = [0x2001, 0x2400, 0x2401, 0x2403, 0x2404, 0x2600, 0x2602, 0x2604, 0x2606,
                                    0x2800, 0x2803, 0x2a00, 0x2a01, 0x2a02, 0x2a03, 0x2a05, 0x2a06, 0x2a0e, 0x2c0f]
        while ipv6.count < ipv6Count {
            let length = Self.pick(Self.ipv6Lengths, &random)
            let high = registries[Int(random.next() % UInt64(registries.count))] << 48 | random.next() >> 16
            let prefix = IPPrefix(address: .v6(IPv6Address(high: high, low: random.next())), length: length)!.masked
            guard seen6.insert(prefix).inserted else { continue }
            ipv6.append(Route(destination: prefix, metric: 1024, nextHops: hops6[Self.peer(&random)],
                              protocolNumber: RouteProtocol.bird))
        }
    }

    /// Peers are skewed: a few carry most of the table.
    private static func peer(_ random: inout Xorshift) -> Int {
        let r = Int(random.next() % 1000)
        return r < 500 ? Int(random.next() % 4) : Int(random.next() % 32)
    }

    private static func pick(_ weights: [(Int, Int)], _ random: inout Xorshift) -> Int {
        var point = Int(random.next() % UInt64(weights.reduce(0) { $0 + $1.1 }))
        for (length, weight) in weights {
            if point < weight { return length }
            point -= weight
        }
        return weights[0].0
    }
}

/// xorshift64* (Vigna, 2016): deterministic and fast; a zero seed is moved off zero.
struct Xorshift {
    /// The state (never zero).
    var state: UInt64
    /// A generator for `seed`.
    init(seed: UInt64) { state = seed == 0 ? 0x2545_F491_4F6C_DD1D : seed }
    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}
