/// The IPv4 header (RFC 791 §3.1): parsed fields, and the bytes to emit.
public struct IPv4Header: Equatable, Sendable {
    /// Type of service / DSCP+ECN.
    public var typeOfService: UInt8 = 0
    /// Identification (fragment reassembly).
    public var identification: UInt16 = 0
    /// DF: don't fragment.
    public var dontFragment = false
    /// MF: more fragments.
    public var moreFragments = false
    /// Fragment offset in 8-byte units.
    public var fragmentOffset: UInt16 = 0
    /// Time to live.
    public var timeToLive: UInt8 = 64
    /// The payload's protocol (1 ICMP, 6 TCP, 17 UDP, 89 OSPF…).
    public var protocolNumber: UInt8
    /// Source address.
    public var source: IPv4Address
    /// Destination address.
    public var destination: IPv4Address
    /// Options, as received (a multiple of 4 bytes, at most 40).
    public var options: [UInt8] = []

    /// The fixed header's length.
    public static let minimumLength = 20

    /// Creates a header with no options.
    public init(protocolNumber: UInt8, source: IPv4Address, destination: IPv4Address,
                timeToLive: UInt8 = 64) {
        self.protocolNumber = protocolNumber
        self.source = source
        self.destination = destination
        self.timeToLive = timeToLive
    }

    /// The header's length with options.
    public var headerLength: Int { Self.minimumLength + options.count }

    /// Parses the header of the packet in `bytes`: version 4, IHL ≥ 5, total length within the
    /// buffer and at least the header, and (if `verifyChecksum`) a correct header checksum.
    /// - Returns: the header and the range of `bytes` holding its payload (bytes past the total
    ///   length, such as link padding, are excluded).
    public static func parse(_ bytes: ArraySlice<UInt8>, verifyChecksum: Bool = true) throws(WireError)
        -> (IPv4Header, Range<Int>)
    {
        guard bytes.count >= minimumLength else { throw .truncated }
        guard bytes.u8(0) >> 4 == 4 else { throw .malformed("version") }
        let headerLength = Int(bytes.u8(0) & 0x0f) * 4
        guard headerLength >= minimumLength else { throw .malformed("header length") }
        let total = Int(bytes.u16(2))
        guard total >= headerLength else { throw .malformed("total length") }
        guard bytes.count >= total, bytes.count >= headerLength else { throw .truncated }
        if verifyChecksum {
            var sum = InternetChecksum()
            sum.add(bytes.prefix(headerLength))
            guard sum.value == 0 else { throw .badChecksum }
        }
        var header = IPv4Header(protocolNumber: bytes.u8(9), source: IPv4Address(bytes.u32(12)),
                                destination: IPv4Address(bytes.u32(16)), timeToLive: bytes.u8(8))
        header.typeOfService = bytes.u8(1)
        header.identification = bytes.u16(4)
        let flags = bytes.u16(6)
        guard flags & 0x8000 == 0 else { throw .malformed("reserved flag") }
        header.dontFragment = flags & 0x4000 != 0
        header.moreFragments = flags & 0x2000 != 0
        header.fragmentOffset = flags & 0x1fff
        header.options = Array(bytes.dropFirst(minimumLength).prefix(headerLength - minimumLength))
        let start = bytes.startIndex
        return (header, (start + headerLength)..<(start + total))
    }

    /// The header bytes for a payload of `payloadLength`, with a correct checksum.
    public func emit(payloadLength: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(headerLength)
        out.append(0x40 | UInt8(headerLength / 4))
        out.append(typeOfService)
        out.appendBigEndian(UInt16(truncatingIfNeeded: headerLength + payloadLength))
        out.appendBigEndian(identification)
        out.appendBigEndian((dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0) | (fragmentOffset & 0x1fff))
        out.append(timeToLive)
        out.append(protocolNumber)
        out += [0, 0]
        out.appendBigEndian(source.value)
        out.appendBigEndian(destination.value)
        out += options
        var sum = InternetChecksum()
        sum.add(out)
        out.storeBigEndian(sum.value, at: 10)
        return out
    }
}
