// TCP (RFC 9293 §3.1): a byte view over a received segment, and its header as values
// (`TCPRepr`, options in TCPOptions.swift). The data stays in the buffer; nothing here
// allocates.

/// TCP control bits (RFC 9293 §3.1; ECE and CWR from RFC 3168 §6.1).
public struct TCPFlags: OptionSet, Hashable, Sendable {
    /// The flags byte (byte 13 of the header).
    public let rawValue: UInt8
    /// Wraps a flags byte.
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// FIN: no more data from sender.
    public static let fin = TCPFlags(rawValue: 0x01)
    /// SYN: synchronize sequence numbers.
    public static let syn = TCPFlags(rawValue: 0x02)
    /// RST: reset the connection.
    public static let rst = TCPFlags(rawValue: 0x04)
    /// PSH: push function.
    public static let psh = TCPFlags(rawValue: 0x08)
    /// ACK: the acknowledgment field is significant.
    public static let ack = TCPFlags(rawValue: 0x10)
    /// URG: the urgent pointer is significant.
    public static let urg = TCPFlags(rawValue: 0x20)
    /// ECE: ECN echo (RFC 3168).
    public static let ece = TCPFlags(rawValue: 0x40)
    /// CWR: congestion window reduced (RFC 3168).
    public static let cwr = TCPFlags(rawValue: 0x80)
}

/// A read-only view of a TCP segment (RFC 9293 §3.1): the whole upper-layer payload.
///
/// `init(checking:)` validates every length the accessors rely on, so no accessor traps
/// afterwards. The view must not outlive the buffer.
public struct TCPPacket {
    /// Byte offsets of the header fields (RFC 9293 §3.1, figure 1).
    public enum Field {
        /// Source port.
        public static let sourcePort = 0
        /// Destination port.
        public static let destinationPort = 2
        /// Sequence number.
        public static let sequenceNumber = 4
        /// Acknowledgment number.
        public static let acknowledgmentNumber = 8
        /// Data offset (high nibble, in 32-bit words) and 4 reserved bits.
        public static let dataOffset = 12
        /// Control bits.
        public static let flags = 13
        /// Window.
        public static let window = 14
        /// Checksum over the pseudo-header, header and data.
        public static let checksum = 16
        /// Urgent pointer.
        public static let urgentPointer = 18
        /// Options start here (data offset > 5).
        public static let options = 20
    }

    /// The header without options.
    public static let minimumHeaderLength = 20
    /// The header with 40 bytes of options.
    public static let maximumHeaderLength = 60

    /// The segment: header, options, data.
    public let buffer: UnsafeRawBufferPointer
    /// The header's length, options included (data offset × 4).
    public let headerLength: Int

    /// Checks that `buffer` holds a whole header: at least 20 bytes, a data offset of at least
    /// 5 words, and the options inside the buffer (RFC 9293 §3.1).
    public init(checking buffer: UnsafeRawBufferPointer) throws(WireError) {
        guard buffer.count >= Self.minimumHeaderLength else { throw .truncated }
        let headerLength = Int(buffer.byte(at: Field.dataOffset) >> 4) * 4
        guard headerLength >= Self.minimumHeaderLength else { throw .malformed("data offset") }
        guard buffer.count >= headerLength else { throw .truncated }
        self.buffer = buffer
        self.headerLength = headerLength
    }

    /// Source port.
    public var sourcePort: UInt16 { buffer.bigEndian16(at: Field.sourcePort) }
    /// Destination port.
    public var destinationPort: UInt16 { buffer.bigEndian16(at: Field.destinationPort) }
    /// Sequence number.
    public var sequenceNumber: UInt32 { buffer.bigEndian32(at: Field.sequenceNumber) }
    /// Acknowledgment number.
    public var acknowledgmentNumber: UInt32 { buffer.bigEndian32(at: Field.acknowledgmentNumber) }
    /// The 4 reserved bits after the data offset (RFC 9293 §3.1: ignored on receipt).
    public var reservedBits: UInt8 { buffer.byte(at: Field.dataOffset) & 0x0f }
    /// Control bits.
    public var flags: TCPFlags { TCPFlags(rawValue: buffer.byte(at: Field.flags)) }
    /// Window, unscaled.
    public var window: UInt16 { buffer.bigEndian16(at: Field.window) }
    /// Checksum as stored.
    public var checksum: UInt16 { buffer.bigEndian16(at: Field.checksum) }
    /// Urgent pointer.
    public var urgentPointer: UInt16 { buffer.bigEndian16(at: Field.urgentPointer) }
    /// The options area.
    public var options: UnsafeRawBufferPointer { buffer.bytes(Field.options, headerLength - Field.options) }
    /// The data.
    public var payload: UnsafeRawBufferPointer { buffer.bytes(from: headerLength) }
    /// A reader over the options.
    public var optionReader: TCPOptionReader { TCPOptionReader(options) }

