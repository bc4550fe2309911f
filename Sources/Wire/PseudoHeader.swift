/// The pseudo-headers that UDP (RFC 768), TCP (RFC 9293 §3.1) and ICMPv6 (RFC 4443 §2.3)
/// checksums cover: IPv4's 12 bytes (source, destination, zero, protocol, length) or IPv6's 40
/// (source, destination, 32-bit upper-layer length, three zeros, next header; RFC 8200 §8.1).
/// Nothing here allocates.
public enum PseudoHeader {
    /// A checksum accumulator seeded with the IPv4 pseudo-header (RFC 768; RFC 9293 §3.1).
    public static func ipv4(source: IPv4Address, destination: IPv4Address, protocolNumber: UInt8,
                            length: Int) -> InternetChecksum {
        var sum = InternetChecksum()
        sum.add(doubleWord: source.value)
        sum.add(doubleWord: destination.value)
        sum.add(word: UInt16(protocolNumber))
        sum.add(word: UInt16(truncatingIfNeeded: length))
        return sum
    }

    /// A checksum accumulator seeded with the IPv6 pseudo-header (RFC 8200 §8.1).
    public static func ipv6(source: IPv6Address, destination: IPv6Address, nextHeader: UInt8,
                            length: Int) -> InternetChecksum {
        var sum = InternetChecksum()
        sum.add(quadWord: source.high)
        sum.add(quadWord: source.low)
        sum.add(quadWord: destination.high)
        sum.add(quadWord: destination.low)
        sum.add(doubleWord: UInt32(truncatingIfNeeded: length))
        sum.add(doubleWord: UInt32(nextHeader))
        return sum
    }

    /// The seeded accumulator for either family; `nil` when the two addresses' families differ.
    public static func start(source: IPAddress, destination: IPAddress, protocolNumber: UInt8,
                             length: Int) -> InternetChecksum? {
        switch (source, destination) {
        case (.v4(let s), .v4(let d)): ipv4(source: s, destination: d, protocolNumber: protocolNumber, length: length)
        case (.v6(let s), .v6(let d)): ipv6(source: s, destination: d, nextHeader: protocolNumber, length: length)
        default: nil
        }
    }

    /// The checksum over the pseudo-header for `source`→`destination` and `segment` (the
    /// upper-layer header and data, checksum field as it is): 0 when a stored checksum
    /// verifies. Mixed families give 0xffff, which never verifies.
    public static func checksum(source: IPAddress, destination: IPAddress, protocolNumber: UInt8,
                                segment: UnsafeRawBufferPointer) -> UInt16 {
        guard var sum = start(source: source, destination: destination, protocolNumber: protocolNumber,
                              length: segment.count) else { return 0xffff }
        sum.add(segment)
        return sum.value
    }

    /// `checksum(source:destination:protocolNumber:segment:)` over an array slice.
    public static func checksum(source: IPAddress, destination: IPAddress, protocolNumber: UInt8,
                                segment: ArraySlice<UInt8>) -> UInt16 {
        segment.withUnsafeBytes { checksum(source: source, destination: destination, protocolNumber: protocolNumber, segment: $0) }
    }

    /// Computes the upper-layer checksum of `segment` over the pseudo-header and stores it at
    /// byte `offset` (the field is zeroed first): what the kernel does for raw sockets with
    /// IPV6_CHECKSUM (RFC 3542 §3.1). Traps if the field lies outside `segment`.
    public static func fillChecksum(in segment: UnsafeMutableRawBufferPointer, at offset: Int, source: IPAddress,
                                    destination: IPAddress, protocolNumber: UInt8) {
        precondition(offset >= 0 && offset + 2 <= segment.count, "fillChecksum: field outside the segment")
        segment.storeBigEndian16(0, at: offset)
        let sum = checksum(source: source, destination: destination, protocolNumber: protocolNumber,
                           segment: segment.readOnly)
        segment.storeBigEndian16(sum, at: offset)
    }
}
