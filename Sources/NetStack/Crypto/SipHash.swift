/// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed
/// pseudo-random function, the F of RFC 6528's initial sequence numbers. Streaming over
/// 64-bit words and bytes, without allocating.
public struct SipHash24 {
    private var v0: UInt64
    private var v1: UInt64
    private var v2: UInt64
    private var v3: UInt64
    private var tail: UInt64 = 0
    private var tailBytes = 0
    private var length = 0

    /// A hasher keyed by the 128-bit key (k0 is the first 8 key bytes, little-endian).
    public init(k0: UInt64, k1: UInt64) {
        v0 = 0x736f_6d65_7073_6575 ^ k0
        v1 = 0x646f_7261_6e64_6f6d ^ k1
        v2 = 0x6c79_6765_6e65_7261 ^ k0
        v3 = 0x7465_6462_7974_6573 ^ k1
    }

    private mutating func round() {
        v0 &+= v1; v1 = v1.rotatedLeft(13); v1 ^= v0; v0 = v0.rotatedLeft(32)
        v2 &+= v3; v3 = v3.rotatedLeft(16); v3 ^= v2
        v0 &+= v3; v3 = v3.rotatedLeft(21); v3 ^= v0
        v2 &+= v1; v1 = v1.rotatedLeft(17); v1 ^= v2; v2 = v2.rotatedLeft(32)
    }

    private mutating func compress(_ m: UInt64) {
        v3 ^= m
        round()
        round()
        v0 ^= m
    }

    /// Adds one byte.
    public mutating func append(_ byte: UInt8) {
        tail |= UInt64(byte) << UInt64(8 * tailBytes)
        tailBytes += 1
        length += 1
        if tailBytes == 8 {
            compress(tail)
            tail = 0
            tailBytes = 0
        }
    }

    /// Adds bytes.
    public mutating func append<C: Sequence>(contentsOf bytes: C) where C.Element == UInt8 {
        for byte in bytes { append(byte) }
    }

    /// Adds an integer's bytes, little-endian.
    public mutating func append(littleEndian value: UInt64, byteCount: Int = 8) {
        for i in 0..<byteCount { append(UInt8(truncatingIfNeeded: value >> UInt64(8 * i))) }
    }

    /// The 64-bit result.
    public func finalize() -> UInt64 {
        var copy = self
        let b = UInt64(truncatingIfNeeded: length) << 56 | copy.tail
        copy.compress(b)
        copy.v2 ^= 0xff
        copy.round(); copy.round(); copy.round(); copy.round()
        return copy.v0 ^ copy.v1 ^ copy.v2 ^ copy.v3
    }
}

extension UInt64 {
    @inline(__always) func rotatedLeft(_ n: UInt64) -> UInt64 { self << n | self >> (64 - n) }
}
