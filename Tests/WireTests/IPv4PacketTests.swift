import Testing
import Wire

/// IPv4 (RFC 791 §3.1): the view's fields on packets Linux wrote, parse/emit round trips, and
/// each check `init(checking:)` and `IPv4Repr.parse` make.
@Suite struct IPv4PacketTests {
    func repr(_ bytes: [UInt8], verifyChecksum: Bool = true) throws -> IPv4Repr {
        try bytes.view { try IPv4Repr.parse($0, verifyChecksum: verifyChecksum) }
    }

    @Test func fieldsOfALinuxSyn() throws {
        try Captured.tcp4Syn.view { raw in
            let packet = try IPv4Packet(checking: raw)
            #expect(packet.version == 4 && packet.headerLength == 20 && packet.totalLength == 60)
            #expect(packet.typeOfService == 0 && packet.dscp == 0 && packet.ecn == 0)
            #expect(packet.identification == 0x853d)
            #expect(packet.dontFragment && !packet.moreFragments && packet.fragmentOffset == 0 && !packet.isFragment)
            #expect(packet.timeToLive == 64 && packet.protocolNumber == IPProtocolNumber.tcp)
            #expect(packet.headerChecksum == 0xa16a && packet.checksumIsValid)
            #expect(packet.source == IPv4Address(10, 9, 0, 1) && packet.destination == IPv4Address(10, 9, 0, 2))
            #expect(packet.options.isEmpty && packet.payload.count == 40)
            #expect(Array(packet.payload.prefix(2)) == [0xdc, 0xe6])
        }
    }

    /// Every captured IPv4 packet parses, and its Repr emits the header Linux wrote, byte for byte.
    @Test(arguments: [Captured.tcp4Syn, Captured.tcp4MD5Syn, Captured.udp4, Captured.icmp4Echo,
                      Captured.icmp4PortUnreachable, Captured.icmp4TimeExceeded, Captured.udp4RecordRoute,
                      Captured.udp4SecondFragment])
    func emitReproducesLinuxHeaders(packet: [UInt8]) throws {
        let parsed = try repr(packet)
        #expect(parsed.bufferLength == packet.count)
        let header = emitted(parsed.headerLength) { parsed.emit(into: $0) }
        #expect(header == Array(packet.prefix(parsed.headerLength)))
    }

    @Test func optionsAndFragments() throws {
        let rr = try repr(Captured.udp4RecordRoute)
        #expect(rr.headerLength == 32 && rr.options.count == 12 && rr.payloadLength == 12)
        try Captured.udp4RecordRoute.view { raw in
            var reader = IPv4OptionReader(try IPv4Packet(checking: raw).options)
            let option = try #require(try reader.next())
            #expect(option.type == 7 && Array(option.data) == [8, 10, 9, 0, 1, 0, 0, 0, 0])
            #expect(try reader.next() == nil)  // end of list
        }
        let fragment = try repr(Captured.udp4SecondFragment)
        #expect(!fragment.dontFragment && !fragment.moreFragments && fragment.fragmentOffset == 157)
        #expect(fragment.identification == 0x0b14 && fragment.payloadLength == 288)
        // Options are padded to a word with end-of-list bytes.
        var padded = IPv4Repr(protocolNumber: 17, source: .loopback, destination: .loopback, payloadLength: 0)
        padded.options = [1, 148, 4, 0, 0]  // NOP, Router Alert (RFC 2113)
        let bytes = emitted(padded.headerLength) { padded.emit(into: $0) }
        #expect(bytes.count == 28 && bytes[0] == 0x47 && Array(bytes[20...]) == [1, 148, 4, 0, 0, 0, 0, 0])
        #expect(try repr(bytes).options == [1, 148, 4, 0, 0, 0, 0, 0])
    }

    /// The header of RFC 1071's well-known example (checksum 0xb861), built by the emitter.
    @Test func wellKnownHeaderChecksum() throws {
        var header = IPv4Repr(protocolNumber: 17, source: IPv4Address("192.168.0.1")!,
                              destination: IPv4Address("192.168.0.199")!, payloadLength: 0x73 - 20)
        header.dontFragment = true
        let bytes = emitted(20) { header.emit(into: $0) }
        #expect(bytes == hex("450000730000400040 11 b861 c0a80001 c0a800c7"))
    }

