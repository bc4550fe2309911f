/// The pseudo-headers that UDP, TCP and ICMPv6 checksums cover (RFC 768, RFC 9293 §3.1,
/// RFC 8200 §8.1).
public enum PseudoHeader {
    /// The checksum over the pseudo-header for `source`→`destination` (same family) and
    /// `segment` (the upper-layer header and data, checksum field as it is).
    public static func checksum(source: IPAddress, destination: IPAddress, protocolNumber: UInt8,
                                segment: ArraySlice<UInt8>) -> UInt16 {
        var sum = InternetChecksum()
        switch (source, destination) {
        case (.v4(let s), .v4(let d)):
            sum.add(doubleWord: s.value)
            sum.add(doubleWord: d.value)
            sum.add(word: UInt16(protocolNumber))
            sum.add(word: UInt16(truncatingIfNeeded: segment.count))
        case (.v6(let s), .v6(let d)):
            sum.add(s.bytes)
            sum.add(d.bytes)
            sum.add(doubleWord: UInt32(truncatingIfNeeded: segment.count))
            sum.add(doubleWord: UInt32(protocolNumber))
        default:
            return 0xffff  // mixed families: never a valid checksum
        }
        sum.add(segment)
        return sum.value
    }
}
