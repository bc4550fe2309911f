/// A trie node (Poptrie's `node`, Asai & Ohara, SIGCOMM 2015, §3.2): 6 bits of the address
/// choose one of 64 slots; `vector` marks the slots that lead to a child node, whose nodes lie
/// contiguously from `base1`; the other slots are leaves, compressed into runs of equal value
/// (`leafvec` marks where a run starts) lying contiguously from `base0`.
@usableFromInline
struct TrieNode: BitwiseCopyable {
    /// Bit i set: slot i is a child node.
    @usableFromInline var vector: UInt64
    /// Bit i set: slot i is a leaf that starts a new run (leaf compression, §3.4).
    @usableFromInline var leafvec: UInt64
    /// Index of the first leaf in `Poptrie.leaves`.
    @usableFromInline var base0: UInt32
    /// Index of the first child in `Poptrie.nodes`.
    @usableFromInline var base1: UInt32

    /// A node of these fields.
    @usableFromInline init(vector: UInt64, leafvec: UInt64, base0: UInt32, base1: UInt32) {
        self.vector = vector
        self.leafvec = leafvec
        self.base0 = base0
        self.base1 = base1
    }
}

/// Longest-prefix match in the manner of Poptrie (Asai & Ohara, "Poptrie: A Compressed Trie
/// with Population Count for Fast and Scalable Software IP Routing Table Lookup", SIGCOMM
/// 2015): a direct-pointing array on the top `directBits`, then 6-bit strides through nodes
/// with 64-bit bitmaps, `popcount` turning a slot into an index.
///
/// A leaf is a `UInt32`: 0 for "no route", else the matched prefix's length in the low 8 bits
/// and, above, whatever the owner chose (`PrefixIndex`: the interned attribute set), bit 31
/// clear; a direct entry with bit 31 set points at a node instead. A slot resolves every prefix that ends within its
/// stride: its leaf is the longest match among prefixes no longer than the slot's depth.
///
/// Updates are incremental (§3.5 rebuilds the affected subtree) and read the shape from the
/// trie itself: a slot is a child exactly while some prefix is longer than the slot's depth
/// below it. Adding a prefix either turns the first leaf slot on its path into a subtree
/// holding just it, or repaints the leaves it covers (re-compressing the one node it ends
/// in); removing one repaints them with the covering prefix's leaf and folds back every node
/// on its path left with one value and no children.
@usableFromInline
final class Poptrie<Address: TrieAddress> {
    /// Bits per node.
    @inlinable static var stride: Int { 6 }
    /// Marks a direct entry that points at a node.
    @inlinable static var nodeFlag: UInt32 { 1 << 31 }
    /// A leaf's low 8 bits: the length of the prefix it matched (0 for "no route").
    static var lengthMask: UInt32 { 0xff }

    /// Bits resolved by the direct array.
    @usableFromInline let directBits: Int
    @usableFromInline let direct: UnsafeMutablePointer<UInt32>
    private let directBytes: Int
    /// Every node, in blocks of siblings.
    @usableFromInline let nodes = BlockPool<TrieNode>()
    /// Every leaf run, in blocks per node.
    @usableFromInline let leaves = BlockPool<UInt32>()

    /// An empty trie (every address unmatched) pointing directly on the top `directBits`.
    init(directBits: Int) {
        self.directBits = directBits
        let capacity: Int
        (direct, capacity) = TrieMemory.allocate(UInt32.self, atLeast: 1 << directBits)
        direct.initialize(repeating: 0, count: capacity)
        directBytes = capacity * 4
    }

    deinit { TrieMemory.deallocate(direct, capacity: directBytes / 4) }

    /// Bytes held by the trie's arrays.
    var byteCount: Int { directBytes + nodes.byteCount + leaves.byteCount }

    /// The part of `byteCount` in mappings of its own (`TrieMemory`), which a heap count misses.
    var mappedByteCount: Int {
        (TrieMemory.isMapped(bytes: directBytes) ? directBytes : 0) + nodes.mappedByteCount + leaves.mappedByteCount
    }

    // MARK: - Lookup

    /// The leaf of the longest prefix holding `address` (0 if none). Reads the direct entry,
    /// then one node per stride; allocates nothing. The direct entry decides most lookups, so
    /// the node walk is a separate call: the common path stays a few instructions long and
    /// many lookups fit in flight at once (each is one cache miss).
    @inlinable
    func lookup(_ address: Address) -> UInt32 {
        let entry = direct[address.bits(at: 0, count: directBits)]
        if entry & Self.nodeFlag == 0 { return entry }
        return walk(from: entry, address)
    }

