import Testing
import Wire

/// ICMP (RFC 792) and ICMPv6 (RFC 4443): messages Linux sent, their quoted packets, every
/// message kind's round trip, and checksums (ICMPv6's over the pseudo-header).
@Suite struct ICMPPacketTests {
    /// Runs `body` over the ICMP message inside a captured IPv4 packet.
    func icmp4<R>(_ packet: [UInt8], _ body: (ICMPv4Packet) throws -> R) throws -> R {
        try packet.view { raw in try body(ICMPv4Packet(checking: IPv4Packet(checking: raw).payload)) }
    }

    /// Runs `body` over the ICMPv6 message inside a captured IPv6 packet.
    func icmp6<R>(_ packet: [UInt8], _ body: (ICMPv6Packet, IPv6Address, IPv6Address) throws -> R) throws -> R {
        try packet.view { raw in
            let ip = try IPv6Packet(checking: raw)
            return try body(ICMPv6Packet(checking: ip.payload), ip.source, ip.destination)
        }
    }

    @Test func linuxEchoRequest() throws {
        try icmp4(Captured.icmp4Echo) { message throws in
            #expect(message.type == 8 && message.code == 0 && message.checksum == 0xb04c && message.checksumIsValid)
            #expect(message.identifier == 0xb61c && message.sequenceNumber == 1 && !message.isError)
            #expect(Array(message.data) == Array("abcdefgh".utf8))
            let repr = try ICMPv4Repr.parse(message)
            #expect(repr == ICMPv4Repr(message: .echoRequest(identifier: 0xb61c, sequenceNumber: 1), payloadLength: 8))
            #expect(repr.emit(payload: message.data) == Array(message.buffer))
        }
    }

    @Test func linuxErrorsQuoteTheInvokingPacket() throws {
        try icmp4(Captured.icmp4PortUnreachable) { message throws in
            let repr = try ICMPv4Repr.parse(message)
            #expect(repr.message == .destinationUnreachable(code: ICMPv4Message.UnreachableCode.port, nextHopMTU: 0))
            #expect(message.isError && repr.payloadLength == 32)
            let quoted = try message.quotedPacket()
            #expect(quoted.source == IPv4Address(10, 9, 0, 2) && quoted.protocolNumber == IPProtocolNumber.udp)
            let udp = try UDPPacket(checking: quoted.payload)
            #expect(udp.sourcePort == 5000 && udp.destinationPort == 9999)
        }
        try icmp4(Captured.icmp4TimeExceeded) { message throws in
            #expect(try ICMPv4Repr.parse(message).message == .timeExceeded(code: 0))
            #expect(try message.quotedPacket().timeToLive == 1)
        }
        try icmp6(Captured.icmp6PortUnreachable) { message, source, destination throws in
            let repr = try ICMPv6Repr.parse(message, source: source, destination: destination)
            #expect(repr.message == .destinationUnreachable(code: ICMPv6Message.UnreachableCode.port))
            let quoted = try message.quotedPacket()
            #expect(quoted.source == IPv6Address("2001:db8::2") && quoted.nextHeader == IPProtocolNumber.udp)
            #expect(try UDPPacket(checking: quoted.payload).destinationPort == 9999)
        }
        try icmp6(Captured.icmp6TimeExceeded) { message, source, destination throws in
            #expect(try ICMPv6Repr.parse(message, source: source, destination: destination).message == .timeExceeded(code: 0))
            #expect(message.isError)
            #expect(try message.quotedPacket().hopLimit == 1)
        }
    }

