/// The IPv6 fixed header (RFC 8200 §3).
public struct IPv6Header: Equatable, Sendable {
    /// Traffic class.
    public var trafficClass: UInt8 = 0
    /// Flow label (20 bits).
    public var flowLabel: UInt32 = 0
    /// The first next-header value (an extension header or the upper layer).
    public var nextHeader: UInt8
    /// Hop limit.
    public var hopLimit: UInt8 = 64
    /// Source address.
    public var source: IPv6Address
    /// Destination address.
    public var destination: IPv6Address

    /// The fixed header's length.
    public static let length = 40

    /// Creates a header.
    public init(nextHeader: UInt8, source: IPv6Address, destination: IPv6Address, hopLimit: UInt8 = 64) {
        self.nextHeader = nextHeader
        self.source = source
        self.destination = destination
        self.hopLimit = hopLimit
    }

    /// Parses the fixed header: version 6 and a payload length within the buffer.
    /// - Returns: the header and the range of `bytes` after it up to the payload length.
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(WireError) -> (IPv6Header, Range<Int>) {
        guard bytes.count >= length else { throw .truncated }
        guard bytes.u8(0) >> 4 == 6 else { throw .malformed("version") }
        let payloadLength = Int(bytes.u16(4))
        guard bytes.count >= length + payloadLength else { throw .truncated }
        var header = IPv6Header(nextHeader: bytes.u8(6),
                                source: IPv6Address(bytes: bytes.dropFirst(8).prefix(16))!,
                                destination: IPv6Address(bytes: bytes.dropFirst(24).prefix(16))!,
                                hopLimit: bytes.u8(7))
        header.trafficClass = UInt8(truncatingIfNeeded: bytes.u32(0) >> 20)
        header.flowLabel = bytes.u32(0) & 0xfffff
        let start = bytes.startIndex
        return (header, (start + length)..<(start + length + payloadLength))
    }

    /// The header bytes for a payload of `payloadLength`.
    public func emit(payloadLength: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.length)
        out.appendBigEndian(UInt32(6) << 28 | UInt32(trafficClass) << 20 | (flowLabel & 0xfffff))
        out.appendBigEndian(UInt16(truncatingIfNeeded: payloadLength))
        out.append(nextHeader)
        out.append(hopLimit)
        out += source.bytes
        out += destination.bytes
        return out
    }
}

/// The walk over IPv6 extension headers (RFC 8200 §4) to the upper-layer header.
public struct IPv6ExtensionChain: Equatable, Sendable {
    /// The upper-layer protocol (6 TCP, 17 UDP, 58 ICMPv6…), or 59 for "no next header".
    public var upperLayerProtocol: UInt8
    /// Where the upper-layer header starts, as an index into the walked bytes.
    public var upperLayerOffset: Int
    /// The Fragment header's fields, if the packet has one (RFC 8200 §4.5).
    public var fragment: (offset: UInt16, moreFragments: Bool, identification: UInt32)?
    /// Extension headers walked.
    public var headerCount: Int

    /// The most extension headers accepted (a defence against long chains).
    public static let maximumHeaders = 16

    public static func == (a: Self, b: Self) -> Bool {
        a.upperLayerProtocol == b.upperLayerProtocol && a.upperLayerOffset == b.upperLayerOffset
            && a.headerCount == b.headerCount && a.fragment?.offset == b.fragment?.offset
            && a.fragment?.moreFragments == b.fragment?.moreFragments
            && a.fragment?.identification == b.fragment?.identification
    }

    /// Walks the headers of `payload` (the bytes after the fixed header) starting with
    /// `nextHeader`. Hop-by-Hop must come first (RFC 8200 §4.1); each header must fit.
    public static func walk(_ payload: ArraySlice<UInt8>, nextHeader first: UInt8) throws(WireError)
        -> IPv6ExtensionChain
    {
        var next = first
        var offset = 0
        var count = 0
        var fragment: (UInt16, Bool, UInt32)?
        while true {
            switch next {
            case 0, 43, 60, 51, 135, 139, 140, 253, 254:  // HBH, Routing, DestOpts, AH, Mobility, HIP, Shim6, experiments
                if next == 0 && count > 0 { throw .malformed("hop-by-hop not first") }
                guard payload.count - offset >= 8 else { throw .truncated }
                let length = next == 51 ? (Int(payload.u8(offset + 1)) + 2) * 4 : (Int(payload.u8(offset + 1)) + 1) * 8
                guard payload.count - offset >= length else { throw .truncated }
                next = payload.u8(offset)
                offset += length
            case 44:  // Fragment: fixed 8 bytes
                guard payload.count - offset >= 8 else { throw .truncated }
                let field = payload.u16(offset + 2)
                fragment = (field >> 3, field & 1 != 0, payload.u32(offset + 4))
                next = payload.u8(offset)
                offset += 8
            default:
                return IPv6ExtensionChain(upperLayerProtocol: next,
                                          upperLayerOffset: payload.startIndex + offset,
                                          fragment: fragment.map { ($0.0, $0.1, $0.2) },
                                          headerCount: count)
            }
            count += 1
            guard count <= maximumHeaders else { throw .unsupported("more than 16 extension headers") }
        }
    }
}
