/// One table's prefixes of one family: the compact map from prefix to its routes' interned
/// attribute indices (the source of truth), and the `Poptrie` answering lookups, kept in
/// step by every change.
///
/// A prefix costs one map entry (its key and a 32-bit slot: an attribute index, or for a
/// prefix with several routes an index into `lists`) plus its share of the trie. A change
/// repaints the leaves the prefix covers, or grows or folds the subtree on its path.
///
/// The trie's direct array starts at `Address.directBits`; a table passing
/// `largeThreshold` prefixes is rebuilt on `Address.largeDirectBits` (and back below half).
@usableFromInline
final class PrefixIndex<Address: TrieAddress> {
    /// A map slot with this bit indexes `lists`.
    private static var listFlag: UInt32 { 1 << 31 }

    private var entries: [Address.PrefixKey: UInt32] = [:]
    private var lists: [[UInt32]] = []
    private var vacantLists: [UInt32] = []
    private var lengthCounts = [Int](repeating: 0, count: Address.width + 1)
    @usableFromInline private(set) var trieStorage: Poptrie<Address>?

    /// Prefixes present.
    var count: Int { entries.count }

    /// Prefixes from which a table uses `Address.largeDirectBits`.
    let largeThreshold: Int

    /// An empty index; past `largeThreshold` prefixes (2^18 unless a test says otherwise) the
    /// trie moves to the large direct array.
    init(largeThreshold: Int = 1 << 18) { self.largeThreshold = largeThreshold }

    /// Bits the trie's direct array resolves now.
    var directBits: Int { trieStorage?.directBits ?? Address.directBits }

    /// The trie, made with the first prefix (its direct array is the largest fixed cost).
    private var trie: Poptrie<Address> {
        if let trieStorage { return trieStorage }
        let made = Poptrie<Address>(directBits: Address.directBits)
        trieStorage = made
        return made
    }

    /// The trie leaf for a route with attributes `index` matched at `length`.
    static func leaf(index: UInt32, length: Int) -> UInt32 { (index + 1) << 8 | UInt32(length) }

    /// The longest match for `address`: the trie leaf (0 if none). Allocates nothing.
    @inlinable
    func match(_ address: Address) -> UInt32 {
        guard let trieStorage else { return 0 }
        return trieStorage.lookup(address)
    }

    /// `match` of every address of `addresses` into `results` (as many trie leaves), the
    /// independent first loads issued before the dependent ones (`Poptrie.lookup(_:into:)`).
    @inlinable
    func match(_ addresses: UnsafeBufferPointer<Address>, into results: UnsafeMutablePointer<UInt32>) {
        guard let trieStorage else { return results.update(repeating: 0, count: addresses.count) }
        trieStorage.lookup(addresses, into: results)
    }

