// IPv6 extension headers (RFC 8200 §4): a reader that walks the chain header by header with
// the checks each kind needs, a summary of the walk (`IPv6ExtensionHeaderChain`), the
// Fragment header as values (`IPv6FragmentRepr`), and a reader for the options inside
// Hop-by-Hop and Destination Options headers. Nothing here allocates.

/// One extension header in place (RFC 8200 §4): its kind and its bytes.
public struct IPv6ExtensionHeader {
    /// Which header this is: the next-header value that announced it (`IPProtocolNumber`).
    public let kind: UInt8
    /// The whole header, next-header byte first.
    public let bytes: UnsafeRawBufferPointer

    /// The next header after this one.
    public var nextHeader: UInt8 { bytes.byte(at: 0) }
    /// The header's length in bytes.
    public var length: Int { bytes.count }
    /// The bytes after next-header and length: the options of Hop-by-Hop and Destination
    /// Options headers (RFC 8200 §4.3, §4.6), the type-specific part of a routing header.
    public var body: UnsafeRawBufferPointer { bytes.bytes(from: 2) }

    /// Routing header: the routing type (RFC 8200 §4.4).
    public var routingType: UInt8? { kind == IPProtocolNumber.routing ? bytes.byte(at: 2) : nil }
    /// Routing header: segments left (RFC 8200 §4.4).
    public var segmentsLeft: UInt8? { kind == IPProtocolNumber.routing ? bytes.byte(at: 3) : nil }
    /// Fragment header: its fields (RFC 8200 §4.5).
    public var fragment: IPv6FragmentRepr? {
        kind == IPProtocolNumber.fragment ? IPv6FragmentRepr.parse(bytes) : nil
    }
}

/// Walks an IPv6 payload's extension headers (RFC 8200 §4.1) up to the upper-layer header.
///
/// Headers walked: Hop-by-Hop Options (0, only first), Routing (43), Fragment (44),
/// Destination Options (60), Authentication (51, RFC 4302 §2.2, length in 32-bit words), and
/// those of the same uniform format (RFC 6564): Mobility (135), HIP (139), Shim6 (140), and
/// the experimental 253 and 254 (RFC 4727). ESP (50), No Next Header (59) and everything else
/// end the walk. Each header must fit in the payload; the options of Hop-by-Hop and
/// Destination Options headers must fill them exactly. A fragment with a nonzero offset ends
/// the walk after its Fragment header: what follows is fragment data, not headers.
public struct IPv6ExtensionHeaderReader {
    private let payload: UnsafeRawBufferPointer
    private let maximumHeaders: Int
    private var done = false
    /// The protocol of what follows the headers read so far.
    public private(set) var nextHeader: UInt8
    /// Where that starts, as an offset into the payload.
    public private(set) var offset = 0
    /// Headers read so far.
    public private(set) var headerCount = 0
    /// Whether the walk stopped at the data of a fragment other than the first.
    public private(set) var reachedFragmentData = false

    /// A reader over `payload` (the bytes after the fixed header) whose first header is
    /// `nextHeader`. Chains longer than `maximumHeaders` are refused (RFC 8504 §5.3 lets a
    /// node limit them).
    public init(payload: UnsafeRawBufferPointer, nextHeader: UInt8,
                maximumHeaders: Int = IPv6ExtensionHeaderChain.defaultMaximumHeaders) {
        self.payload = payload
        self.nextHeader = nextHeader
        self.maximumHeaders = maximumHeaders
    }

    /// Whether `kind` is an extension header this reader walks over.
    public static func isExtensionHeader(_ kind: UInt8) -> Bool {
        switch kind {
        case IPProtocolNumber.hopByHopOptions, IPProtocolNumber.routing, IPProtocolNumber.fragment,
             IPProtocolNumber.destinationOptions, IPProtocolNumber.authentication, IPProtocolNumber.mobility,
             IPProtocolNumber.hostIdentity, IPProtocolNumber.shim6, IPProtocolNumber.experiment1,
             IPProtocolNumber.experiment2:
            true
        default:
            false
        }
    }

