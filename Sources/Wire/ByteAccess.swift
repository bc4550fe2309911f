// Fixed-width loads and stores at byte offsets: the only raw indexing in srouter, and only
// views and emitters in this module use it. Callers check bounds first (each view's
// `init(checking:)`, each emitter's precondition); the loads are unaligned and allocate nothing.

extension UnsafeRawBufferPointer {
    /// The byte at `offset`.
    @inline(__always) func byte(at offset: Int) -> UInt8 {
        load(fromByteOffset: offset, as: UInt8.self)
    }

    /// The big-endian (network order) 16-bit value at `offset`.
    @inline(__always) func bigEndian16(at offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    /// The big-endian 32-bit value at `offset`.
    @inline(__always) func bigEndian32(at offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// The big-endian 64-bit value at `offset`.
    @inline(__always) func bigEndian64(at offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The little-endian 16-bit value at `offset` (netlink's host-order integers).
    @inline(__always) func littleEndian16(at offset: Int) -> UInt16 {
        UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    /// The little-endian 32-bit value at `offset` (WireGuard's integers).
    @inline(__always) func littleEndian32(at offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// The little-endian 64-bit value at `offset`.
    @inline(__always) func littleEndian64(at offset: Int) -> UInt64 {
        UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The IPv4 address in the 4 bytes at `offset`.
    @inline(__always) func ipv4Address(at offset: Int) -> IPv4Address {
        IPv4Address(bigEndian32(at: offset))
    }

    /// The IPv6 address in the 16 bytes at `offset`.
    @inline(__always) func ipv6Address(at offset: Int) -> IPv6Address {
        IPv6Address(high: bigEndian64(at: offset), low: bigEndian64(at: offset + 8))
    }

    /// The bytes `offset..<offset+count`, as a view rebased to start at 0.
    @inline(__always) func bytes(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[offset..<(offset + count)])
    }

    /// The bytes from `offset` to the end, rebased.
    @inline(__always) func bytes(from offset: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[offset...])
    }
}

extension UnsafeMutableRawBufferPointer {
    /// Stores a byte at `offset`.
    @inline(__always) func storeByte(_ value: UInt8, at offset: Int) {
        storeBytes(of: value, toByteOffset: offset, as: UInt8.self)
    }

    /// Stores a 16-bit value big-endian at `offset`.
    @inline(__always) func storeBigEndian16(_ value: UInt16, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
    }

    /// Stores a 32-bit value big-endian at `offset`.
    @inline(__always) func storeBigEndian32(_ value: UInt32, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
    }

    /// Stores a 64-bit value big-endian at `offset`.
    @inline(__always) func storeBigEndian64(_ value: UInt64, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt64.self)
    }

    /// Stores a 16-bit value little-endian at `offset`.
    @inline(__always) func storeLittleEndian16(_ value: UInt16, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt16.self)
    }

    /// Stores a 32-bit value little-endian at `offset`.
    @inline(__always) func storeLittleEndian32(_ value: UInt32, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }

    /// Stores a 64-bit value little-endian at `offset`.
    @inline(__always) func storeLittleEndian64(_ value: UInt64, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
    }

    /// Stores an IPv4 address in network order at `offset`.
    @inline(__always) func storeIPv4Address(_ address: IPv4Address, at offset: Int) {
        storeBigEndian32(address.value, at: offset)
    }

    /// Stores an IPv6 address in network order at `offset`.
    @inline(__always) func storeIPv6Address(_ address: IPv6Address, at offset: Int) {
        storeBigEndian64(address.high, at: offset)
        storeBigEndian64(address.low, at: offset + 8)
    }

    /// Zeroes `offset..<offset+count`.
    @inline(__always) func zero(_ offset: Int, _ count: Int) {
        guard count > 0 else { return }
        UnsafeMutableRawBufferPointer(rebasing: self[offset..<(offset + count)]).initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// Copies `source` to `offset` (at most `count` bytes; the rest of `count` is zeroed).
    @inline(__always) func copy(_ source: UnsafeRawBufferPointer, to offset: Int, count: Int) {
        let n = Swift.min(count, source.count)
        if n > 0 {
            UnsafeMutableRawBufferPointer(rebasing: self[offset..<(offset + n)]).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<n]))
        }
        zero(offset + n, count - n)
    }

    /// Copies a byte collection to `offset` (contiguous collections in one move).
    func store<C: Collection>(_ bytes: C, at offset: Int) where C.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { copy(UnsafeRawBufferPointer($0), to: offset, count: $0.count) }
        if done == nil {
            var index = offset
            for byte in bytes { storeByte(byte, at: index); index += 1 }
        }
    }

    /// The whole buffer, read-only.
    @inline(__always) var readOnly: UnsafeRawBufferPointer { UnsafeRawBufferPointer(self) }
}

/// Runs `body` over the contiguous bytes of `bytes` (an array slice), converting a typed
/// error out of the closure.
@inline(__always)
func withBytes<R>(_ bytes: ArraySlice<UInt8>, _ body: (UnsafeRawBufferPointer) throws(WireError) -> R) throws(WireError) -> R {
    let result: Result<R, WireError> = bytes.withUnsafeBytes { raw in
        Result { () throws(WireError) -> R in try body(raw) }
    }
    return try result.get()
}

/// Runs `body` over a zeroed temporary byte buffer of `count` bytes and returns the bytes as an
/// array (the array conveniences' common path).
@inline(__always)
func makeBytes(count: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { body($0) }
    return out
}