    /// The attribute indices of the prefix's routes, best first: one probe of the map, and
    /// no array for a prefix of one route.
    func attributeIndices(_ address: Address, length: Int) -> AttributeIndices {
        guard let slot = entries[address.prefixKey(length: length)] else { return .absent }
        return slot & Self.listFlag != 0 ? .list(lists[Int(slot & ~Self.listFlag)]) : .one(slot)
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
    /// (`address` masked, `length`) and updates the trie. Returns the indices it held.
    ///
    /// One probe of the map: `updateValue` or `removeValue` hand back the previous slot, and a
    /// list takes the place found by `index(forKey:)`.
    @discardableResult
    func set(_ indices: UnsafeBufferPointer<UInt32>, _ address: Address, length: Int) -> AttributeIndices {
        let key = address.prefixKey(length: length)
        let previous: AttributeIndices
        switch indices.count {
        case 0:
            previous = entries.removeValue(forKey: key).map(takeOut) ?? .absent
        case 1:
            previous = entries.updateValue(indices[0], forKey: key).map(takeOut) ?? .absent
        default:
            // The previous list is vacated before the new one is stored, which may reuse it.
            if let at = entries.index(forKey: key) {
                previous = takeOut(entries.values[at])
                entries.values[at] = store(indices)
            } else {
                previous = .absent
                entries[key] = store(indices)
            }
        }
        let before = previous.first.map { Self.leaf(index: $0, length: length) } ?? 0
        let after = indices.first.map { Self.leaf(index: $0, length: length) } ?? 0
        guard before != after else { return previous }
        if before == 0 {
            lengthCounts[length] += 1
            trie.insert(address, length: length, value: after)
        } else if after == 0 {
            lengthCounts[length] -= 1
            trie.remove(address, length: length, value: before, outer: coveringLeaf(address, length: length))
        } else {
            trie.relabel(address, length: length, from: before, to: after)
        }
        resizeIfNeeded()
        return previous
    }

    /// `set` from an array (tests and callers without a buffer at hand).
    @discardableResult
    func set(_ indices: [UInt32], _ address: Address, length: Int) -> AttributeIndices {
        indices.withUnsafeBufferPointer { set($0, address, length: length) }
    }

    /// The leaf of the prefix's best route, 0 if absent.
    func leaf(_ address: Address, length: Int) -> UInt32 {
        guard lengthCounts[length] > 0, let slot = entries[address.prefixKey(length: length)] else { return 0 }
        return Self.leaf(index: best(of: slot), length: length)
    }

    /// Bytes held by the trie's arrays.
    var trieByteCount: Int { trieStorage?.byteCount ?? 0 }

    /// The part of `trieByteCount` in mappings of its own rather than on the heap.
    var trieMappedByteCount: Int { trieStorage?.mappedByteCount ?? 0 }

    /// Bytes the maps' hash tables hold at least (keys and values at their capacity).
    var mapByteCount: Int {
        let entry = MemoryLayout<Address.PrefixKey>.stride + MemoryLayout<UInt32>.stride
        return entries.capacity * entry + lists.reduce(lists.capacity * 8) { $0 + 32 + $1.capacity * 4 }
    }

    /// Live trie nodes and leaves (for tests: both return to zero when the table empties).
    var trieLiveElements: (nodes: Int, leaves: Int) {
        (trieStorage?.nodes.live ?? 0, trieStorage?.leaves.live ?? 0)
    }

    // MARK: - Internals

    /// Rebuilds the trie on the direct array that suits the table's size, with hysteresis.
    private func resizeIfNeeded() {
        guard Address.largeDirectBits != Address.directBits, let current = trieStorage else { return }
        let wanted: Int
        if current.directBits == Address.directBits && entries.count >= largeThreshold {
            wanted = Address.largeDirectBits
        } else if current.directBits == Address.largeDirectBits && entries.count < largeThreshold / 2 {
            wanted = Address.directBits
        } else {
            return
        }
        // Shortest first, so the leaves a prefix repaints hold its covering prefix's leaf.
        let rebuilt = Poptrie<Address>(directBits: wanted)
        for (key, slot) in entries.sorted(by: { Address.prefix(of: $0.key).length < Address.prefix(of: $1.key).length }) {
            let (address, length) = Address.prefix(of: key)
            rebuilt.insert(address, length: length, value: Self.leaf(index: best(of: slot), length: length))
        }
        trieStorage = rebuilt
    }

    /// The leaf of the longest prefix covering the prefix (`address`, `length`), which the
    /// trie still holds: what the trie shows beside it (`Poptrie.coveringHint`), with the map
    /// probed only at the lengths the trie cannot vouch for.
    private func coveringLeaf(_ address: Address, length: Int) -> UInt32 {
        guard let hint = trie.coveringHint(address, length: length) else { return covering(address, within: length - 1) }
        var probed = length - 1
        while probed > hint.level {
            let value = leaf(address.masked(to: probed), length: probed)
            if value != 0 { return value }
            probed -= 1
        }
        return hint.leaf
    }

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

    /// The indices a slot named, its list (if any) moved out and vacated.
    private func takeOut(_ slot: UInt32) -> AttributeIndices {
        guard slot & Self.listFlag != 0 else { return .one(slot) }
        let list = Int(slot & ~Self.listFlag)
        let indices = lists[list]
        lists[list] = []
        vacantLists.append(UInt32(list))
        return .list(indices)
    }

    /// The slot for several indices: a list, in a vacant place if there is one.
    private func store(_ indices: UnsafeBufferPointer<UInt32>) -> UInt32 {
        if let reused = vacantLists.popLast() {
            lists[Int(reused)] = Array(indices)
            return Self.listFlag | reused
        }
        lists.append(Array(indices))
        return Self.listFlag | UInt32(lists.count - 1)
    }
}

/// A prefix's attribute indices as its map slot names them, best first: absent, one (held in
/// the slot itself), or a list. Reading one allocates nothing.
enum AttributeIndices {
    /// The prefix is absent.
    case absent
    /// One route.
    case one(UInt32)
    /// Several routes (at least two).
    case list([UInt32])

    /// How many.
    var count: Int {
        switch self {
        case .absent: 0
        case .one: 1
        case .list(let list): list.count
        }
    }

    /// The best, nil if none.
    var first: UInt32? {
        switch self {
        case .absent: nil
        case .one(let index): index
        case .list(let list): list.first
        }
    }

    /// Calls `body` on each, best first.
    func forEach(_ body: (UInt32) -> Void) {
        switch self {
        case .absent: break
        case .one(let index): body(index)
        case .list(let list): list.forEach(body)
        }
    }

    /// `transform` of each, best first.
    func map<T>(_ transform: (UInt32) -> T) -> [T] {
        switch self {
        case .absent: []
        case .one(let index): [transform(index)]
        case .list(let list): list.map(transform)
        }
    }
}
