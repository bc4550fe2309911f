/// An ICMP (RFC 792) or ICMPv6 (RFC 4443 §2.1) message: type, code, the 4 bytes after the
/// checksum (identifier and sequence of an echo, MTU of a packet-too-big…), and the body.
public struct ICMPMessage: Equatable, Sendable {
    /// Type (echo request: 8 in ICMP, 128 in ICMPv6).
    public var type: UInt8
    /// Code.
    public var code: UInt8
    /// The second 32-bit word.
    public var restOfHeader: UInt32
    /// What follows the 8-byte header.
    public var body: [UInt8]

    /// The header's length.
    public static let headerLength = 8

    /// Creates a message.
    public init(type: UInt8, code: UInt8, restOfHeader: UInt32 = 0, body: [UInt8] = []) {
        self.type = type
        self.code = code
        self.restOfHeader = restOfHeader
        self.body = body
    }

    /// An echo's identifier (the high half of `restOfHeader`).
    public var identifier: UInt16 { UInt16(restOfHeader >> 16) }
    /// An echo's sequence number.
    public var sequenceNumber: UInt16 { UInt16(restOfHeader & 0xffff) }

    /// Parses an ICMPv4 message; its checksum covers the message alone (RFC 792).
    public static func parseV4(_ bytes: ArraySlice<UInt8>, verifyChecksum: Bool = true) throws(WireError) -> ICMPMessage {
        guard bytes.count >= headerLength else { throw .truncated }
        if verifyChecksum {
            var sum = InternetChecksum()
            sum.add(bytes)
            guard sum.value == 0 else { throw .badChecksum }
        }
        return fields(bytes)
    }

    /// Parses an ICMPv6 message; its checksum includes the IPv6 pseudo-header (RFC 4443 §2.3).
    public static func parseV6(_ bytes: ArraySlice<UInt8>, source: IPv6Address, destination: IPv6Address,
                               verifyChecksum: Bool = true) throws(WireError) -> ICMPMessage {
        guard bytes.count >= headerLength else { throw .truncated }
        if verifyChecksum && PseudoHeader.checksum(source: .v6(source), destination: .v6(destination),
                                                   protocolNumber: 58, segment: bytes) != 0 {
            throw .badChecksum
        }
        return fields(bytes)
    }

    private static func fields(_ bytes: ArraySlice<UInt8>) -> ICMPMessage {
        ICMPMessage(type: bytes.u8(0), code: bytes.u8(1), restOfHeader: bytes.u32(4),
                    body: Array(bytes.dropFirst(headerLength)))
    }

    /// The ICMPv4 bytes, checksum filled in.
    public func emitV4() -> [UInt8] {
        var out = unchecked()
        var sum = InternetChecksum()
        sum.add(out)
        out.storeBigEndian(sum.value, at: 2)
        return out
    }

    /// The ICMPv6 bytes for `source`→`destination`, checksum filled in.
    public func emitV6(source: IPv6Address, destination: IPv6Address) -> [UInt8] {
        var out = unchecked()
        let sum = PseudoHeader.checksum(source: .v6(source), destination: .v6(destination),
                                        protocolNumber: 58, segment: out[...])
        out.storeBigEndian(sum, at: 2)
        return out
    }

    private func unchecked() -> [UInt8] {
        var out: [UInt8] = [type, code, 0, 0]
        out.reserveCapacity(Self.headerLength + body.count)
        out.appendBigEndian(restOfHeader)
        out += body
        return out
    }
}
