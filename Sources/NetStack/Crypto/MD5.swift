/// MD5 (RFC 1321), for TCP MD5 signatures (RFC 2385) only — BGP sessions' passwords. It is
/// not used for anything that needs collision resistance. Streaming; one 64-byte block of
/// state; nothing is allocated.
public struct MD5 {
    private var a0: UInt32 = 0x6745_2301
    private var b0: UInt32 = 0xefcd_ab89
    private var c0: UInt32 = 0x98ba_dcfe
    private var d0: UInt32 = 0x1032_5476
    private var block: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var blockFill = 0
    private var length: UInt64 = 0

    /// The per-round shift amounts (RFC 1321 §3.4).
    private static let shifts: [UInt32] = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                           5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
                                           4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                           6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21]
    /// T[i] = floor(2³² · |sin(i + 1)|) (RFC 1321 §3.4).
    private static let constants: [UInt32] = (0..<64).map { UInt32(truncatingIfNeeded: Int64(abs(sin(Double($0 + 1))) * 4_294_967_296)) }

    /// A fresh hash.
    public init() {}

    /// Adds bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes { append(byte) }
    }

    /// Adds bytes.
    public mutating func update<C: Sequence>(_ bytes: C) where C.Element == UInt8 {
        for byte in bytes { append(byte) }
    }

    private mutating func append(_ byte: UInt8) {
        withUnsafeMutableBytes(of: &block) { $0[blockFill] = byte }
        blockFill += 1
        length &+= 1
        if blockFill == 64 {
            compress()
            blockFill = 0
        }
    }

    private mutating func compress() {
        var m = [UInt32](repeating: 0, count: 16)
        withUnsafeBytes(of: &block) { raw in
            for i in 0..<16 { m[i] = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        }
        var a = a0, b = b0, c = c0, d = d0
        for i in 0..<64 {
            var f: UInt32
            let g: Int
            switch i {
            case 0..<16:
                f = (b & c) | (~b & d)
                g = i
            case 16..<32:
                f = (d & b) | (~d & c)
                g = (5 * i + 1) % 16
            case 32..<48:
                f = b ^ c ^ d
                g = (3 * i + 5) % 16
            default:
                f = c ^ (b | ~d)
                g = (7 * i) % 16
            }
            f = f &+ a &+ Self.constants[i] &+ m[g]
            a = d
            d = c
            c = b
            let s = Self.shifts[i]
            b = b &+ (f << s | f >> (32 - s))
        }
        a0 = a0 &+ a
        b0 = b0 &+ b
        c0 = c0 &+ c
        d0 = d0 &+ d
    }

    /// The 16-byte digest.
    public func finalize() -> [UInt8] {
        var copy = self
        let bits = length &* 8
        copy.append(0x80)
        while copy.blockFill != 56 { copy.append(0) }
        for i in 0..<8 { copy.append(UInt8(truncatingIfNeeded: bits >> UInt64(8 * i))) }
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for word in [copy.a0, copy.b0, copy.c0, copy.d0] {
            for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: word >> UInt32(8 * i))) }
        }
        return out
    }
}

import Glibc
