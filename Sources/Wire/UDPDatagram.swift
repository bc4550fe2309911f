/// A UDP datagram (RFC 768).
public struct UDPDatagram: Equatable, Sendable {
    /// Source port.
    public var sourcePort: UInt16
    /// Destination port.
    public var destinationPort: UInt16
    /// The data.
    public var payload: [UInt8]

    /// The header's length.
    public static let headerLength = 8

    /// Creates a datagram.
    public init(sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8]) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.payload = payload
    }

    /// Parses a datagram carried from `source` to `destination`: the length field within the
    /// buffer and at least 8; the checksum verified when present (IPv4 may send 0 for none;
    /// IPv6 may not, RFC 8200 §8.1).
    public static func parse(_ bytes: ArraySlice<UInt8>, source: IPAddress, destination: IPAddress,
                             verifyChecksum: Bool = true) throws(WireError) -> UDPDatagram {
        guard bytes.count >= headerLength else { throw .truncated }
        let length = Int(bytes.u16(4))
        guard length >= headerLength else { throw .malformed("length") }
        guard bytes.count >= length else { throw .truncated }
        let segment = bytes.prefix(length)
        let stored = bytes.u16(6)
        if verifyChecksum {
            if stored == 0 {
                if case .v6 = source { throw .malformed("zero checksum over IPv6") }
            } else if PseudoHeader.checksum(source: source, destination: destination,
                                            protocolNumber: 17, segment: segment) != 0 {
                throw .badChecksum
            }
        }
        return UDPDatagram(sourcePort: bytes.u16(0), destinationPort: bytes.u16(2),
                           payload: Array(segment.dropFirst(headerLength)))
    }

    /// The bytes for `source`→`destination`, checksum filled in (0xffff for a computed 0).
    public func emit(source: IPAddress, destination: IPAddress) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.headerLength + payload.count)
        out.appendBigEndian(sourcePort)
        out.appendBigEndian(destinationPort)
        out.appendBigEndian(UInt16(truncatingIfNeeded: Self.headerLength + payload.count))
        out += [0, 0]
        out += payload
        let sum = PseudoHeader.checksum(source: source, destination: destination, protocolNumber: 17,
                                        segment: out[...])
        out.storeBigEndian(sum == 0 ? 0xffff : sum, at: 6)
        return out
    }
}