    /// The ports of a TCP (or UDP) header quoted in an ICMP error, which carries at least its
    /// first 8 bytes (RFC 792; RFC 4443 §3): nil if fewer than 4 bytes are there.
    public static func quotedPorts(_ bytes: UnsafeRawBufferPointer) -> (source: UInt16, destination: UInt16)? {
        guard bytes.count >= 4 else { return nil }
        return (bytes.bigEndian16(at: Field.sourcePort), bytes.bigEndian16(at: Field.destinationPort))
    }

    /// Whether the checksum verifies for `source`→`destination` (RFC 9293 §3.1). Mixed
    /// families never verify.
    public func checksumIsValid(source: IPAddress, destination: IPAddress) -> Bool {
        PseudoHeader.checksum(source: source, destination: destination, protocolNumber: IPProtocolNumber.tcp,
                              segment: buffer) == 0
    }

    /// Where the MD5 signature option's 16 digest bytes start in the segment, if the
    /// options are well-formed and hold one (RFC 2385 §3.0).
    public var md5SignatureOffset: Int? {
        var reader = optionReader
        while case .some(let option) = try? reader.next() {
            if case .md5Signature = option { return Field.options + reader.optionOffset + 2 }
        }
        return nil
    }

    /// Passes `body` the bytes an RFC 2385 §2.0 MD5 signature covers, in order: the
    /// pseudo-header (IPv4's 12 bytes; for IPv6 the 40-byte RFC 8200 §8.1 pseudo-header, as
    /// Linux signs), the fixed 20-byte header with a zero checksum (options excluded), and
    /// the data. The caller feeds them to MD5 and then the key. Nothing is allocated; mixed
    /// address families pass nothing.
    public func forEachMD5SignedRegion(source: IPAddress, destination: IPAddress,
                                       _ body: (UnsafeRawBufferPointer) -> Void) {
        withUnsafeTemporaryAllocation(byteCount: 60, alignment: 8) { scratch in
            var pseudoLength = 0
            switch (source, destination) {
            case (.v4(let s), .v4(let d)):
                scratch.storeIPv4Address(s, at: 0)
                scratch.storeIPv4Address(d, at: 4)
                scratch.storeBigEndian16(UInt16(IPProtocolNumber.tcp), at: 8)
                scratch.storeBigEndian16(UInt16(truncatingIfNeeded: buffer.count), at: 10)
                pseudoLength = 12
            case (.v6(let s), .v6(let d)):
                scratch.storeIPv6Address(s, at: 0)
                scratch.storeIPv6Address(d, at: 16)
                scratch.storeBigEndian32(UInt32(truncatingIfNeeded: buffer.count), at: 32)
                scratch.storeBigEndian32(UInt32(IPProtocolNumber.tcp), at: 36)
                pseudoLength = 40
            default:
                return
            }
            body(scratch.readOnly.bytes(0, pseudoLength))
            let header = UnsafeMutableRawBufferPointer(rebasing: scratch[pseudoLength..<(pseudoLength + Self.minimumHeaderLength)])
            header.copyMemory(from: buffer.bytes(0, Self.minimumHeaderLength))
            header.storeBigEndian16(0, at: Field.checksum)
            body(header.readOnly)
            body(payload)
        }
    }

    /// Recomputes the checksum of the segment that fills `segment` (header and data) for
    /// `source`→`destination` (RFC 9293 §3.1), e.g. after `storeMD5Signature`. Traps if the
    /// segment is shorter than 20 bytes or the families differ.
    public static func fillChecksum(in segment: UnsafeMutableRawBufferPointer, source: IPAddress, destination: IPAddress) {
        precondition(segment.count >= minimumHeaderLength, "TCPPacket.fillChecksum: not a TCP segment")
        segment.storeBigEndian16(0, at: Field.checksum)
        guard var sum = PseudoHeader.start(source: source, destination: destination, protocolNumber: IPProtocolNumber.tcp,
                                           length: segment.count) else {
            preconditionFailure("TCPPacket.fillChecksum: source and destination of different families")
        }
        sum.add(segment.readOnly)
        segment.storeBigEndian16(sum.value, at: Field.checksum)
    }

    /// Writes `digest` into the MD5 signature option of the segment in `segment` and
    /// recomputes its checksum. Returns `false` (and changes nothing) if the segment is not
    /// a well-formed one with an MD5 option.
    @discardableResult
    public static func storeMD5Signature(_ digest: TCPMD5Digest, in segment: UnsafeMutableRawBufferPointer,
                                         source: IPAddress, destination: IPAddress) -> Bool {
        guard source.hasSameFamily(as: destination), let packet = try? TCPPacket(checking: segment.readOnly),
              let offset = packet.md5SignatureOffset else { return false }
        segment.storeBigEndian64(digest.high, at: offset)
        segment.storeBigEndian64(digest.low, at: offset + 8)
        fillChecksum(in: segment, source: source, destination: destination)
        return true
    }
}

