/// One table's prefixes of one family: the compact map from prefix to its routes' interned
/// attribute indices (the source of truth), and the `Poptrie` answering lookups, kept in
/// step by every change.
///
/// A prefix costs one map entry (its key and a 32-bit slot: an attribute index, or for a
/// prefix with several routes an index into `lists`) and, once per stride boundary above it,
/// a count in `longer` (how many prefixes lie below that boundary: a slot there needs a
/// child node while it is non-zero). A change rebuilds at most the subtree of the shallowest
/// slot whose count went from or to zero, else repaints the leaves the prefix covers.
final class PrefixIndex<Address: TrieAddress>: TrieSource {
    /// A map slot with this bit indexes `lists`.
    private static var listFlag: UInt32 { 1 << 31 }

    private var entries: [Address.PrefixKey: UInt32] = [:]
    private var lists: [[UInt32]] = []
    private var vacantLists: [UInt32] = []
    private var longer: [Address.PrefixKey: UInt32] = [:]
    private var lengthCounts = [Int](repeating: 0, count: Address.width + 1)
    private var trieStorage: Poptrie<Address>?

    /// Prefixes present.
    var count: Int { entries.count }

    /// The trie, made with the first prefix (its direct array is the largest fixed cost).
    private var trie: Poptrie<Address> {
        if let trieStorage { return trieStorage }
        let made = Poptrie<Address>()
        trieStorage = made
        return made
    }

    /// The trie leaf for a route with attributes `index` matched at `length`.
    static func leaf(index: UInt32, length: Int) -> UInt32 { (index + 1) << 8 | UInt32(length) }

    /// The longest match for `address`: the trie leaf (0 if none). Allocates nothing.
    @inline(__always)
    func match(_ address: Address) -> UInt32 {
        guard let trieStorage else { return 0 }
        return trieStorage.lookup(address)
    }

    /// The attribute indices of the prefix's routes, best first (empty if absent).
    func indices(_ address: Address, length: Int) -> [UInt32] {
        guard let slot = entries[address.prefixKey(length: length)] else { return [] }
        return slot & Self.listFlag != 0 ? lists[Int(slot & ~Self.listFlag)] : [slot]
    }

    /// Every prefix's key, sorted by address then length.
    func sortedKeys() -> [Address.PrefixKey] { entries.keys.sorted() }

    /// The keys of the prefixes with a route whose attributes are in `wanted`.
    func keys(using wanted: Set<UInt32>) -> [Address.PrefixKey] {
        entries.compactMap { key, slot in
            if slot & Self.listFlag == 0 { return wanted.contains(slot) ? key : nil }
            return lists[Int(slot & ~Self.listFlag)].contains(where: wanted.contains) ? key : nil
        }
    }

    /// Sets the routes (attribute indices, best first; empty removes) of the prefix
    /// (`address` masked, `length`) and updates the trie.
    func set(_ indices: [UInt32], _ address: Address, length: Int) {
        let key = address.prefixKey(length: length)
        let previous = entries[key]
        let before = previous.map { Self.leaf(index: best(of: $0), length: length) } ?? 0
        if let previous, previous & Self.listFlag != 0 {
            lists[Int(previous & ~Self.listFlag)] = []
            vacantLists.append(previous & ~Self.listFlag)
        }
        entries[key] = indices.isEmpty ? nil : store(indices)
        let after = indices.first.map { Self.leaf(index: $0, length: length) } ?? 0
        guard before != after else { return }
        let boundaries = Swift.stride(from: Address.directBits, to: min(length, Address.width), by: Poptrie<Address>.stride)
        if before == 0 {
            // Added: every boundary above counts it; the shallowest that had nothing below
            // becomes a new subtree holding it, else its covered leaves are repainted.
            lengthCounts[length] += 1
            var grown: Int?
            for boundary in boundaries {
                let key = address.masked(to: boundary).prefixKey(length: boundary)
                let below = longer[key, default: 0]
                if below == 0 && grown == nil { grown = boundary }
                longer[key] = below + 1
            }
            if let grown {
                trie.grow(address, boundary: grown, source: self)
            } else {
                trie.relabel(address, length: length, from: covering(address, within: length - 1), to: after)
            }
        } else if after == 0 {
            // Removed: the shallowest boundary left with nothing below becomes a leaf again,
            // else the prefix's leaves fall back to the prefix covering it.
            lengthCounts[length] -= 1
            var shrunk: Int?
            for boundary in boundaries {
                let key = address.masked(to: boundary).prefixKey(length: boundary)
                let below = longer[key, default: 0] - 1
                if below == 0 {
                    longer[key] = nil
                    if shrunk == nil { shrunk = boundary }
                } else {
                    longer[key] = below
                }
            }
            if let shrunk {
                trie.shrink(address, boundary: shrunk, to: covering(address, within: shrunk))
            } else {
                trie.relabel(address, length: length, from: before, to: covering(address, within: length - 1))
            }
        } else {
            trie.relabel(address, length: length, from: before, to: after)
        }
    }

    // MARK: - TrieSource

    /// The leaf of the prefix's best route, 0 if absent.
    func leaf(_ address: Address, length: Int) -> UInt32 {
        guard lengthCounts[length] > 0, let slot = entries[address.prefixKey(length: length)] else { return 0 }
        return Self.leaf(index: best(of: slot), length: length)
    }

    /// Whether a prefix longer than `length` lies below (`address`, `length`), a boundary.
    func hasLonger(than length: Int, under address: Address) -> Bool {
        longer[address.prefixKey(length: length)] != nil
    }

    /// Bytes held by the trie's arrays.
    var trieByteCount: Int { trieStorage?.byteCount ?? 0 }

    /// Bytes the maps' hash tables hold at least (keys and values at their capacity).
    var mapByteCount: Int {
        let entry = MemoryLayout<Address.PrefixKey>.stride + MemoryLayout<UInt32>.stride
        return (entries.capacity + longer.capacity) * entry + lists.reduce(lists.capacity * 8) { $0 + 32 + $1.capacity * 4 }
    }

    /// Live trie nodes and leaves (for tests: both return to zero when the table empties).
    var trieLiveElements: (nodes: Int, leaves: Int) {
        (trieStorage?.nodes.live ?? 0, trieStorage?.leaves.live ?? 0)
    }

    // MARK: - Internals

    /// The leaf of the longest prefix of `address` no longer than `maximum` (0 if none).
    private func covering(_ address: Address, within maximum: Int) -> UInt32 {
        var length = maximum
        while length >= 0 {
            let value = leaf(address.masked(to: length), length: length)
            if value != 0 { return value }
            length -= 1
        }
        return 0
    }

    private func best(of slot: UInt32) -> UInt32 {
        slot & Self.listFlag != 0 ? lists[Int(slot & ~Self.listFlag)][0] : slot
    }

    private func store(_ indices: [UInt32]) -> UInt32 {
        if indices.count == 1 { return indices[0] }
        if let reused = vacantLists.popLast() {
            lists[Int(reused)] = indices
            return Self.listFlag | reused
        }
        lists.append(indices)
        return Self.listFlag | UInt32(lists.count - 1)
    }
}
