/// A TCP sequence number: 32 bits compared modulo 2³² (RFC 9293 §3.4). `a < b` means `b` is
/// ahead of `a` by less than 2³¹; this is not a total order (it is not transitive over the
/// whole space), which is why the type is deliberately not `Comparable`.
public struct SequenceNumber: Hashable, Sendable, CustomStringConvertible {
    /// The number as sent.
    public var rawValue: UInt32

    /// Wraps a raw number.
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// `a` advanced by `n` (which may be negative), wrapping.
    public static func + (a: Self, n: Int) -> Self { Self(a.rawValue &+ UInt32(truncatingIfNeeded: n)) }
    /// `a` moved back by `n`, wrapping.
    public static func - (a: Self, n: Int) -> Self { Self(a.rawValue &- UInt32(truncatingIfNeeded: n)) }
    /// The signed distance from `b` to `a` (in −2³¹…2³¹−1).
    public static func - (a: Self, b: Self) -> Int { Int(Int32(bitPattern: a.rawValue &- b.rawValue)) }
    /// Whether `a` is before `b`.
    public static func < (a: Self, b: Self) -> Bool { Int32(bitPattern: a.rawValue &- b.rawValue) < 0 }
    /// Whether `a` is before or at `b`.
    public static func <= (a: Self, b: Self) -> Bool { Int32(bitPattern: a.rawValue &- b.rawValue) <= 0 }
    /// Whether `a` is after `b`.
    public static func > (a: Self, b: Self) -> Bool { b < a }
    /// Whether `a` is at or after `b`.
    public static func >= (a: Self, b: Self) -> Bool { b <= a }
    /// Advances `a` by `n`.
    public static func += (a: inout Self, n: Int) { a = a + n }

    /// The number in decimal.
    public var description: String { "\(rawValue)" }
}