/// A TCP header as values (RFC 9293 §3.1): what `parse` accepts and `emit` writes. The data
/// stays in the buffer; `payloadLength` says how much there is.
public struct TCPRepr: Hashable, Sendable {
    /// Source port.
    public var sourcePort: UInt16
    /// Destination port.
    public var destinationPort: UInt16
    /// Sequence number.
    public var sequenceNumber: UInt32
    /// Acknowledgment number (significant with ACK).
    public var acknowledgmentNumber: UInt32
    /// Control bits.
    public var flags: TCPFlags
    /// Window, unscaled as on the wire.
    public var window: UInt16
    /// Urgent pointer (significant with URG).
    public var urgentPointer: UInt16 = 0
    /// Options.
    public var options: TCPOptions
    /// The data's length.
    public var payloadLength: Int

    /// Creates a header.
    public init(sourcePort: UInt16, destinationPort: UInt16, sequenceNumber: UInt32, acknowledgmentNumber: UInt32,
                flags: TCPFlags, window: UInt16, options: TCPOptions = TCPOptions(), payloadLength: Int = 0) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.window = window
        self.options = options
        self.payloadLength = payloadLength
    }

    /// The header's length with options (a multiple of 4, at most 60).
    public var headerLength: Int { TCPPacket.minimumHeaderLength + options.bufferLength }
    /// The segment's length: header and data.
    public var bufferLength: Int { headerLength + payloadLength }
    /// SEG.LEN: the sequence space the segment occupies, data plus one for each of SYN and
    /// FIN (RFC 9293 §3.4).
    public var sequenceLength: Int {
        payloadLength + (flags.contains(.syn) ? 1 : 0) + (flags.contains(.fin) ? 1 : 0)
    }

    /// Reads a checked segment carried from `source` to `destination`: options well-formed
    /// (see `TCPOptionReader`), checksum verified when `verifyChecksum` (RFC 9293 §3.1).
    public static func parse(_ packet: TCPPacket, source: IPAddress, destination: IPAddress,
                             verifyChecksum: Bool = true) throws(WireError) -> TCPRepr {
        if verifyChecksum && !packet.checksumIsValid(source: source, destination: destination) { throw .badChecksum }
        var repr = TCPRepr(sourcePort: packet.sourcePort, destinationPort: packet.destinationPort,
                           sequenceNumber: packet.sequenceNumber, acknowledgmentNumber: packet.acknowledgmentNumber,
                           flags: packet.flags, window: packet.window, options: try TCPOptions.parse(packet.options),
                           payloadLength: packet.buffer.count - packet.headerLength)
        repr.urgentPointer = packet.urgentPointer
        return repr
    }

    /// Checks and parses the segment in `bytes` (the whole upper-layer payload).
    public static func parse(_ bytes: UnsafeRawBufferPointer, source: IPAddress, destination: IPAddress,
                             verifyChecksum: Bool = true) throws(WireError) -> TCPRepr {
        try parse(TCPPacket(checking: bytes), source: source, destination: destination, verifyChecksum: verifyChecksum)
    }

    /// Writes the header and options into `buffer` and, when `fillChecksum`, the checksum over
    /// the pseudo-header for `source`→`destination` and the first `bufferLength` bytes (the
    /// payload must already be in place). Without `fillChecksum` the field is 0. Traps if
    /// `buffer` is shorter than `bufferLength` or the families differ.
    public func emit(into buffer: UnsafeMutableRawBufferPointer, source: IPAddress, destination: IPAddress,
                     fillChecksum: Bool = true) {
        typealias F = TCPPacket.Field
        let headerLength = self.headerLength
        precondition(buffer.count >= headerLength + payloadLength, "TCPRepr.emit: buffer shorter than the segment")
        buffer.storeBigEndian16(sourcePort, at: F.sourcePort)
        buffer.storeBigEndian16(destinationPort, at: F.destinationPort)
        buffer.storeBigEndian32(sequenceNumber, at: F.sequenceNumber)
        buffer.storeBigEndian32(acknowledgmentNumber, at: F.acknowledgmentNumber)
        buffer.storeByte(UInt8(headerLength / 4) << 4, at: F.dataOffset)
        buffer.storeByte(flags.rawValue, at: F.flags)
        buffer.storeBigEndian16(window, at: F.window)
        buffer.storeBigEndian16(0, at: F.checksum)
        buffer.storeBigEndian16(urgentPointer, at: F.urgentPointer)
        options.emit(into: UnsafeMutableRawBufferPointer(rebasing: buffer[F.options..<headerLength]))
        if fillChecksum {
            TCPPacket.fillChecksum(in: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(headerLength + payloadLength)]),
                                   source: source, destination: destination)
        }
    }
}

// MARK: - Array conveniences (allocate; for control paths and tests)

extension TCPRepr {
    /// The segment with `payload` as its data (its count becomes `payloadLength`).
    public func emit<C: Collection>(payload: C, source: IPAddress, destination: IPAddress) -> [UInt8]
        where C.Element == UInt8
    {
        var repr = self
        repr.payloadLength = payload.count
        return makeBytes(count: repr.bufferLength) { buffer in
            buffer.store(payload, at: repr.headerLength)
            repr.emit(into: buffer, source: source, destination: destination)
        }
    }
}