    /// `lookup` of every address of `addresses` into `results` (as many): first every direct
    /// entry, loads independent of one another and of any branch, so the memory serves them
    /// all at once; then the node walk for the entries that point at a node. Allocates nothing.
    @inlinable
    func lookup(_ addresses: UnsafeBufferPointer<Address>, into results: UnsafeMutablePointer<UInt32>) {
        let direct = self.direct, bits = directBits
        for i in 0..<addresses.count { results[i] = direct[addresses[i].bits(at: 0, count: bits)] }
        for i in 0..<addresses.count where results[i] & Self.nodeFlag != 0 {
            results[i] = walk(from: results[i], addresses[i])
        }
    }

    /// The rest of `lookup` below a direct entry that points at a node.
    @inlinable @inline(never)
    func walk(from entry: UInt32, _ address: Address) -> UInt32 {
        var node = nodes[Int(entry & ~Self.nodeFlag)]
        var offset = directBits
        while true {
            let slot = address.bits(at: offset, count: Self.stride)
            let bit = UInt64(1) &<< UInt64(slot)
            let upTo = (bit &<< 1) &- 1
            if node.vector & bit != 0 {
                node = nodes[Int(node.base1) &+ (node.vector & upTo).nonzeroBitCount &- 1]
                offset &+= Self.stride
            } else {
                return leaves[Int(node.base0) &+ (node.leafvec & upTo).nonzeroBitCount &- 1]
            }
        }
    }

    // MARK: - Updates

    /// Adds the prefix (`address` masked, `length`, not present) with leaf `value`. Where its
    /// leaves are repainted, those matched by a shorter prefix (or by none) become `value`: an
    /// address inside the prefix whose match is shorter than `length` matches the prefix's
    /// covering route, so the covering route's leaf need not be looked up.
    func insert(_ address: Address, length: Int, value: UInt32) {
        let covered = Repaint(shorterThan: length)
        if length <= directBits { return repaint(address, length: length, covered, to: value) }
        let slot = address.bits(at: 0, count: directBits)
        let entry = direct[slot]
        if entry & Self.nodeFlag == 0 {
            // Nothing was longer than the direct bits here: a subtree holding just this prefix.
            let child = nodes.allocate(1)
            nodes[child] = build(address, length: length, value: value, offset: directBits, inherited: entry)
            direct[slot] = Self.nodeFlag | UInt32(child)
            return
        }
        var index = Int(entry & ~Self.nodeFlag)
        var offset = directBits
        while length > offset + Self.stride {
            let node = nodes[index]
            let slot = address.bits(at: offset, count: Self.stride)
            guard node.vector & (UInt64(1) << UInt64(slot)) != 0 else {
                var image = NodeImage(node, pool: self)
                let child = build(address, length: length, value: value, offset: offset + Self.stride,
                                  inherited: image.values[slot])
                image.makeChild(slot)
                rewrite(index, from: image, editing: slot, adding: child)
                return
            }
            index = Int(node.base1) + (node.vector & ((UInt64(2) << UInt64(slot)) &- 1)).nonzeroBitCount - 1
            offset += Self.stride
        }
        repaint(inNode: index, offset: offset, address, length: length, covered, to: value)
    }

    /// Removes the prefix (`address` masked, `length`) whose leaf was `value`: its leaves
    /// become `outer`, the leaf of the longest prefix covering it, and nodes on its path left
    /// with nothing below fold back into leaves.
    func remove(_ address: Address, length: Int, value: UInt32, outer: UInt32) {
        relabel(address, length: length, from: value, to: outer)
        guard length > directBits else { return }
        // The nodes on the path down to the one the prefix ended in.
        var path = TriePath()
        let slot = address.bits(at: 0, count: directBits)
        var index = Int(direct[slot] & ~Self.nodeFlag)
        var offset = directBits
        while true {
            path.append(index)
            guard length > offset + Self.stride else { break }
            let node = nodes[index]
            let next = address.bits(at: offset, count: Self.stride)
            index = Int(node.base1) + (node.vector & ((UInt64(2) << UInt64(next)) &- 1)).nonzeroBitCount - 1
            offset += Self.stride
        }
        // Fold from the deepest: a node of one value inherited from above and no children is
        // that leaf.
        while let deepest = path.last, let value = inheritedValue(nodes[deepest], offset: offset) {
            path.removeLast()
            offset -= Self.stride
            freeSubtree(nodes[deepest])
            guard let parent = path.last else {
                nodes.free(deepest, count: 1)
                direct[slot] = value
                return
            }
            var image = NodeImage(nodes[parent], pool: self)
            let position = address.bits(at: offset, count: Self.stride)
            image.makeLeaf(position, value: value)
            rewrite(parent, from: image, editing: position, adding: nil)
        }
    }