    /// The next extension header, or `nil` once `nextHeader` names the upper layer.
    public mutating func next() throws(WireError) -> IPv6ExtensionHeader? {
        guard !done, Self.isExtensionHeader(nextHeader) else {
            done = true
            return nil
        }
        let kind = nextHeader
        if kind == IPProtocolNumber.hopByHopOptions && headerCount > 0 { throw .malformed("hop-by-hop position") }
        let remaining = payload.count - offset
        guard remaining >= 8 else { throw .truncated }
        guard headerCount < maximumHeaders else { throw .unsupported("extension header count") }
        let lengthField = Int(payload.byte(at: offset + 1))
        let length: Int
        switch kind {
        case IPProtocolNumber.fragment:
            length = 8
        case IPProtocolNumber.authentication:
            // RFC 4302 §2.2: 32-bit words minus 2; at least the 12-byte fixed part, and a
            // multiple of 8 bytes in IPv6.
            length = (lengthField + 2) * 4
            guard lengthField >= 1, length % 8 == 0 else { throw .malformed("authentication header length") }
        default:
            length = (lengthField + 1) * 8
        }
        guard remaining >= length else { throw .truncated }
        let header = IPv6ExtensionHeader(kind: kind, bytes: payload.bytes(offset, length))
        switch kind {
        case IPProtocolNumber.hopByHopOptions, IPProtocolNumber.destinationOptions:
            var options = IPv6OptionReader(header.body)
            while try options.next() != nil {}
        case IPProtocolNumber.fragment:
            if IPv6FragmentRepr.parse(header.bytes).fragmentOffset != 0 {
                reachedFragmentData = true
                done = true
            }
        default:
            break
        }
        nextHeader = header.nextHeader
        offset += length
        headerCount += 1
        return header
    }
}

/// What an extension-header walk found (RFC 8200 §4): the upper layer and where it starts,
/// and the headers that matter to forwarding and reassembly.
public struct IPv6ExtensionHeaderChain: Equatable, Sendable {
    /// The default limit on extension headers in one packet.
    public static let defaultMaximumHeaders = 16

    /// The upper-layer protocol (6 TCP, 17 UDP, 58 ICMPv6…), 59 for No Next Header, 50 for
    /// ESP. For a fragment other than the first: the protocol of the reassembled payload.
    public var upperLayerProtocol: UInt8
    /// Where the upper-layer header starts, as an offset into the payload.
    public var upperLayerOffset: Int
    /// Extension headers walked.
    public var headerCount = 0
    /// Whether a Hop-by-Hop Options header came first (RFC 8200 §4.3).
    public var hasHopByHopOptions = false
    /// The routing header's type and segments left, if any (RFC 8200 §4.4).
    public var routing: IPv6RoutingSummary?
    /// The Fragment header, if any (RFC 8200 §4.5).
    public var fragment: IPv6FragmentRepr?
    /// Whether an Authentication Header was walked over (RFC 4302).
    public var hasAuthenticationHeader = false
    /// Destination Options headers seen (RFC 8200 §4.1 allows two).
    public var destinationOptionsCount = 0
    /// Whether the upper-layer offset points at fragment data rather than a header (a
    /// fragment with a nonzero offset; reassemble before parsing the upper layer).
    public var isFragmentData = false

    /// Creates a summary.
    public init(upperLayerProtocol: UInt8, upperLayerOffset: Int) {
        self.upperLayerProtocol = upperLayerProtocol
        self.upperLayerOffset = upperLayerOffset
    }

    /// Walks the headers of `payload` (the bytes after the fixed header) starting with
    /// `nextHeader`; see `IPv6ExtensionHeaderReader` for the checks.
    public static func walk(_ payload: UnsafeRawBufferPointer, nextHeader: UInt8,
                            maximumHeaders: Int = defaultMaximumHeaders) throws(WireError) -> IPv6ExtensionHeaderChain {
        var reader = IPv6ExtensionHeaderReader(payload: payload, nextHeader: nextHeader, maximumHeaders: maximumHeaders)
        var chain = IPv6ExtensionHeaderChain(upperLayerProtocol: nextHeader, upperLayerOffset: 0)
        while let header = try reader.next() {
            switch header.kind {
            case IPProtocolNumber.hopByHopOptions: chain.hasHopByHopOptions = true
            case IPProtocolNumber.routing:
                chain.routing = IPv6RoutingSummary(routingType: header.bytes.byte(at: 2), segmentsLeft: header.bytes.byte(at: 3))
            case IPProtocolNumber.fragment: chain.fragment = header.fragment
            case IPProtocolNumber.authentication: chain.hasAuthenticationHeader = true
            case IPProtocolNumber.destinationOptions: chain.destinationOptionsCount += 1
            default: break
            }
        }
        chain.upperLayerProtocol = reader.nextHeader
        chain.upperLayerOffset = reader.offset
        chain.headerCount = reader.headerCount
        chain.isFragmentData = reader.reachedFragmentData
        return chain
    }
}

