/// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of
/// 16-bit big-endian words, used by IPv4, ICMP, ICMPv6, UDP and TCP.
///
/// Accumulate with `add`, then read `value`. A buffer whose stored checksum is correct sums to
/// 0xffff, i.e. `value == 0` when the checksum field is included.
public struct InternetChecksum: Sendable {
    private var sum: UInt64 = 0
    /// A trailing odd byte waiting for its partner (RFC 1071 pads with zero at the very end).
    private var pendingHighByte: UInt8?

    /// An empty sum.
    public init() {}

    /// Adds `bytes` as a continuation of everything added so far.
    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        let count = bytes.count
        if let high = pendingHighByte, count > 0 {
            sum &+= UInt64(high) << 8 | UInt64(bytes[0])
            pendingHighByte = nil
            index = 1
        }
        while index + 1 < count {
            sum &+= UInt64(bytes[index]) << 8 | UInt64(bytes[index + 1])
            index += 2
        }
        if index < count { pendingHighByte = bytes[index] }
    }

    /// Adds a byte array.
    public mutating func add<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        let array = Array(bytes)
        array.withUnsafeBytes { add($0) }
    }

    /// Adds one 16-bit word (e.g. a pseudo-header field).
    public mutating func add(word: UInt16) {
        add([UInt8(word >> 8), UInt8(word & 0xff)])
    }

    /// Adds a 32-bit value as two words.
    public mutating func add(doubleWord: UInt32) {
        add(word: UInt16(doubleWord >> 16))
        add(word: UInt16(doubleWord & 0xffff))
    }

    /// The checksum to store: the ones' complement of the folded sum.
    public var value: UInt16 {
        var total = sum
        if let high = pendingHighByte { total &+= UInt64(high) << 8 }
        while total > 0xffff { total = (total & 0xffff) + (total >> 16) }
        return ~UInt16(total)
    }
}