    /// Repaints, among the addresses of the prefix (`address`, `length`), every leaf equal to
    /// `old` as `new`: the prefix's best route changed, or it was added or removed where the
    /// trie's shape stays. Within the prefix, a leaf equal to `old` is exactly an address whose
    /// longest match was `old`'s prefix.
    func relabel(_ address: Address, length: Int, from old: UInt32, to new: UInt32) {
        guard old != new else { return }
        repaint(address, length: length, Repaint(exactly: old), to: new)
    }

    // MARK: - Internals

    /// `relabel` of the leaves `old` picks.
    private func repaint(_ address: Address, length: Int, _ old: Repaint, to new: UInt32) {
        if length <= directBits {
            let first = address.bits(at: 0, count: directBits)
            for slot in first..<(first + 1 << (directBits - length)) {
                let entry = direct[slot]
                if entry & Self.nodeFlag != 0 {
                    relabelSubtree(Int(entry & ~Self.nodeFlag), from: old, to: new)
                } else if old.picks(entry) {
                    direct[slot] = new
                }
            }
            return
        }
        let offset = directBits + (length - directBits - 1) / Self.stride * Self.stride
        repaint(inNode: nodeIndex(on: address, at: offset), offset: offset, address, length: length, old, to: new)
    }

    /// `repaint` within the node at `index` (at `offset`) that the prefix ends in.
    private func repaint(inNode index: Int, offset: Int, _ address: Address, length: Int, _ old: Repaint, to new: UInt32) {
        let node = nodes[index]
        var image = NodeImage(node, pool: self)
        let first = address.bits(at: offset, count: Self.stride)
        for slot in first..<(first + 1 << (offset + Self.stride - length)) {
            if image.isChild(slot) {
                relabelSubtree(Int(node.base1) + image.childPosition(slot), from: old, to: new)
            } else if old.picks(image.values[slot]) {
                image.values[slot] = new
            }
        }
        rewriteLeaves(index, from: image)
    }

    /// The one value of a node at `offset` without children whose leaves all hold the same
    /// prefix no longer than `offset` (nothing ends in or below it), else nil. Two sibling
    /// prefixes with equal leaves can fill a node with one value that is not inherited.
    private func inheritedValue(_ node: TrieNode, offset: Int) -> UInt32? {
        guard node.vector == 0 else { return nil }
        let first = leaves[Int(node.base0)]
        guard Int(first & Self.lengthMask) <= offset else { return nil }
        for run in 1..<max(1, node.leafvec.nonzeroBitCount) where leaves[Int(node.base0) + run] != first { return nil }
        return first
    }

    /// The index of the node at `offset` on `address`'s path (it must exist).
    private func nodeIndex(on address: Address, at offset: Int) -> Int {
        let entry = direct[address.bits(at: 0, count: directBits)]
        precondition(entry & Self.nodeFlag != 0)
        var index = Int(entry & ~Self.nodeFlag)
        var depth = directBits
        while depth < offset {
            let node = nodes[index]
            let slot = address.bits(at: depth, count: Self.stride)
            precondition(node.vector & (UInt64(1) << UInt64(slot)) != 0)
            index = Int(node.base1) + (node.vector & ((UInt64(2) << UInt64(slot)) &- 1)).nonzeroBitCount - 1
            depth += Self.stride
        }
        return index
    }

    private func relabelSubtree(_ index: Int, from old: Repaint, to new: UInt32) {
        let node = nodes[index]
        for leaf in 0..<node.leafvec.nonzeroBitCount where old.picks(leaves[Int(node.base0) + leaf]) {
            leaves[Int(node.base0) + leaf] = new
        }
        for child in 0..<node.vector.nonzeroBitCount {
            relabelSubtree(Int(node.base1) + child, from: old, to: new)
        }
    }

    /// Frees a node's blocks and its descendants' (not the node's own slot).
    func freeSubtree(_ node: TrieNode) {
        let children = node.vector.nonzeroBitCount
        for child in 0..<children { freeSubtree(nodes[Int(node.base1) + child]) }
        if children > 0 { nodes.free(Int(node.base1), count: children) }
        let runs = node.leafvec.nonzeroBitCount
        if runs > 0 { leaves.free(Int(node.base0), count: runs) }
    }

