/// A TCP segment (RFC 9293 §3.1).
public struct TCPSegment: Equatable, Sendable {
    /// Control bits (RFC 9293 §3.1; ECE/CWR from RFC 3168).
    public struct Flags: OptionSet, Equatable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// FIN.
        public static let fin = Flags(rawValue: 0x01)
        /// SYN.
        public static let syn = Flags(rawValue: 0x02)
        /// RST.
        public static let rst = Flags(rawValue: 0x04)
        /// PSH.
        public static let psh = Flags(rawValue: 0x08)
        /// ACK.
        public static let ack = Flags(rawValue: 0x10)
        /// URG.
        public static let urg = Flags(rawValue: 0x20)
        /// ECE.
        public static let ece = Flags(rawValue: 0x40)
        /// CWR.
        public static let cwr = Flags(rawValue: 0x80)
    }

    /// Source port.
    public var sourcePort: UInt16
    /// Destination port.
    public var destinationPort: UInt16
    /// Sequence number.
    public var sequenceNumber: UInt32
    /// Acknowledgment number.
    public var acknowledgmentNumber: UInt32
    /// Control bits.
    public var flags: Flags
    /// Window (unscaled, as on the wire).
    public var window: UInt16
    /// Urgent pointer.
    public var urgentPointer: UInt16 = 0
    /// Options.
    public var options: [TCPOption] = []
    /// Data.
    public var payload: [UInt8] = []

    /// The fixed header's length.
    public static let minimumHeaderLength = 20

    /// Creates a segment.
    public init(sourcePort: UInt16, destinationPort: UInt16, sequenceNumber: UInt32,
                acknowledgmentNumber: UInt32, flags: Flags, window: UInt16,
                options: [TCPOption] = [], payload: [UInt8] = []) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.window = window
        self.options = options
        self.payload = payload
    }

    /// Parses a segment carried from `source` to `destination` (the whole IP payload):
    /// data offset within the segment, options well-formed, checksum verified if asked.
    public static func parse(_ bytes: ArraySlice<UInt8>, source: IPAddress, destination: IPAddress,
                             verifyChecksum: Bool = true) throws(WireError) -> TCPSegment {
        guard bytes.count >= minimumHeaderLength else { throw .truncated }
        let headerLength = Int(bytes.u8(12) >> 4) * 4
        guard headerLength >= minimumHeaderLength else { throw .malformed("data offset") }
        guard bytes.count >= headerLength else { throw .truncated }
        if verifyChecksum && PseudoHeader.checksum(source: source, destination: destination,
                                                   protocolNumber: 6, segment: bytes) != 0 {
            throw .badChecksum
        }
        var segment = TCPSegment(sourcePort: bytes.u16(0), destinationPort: bytes.u16(2),
                                 sequenceNumber: bytes.u32(4), acknowledgmentNumber: bytes.u32(8),
                                 flags: Flags(rawValue: bytes.u8(13)), window: bytes.u16(14))
        segment.urgentPointer = bytes.u16(18)
        segment.options = try TCPOption.parseList(bytes.dropFirst(minimumHeaderLength).prefix(headerLength - minimumHeaderLength))
        segment.payload = Array(bytes.dropFirst(headerLength))
        return segment
    }

    /// The bytes for `source`→`destination`, checksum filled in.
    public func emit(source: IPAddress, destination: IPAddress) -> [UInt8] {
        let optionBytes = TCPOption.emitList(options)
        let headerLength = Self.minimumHeaderLength + optionBytes.count
        var out: [UInt8] = []
        out.reserveCapacity(headerLength + payload.count)
        out.appendBigEndian(sourcePort)
        out.appendBigEndian(destinationPort)
        out.appendBigEndian(sequenceNumber)
        out.appendBigEndian(acknowledgmentNumber)
        out.append(UInt8(headerLength / 4) << 4)
        out.append(flags.rawValue)
        out.appendBigEndian(window)
        out += [0, 0]
        out.appendBigEndian(urgentPointer)
        out += optionBytes
        out += payload
        let sum = PseudoHeader.checksum(source: source, destination: destination, protocolNumber: 6,
                                        segment: out[...])
        out.storeBigEndian(sum, at: 16)
        return out
    }
}
