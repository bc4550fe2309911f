import Testing
import Wire
@testable import NetStack

/// The FIB's trie (`PrefixIndex` over `Poptrie`) against a slow reference: random adds,
/// deletes and best-route changes at every prefix length of both families, with lookups
/// compared after each step (single and batched); edge cases; and bounds on the memory it holds.
@Suite struct PoptrieTests {
    /// A slow longest-prefix match: a map per prefix, probed at every length, longest first.
    struct Reference<A: TrieAddress> {
        var prefixes: [A.PrefixKey: UInt32] = [:]

        func match(_ address: A) -> UInt32 {
            for length in stride(from: A.width, through: 0, by: -1) {
                if let index = prefixes[address.masked(to: length).prefixKey(length: length)] {
                    return PrefixIndex<A>.leaf(index: index, length: length)
                }
            }
            return 0
        }

        /// The leaf of the longest prefix of `address` no longer than `maximum` (0 if none).
        func covering(_ address: A, within maximum: Int) -> UInt32 {
            for length in stride(from: maximum, through: 0, by: -1) {
                if let index = prefixes[address.masked(to: length).prefixKey(length: length)] {
                    return PrefixIndex<A>.leaf(index: index, length: length)
                }
            }
            return 0
        }
    }

    /// Random changes to one family; every few steps, lookups of random addresses near the
    /// prefixes present are compared with the reference. All prefixes removed at the end
    /// must leave no trie node or leaf behind.
    func exercise<A: TrieAddress>(_ random: inout SeededRandom, rounds: Int, lengths: [Int], largeThreshold: Int = 1 << 18,
                                  address: (inout SeededRandom) -> A) {
        let index = PrefixIndex<A>(largeThreshold: largeThreshold)
        var directBits: Set<Int> = [index.directBits]
        var reference = Reference<A>()
        var present: [(A, Int)] = []
        func probe(_ random: inout SeededRandom) -> A {
            if !present.isEmpty && random.chance(0.7) {
                // Inside a present prefix, host bits random: hits its edges and its interior.
                let (base, length) = present[random.below(present.count)]
                let host = address(&random)
                var probe = base
                for bit in Swift.stride(from: length, to: A.width, by: 16) {
                    let count = min(16, A.width - bit)
                    probe = probe.setting(bits: host.bits(at: bit, count: count), at: bit, count: count)
                }
                return probe
            }
            return address(&random)
        }
        for round in 0..<rounds {
            if random.chance(0.6) || present.isEmpty {
                let length = lengths[random.below(lengths.count)]
                let prefix = address(&random).masked(to: length)
                let key = prefix.prefixKey(length: length)
                let attributes = UInt32(random.below(2))
                if reference.prefixes[key] == nil { present.append((prefix, length)) }
                reference.prefixes[key] = attributes
                index.set(random.chance(0.2) ? [attributes, 9] : [attributes], prefix, length: length)
            } else {
                let at = random.below(present.count)
                let (prefix, length) = present[at]
                let key = prefix.prefixKey(length: length)
                if random.chance(0.25) {
                    // The best route changes, the prefix stays.
                    let attributes = UInt32(5 + random.below(3))
                    reference.prefixes[key] = attributes
                    index.set([attributes], prefix, length: length)
                } else {
                    present.remove(at: at)
                    reference.prefixes[key] = nil
                    index.set([], prefix, length: length)
                }
            }
            directBits.insert(index.directBits)
            if round % 7 == 0 {
                var probes: [A] = []
                for _ in 0..<40 {
                    let address = probe(&random)
                    probes.append(address)
                    #expect(index.match(address) == reference.match(address), "\(address.ipAddress) round \(round)")
                }
                // The batched lookup answers every address as the single one does.
                var batch = [UInt32](repeating: 1, count: probes.count)
                probes.withUnsafeBufferPointer { addresses in
                    batch.withUnsafeMutableBufferPointer { index.match(addresses, into: $0.baseAddress!) }
                }
                #expect(batch == probes.map(reference.match), "batch, round \(round)")
                // The covering leaf the trie shows beside a present prefix is the reference's
                // longest covering prefix no longer than the level it names.
                for _ in 0..<min(8, present.count) {
                    let (prefix, length) = present[random.below(present.count)]
                    guard let hint = index.trieStorage?.coveringHint(prefix, length: length) else { continue }
                    #expect(hint.level < length)
                    #expect(hint.leaf == reference.covering(prefix, within: hint.level), "\(prefix.ipAddress)/\(length) round \(round)")
                }
            }
        }
        #expect(index.count == reference.prefixes.count)
        if largeThreshold < rounds { #expect(directBits == [A.directBits, A.largeDirectBits]) }
        for (prefix, length) in present { index.set([], prefix, length: length) }
        #expect(index.count == 0)
        #expect(index.trieLiveElements.nodes == 0 && index.trieLiveElements.leaves == 0)
        #expect(index.match(address(&random)) == 0)
    }

    /// IPv4 addresses in a narrow space (a few /12s) so prefixes of every length nest.
    static func nearIPv4(_ random: inout SeededRandom) -> IPv4Address {
        let tops: [UInt32] = [0x0a00_0000, 0x0a10_0000, 0xc000_0000, 0xffe0_0000]
        return IPv4Address(tops[random.below(tops.count)] | UInt32(truncatingIfNeeded: random.next()) & 0x000f_ffff)
    }

    /// IPv6 addresses under two /24s, with bits varying at the top of every 16-bit group and
    /// in the low bits, so long prefixes (past /64, up to /128) nest too.
    static func nearIPv6(_ random: inout SeededRandom) -> IPv6Address {
        let tops: [UInt64] = [0x2001_0d00_0000_0000, 0x2a0e_b100_0000_0000]
        let high = tops[random.below(tops.count)] | (random.next() & 0x0000_00f0_f0f0_f0f0)
        return IPv6Address(high: high, low: random.next() & 0xf000_f000_f000_f00f)
    }

    @Test(arguments: Array(UInt64(1)...12)) func ipv4AtEveryLengthAgreesWithTheReference(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        exercise(&random, rounds: 1_500, lengths: Array(0...32) + [24, 24, 24, 22, 23, 20, 16], address: Self.nearIPv4)
    }

    /// The same with the table moving to the 24-bit direct array at 150 prefixes and back.
    @Test(arguments: Array(UInt64(1)...6)) func ipv4OnTheLargeDirectArrayAgreesWithTheReference(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        exercise(&random, rounds: 1_500, lengths: Array(0...32) + [24, 24, 24, 22, 23, 20, 16], largeThreshold: 150,
                 address: Self.nearIPv4)
    }

    @Test(arguments: Array(UInt64(1)...12)) func ipv6AtEveryLengthAgreesWithTheReference(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        exercise(&random, rounds: 1_500, lengths: Array(0...128) + [48, 48, 48, 32, 40, 44, 29], address: Self.nearIPv6)
    }

    @Test func edgesAndNesting() {
        let index = PrefixIndex<IPv4Address>()
        func leaf(_ attributes: UInt32, _ length: Int) -> UInt32 { PrefixIndex<IPv4Address>.leaf(index: attributes, length: length) }
        let any = IPv4Address("10.1.2.3")!
        #expect(index.match(any) == 0)
        index.set([1], IPv4Address(0), length: 0) // default route
        #expect(index.match(any) == leaf(1, 0))
        #expect(index.match(IPv4Address("255.255.255.255")!) == leaf(1, 0))
        // Every length from /1 to /32 nested on one address.
        for length in 1...32 { index.set([UInt32(length)], any.masked(to: length), length: length) }
        #expect(index.match(any) == leaf(32, 32))
        #expect(index.match(IPv4Address("10.1.2.2")!) == leaf(31, 31))
        #expect(index.match(IPv4Address("10.1.2.0")!) == leaf(30, 30))
        #expect(index.match(IPv4Address("10.1.3.3")!) == leaf(23, 23))
        #expect(index.match(IPv4Address("138.1.2.3")!) == leaf(1, 0))
        // Deleting covering routes from the middle: the next shorter one takes over.
        index.set([], any.masked(to: 31), length: 31)
        #expect(index.match(IPv4Address("10.1.2.2")!) == leaf(30, 30))
        index.set([], any.masked(to: 32), length: 32)
        #expect(index.match(any) == leaf(30, 30))
        index.set([], any.masked(to: 18), length: 18)
        #expect(index.match(IPv4Address("10.1.64.0")!) == leaf(17, 17))
        index.set([], IPv4Address(0), length: 0)
        #expect(index.match(IPv4Address("138.1.2.3")!) == 0)
        for length in 1...30 where length != 18 { index.set([], any.masked(to: length), length: length) }
        #expect(index.match(any) == 0)
        #expect(index.trieLiveElements.nodes == 0 && index.trieLiveElements.leaves == 0)

        // Both halves of 10.0.0.0/18 with the same route fill its node with one leaf that is
        // not inherited: removing a prefix below must not fold that node away.
        let halves = PrefixIndex<IPv4Address>()
        halves.set([1], IPv4Address("10.0.0.0")!, length: 19)
        halves.set([1], IPv4Address("10.0.32.0")!, length: 19)
        halves.set([2], IPv4Address("10.0.5.0")!, length: 24)
        halves.set([], IPv4Address("10.0.5.0")!, length: 24)
        #expect(halves.match(IPv4Address("10.0.5.1")!) == leaf(1, 19))
        halves.set([], IPv4Address("10.0.0.0")!, length: 19)
        #expect(halves.match(IPv4Address("10.0.5.1")!) == 0)
        #expect(halves.match(IPv4Address("10.0.33.1")!) == leaf(1, 19))
        halves.set([], IPv4Address("10.0.32.0")!, length: 19)
        #expect(halves.trieLiveElements.nodes == 0 && halves.trieLiveElements.leaves == 0)

        let six = PrefixIndex<IPv6Address>()
        let host = IPv6Address("2001:db8::1")!
        six.set([3], host, length: 128)
        six.set([2], IPv6Address(high: 0, low: 0), length: 0)
        #expect(six.match(host) == PrefixIndex<IPv6Address>.leaf(index: 3, length: 128))
        #expect(six.match(IPv6Address("2001:db8::2")!) == PrefixIndex<IPv6Address>.leaf(index: 2, length: 0))
        six.set([], host, length: 128)
        #expect(six.match(host) == PrefixIndex<IPv6Address>.leaf(index: 2, length: 0))
        #expect(six.trieLiveElements.nodes == 0)
    }

    /// An added prefix repaints, inside it, exactly the leaves of shorter prefixes (and "no
    /// route"), never those of longer prefixes already inside it: the trie works this out
    /// from the leaves' lengths, with no covering-route lookup.
    @Test(arguments: [8, 18, 24]) func addingBetweenNestedPrefixesRepaintsOnlyShorterLeaves(threshold: Int) {
        let index = PrefixIndex<IPv4Address>(largeThreshold: threshold)
        func leaf(_ attributes: UInt32, _ length: Int) -> UInt32 { PrefixIndex<IPv4Address>.leaf(index: attributes, length: length) }
        let base = IPv4Address("10.16.0.0")!
        index.set([1], base, length: 12)
        index.set([2], IPv4Address("10.17.5.0")!, length: 24)
        index.set([3], IPv4Address("10.17.5.128")!, length: 25)
        index.set([4], IPv4Address("10.17.6.0")!, length: 26)
        for filler in 0..<UInt32(12) { index.set([9], IPv4Address(0x0b00_0000 + filler << 8), length: 24) }
        index.set([5], IPv4Address("10.17.0.0")!, length: 16)
        #expect(index.match(IPv4Address("10.17.5.1")!) == leaf(2, 24))
        #expect(index.match(IPv4Address("10.17.5.200")!) == leaf(3, 25))
        #expect(index.match(IPv4Address("10.17.6.1")!) == leaf(4, 26))
        #expect(index.match(IPv4Address("10.17.6.65")!) == leaf(5, 16))
        #expect(index.match(IPv4Address("10.17.200.1")!) == leaf(5, 16))
        #expect(index.match(IPv4Address("10.18.0.1")!) == leaf(1, 12))
        // Adding a default route repaints only "no route".
        index.set([6], IPv4Address(0), length: 0)
        #expect(index.match(IPv4Address("10.17.5.1")!) == leaf(2, 24))
        #expect(index.match(IPv4Address("10.18.0.1")!) == leaf(1, 12))
        #expect(index.match(IPv4Address("192.0.2.1")!) == leaf(6, 0))
        index.set([], IPv4Address("10.17.0.0")!, length: 16)
        #expect(index.match(IPv4Address("10.17.6.65")!) == leaf(1, 12))
    }

    /// Not a timing test: a synthetic 100k-prefix IPv4 table with the Internet's length mix and
    /// a few next-hop sets must stay within the goal of 150 bytes per route, counting the
    /// trie's arrays and the maps' hash tables at capacity.
    @Test func memoryPerRouteIsBounded() throws {
        var random = SeededRandom(seed: 4)
        let fib = RouteTable()
        let lengths = [24, 24, 24, 24, 24, 24, 22, 23, 20, 21, 16, 17, 18, 19]
        let hops = (0..<8).map { [NextHop(gateway: .v4(IPv4Address(0x0a00_0001 + UInt32($0))), interfaceIndex: 2)] }
        var added = 0
        while added < 100_000 {
            let length = lengths[random.below(lengths.count)]
            let address = IPv4Address(UInt32(truncatingIfNeeded: random.next()) | 0x0100_0000)
            let route = Route(destination: IPPrefix(address: .v4(address), length: length)!, nextHops: hops[random.below(8)],
                              protocolNumber: RouteProtocol.bird)
            if (try? fib.add(route)) != nil { added += 1 }
        }
        #expect(fib.attributeSetCount == 8)
        let bytes = fib.storageByteCount
        #expect(bytes / added <= 150, "\(bytes / added) B/route")
    }
}
