/// A trie node (Poptrie's `node`, Asai & Ohara, SIGCOMM 2015, §3.2): 6 bits of the address
/// choose one of 64 slots; `vector` marks the slots that lead to a child node, whose nodes lie
/// contiguously from `base1`; the other slots are leaves, compressed into runs of equal value
/// (`leafvec` marks where a run starts) lying contiguously from `base0`.
struct TrieNode: BitwiseCopyable {
    /// Bit i set: slot i is a child node.
    var vector: UInt64
    /// Bit i set: slot i is a leaf that starts a new run (leaf compression, §3.4).
    var leafvec: UInt64
    /// Index of the first leaf in `Poptrie.leaves`.
    var base0: UInt32
    /// Index of the first child in `Poptrie.nodes`.
    var base1: UInt32
}

/// What a trie needs from the prefixes it indexes: the leaf of one prefix, and whether any
/// prefix is longer than a stride boundary below a point (then that slot needs a child node).
protocol TrieSource<Address> {
    /// The address family.
    associatedtype Address: TrieAddress
    /// The leaf value of the prefix (`address` masked, `length`), 0 if absent.
    func leaf(_ address: Address, length: Int) -> UInt32
    /// Whether a prefix longer than `length` lies below (`address`, `length`).
    func hasLonger(than length: Int, under address: Address) -> Bool
}

/// Longest-prefix match in the manner of Poptrie (Asai & Ohara, "Poptrie: A Compressed Trie
/// with Population Count for Fast and Scalable Software IP Routing Table Lookup", SIGCOMM
/// 2015): a direct-pointing array on the top `directBits`, then 6-bit strides through nodes
/// with 64-bit bitmaps, `popcount` turning a slot into an index.
///
/// A leaf is a `UInt32`: 0 for "no route", else what the owner chose (`PrefixIndex` packs the
/// interned attribute set and the matched prefix length) with bit 31 clear; a direct entry with
/// bit 31 set points at a node instead. A slot resolves every prefix that ends within its
/// stride: its leaf is the longest match among prefixes no longer than the slot's depth.
///
/// Updates are incremental (§3.5 rebuilds the affected subtree): `grow` and `shrink` turn one
/// slot into a subtree built from the source or back into a leaf, and `relabel` repaints the
/// leaves a changed prefix covers, re-compressing only the node the prefix ends in.
final class Poptrie<Address: TrieAddress> {
    /// Bits per node.
    static var stride: Int { 6 }
    /// Marks a direct entry that points at a node.
    static var nodeFlag: UInt32 { 1 << 31 }

    private let direct: UnsafeMutablePointer<UInt32>
    /// Every node, in blocks of siblings.
    let nodes = BlockPool<TrieNode>()
    /// Every leaf run, in blocks per node.
    let leaves = BlockPool<UInt32>()

    /// An empty trie: every address unmatched.
    init() {
        direct = .allocate(capacity: 1 << Address.directBits)
        direct.initialize(repeating: 0, count: 1 << Address.directBits)
    }

    deinit { direct.deallocate() }

    /// Bytes held by the trie's arrays.
    var byteCount: Int { (4 << Address.directBits) + nodes.byteCount + leaves.byteCount }

    // MARK: - Lookup

