/// Why bytes are not a valid packet. Every parser in this module returns one of these for
/// any input it cannot accept, and never traps.
public enum WireError: Error, Equatable, Sendable {
    /// Shorter than the format needs.
    case truncated
    /// A field holds a value the format forbids (named).
    case malformed(String)
    /// The checksum does not verify.
    case badChecksum
    /// Valid, but a variant srouter does not handle (named).
    case unsupported(String)
}

/// Big-endian field access on byte collections, bounds already checked by the caller.
extension Collection where Element == UInt8, Index == Int {
    @inline(__always) func u8(_ offset: Int) -> UInt8 { self[startIndex + offset] }

    @inline(__always) func u16(_ offset: Int) -> UInt16 {
        UInt16(self[startIndex + offset]) << 8 | UInt16(self[startIndex + offset + 1])
    }

    @inline(__always) func u32(_ offset: Int) -> UInt32 {
        UInt32(u16(offset)) << 16 | UInt32(u16(offset + 2))
    }
}

extension Array where Element == UInt8 {
    /// Appends a big-endian 16-bit value.
    mutating func appendBigEndian(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xff))
    }

    /// Appends a big-endian 32-bit value.
    mutating func appendBigEndian(_ value: UInt32) {
        appendBigEndian(UInt16(value >> 16))
        appendBigEndian(UInt16(value & 0xffff))
    }

    /// Stores a big-endian 16-bit value at `offset`.
    mutating func storeBigEndian(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(value >> 8)
        self[offset + 1] = UInt8(value & 0xff)
    }
}
