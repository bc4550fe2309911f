/// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of
/// 16-bit big-endian words, used by IPv4 (RFC 791 §3.1), ICMP (RFC 792), ICMPv6
/// (RFC 4443 §2.3), UDP (RFC 768) and TCP (RFC 9293 §3.1).
///
/// Accumulate with `add`, then read `value`. A buffer whose stored checksum is correct sums to
/// 0xffff, i.e. `value == 0` when the checksum field is included. Adding never allocates.
public struct InternetChecksum: Sendable {
    /// 32-bit chunks summed without folding; 2^16 ≡ 1 (mod 0xffff) makes this the same
    /// residue as a sum of 16-bit words (RFC 1071 §2(C), deferred carries).
    private var sum: UInt64 = 0
    /// A trailing odd byte waiting for its partner (RFC 1071 pads with zero at the very end).
    private var pendingHighByte: UInt8?

    /// An empty sum.
    public init() {}

    /// Adds `bytes` as a continuation of everything added so far (an odd-length piece leaves
    /// its last byte to pair with the next piece's first).
    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        let count = bytes.count
        guard count > 0 else { return }
        var index = 0
        if let high = pendingHighByte {
            sum &+= UInt64(high) << 8 | UInt64(bytes.byte(at: 0))
            pendingHighByte = nil
            index = 1
        }
        while index + 8 <= count {
            let chunk = bytes.bigEndian64(at: index)
            sum &+= (chunk >> 32) &+ (chunk & 0xffff_ffff)
            index += 8
        }
        while index + 2 <= count {
            sum &+= UInt64(bytes.bigEndian16(at: index))
            index += 2
        }
        if index < count { pendingHighByte = bytes.byte(at: index) }
    }

    /// Adds any byte collection (contiguous collections are summed in place, without a copy).
    public mutating func add<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { add(UnsafeRawBufferPointer($0)) }
        if done == nil {
            for byte in bytes { withUnsafeBytes(of: byte) { add($0) } }
        }
    }

    /// Adds one 16-bit word (e.g. a pseudo-header field).
    public mutating func add(word: UInt16) {
        if let high = pendingHighByte {
            sum &+= UInt64(high) << 8 | UInt64(word >> 8)
            pendingHighByte = UInt8(word & 0xff)
        } else {
            sum &+= UInt64(word)
        }
    }

    /// Adds a 32-bit value as two words.
    public mutating func add(doubleWord: UInt32) {
        add(word: UInt16(doubleWord >> 16))
        add(word: UInt16(doubleWord & 0xffff))
    }

    /// Adds a 64-bit value as four words (half of an IPv6 address).
    public mutating func add(quadWord: UInt64) {
        add(doubleWord: UInt32(truncatingIfNeeded: quadWord >> 32))
        add(doubleWord: UInt32(truncatingIfNeeded: quadWord))
    }

    /// The checksum to store: the ones' complement of the folded sum.
    public var value: UInt16 {
        var total = sum
        if let high = pendingHighByte { total &+= UInt64(high) << 8 }
        while total > 0xffff { total = (total & 0xffff) + (total >> 16) }
        return ~UInt16(total)
    }

    /// The checksum of `bytes` alone.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        var sum = InternetChecksum()
        sum.add(bytes)
        return sum.value
    }

    /// A stored checksum after one 16-bit word it covers changed from `old` to `new`, without
    /// summing the rest again (RFC 1624 §3, eqn. 3: HC' = ~(~HC + ~m + m')).
    public static func adjusted(_ checksum: UInt16, replacing old: UInt16, with new: UInt16) -> UInt16 {
        var total = UInt32(~checksum) + UInt32(~old) + UInt32(new)
        while total > 0xffff { total = (total & 0xffff) + (total >> 16) }
        return ~UInt16(total)
    }
}