/// A routing header's generic fields (RFC 8200 §4.4); the type-specific data stays in the
/// packet (`IPv6ExtensionHeader.body`).
public struct IPv6RoutingSummary: Equatable, Sendable {
    /// Routing type (0 is deprecated by RFC 5095; 2 is Mobile IPv6; 4 is SRv6, RFC 8754).
    public var routingType: UInt8
    /// Segments left: route segments still to visit.
    public var segmentsLeft: UInt8

    /// Creates a summary.
    public init(routingType: UInt8, segmentsLeft: UInt8) {
        self.routingType = routingType
        self.segmentsLeft = segmentsLeft
    }
}

/// The Fragment header as values (RFC 8200 §4.5): 8 bytes, next header, a 13-bit offset in
/// 8-byte units, the M flag, a 32-bit identification. Reserved fields are written as zero and
/// ignored on receipt.
public struct IPv6FragmentRepr: Equatable, Sendable {
    /// The header's length.
    public static let length = 8

    /// The header after the fragmentable part (the first fragment's upper layer).
    public var nextHeader: UInt8
    /// Offset of the data in 8-byte units.
    public var fragmentOffset: UInt16
    /// M: more fragments follow.
    public var moreFragments: Bool
    /// Identification, shared by the fragments of one packet.
    public var identification: UInt32

    /// Creates a fragment header.
    public init(nextHeader: UInt8, fragmentOffset: UInt16, moreFragments: Bool, identification: UInt32) {
        self.nextHeader = nextHeader
        self.fragmentOffset = fragmentOffset & 0x1fff
        self.moreFragments = moreFragments
        self.identification = identification
    }

    /// Whether this is an atomic fragment (offset 0, M clear; RFC 6946).
    public var isAtomic: Bool { fragmentOffset == 0 && !moreFragments }
    /// The header's length, 8.
    public var bufferLength: Int { Self.length }

    /// Reads the Fragment header at the start of `bytes`. The header reader checks the length
    /// first; given fewer than 8 bytes, fields past the end read as 0, so this never traps.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> IPv6FragmentRepr {
        guard bytes.count >= length else {
            return IPv6FragmentRepr(nextHeader: bytes.first ?? 0, fragmentOffset: 0, moreFragments: false, identification: 0)
        }
        let field = bytes.bigEndian16(at: 2)
        return IPv6FragmentRepr(nextHeader: bytes.byte(at: 0), fragmentOffset: field >> 3,
                                moreFragments: field & 1 != 0, identification: bytes.bigEndian32(at: 4))
    }

    /// Writes the 8 bytes into `buffer`. Traps if `buffer` is shorter.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.length, "IPv6FragmentRepr.emit: buffer shorter than 8 bytes")
        buffer.storeByte(nextHeader, at: 0)
        buffer.storeByte(0, at: 1)
        buffer.storeBigEndian16((fragmentOffset & 0x1fff) << 3 | (moreFragments ? 1 : 0), at: 2)
        buffer.storeBigEndian32(identification, at: 4)
    }
}

/// Walks the TLV-encoded options of a Hop-by-Hop or Destination Options header (RFC 8200
/// §4.2): Pad1 (0) is one byte, PadN (1) and every other option are type, data length, data.
/// Each option must fit in the area.
public struct IPv6OptionReader {
    /// One option: its type and data.
    public struct Option {
        /// Option type. The high two bits say what a node that does not know it must do.
        public var type: UInt8
        /// The option data.
        public var data: UnsafeRawBufferPointer

        /// RFC 8200 §4.2's action for an unrecognized option: 0 skip, 1 discard, 2 discard and
        /// send ICMP Parameter Problem, 3 the same unless the destination is multicast.
        public var unrecognizedAction: UInt8 { type >> 6 }
        /// Whether the data may change en route (the third-highest bit).
        public var mayChangeEnRoute: Bool { type & 0x20 != 0 }
    }

    /// Router Alert (RFC 2711), carried by MLD and RSVP.
    public static let routerAlert: UInt8 = 5

    private let area: UnsafeRawBufferPointer
    private var offset = 0

    /// A reader over an options area (a header's bytes after its first two).
    public init(_ area: UnsafeRawBufferPointer) { self.area = area }

    /// The next option other than padding; `nil` at the area's end.
    public mutating func next() throws(WireError) -> Option? {
        while offset < area.count {
            let type = area.byte(at: offset)
            if type == 0 {
                offset += 1
                continue
            }
            guard offset + 2 <= area.count else { throw .malformed("options") }
            let length = Int(area.byte(at: offset + 1))
            guard offset + 2 + length <= area.count else { throw .malformed("options") }
            let option = Option(type: type, data: area.bytes(offset + 2, length))
            offset += 2 + length
            if type == 1 { continue }
            return option
        }
        return nil
    }
}
