/// A TAI64N timestamp (paper §5.4, "Timestamp()"): 8 bytes of big-endian seconds since 1970
/// plus 2^62, then 4 bytes of big-endian nanoseconds. The responder keeps the greatest one
/// seen per peer and rejects initiations whose timestamp is not greater (replay protection).
public struct TAI64N: Comparable, Hashable, Sendable {
    /// The 12 bytes as sent.
    public let bytes: [UInt8]

    /// The label of the TAI64 epoch offset.
    static let base: UInt64 = 0x4000_0000_0000_000a

    /// wireguard-go and Linux round the nanoseconds down (to about 16.8 ms, `0x1000000`) so a
    /// timestamp does not leak a fine-grained clock.
    static let whitenerMask: UInt32 = 0x0100_0000 - 1

    /// The timestamp for wall-clock time `seconds`.`nanoseconds` since the Unix epoch.
    public init(unixSeconds seconds: UInt64, nanoseconds: UInt32) {
        let s = Self.base &+ seconds
        let n = nanoseconds & ~Self.whitenerMask
        bytes = (0..<8).map { UInt8(truncatingIfNeeded: s >> (56 - 8 * UInt64($0))) }
            + (0..<4).map { UInt8(truncatingIfNeeded: n >> (24 - 8 * UInt32($0))) }
    }

    /// Wraps 12 received bytes; `nil` for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 12 else { return nil }
        self.bytes = bytes
    }

    /// The smallest timestamp: a peer that has sent none yet.
    public static let zero = TAI64N(bytes: [UInt8](repeating: 0, count: 12))!

    public static func < (a: Self, b: Self) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}
