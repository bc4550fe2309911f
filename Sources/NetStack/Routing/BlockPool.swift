/// Contiguous blocks of 1…64 elements in one growable buffer, addressed by index, with a
/// free list per block size. Poptrie keeps a node's children, and its leaves, contiguous so
/// that one base index plus a popcount finds any of them (Asai & Ohara, SIGCOMM 2015, §3.2,
/// where a buddy allocator serves the blocks); exact-size free lists do the same here, since
/// a block never holds more than 64 elements.
///
/// Reads go through a raw pointer without bounds checks or copy-on-write: the lookup hot path
/// reads blocks and must not pay for either. Indices stay valid across growth; pointers do not.
@usableFromInline
final class BlockPool<Element: BitwiseCopyable> {
    /// The largest block.
    static var maximumBlock: Int { 64 }

    @usableFromInline private(set) var storage: UnsafeMutablePointer<Element>
    private var capacity: Int
    /// Elements handed out or on a free list (the high-water mark).
    private(set) var used = 0
    /// Elements in live blocks.
    private(set) var live = 0
    private var freeBlocks: [[UInt32]] = Array(repeating: [], count: 64)

    /// An empty pool with room for `capacity` elements.
    init(capacity: Int = 64) {
        (storage, self.capacity) = TrieMemory.allocate(Element.self, atLeast: max(capacity, 64))
    }

    deinit { TrieMemory.deallocate(storage, capacity: capacity) }

    /// The element at `index`.
    @inlinable
    subscript(index: Int) -> Element {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    /// A block of `count` (1…64) elements, uninitialised; returns its first index.
    func allocate(_ count: Int) -> Int {
        precondition(count >= 1 && count <= Self.maximumBlock)
        live += count
        if let index = freeBlocks[count - 1].popLast() { return Int(index) }
        if used + count > capacity {
            // Grow by half: the heap is the figure a full table is measured by.
            let (bigger, grown) = TrieMemory.allocate(Element.self, atLeast: max(used + count, capacity + capacity / 2))
            bigger.update(from: storage, count: used)
            TrieMemory.deallocate(storage, capacity: capacity)
            storage = bigger
            capacity = grown
        }
        let index = used
        used += count
        return index
    }

    /// Returns the block of `count` elements at `index` to its free list.
    func free(_ index: Int, count: Int) {
        live -= count
        freeBlocks[count - 1].append(UInt32(index))
    }

    /// The buffer's bytes if it is a mapping of its own (`TrieMemory`), else 0.
    var mappedByteCount: Int {
        let bytes = capacity * MemoryLayout<Element>.stride
        return TrieMemory.isMapped(bytes: bytes) ? bytes : 0
    }

    /// Bytes held: the buffer and the free lists.
    var byteCount: Int {
        capacity * MemoryLayout<Element>.stride + freeBlocks.reduce(0) { $0 + $1.capacity * 4 }
    }
}
