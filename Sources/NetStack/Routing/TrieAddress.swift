import Wire

/// An address family as the FIB's multibit trie sees it: a string of `width` bits read a few
/// at a time from the most significant end, and a compact hash key for a prefix of it.
/// `Poptrie` and `PrefixIndex` are generic over it so one implementation serves IPv4 and IPv6.
@usableFromInline
protocol TrieAddress: Hashable, Sendable {
    /// A prefix (address and length) as a small hashable, comparable value: the FIB's compact
    /// map is keyed by it, and a dump sorts by it (address, then length).
    associatedtype PrefixKey: Hashable, Comparable, Sendable

    /// 32 or 128.
    static var width: Int { get }
    /// Bits resolved by the direct-pointing array at the top of the trie (Poptrie §3.3).
    static var directBits: Int { get }
    /// The same for a large table, where a bigger array is worth its memory.
    static var largeDirectBits: Int { get }

    /// `count` bits (at most 18) starting at bit `offset` (0 = most significant), as an
    /// integer; bits past `width` read as zero.
    func bits(at offset: Int, count: Int) -> Int
    /// The address with bits `offset ..< offset + count` replaced by `value`'s low `count`
    /// bits (bits past `width` are dropped).
    func setting(bits value: Int, at offset: Int, count: Int) -> Self
    /// The address with every bit from `length` on cleared.
    func masked(to length: Int) -> Self
    /// The key of the prefix of `length` bits at this (masked) address.
    func prefixKey(length: Int) -> PrefixKey
    /// The prefix a key names.
    static func prefix(of key: PrefixKey) -> (address: Self, length: Int)
    /// The address as Wire's enum.
    var ipAddress: IPAddress { get }
}

/// IPv4 addresses as the trie reads them: 32 bits, top-aligned in a 64-bit word.
extension IPv4Address: TrieAddress {
    /// An IPv4 prefix in 40 bits: the masked address above an 8-bit length.
    @usableFromInline typealias PrefixKey = UInt64

    /// 32 bits.
    @usableFromInline static var width: Int { 32 }
    /// 18 bits: 1 MiB of direct pointing per table, the size Poptrie found fastest (§5).
    @usableFromInline static var directBits: Int { 18 }
    /// 24 bits for a full table (64 MiB, DIR-24-8's first level: Gupta, Lin & McKeown,
    /// INFOCOM 1998): nearly every lookup is one load, since nearly every prefix is /24 or
    /// shorter; the trie is too large for the caches either way, and a load that misses
    /// costs the same wherever it lands.
    @usableFromInline static var largeDirectBits: Int { 24 }

    /// `count` bits from `offset`, zeros past the address (`TrieAddress.bits`).
    @inlinable
    func bits(at offset: Int, count: Int) -> Int {
        // Top-aligned in 64 bits, so an offset up to 32 + 6 reads zeros past the address.
        Int(truncatingIfNeeded: ((UInt64(value) &<< 32) &<< UInt64(truncatingIfNeeded: offset)) &>> UInt64(truncatingIfNeeded: 64 &- count))
    }

    /// The address with a field replaced (`TrieAddress.setting`).
    @usableFromInline func setting(bits field: Int, at offset: Int, count: Int) -> IPv4Address {
        let shift = 64 - offset - count
        let mask = ((UInt64(1) << UInt64(count)) - 1) << UInt64(shift)
        let word = (UInt64(value) << 32) & ~mask | (UInt64(field) << UInt64(shift)) & mask
        return IPv4Address(UInt32(truncatingIfNeeded: word >> 32))
    }

    /// The address with the bits from `length` on cleared.
    @usableFromInline func masked(to length: Int) -> IPv4Address {
        IPv4Address(length == 0 ? 0 : value & ~UInt32(0) << UInt32(32 - length))
    }

    /// The key of this prefix.
    @usableFromInline func prefixKey(length: Int) -> UInt64 { UInt64(value) << 8 | UInt64(length) }

