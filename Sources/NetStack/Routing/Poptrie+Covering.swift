/// Finding a prefix's covering route from the trie's own leaves, before the prefix is removed,
/// so that a delete rarely probes the prefix map at every shorter length.
///
/// A leaf slot of depth `D` (the direct bits, or a node's offset plus its stride) holds the
/// longest match among prefixes no longer than `D`. Take the prefix P (`length` L) and one of
/// its enclosing blocks, of length `level` < L: the slots of that block outside P's block of
/// length `level + 1` (the "sibling half"). If such a slot is a leaf whose length is at most
/// `level`, that leaf's prefix Q contains the whole `level` block and so covers P; and no
/// prefix of a length between Q's and `level` covers P, since it would contain the slot too and
/// the slot's leaf would be longer. Only prefixes longer than `level` (and shorter than L) can
/// cover P unseen: the caller probes just those lengths.
extension Poptrie {
    /// Sibling slots of the direct array scanned at most, before giving up on it.
    private static var directScanBudget: Int { 256 }

    /// A covering leaf of the prefix (`address` masked, `length`, present) seen in the trie:
    /// `leaf` is the leaf of the longest prefix no longer than `level` that covers it (0 if
    /// none), `level` < `length`. Nil when the slots near the prefix show none (every one
    /// overridden by longer prefixes, or too many to scan). Reads the nodes on the prefix's
    /// path, deepest first; allocates nothing.
    func coveringHint(_ address: Address, length: Int) -> (leaf: UInt32, level: Int)? {
        guard length > 0 else { return nil }
        var level = length - 1
        if length > directBits {
            // The nodes on the path down to the one the prefix ends in.
            var path = TriePath()
            var index = Int(direct[address.bits(at: 0, count: directBits)] & ~Self.nodeFlag)
            var offset = directBits
            while true {
                path.append(index)
                guard length > offset + Self.stride else { break }
                let node = nodes[index]
                let slot = address.bits(at: offset, count: Self.stride)
                index = Int(node.base1) + (node.vector & ((UInt64(2) << UInt64(slot)) &- 1)).nonzeroBitCount - 1
                offset += Self.stride
            }
            while let deepest = path.last {
                path.removeLast()
                if let leaf = siblingLeaf(in: nodes[deepest], offset: offset, address, level: &level) { return (leaf, level) }
                offset -= Self.stride
            }
        }
        // The direct array: the sibling halves double at each level up.
        let first = address.bits(at: 0, count: directBits)
        var budget = Self.directScanBudget
        while level >= 0 {
            let half = 1 << (directBits - 1 - level)
            guard half <= budget else { return nil }
            budget -= half
            let sibling = (first & ~(half - 1)) ^ half
            for slot in sibling..<(sibling + half) {
                let entry = direct[slot]
                if entry & Self.nodeFlag == 0 && Int(entry & Self.lengthMask) <= level { return (entry, level) }
            }
            level -= 1
        }
        return nil
    }

    /// Within `node` (at `offset`), for `level` from its value down to `offset`: a leaf in the
    /// sibling half of the address's `level` block no longer than `level`. Leaves `level` at
    /// the one found, else at `offset - 1`.
    private func siblingLeaf(in node: TrieNode, offset: Int, _ address: Address, level: inout Int) -> UInt32? {
        let first = address.bits(at: offset, count: Self.stride)
        while level >= offset {
            let half = 1 << (offset + Self.stride - 1 - level)
            let sibling = (first & ~(half - 1)) ^ half
            for slot in sibling..<(sibling + half) where node.vector & (UInt64(1) << UInt64(slot)) == 0 {
                let run = (node.leafvec & ((UInt64(2) << UInt64(slot)) &- 1)).nonzeroBitCount - 1
                let leaf = leaves[Int(node.base0) + run]
                if Int(leaf & Self.lengthMask) <= level { return leaf }
            }
            level -= 1
        }
        return nil
    }
}