    /// Stores `image` at `index`, whose slot `slot` alone changed between leaf and child:
    /// new leaf and children blocks, the children copied from the old block with `child`
    /// added at `slot` (or, without one, the old child at `slot` dropped); the old blocks freed.
    private func rewrite(_ index: Int, from image: NodeImage, editing slot: Int, adding child: TrieNode?) {
        let old = nodes[index]
        var node = image.encodeLeaves(into: self)
        node.vector = image.childMask
        let count = image.childCount
        if count > 0 {
            let base = nodes.allocate(count)
            let from = Int(old.base1)
            // Children below `slot` keep their places; the rest shift by the one added or dropped.
            let position = (image.childMask & ((UInt64(1) << UInt64(slot)) &- 1)).nonzeroBitCount
            for i in 0..<position { nodes[base + i] = nodes[from + i] }
            if let child {
                nodes[base + position] = child
                for i in position..<(count - 1) { nodes[base + i + 1] = nodes[from + i] }
            } else {
                for i in position..<count { nodes[base + i] = nodes[from + i + 1] }
            }
            node.base1 = UInt32(base)
        }
        if old.vector.nonzeroBitCount > 0 { nodes.free(Int(old.base1), count: old.vector.nonzeroBitCount) }
        if old.leafvec.nonzeroBitCount > 0 { leaves.free(Int(old.base0), count: old.leafvec.nonzeroBitCount) }
        nodes[index] = node
    }

    /// Stores `image`'s leaves at `index`, its children block unchanged.
    private func rewriteLeaves(_ index: Int, from image: NodeImage) {
        let old = nodes[index]
        var node = image.encodeLeaves(into: self)
        node.vector = old.vector
        node.base1 = old.base1
        if old.leafvec.nonzeroBitCount > 0 { leaves.free(Int(old.base0), count: old.leafvec.nonzeroBitCount) }
        nodes[index] = node
    }

    /// A fresh subtree at `offset` whose only prefix is (`address`, `length`) with leaf
    /// `value`: every slot `inherited`, the prefix's slots `value` if it ends within this
    /// stride, else one child on its path. Encoded straight into at most three leaf runs (or
    /// one leaf and one child), without a `NodeImage`: a long new prefix builds a chain of
    /// these, one per stride.
    private func build(_ address: Address, length: Int, value: UInt32, offset: Int, inherited: UInt32) -> TrieNode {
        let first = address.bits(at: offset, count: Self.stride)
        guard length <= offset + Self.stride else {
            let child = build(address, length: length, value: value, offset: offset + Self.stride, inherited: inherited)
            let base1 = nodes.allocate(1)
            nodes[base1] = child
            let base0 = leaves.allocate(1)
            leaves[base0] = inherited
            // The other 63 slots are one run of `inherited`, starting at the lowest of them.
            return TrieNode(vector: UInt64(1) << UInt64(first), leafvec: first == 0 ? 2 : 1,
                            base0: UInt32(base0), base1: UInt32(base1))
        }
        let end = first + 1 << (offset + Self.stride - length)
        // Runs: `inherited` before the prefix's slots, `value` on them, `inherited` after.
        var leafvec: UInt64 = 0
        var runs: (UInt32, UInt32, UInt32) = (0, 0, 0)
        var count = 0
        func run(_ leaf: UInt32, at slot: Int) {
            if count > 0 && leaf == (count == 1 ? runs.0 : runs.1) { return }
            leafvec |= UInt64(1) << UInt64(slot)
            switch count {
            case 0: runs.0 = leaf
            case 1: runs.1 = leaf
            default: runs.2 = leaf
            }
            count += 1
        }
        if first > 0 { run(inherited, at: 0) }
        run(value, at: first)
        if end < 64 { run(inherited, at: end) }
        let base0 = leaves.allocate(count)
        leaves[base0] = runs.0
        if count > 1 { leaves[base0 + 1] = runs.1 }
        if count > 2 { leaves[base0 + 2] = runs.2 }
        return TrieNode(vector: 0, leafvec: leafvec, base0: UInt32(base0), base1: 0)
    }
}

/// Which leaves a repaint changes: those equal to one leaf (a prefix's best route changed or
/// it went away), or those of prefixes shorter than a length, and "no route" (a prefix of
/// that length was added: inside it, exactly the addresses its covering route matched).
private struct Repaint {
    /// A leaf picked by value (0 with `shorterThan`, which picks "no route" anyway).
    let old: UInt32
    /// Leaves of prefixes shorter than this are picked too; -1 for none.
    let shorterThan: Int

    /// The leaves equal to `old`.
    init(exactly old: UInt32) { self.old = old; shorterThan = -1 }

    /// "No route" and the leaves of prefixes shorter than `length`.
    init(shorterThan length: Int) { old = 0; shorterThan = length }

    /// Whether `leaf` is repainted.
    func picks(_ leaf: UInt32) -> Bool {
        leaf == old || (shorterThan > 0 && Int(leaf & 0xff) < shorterThan)
    }
}
