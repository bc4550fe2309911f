import Glibc

/// Memory for the trie's arrays. Lookups touch them at random, so from 2 MiB on (the 24-bit
/// direct array, a full table's node and leaf pools) they are put on transparent huge pages
/// (`madvise(MADV_HUGEPAGE)`, as DPDK's LPM tables use huge pages): a lookup's load then
/// rarely misses the TLB as well as the cache. Smaller arrays (a small table's 1 MiB direct
/// array) stay on ordinary pages, which the TLB covers anyway.
enum TrieMemory {
    /// A huge page.
    static var hugePage: Int { 2 << 20 }

    /// Room for at least `count` elements: the pointer and the count it holds.
    static func allocate<Element>(_ type: Element.Type, atLeast count: Int) -> (UnsafeMutablePointer<Element>, Int) {
        var bytes = max(count, 1) * MemoryLayout<Element>.stride
        var raw: UnsafeMutableRawPointer?
        let huge = bytes >= hugePage
        if huge { bytes = (bytes + hugePage - 1) / hugePage * hugePage }
        guard posix_memalign(&raw, huge ? hugePage : max(MemoryLayout<Element>.alignment, 16), bytes) == 0, let raw else {
            fatalError("FIB: out of memory")
        }
        if huge { _ = madvise(raw, bytes, Int32(MADV_HUGEPAGE)) }
        return (raw.bindMemory(to: Element.self, capacity: bytes / MemoryLayout<Element>.stride),
                bytes / MemoryLayout<Element>.stride)
    }

    /// Frees what `allocate` returned.
    static func deallocate<Element>(_ pointer: UnsafeMutablePointer<Element>) { free(pointer) }
}