    @Test func linuxEchoRequestV6() throws {
        try icmp6(Captured.icmp6Echo) { message, source, destination throws in
            #expect(message.checksum == 0xdc8b && message.checksumIsValid(source: source, destination: destination))
            #expect(!message.checksumIsValid(source: destination, destination: IPv6Address("2001:db8::3")!))
            let repr = try ICMPv6Repr.parse(message, source: source, destination: destination)
            #expect(repr.message == .echoRequest(identifier: 0xb61d, sequenceNumber: 1) && repr.payloadLength == 8)
            #expect(repr.emit(payload: message.data, source: source, destination: destination) == Array(message.buffer))
            #expect(throws: WireError.badChecksum) {
                try ICMPv6Repr.parse(message, source: source, destination: IPv6Address("2001:db8::3")!)
            }
            #expect(try ICMPv6Repr.parse(message, source: source, destination: source, verifyChecksum: false) == repr)
        }
    }

    static let v4Messages: [ICMPv4Message] = [
        .echoReply(identifier: 1, sequenceNumber: 2), .echoRequest(identifier: 0xffff, sequenceNumber: 0),
        .destinationUnreachable(code: ICMPv4Message.UnreachableCode.fragmentationNeeded, nextHopMTU: 1400),
        .redirect(code: 1, gateway: IPv4Address(192, 0, 2, 1)), .timeExceeded(code: 1), .parameterProblem(pointer: 9),
        .other(type: 13, code: 0, restOfHeader: 0x1234_5678),
    ]

    @Test(arguments: v4Messages)
    func icmp4RoundTrip(message: ICMPv4Message) throws {
        let repr = ICMPv4Repr(message: message, payloadLength: 5)
        let bytes = repr.emit(payload: [1, 2, 3, 4, 5])
        #expect(referenceChecksum(bytes) == 0)
        #expect(try bytes.view { try ICMPv4Repr.parse($0) } == repr)
    }

    static let v6Messages: [ICMPv6Message] = [
        .destinationUnreachable(code: 0), .packetTooBig(mtu: 1280), .timeExceeded(code: 1),
        .parameterProblem(code: ICMPv6Message.ParameterProblemCode.unrecognizedNextHeader, pointer: 40),
        .echoRequest(identifier: 7, sequenceNumber: 8), .echoReply(identifier: 9, sequenceNumber: 10),
        .other(type: 135, code: 0, restOfHeader: 0),  // a neighbor solicitation (RFC 4861)
    ]

    @Test(arguments: v6Messages)
    func icmp6RoundTrip(message: ICMPv6Message) throws {
        let s = IPv6Address("fe80::1")!, d = IPv6Address("ff02::1")!
        let repr = ICMPv6Repr(message: message, payloadLength: 3)
        let bytes = repr.emit(payload: [1, 2, 3], source: s, destination: d)
        #expect(try bytes.view { try ICMPv6Repr.parse($0, source: s, destination: d) } == repr)
    }

    /// Known types with bits where the RFCs say "unused" decode as `other`, so the bytes come
    /// back unchanged.
    @Test func nonCanonicalEncodingsRoundTripAsOther() throws {
        #expect(ICMPv4Message(type: 8, code: 1, restOfHeader: 5) == .other(type: 8, code: 1, restOfHeader: 5))
        #expect(ICMPv4Message(type: 3, code: 4, restOfHeader: 0x0001_0578) == .other(type: 3, code: 4, restOfHeader: 0x0001_0578))
        #expect(ICMPv4Message(type: 11, code: 0, restOfHeader: 1) == .other(type: 11, code: 0, restOfHeader: 1))
        #expect(ICMPv4Message(type: 12, code: 0, restOfHeader: 0x0900_0001) == .other(type: 12, code: 0, restOfHeader: 0x0900_0001))
        #expect(ICMPv6Message(type: 2, code: 1, restOfHeader: 1280) == .other(type: 2, code: 1, restOfHeader: 1280))
        #expect(ICMPv6Message(type: 1, code: 4, restOfHeader: 1) == .other(type: 1, code: 4, restOfHeader: 1))
        for message in Self.v4Messages + [ICMPv4Message(type: 3, code: 4, restOfHeader: 0x0001_0578)] {
            #expect(ICMPv4Message(type: message.type, code: message.code, restOfHeader: message.restOfHeader) == message)
        }
        for message in Self.v6Messages {
            #expect(ICMPv6Message(type: message.type, code: message.code, restOfHeader: message.restOfHeader) == message)
        }
    }

    @Test func checks() throws {
        #expect(throws: WireError.truncated) { try [8, 0, 0, 0, 0, 0, 0].view { try ICMPv4Packet(checking: $0) } }
        #expect(throws: WireError.truncated) { try [128, 0, 0].view { try ICMPv6Packet(checking: $0) } }
        var corrupt = Captured.icmp4Echo
        corrupt[30] ^= 1
        #expect(throws: WireError.badChecksum) { try icmp4(corrupt) { try ICMPv4Repr.parse($0) } }
        #expect(try icmp4(corrupt) { try ICMPv4Repr.parse($0, verifyChecksum: false) }.payloadLength == 8)
        // An echo quotes nothing: its data is not an IPv4 header.
        #expect(throws: WireError.truncated) { try icmp4(Captured.icmp4Echo) { try $0.quotedPacket() } }
    }
}