    /// The prefix a key names.
    @usableFromInline static func prefix(of key: UInt64) -> (address: IPv4Address, length: Int) {
        (IPv4Address(UInt32(truncatingIfNeeded: key >> 8)), Int(key & 0xff))
    }

    /// `.v4(self)`.
    @usableFromInline var ipAddress: IPAddress { .v4(self) }
}

/// An IPv6 prefix as a hash key: the masked address and the length.
@usableFromInline
struct IPv6PrefixKey: Hashable, Comparable, Sendable {
    /// Bits 0–63 of the masked address.
    var high: UInt64
    /// Bits 64–127 of the masked address.
    var low: UInt64
    /// The prefix length, 0…128.
    var length: UInt8

    /// By address, then length (a dump's order).
    @usableFromInline static func < (a: Self, b: Self) -> Bool { (a.high, a.low, a.length) < (b.high, b.low, b.length) }
}

/// IPv6 addresses as the trie reads them: 128 bits in two 64-bit halves.
extension IPv6Address: TrieAddress {
    /// An IPv6 prefix: both halves and the length.
    @usableFromInline typealias PrefixKey = IPv6PrefixKey

    /// 128 bits.
    @usableFromInline static var width: Int { 128 }
    /// 16 bits: the IPv6 table is small and its prefixes start at /19–/29.
    @usableFromInline static var directBits: Int { 16 }
    /// IPv6 tables stay at 16 bits: 230k prefixes would not pay for a larger array.
    @usableFromInline static var largeDirectBits: Int { 16 }

    /// `count` bits from `offset`, zeros past the address (`TrieAddress.bits`).
    @inlinable
    func bits(at offset: Int, count: Int) -> Int {
        let word: UInt64
        if offset == 0 {
            word = high
        } else if offset < 64 {
            word = (high &<< UInt64(offset)) | (low &>> UInt64(64 - offset))
        } else if offset < 128 {
            word = low &<< UInt64(offset - 64)
        } else {
            word = 0
        }
        return Int(truncatingIfNeeded: word &>> UInt64(truncatingIfNeeded: 64 &- count))
    }

    /// The address with a field replaced (`TrieAddress.setting`).
    @usableFromInline func setting(bits field: Int, at offset: Int, count: Int) -> IPv6Address {
        let end = offset + count
        var high = self.high, low = self.low
        if offset < 64 {
            let highEnd = min(end, 64), n = highEnd - offset
            let part = UInt64(field) >> UInt64(end - highEnd)
            let mask = ((UInt64(1) << UInt64(n)) - 1) << UInt64(64 - highEnd)
            high = high & ~mask | (part << UInt64(64 - highEnd)) & mask
        }
        if end > 64 && offset < 128 {
            let lowStart = max(offset, 64) - 64, lowEnd = min(end, 128) - 64, n = lowEnd - lowStart
            let part = UInt64(field) >> UInt64(end - 64 - lowEnd)
            let mask = ((UInt64(1) << UInt64(n)) - 1) << UInt64(64 - lowEnd)
            low = low & ~mask | (part << UInt64(64 - lowEnd)) & mask
        }
        return IPv6Address(high: high, low: low)
    }

    /// The address with the bits from `length` on cleared.
    @usableFromInline func masked(to length: Int) -> IPv6Address {
        let highMask: UInt64 = length == 0 ? 0 : length >= 64 ? ~0 : ~UInt64(0) << UInt64(64 - length)
        let lowMask: UInt64 = length <= 64 ? 0 : length == 128 ? ~0 : ~UInt64(0) << UInt64(128 - length)
        return IPv6Address(high: high & highMask, low: low & lowMask)
    }

    /// The key of this prefix.
    @usableFromInline func prefixKey(length: Int) -> IPv6PrefixKey { IPv6PrefixKey(high: high, low: low, length: UInt8(length)) }

    /// The prefix a key names.
    @usableFromInline static func prefix(of key: IPv6PrefixKey) -> (address: IPv6Address, length: Int) {
        (IPv6Address(high: key.high, low: key.low), Int(key.length))
    }

    /// `.v6(self)`.
    @usableFromInline var ipAddress: IPAddress { .v6(self) }
}
