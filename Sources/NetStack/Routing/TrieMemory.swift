import Glibc

/// Memory for the trie's arrays. Lookups touch them at random, so from 2 MiB on (the 24-bit
/// direct array, a full table's node and leaf pools) they get a mapping of their own, aligned
/// to a huge page and advised onto transparent huge pages (`madvise(MADV_HUGEPAGE)`, as
/// DPDK's LPM tables use huge pages) before a byte is touched: every page then faults in
/// huge, and a lookup's load rarely misses the TLB as well as the cache. (An array from
/// `malloc` reuses heap pages already faulted in small, so only part of it went huge.) Where
/// the kernel has no huge pages the advice fails and the mapping stays on small pages.
/// Smaller arrays (a small table's 1 MiB direct array) come from `malloc` on ordinary pages,
/// which the TLB covers anyway.
enum TrieMemory {
    /// A huge page.
    static var hugePage: Int { 2 << 20 }

    /// Room for at least `count` elements: the pointer and the count it holds. Pass that
    /// count back to `deallocate`.
    static func allocate<Element>(_ type: Element.Type, atLeast count: Int) -> (UnsafeMutablePointer<Element>, Int) {
        let stride = MemoryLayout<Element>.stride
        var bytes = max(count, 1) * stride
        let raw: UnsafeMutableRawPointer
        if bytes >= hugePage {
            bytes = (bytes + hugePage - 1) / hugePage * hugePage
            raw = mapHuge(bytes)
        } else {
            var pointer: UnsafeMutableRawPointer?
            guard posix_memalign(&pointer, max(MemoryLayout<Element>.alignment, 16), bytes) == 0, let pointer else {
                fatalError("FIB: out of memory")
            }
            raw = pointer
        }
        return (raw.bindMemory(to: Element.self, capacity: bytes / stride), bytes / stride)
    }

    /// Frees what `allocate` returned; `capacity` is the count it returned.
    static func deallocate<Element>(_ pointer: UnsafeMutablePointer<Element>, capacity: Int) {
        let bytes = capacity * MemoryLayout<Element>.stride
        if isMapped(bytes: bytes) {
            munmap(pointer, bytes)
        } else {
            free(pointer)
        }
    }

    /// Whether an array of `bytes` (as `allocate` rounded them) lives in a mapping of its
    /// own rather than on the heap: what a heap count misses.
    static func isMapped(bytes: Int) -> Bool { bytes >= hugePage }

    /// `bytes` (a multiple of a huge page) of zeroed memory aligned to a huge page: a mapping
    /// one huge page larger, trimmed at both ends, advised onto huge pages.
    private static func mapHuge(_ bytes: Int) -> UnsafeMutableRawPointer {
        let span = bytes + hugePage
        guard let mapped = mmap(nil, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED else {
            fatalError("FIB: out of memory")
        }
        let start = Int(bitPattern: mapped)
        let aligned = (start + hugePage - 1) / hugePage * hugePage
        if aligned > start { munmap(mapped, aligned - start) }
        let end = aligned + bytes
        if start + span > end { munmap(UnsafeMutableRawPointer(bitPattern: end), start + span - end) }
        let raw = UnsafeMutableRawPointer(bitPattern: aligned)!
        _ = madvise(raw, bytes, Int32(MADV_HUGEPAGE))
        return raw
    }
}
