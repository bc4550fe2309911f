#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 address, held in host order (`192.0.2.1` is `0xc000_0201`).
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The address as a host-order integer.
    public var value: UInt32

    /// Wraps a host-order integer.
    public init(_ value: UInt32) { self.value = value }

    /// Four octets in network order.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text (`inet_pton(AF_INET)`: exactly four decimal octets).
    public init?(_ text: String) {
        var raw = in_addr()
        guard inet_pton(AF_INET, text, &raw) == 1 else { return nil }
        value = UInt32(bigEndian: raw.s_addr)
    }

    /// The four octets in network order.
    public var octets: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    /// `0.0.0.0`.
    public static let any = IPv4Address(0)
    /// `127.0.0.1`.
    public static let loopback = IPv4Address(127, 0, 0, 1)

    /// Dotted-quad text.
    public var description: String { octets.map(String.init).joined(separator: ".") }

    /// Numeric order.
    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }
}

/// An IPv6 address: 128 bits as two host-order halves.
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Bits 127…64.
    public var high: UInt64
    /// Bits 63…0.
    public var low: UInt64

    /// Wraps the two halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Sixteen bytes in network order (`nil` unless exactly 16).
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == 16 else { return nil }
        var h: UInt64 = 0, l: UInt64 = 0
        for (i, byte) in bytes.enumerated() {
            if i < 8 { h = h << 8 | UInt64(byte) } else { l = l << 8 | UInt64(byte) }
        }
        high = h
        low = l
    }

    /// Parses RFC 4291 §2.2 text (`inet_pton(AF_INET6)`), without a `%zone`.
    public init?(_ text: String) {
        var raw = in6_addr()
        guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: raw) { Array($0) }
        self.init(bytes: bytes)
    }

    /// The sixteen bytes in network order.
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(high >> (56 - 8 * $0) & 0xff) } + (0..<8).map { UInt8(low >> (56 - 8 * $0) & 0xff) }
    }

    /// `::`.
    public static let any = IPv6Address(high: 0, low: 0)
    /// `::1`.
    public static let loopback = IPv6Address(high: 0, low: 1)

    /// Whether the address is in fe80::/10 (RFC 4291 §2.5.6).
    public var isLinkLocal: Bool { high >> 54 == 0x3fa }
    /// Whether the address is multicast (ff00::/8).
    public var isMulticast: Bool { high >> 56 == 0xff }

    /// RFC 5952 text (`inet_ntop(AF_INET6)`).
    public var description: String {
        var raw = in6_addr()
        let source = bytes
        withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: source) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count))
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Numeric order.
    public static func < (a: Self, b: Self) -> Bool { (a.high, a.low) < (b.high, b.low) }
}

/// An IPv4 or IPv6 address.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// IPv4.
    case v4(IPv4Address)
    /// IPv6.
    case v6(IPv6Address)

    /// Parses either family's text form.
    public init?(_ text: String) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(text) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    /// The address's text form.
    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }

    /// Whether `other` is of the same family (pseudo-header checksums need one family).
    public func hasSameFamily(as other: IPAddress) -> Bool {
        switch (self, other) {
        case (.v4, .v4), (.v6, .v6): true
        default: false
        }
    }

    /// 32 or 128.
    public var bitWidth: Int {
        switch self {
        case .v4: 32
        case .v6: 128
        }
    }
}

/// An address with a prefix length (`192.0.2.0/24`, `fe80::1/64`): a route's destination,
/// an interface address's subnet, or an AllowedIPs entry.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    /// The address as written (host bits are kept; `masked` clears them).
    public var address: IPAddress
    /// The prefix length, 0…32 or 0…128.
    public var length: Int

    /// Creates a prefix; `nil` if `length` exceeds the family's width.
    public init?(address: IPAddress, length: Int) {
        guard length >= 0 && length <= address.bitWidth else { return nil }
        self.address = address
        self.length = length
    }

    /// Parses `ADDRESS/LENGTH`, or a bare address as a host prefix (/32 or /128).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(parts[0])) else { return nil }
        if parts.count == 1 {
            self.init(address: address, length: address.bitWidth)
            return
        }
        let digits = parts[1]
        guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy(\.isASCII),
              digits.allSatisfy(\.isNumber), let length = Int(digits) else { return nil }
        self.init(address: address, length: length)
    }

    /// The prefix with its host bits cleared (`192.0.2.7/24` → `192.0.2.0/24`).
    public var masked: IPPrefix {
        switch address {
        case .v4(let a):
            let mask: UInt32 = length == 0 ? 0 : ~UInt32(0) << UInt32(32 - length)
            return IPPrefix(address: .v4(IPv4Address(a.value & mask)), length: length)!
        case .v6(let a):
            let highMask: UInt64 = length == 0 ? 0 : length >= 64 ? ~0 : ~UInt64(0) << UInt64(64 - length)
            let lowMask: UInt64 = length <= 64 ? 0 : length == 128 ? ~0 : ~UInt64(0) << UInt64(128 - length)
            return IPPrefix(address: .v6(IPv6Address(high: a.high & highMask, low: a.low & lowMask)),
                            length: length)!
        }
    }

    /// Whether `other` lies inside this prefix.
    public func contains(_ other: IPAddress) -> Bool {
        guard let host = IPPrefix(address: other, length: length) else { return false }
        return host.masked.address == masked.address
    }

    /// `ADDRESS/LENGTH`.
    public var description: String { "\(address)/\(length)" }
}
