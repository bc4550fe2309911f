/// A trie node's leaves expanded for editing: a leaf value per slot, and which slots are
/// children. `Poptrie` decodes a node into one, changes slots, and encodes it back,
/// re-compressing the leaves into runs (Poptrie's leaf compression, Asai & Ohara 2015, §3.4);
/// the children stay in the trie's own block, which `Poptrie` copies with the one child an
/// edit adds or drops. Updates only.
struct NodeImage {
    /// The leaf value of every slot (meaningless for a child slot).
    var values: InlineArray<64, UInt32>
    /// Bit i set: slot i is a child.
    private(set) var childMask: UInt64 = 0

    /// How many slots are children.
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
    }

    /// Whether slot `slot` is a child.
    func isChild(_ slot: Int) -> Bool { childMask & (UInt64(1) << UInt64(slot)) != 0 }

    /// The position of slot `slot`'s child among the children.
    func childPosition(_ slot: Int) -> Int { (childMask & ((UInt64(1) << UInt64(slot)) - 1)).nonzeroBitCount }

    /// Makes slot `slot` (a leaf) a child; the caller adds the child itself.
    mutating func makeChild(_ slot: Int) { childMask |= UInt64(1) << UInt64(slot) }

    /// Makes slot `slot` (a child) a leaf of `value`; the caller drops the child itself.
    mutating func makeLeaf(_ slot: Int, value: UInt32) {
        childMask &= ~(UInt64(1) << UInt64(slot))
        values[slot] = value
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
