import Foundation

/// A 32-byte WireGuard key: a Curve25519 private or public key, or a preshared key.
///
/// Text forms: base64 (44 characters, as `wg genkey` prints and wg-quick files hold) and
/// lowercase hex (64 characters, as the UAPI protocol carries keys).
public struct WireGuardKey: Hashable, Sendable, CustomStringConvertible {
    /// The 32 key bytes.
    public let bytes: [UInt8]

    /// Wraps 32 bytes; `nil` for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// Parses base64 text of exactly 32 bytes (44 characters with one `=`).
    public init?(base64 text: String) {
        guard text.count == 44, text.hasSuffix("="),
              let data = Data(base64Encoded: text), data.count == 32 else { return nil }
        bytes = Array(data)
    }

    /// Parses 64 hex digits (either case).
    public init?(hex text: String) {
        let digits = Array(text.utf8)
        guard digits.count == 64 else { return nil }
        var result = [UInt8]()
        result.reserveCapacity(32)
        for i in stride(from: 0, to: 64, by: 2) {
            guard let high = Self.nibble(digits[i]), let low = Self.nibble(digits[i + 1]) else {
                return nil
            }
            result.append(high << 4 | low)
        }
        bytes = result
    }

    /// The all-zero key (UAPI's way of saying "no preshared key").
    public static let zero = WireGuardKey(bytes: [UInt8](repeating: 0, count: 32))!

    /// Base64 text.
    public var base64: String { Data(bytes).base64EncodedString() }

    /// Lowercase hex text.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Base64 text (never a private key in logs: callers print public keys only).
    public var description: String { base64 }

    /// Hashes the 32 bytes as one block rather than byte by byte, as `[UInt8]` would: the
    /// peer lookup of every packet sent (`WireGuardDevice.seal`) hashes a key.
    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
