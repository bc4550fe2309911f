import NetStack
import Wire

/// The naive reference: what srouter's FIB was before the trie — each prefix's routes as
/// `[Route]` in a hash map keyed by prefix, and a lookup that probes every prefix length
/// present, longest first.
final class NaiveFIB {
    private struct Key: Hashable {
        var high: UInt64
        var low: UInt64
        var length: Int
    }

    private var entries: [Key: [Route]] = [:]
    private var lengths4: [Int] = []
    private var lengths6: [Int] = []

    /// Adds a route (no rtnetlink semantics: a second route to a prefix goes after the first).
    func add(_ route: Route) {
        let key: Key
        switch route.destination.address {
        case .v4(let a):
            key = Key(high: 0, low: UInt64(a.value), length: route.destination.length)
            if !lengths4.contains(key.length) { lengths4 = (lengths4 + [key.length]).sorted(by: >) }
        case .v6(let a):
            key = Key(high: a.high, low: a.low, length: route.destination.length)
            if !lengths6.contains(key.length) { lengths6 = (lengths6 + [key.length]).sorted(by: >) }
        }
        entries[key, default: []].append(route)
    }

    /// The best route for an IPv4 address.
    func lookup(_ address: IPv4Address) -> Route? {
        for length in lengths4 {
            let mask: UInt32 = length == 0 ? 0 : ~UInt32(0) << UInt32(32 - length)
            if let routes = entries[Key(high: 0, low: UInt64(address.value & mask), length: length)] { return routes.first }
        }
        return nil
    }

    /// The best route for an IPv6 address.
    func lookup(_ address: IPv6Address) -> Route? {
        for length in lengths6 {
            let highMask: UInt64 = length == 0 ? 0 : length >= 64 ? ~0 : ~UInt64(0) << UInt64(64 - length)
            let lowMask: UInt64 = length <= 64 ? 0 : length == 128 ? ~0 : ~UInt64(0) << UInt64(128 - length)
            if let routes = entries[Key(high: address.high & highMask, low: address.low & lowMask, length: length)] {
                return routes.first
            }
        }
        return nil
    }
}
