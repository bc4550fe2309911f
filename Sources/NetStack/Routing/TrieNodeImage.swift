/// A trie node expanded for editing: a leaf value per slot and the children in slot order.
/// `Poptrie` decodes a node into one, changes slots, and encodes it back, re-compressing the
/// leaves into runs (Poptrie's leaf compression, Asai & Ohara 2015, §3.4). Updates only.
struct NodeImage {
    /// The leaf value of every slot (meaningless for a child slot).
    var values: InlineArray<64, UInt32>
    /// Bit i set: slot i is a child.
    private(set) var childMask: UInt64 = 0
    /// The children, in slot order: the first `childCount` elements. Inline, as `values`
    /// is, so that an edit allocates nothing.
    private(set) var children = InlineArray<64, TrieNode>(repeating: TrieNode(vector: 0, leafvec: 0, base0: 0, base1: 0))

    /// How many of `children` are in use.
    var childCount: Int { childMask.nonzeroBitCount }

    /// A node whose 64 slots are leaves of `inherited`.
    init(inherited: UInt32) {
        values = InlineArray(repeating: inherited)
    }

    /// The expansion of `node`, reading its blocks from `trie`.
    init<Address>(_ node: TrieNode, pool trie: Poptrie<Address>) {
        values = InlineArray(repeating: 0)
        childMask = node.vector
        // Walk the leaf slots in order, stepping to the next run where `leafvec` starts one.
        var run = Int(node.base0) - 1
        for slot in 0..<64 where node.vector & (UInt64(1) << UInt64(slot)) == 0 {
            if node.leafvec & (UInt64(1) << UInt64(slot)) != 0 { run += 1 }
            values[slot] = trie.leaves[run]
        }
        for i in 0..<node.vector.nonzeroBitCount { children[i] = trie.nodes[Int(node.base1) + i] }
    }

    /// Whether slot `slot` is a child.
    func isChild(_ slot: Int) -> Bool { childMask & (UInt64(1) << UInt64(slot)) != 0 }

    /// The position of slot `slot`'s child among the children.
    func childPosition(_ slot: Int) -> Int { (childMask & ((UInt64(1) << UInt64(slot)) - 1)).nonzeroBitCount }

    /// Makes slot `slot` (a leaf) a child.
    mutating func insertChild(_ node: TrieNode, at slot: Int) {
        let position = childPosition(slot)
        var i = childCount
        while i > position {
            children[i] = children[i - 1]
            i -= 1
        }
        children[position] = node
        childMask |= UInt64(1) << UInt64(slot)
    }

    /// Makes slot `slot` a child while building slots in ascending order.
    mutating func appendChild(_ node: TrieNode, at slot: Int) {
        children[childCount] = node
        childMask |= UInt64(1) << UInt64(slot)
    }

    /// Makes slot `slot` (a child) a leaf again; returns the child.
    mutating func removeChild(at slot: Int) -> TrieNode {
        let position = childPosition(slot)
        let child = children[position]
        for i in position..<(childCount - 1) { children[i] = children[i + 1] }
        childMask &= ~(UInt64(1) << UInt64(slot))
        return child
    }

    /// A node holding only this image's leaves (`leafvec`, `base0`): one leaf per run of equal
    /// values among the leaf slots, in a block allocated from `trie`.
    func encodeLeaves<Address>(into trie: Poptrie<Address>) -> TrieNode {
        var leafvec: UInt64 = 0
        var last: UInt32? = nil
        for slot in 0..<64 where !isChild(slot) && values[slot] != last {
            leafvec |= UInt64(1) << UInt64(slot)
            last = values[slot]
        }
        var base0 = 0
        if leafvec != 0 {
            base0 = trie.leaves.allocate(leafvec.nonzeroBitCount)
            var run = base0 - 1
            for slot in 0..<64 where leafvec & (UInt64(1) << UInt64(slot)) != 0 {
                run += 1
                trie.leaves[run] = values[slot]
            }
        }
        return TrieNode(vector: 0, leafvec: leafvec, base0: UInt32(base0), base1: 0)
    }
}