    /// The leaf of the longest prefix holding `address` (0 if none). Reads the direct entry,
    /// then one node per stride; allocates nothing.
    @inline(__always)
    func lookup(_ address: Address) -> UInt32 {
        let entry = direct[address.bits(at: 0, count: Address.directBits)]
        if entry & Self.nodeFlag == 0 { return entry }
        var node = nodes[Int(entry & ~Self.nodeFlag)]
        var offset = Address.directBits
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

    /// Turns the slot of the prefix (`address`, `boundary`) — a leaf until now — into a
    /// subtree built from `source`; its leaf becomes the subtree's inherited default.
    /// `boundary` is `directBits` plus a multiple of the stride.
    func grow(_ address: Address, boundary: Int, source: some TrieSource<Address>) {
        if boundary == Address.directBits {
            let slot = address.bits(at: 0, count: boundary)
            let inherited = direct[slot]
            precondition(inherited & Self.nodeFlag == 0)
            let child = nodes.allocate(1)
            nodes[child] = build(address.masked(to: boundary), offset: boundary, inherited: inherited, source: source)
            direct[slot] = Self.nodeFlag | UInt32(child)
            return
        }
        let parent = nodeIndex(on: address, at: boundary - Self.stride)
        var image = NodeImage(nodes[parent], pool: self)
        let slot = address.bits(at: boundary - Self.stride, count: Self.stride)
        precondition(!image.isChild(slot))
        let child = build(address.masked(to: boundary), offset: boundary, inherited: image.values[slot], source: source)
        image.insertChild(child, at: slot)
        rewrite(parent, from: image)
    }

    /// Turns the slot of (`address`, `boundary`) — a subtree until now — back into a leaf of
    /// `value`, freeing the subtree.
    func shrink(_ address: Address, boundary: Int, to value: UInt32) {
        if boundary == Address.directBits {
            let slot = address.bits(at: 0, count: boundary)
            let entry = direct[slot]
            precondition(entry & Self.nodeFlag != 0)
            let child = Int(entry & ~Self.nodeFlag)
            freeSubtree(nodes[child])
            nodes.free(child, count: 1)
            direct[slot] = value
            return
        }
        let parent = nodeIndex(on: address, at: boundary - Self.stride)
        var image = NodeImage(nodes[parent], pool: self)
        let slot = address.bits(at: boundary - Self.stride, count: Self.stride)
        precondition(image.isChild(slot))
        freeSubtree(image.removeChild(at: slot))
        image.values[slot] = value
        rewrite(parent, from: image)
    }

    /// Repaints, among the addresses of the prefix (`address`, `length`), every leaf equal to
    /// `old` as `new`: a prefix was added, removed or changed its best route, and the trie's
    /// shape stays (every node on its path exists). Within the prefix, a leaf equal to `old`
    /// is exactly an address whose longest match was `old`'s prefix.
    func relabel(_ address: Address, length: Int, from old: UInt32, to new: UInt32) {
        guard old != new else { return }
        if length <= Address.directBits {
            let first = address.bits(at: 0, count: Address.directBits)
            for slot in first..<(first + 1 << (Address.directBits - length)) {
                let entry = direct[slot]
                if entry & Self.nodeFlag != 0 {
                    relabelSubtree(Int(entry & ~Self.nodeFlag), from: old, to: new)
                } else if entry == old {
                    direct[slot] = new
                }
            }
            return
        }
        let offset = Address.directBits + (length - Address.directBits - 1) / Self.stride * Self.stride
        let index = nodeIndex(on: address, at: offset)
        let node = nodes[index]
        var image = NodeImage(node, pool: self)
        let first = address.bits(at: offset, count: Self.stride)
        for slot in first..<(first + 1 << (offset + Self.stride - length)) {
            if image.isChild(slot) {
                relabelSubtree(Int(node.base1) + image.childPosition(slot), from: old, to: new)
            } else if image.values[slot] == old {
                image.values[slot] = new
            }
        }
        rewriteLeaves(index, from: image)
    }

    // MARK: - Internals

    /// The index of the node at `offset` on `address`'s path (it must exist).
    private func nodeIndex(on address: Address, at offset: Int) -> Int {
        let entry = direct[address.bits(at: 0, count: Address.directBits)]
        precondition(entry & Self.nodeFlag != 0)
        var index = Int(entry & ~Self.nodeFlag)
        var depth = Address.directBits
        while depth < offset {
            let node = nodes[index]
            let slot = address.bits(at: depth, count: Self.stride)
            precondition(node.vector & (UInt64(1) << UInt64(slot)) != 0)
            index = Int(node.base1) + (node.vector & ((UInt64(2) << UInt64(slot)) &- 1)).nonzeroBitCount - 1
            depth += Self.stride
        }
        return index
    }

    private func relabelSubtree(_ index: Int, from old: UInt32, to new: UInt32) {
        let node = nodes[index]
        for leaf in 0..<node.leafvec.nonzeroBitCount where leaves[Int(node.base0) + leaf] == old {
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

    /// Stores `image` at `index`: new children and leaf blocks, the old ones freed.
    private func rewrite(_ index: Int, from image: NodeImage) {
        let old = nodes[index]
        let node = encode(image)
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

    /// A fresh subtree for the prefix (`base`, `offset`): its slots' leaves painted from the
    /// source's prefixes of lengths `offset + 1 … offset + 6`, shortest first over
    /// `inherited`, and a child wherever a longer prefix lies below a slot.
    func build(_ base: Address, offset: Int, inherited: UInt32, source: some TrieSource<Address>) -> TrieNode {
        var image = NodeImage(inherited: inherited)
        for length in (offset + 1)...min(offset + Self.stride, Address.width) {
            let bits = length - offset, span = 1 << (Self.stride - bits)
            for field in 0..<(1 << bits) {
                let value = source.leaf(base.setting(bits: field, at: offset, count: bits), length: length)
                if value != 0 {
                    for slot in (field * span)..<((field + 1) * span) { image.values[slot] = value }
                }
            }
        }
        let depth = offset + Self.stride
        if depth < Address.width {
            for slot in 0..<64 {
                let child = base.setting(bits: slot, at: offset, count: Self.stride)
                if source.hasLonger(than: depth, under: child) {
                    image.appendChild(build(child, offset: depth, inherited: image.values[slot], source: source), at: slot)
                }
            }
        }
        return encode(image)
    }

    /// A node holding `image`: its leaf runs and its children in new blocks.
    private func encode(_ image: NodeImage) -> TrieNode {
        var node = image.encodeLeaves(into: self)
        node.vector = image.childMask
        if !image.children.isEmpty {
            let base = nodes.allocate(image.children.count)
            for (i, child) in image.children.enumerated() { nodes[base + i] = child }
            node.base1 = UInt32(base)
        }
        return node
    }
}