    @Test func checks() throws {
        let good = Captured.udp4
        func with(_ index: Int, _ value: UInt8, _ bytes: [UInt8] = Captured.udp4) -> [UInt8] {
            var b = bytes
            b[index] = value
            return b
        }
        #expect(throws: WireError.truncated) { try repr(Array(good.prefix(19))) }
        #expect(throws: WireError.malformed("version")) { try repr(with(0, 0x65)) }
        #expect(throws: WireError.malformed("header length")) { try repr(with(0, 0x44)) }
        #expect(throws: WireError.truncated) { try repr(with(0, 0x4f)) }  // 60-byte header in 33 bytes
        #expect(throws: WireError.malformed("total length")) { try repr(with(3, 19)) }
        #expect(throws: WireError.truncated) { try repr(Array(good.prefix(32))) }
        #expect(throws: WireError.badChecksum) { try repr(with(8, 63)) }
        #expect(try repr(with(8, 63), verifyChecksum: false).timeToLive == 63)
        #expect(throws: WireError.malformed("reserved flag")) { try repr(with(6, 0xc0), verifyChecksum: false) }
        // Offset 8191 × 8 plus 13 bytes of payload passes 65,535 (a "ping of death").
        #expect(throws: WireError.malformed("fragment offset")) {
            try repr(with(7, 0xff, with(6, 0x1f)), verifyChecksum: false)
        }
        // Options: a length below 2, and one running past the header.
        var rr = Captured.udp4RecordRoute
        rr[21] = 1
        #expect(throws: WireError.malformed("options")) { try repr(rr, verifyChecksum: false) }
        rr[21] = 13
        #expect(throws: WireError.malformed("options")) { try repr(rr, verifyChecksum: false) }
        // Link padding past the total length is not payload.
        let padded = good + [0, 0, 0]
        #expect(try repr(padded).payloadLength == 13)
        let (_, range) = try IPv4Header.parse(padded[...])
        #expect(range == 20..<33)
        let (_, shifted) = try IPv4Header.parse(([9, 9] + padded)[2...])
        #expect(shifted == 22..<35)
    }

    /// An ICMP error quotes a header and 8 bytes: the quoted view accepts a total length
    /// larger than what is there.
    @Test func quotedPackets() throws {
        let quote = Array(Captured.tcp4Syn.prefix(28))
        try quote.view { raw in
            #expect(throws: WireError.truncated) { try IPv4Packet(checking: raw) }
            let packet = try IPv4Packet(checkingQuoted: raw)
            #expect(packet.totalLength == 60 && packet.payload.count == 8 && packet.checksumIsValid)
            #expect(try IPv4Repr.parse(packet).payloadLength == 8)
        }
        #expect(throws: WireError.truncated) {
            try Array(Captured.tcp4Syn.prefix(19)).view { try IPv4Packet(checkingQuoted: $0) }
        }
    }

    /// RFC 1812 §5.3.1 in place, with RFC 1624's incremental checksum, on every TTL value.
    @Test func decrementTimeToLive() throws {
        for ttl in 0...255 {
            var header = IPv4Repr(protocolNumber: 6, source: IPv4Address(0xc000_0201), destination: IPv4Address(0xc633_6407),
                                  timeToLive: UInt8(ttl), payloadLength: 0)
            header.identification = UInt16(ttl * 251 % 65_536)
            var bytes = emitted(20) { header.emit(into: $0) }
            let result = bytes.withUnsafeMutableBytes { IPv4Packet.decrementTimeToLive(in: $0) }
            #expect(result == UInt8(max(ttl - 1, 0)))
            #expect(bytes[8] == result)
            #expect(referenceChecksum(bytes) == 0)
            header.timeToLive = result
            #expect(bytes == emitted(20) { header.emit(into: $0) })
        }
    }

    @Test func arrayConveniences() throws {
        let header = IPv4Header(protocolNumber: 1, source: IPv4Address(10, 0, 0, 1), destination: IPv4Address(10, 0, 0, 2))
        let bytes = header.emit(payloadLength: 8) + [8, 0, 0xf7, 0xff, 0, 0, 0, 0]
        let (parsed, payload) = try IPv4Header.parse(bytes[...])
        #expect(parsed.source == header.source && parsed.payloadLength == 8 && payload == 20..<28)
    }
}
