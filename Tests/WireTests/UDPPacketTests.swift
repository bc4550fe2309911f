import Testing
import Wire

/// UDP (RFC 768) with both pseudo-headers: Linux's datagrams, emission to the same bytes, the
/// zero-checksum rules, and the length checks.
@Suite struct UDPPacketTests {
    let s4 = IPAddress("10.9.0.1")!, d4 = IPAddress("10.9.0.2")!
    let s6 = IPAddress("2001:db8::1")!, d6 = IPAddress("2001:db8::2")!

    @Test func linuxDatagramsBothFamilies() throws {
        for (packet, source, destination, headerLength, checksum) in [
            (Captured.udp4, s4, d4, 20, UInt16(0xdd48)), (Captured.udp6, s6, d6, 40, UInt16(0xd39d)),
        ] {
            let segment = Array(packet[headerLength...])
            try segment.view { raw in
                let udp = try UDPPacket(checking: raw)
                #expect(udp.length == 13 && udp.checksum == checksum && Array(udp.payload) == Array("hello".utf8))
                #expect(udp.checksumIsValid(source: source, destination: destination))
                let repr = try UDPRepr.parse(udp, source: source, destination: destination)
                #expect(repr.destinationPort == 53 && repr.payloadLength == 5)
                #expect(repr.emit(payload: udp.payload, source: source, destination: destination) == segment)
            }
        }
    }

    @Test func checksumRules() throws {
        let repr = UDPRepr(sourcePort: 40000, destinationPort: 53)
        let bytes = repr.emit(payload: Array("hello".utf8), source: s4, destination: d4)
        #expect(throws: WireError.badChecksum) { try bytes.view { try UDPRepr.parse($0, source: s4, destination: IPAddress("10.9.0.3")!) } }
        #expect(throws: WireError.badChecksum) { try bytes.view { try UDPRepr.parse($0, source: s4, destination: d6) } }
        var none = bytes
        none[6] = 0
        none[7] = 0
        // Zero means "no checksum" over IPv4 (RFC 768), and is refused over IPv6 (RFC 8200 §8.1).
        #expect(try none.view { try UDPRepr.parse($0, source: s4, destination: d4) }.payloadLength == 5)
        #expect(throws: WireError.malformed("zero checksum over IPv6")) { try none.view { try UDPRepr.parse($0, source: s6, destination: d6) } }
        #expect(try none.view { try UDPRepr.parse($0, source: s6, destination: d6, verifyChecksum: false) }.payloadLength == 5)
        // Without fillChecksum the field stays 0.
        let unchecked = emitted(8) { repr.emit(into: $0, source: s4, destination: d4, fillChecksum: false) }
        #expect(unchecked[6] == 0 && unchecked[7] == 0)
    }

    /// A datagram whose sum comes to zero is sent with 0xffff (RFC 768).
    @Test func computedZeroIsSentAsAllOnes() throws {
        // Choose the last two payload bytes so the whole sum is 0xffff (checksum 0).
        let repr = UDPRepr(sourcePort: 1, destinationPort: 2)
        var payload: [UInt8] = [0, 0]
        let probe = repr.emit(payload: payload, source: s4, destination: d4)
        let stored = UInt16(probe[6]) << 8 | UInt16(probe[7])
        let fix = stored == 0xffff ? UInt16(0) : stored
        payload = [UInt8(fix >> 8), UInt8(fix & 0xff)]
        let bytes = repr.emit(payload: payload, source: s4, destination: d4)
        #expect(bytes[6] == 0xff && bytes[7] == 0xff)
        #expect(try bytes.view { try UDPRepr.parse($0, source: s4, destination: d4) }.sourcePort == 1)
    }

    @Test func lengthChecks() throws {
        let bytes = UDPRepr(sourcePort: 1, destinationPort: 2).emit(payload: [1, 2, 3], source: s4, destination: d4)
        #expect(throws: WireError.truncated) { try Array(bytes.prefix(7)).view { try UDPPacket(checking: $0) } }
        #expect(throws: WireError.truncated) { try Array(bytes.prefix(10)).view { try UDPPacket(checking: $0) } }
        var short = bytes
        short[5] = 7
        #expect(throws: WireError.malformed("length")) { try short.view { try UDPPacket(checking: $0) } }
        // Bytes past the length field are not data (RFC 1122 §4.1.3.4 ignores them).
        try (bytes + [9, 9]).view { raw in
            let udp = try UDPPacket(checking: raw)
            #expect(udp.payload.count == 3 && udp.checksumIsValid(source: s4, destination: d4))
        }
    }
}
