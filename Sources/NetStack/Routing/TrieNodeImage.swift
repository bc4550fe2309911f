/// A trie node expanded for editing: a leaf value per slot and the children in slot order.
/// `Poptrie` decodes a node into one, changes slots, and encodes it back, re-compressing the
/// leaves into runs (Poptrie's leaf compression, Asai & Ohara 2015, §3.4). Updates only.
struct NodeImage {
    /// The leaf value of every slot (meaningless for a child slot).
    var values: [UInt32]
    /// Bit i set: slot i is a child.
    private(set) var childMask: UInt64 = 0
    /// The children, in slot order.
    private(set) var children: [TrieNode] = []

    /// A node whose 64 slots are leaves of `inherited`.
    init(inherited: UInt32) {
        values = Array(repeating: inherited, count: 64)
    }

    /// The expansion of `node`, reading its blocks from `trie`.
    init<Address>(_ node: TrieNode, pool trie: Poptrie<Address>) {
        values = Array(repeating: 0, count: 64)
        childMask = node.vector
        for slot in 0..<64 where node.vector & (UInt64(1) << UInt64(slot)) == 0 {
            let upTo = (UInt64(2) << UInt64(slot)) &- 1
            values[slot] = trie.leaves[Int(node.base0) + (node.leafvec & upTo).nonzeroBitCount - 1]
        }
        let count = node.vector.nonzeroBitCount
        children.reserveCapacity(count + 1)
        for i in 0..<count { children.append(trie.nodes[Int(node.base1) + i]) }
    }

    /// Whether slot `slot` is a child.
    func isChild(_ slot: Int) -> Bool { childMask & (UInt64(1) << UInt64(slot)) != 0 }

    /// The position of slot `slot`'s child among the children.
    func childPosition(_ slot: Int) -> Int { (childMask & ((UInt64(1) << UInt64(slot)) - 1)).nonzeroBitCount }

    /// Makes slot `slot` (a leaf) a child.
    mutating func insertChild(_ node: TrieNode, at slot: Int) {
        children.insert(node, at: childPosition(slot))
        childMask |= UInt64(1) << UInt64(slot)
    }

    /// Makes slot `slot` a child while building slots in ascending order.
    mutating func appendChild(_ node: TrieNode, at slot: Int) {
        children.append(node)
        childMask |= UInt64(1) << UInt64(slot)
    }

    /// Makes slot `slot` (a child) a leaf again; returns the child.
    mutating func removeChild(at slot: Int) -> TrieNode {
        let child = children.remove(at: childPosition(slot))
        childMask &= ~(UInt64(1) << UInt64(slot))
        return child
    }

    /// A node holding only this image's leaves (`leafvec`, `base0`): one leaf per run of equal
    /// values among the leaf slots, in a block allocated from `trie`.
    func encodeLeaves<Address>(into trie: Poptrie<Address>) -> TrieNode {
        var leafvec: UInt64 = 0
        var runs: [UInt32] = []
        runs.reserveCapacity(64)
        for slot in 0..<64 where !isChild(slot) {
            if runs.last != values[slot] || runs.isEmpty {
                leafvec |= UInt64(1) << UInt64(slot)
                runs.append(values[slot])
            }
        }
        var base0 = 0
        if !runs.isEmpty {
            base0 = trie.leaves.allocate(runs.count)
            for (i, value) in runs.enumerated() { trie.leaves[base0 + i] = value }
        }
        return TrieNode(vector: 0, leafvec: leafvec, base0: UInt32(base0), base1: 0)
    }
}
