import Testing
@testable import Wire

func bytes(hex text: String) -> [UInt8] {
    var out: [UInt8] = []
    var chars = Array(text.utf8)[...]
    while chars.count >= 2 {
        out.append(UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16)!)
        chars = chars.dropFirst(2)
    }
    return out
}

/// Parse and emit of each format against bytes built independently (Python's struct and an
/// RFC 1071 sum of its own), and the checks each parser makes.
@Suite struct PacketFormatTests {
    let s4 = IPAddress("192.0.2.1")!, d4 = IPAddress("198.51.100.7")!

    @Test func ipv4() throws {
        let reference = bytes(hex: "450000730000400040110000c0a80001c0a800c7")
        var header = IPv4Header(protocolNumber: 17, source: IPv4Address("192.168.0.1")!,
                                destination: IPv4Address("192.168.0.199")!)
        header.dontFragment = true
        let emitted = header.emit(payloadLength: 0x73 - 20)
        #expect(Array(emitted[10...11]) == [0xb8, 0x61])
        #expect(Array(emitted[0..<10]) == Array(reference[0..<10]))
        let packet = emitted + [UInt8](repeating: 0, count: 0x73 - 20) + [9, 9]  // + link padding
        let (parsed, payload) = try IPv4Header.parse(packet[...])
        #expect(parsed == header)
        #expect(payload == 20..<0x73)
        var corrupt = packet
        corrupt[8] = 1
        #expect(throws: WireError.badChecksum) { try IPv4Header.parse(corrupt[...]) }
        #expect(throws: WireError.malformed("version")) { try IPv4Header.parse(([0x65] + packet.dropFirst())[...]) }
        #expect(throws: WireError.truncated) { try IPv4Header.parse(packet.prefix(50)) }
    }

    @Test func udpOverIPv4() throws {
        let datagram = UDPDatagram(sourcePort: 40000, destinationPort: 53, payload: Array("hello".utf8))
        let out = datagram.emit(source: s4, destination: d4)
        #expect(Array(out[0..<6]) == bytes(hex: "9c400035000d"))
        #expect(Array(out[6..<8]) == [0x33, 0x50])
        #expect(try UDPDatagram.parse(out[...], source: s4, destination: d4) == datagram)
        #expect(throws: WireError.badChecksum) { try UDPDatagram.parse(out[...], source: s4, destination: IPAddress("198.51.100.8")!) }
        var noChecksum = out
        noChecksum[6] = 0; noChecksum[7] = 0
        #expect(try UDPDatagram.parse(noChecksum[...], source: s4, destination: d4) == datagram)
        let s6 = IPAddress("2001:db8::1")!, d6 = IPAddress("2001:db8::2")!
        #expect(throws: WireError.malformed("zero checksum over IPv6")) {
            try UDPDatagram.parse(noChecksum[...], source: s6, destination: d6)
        }
        let six = datagram.emit(source: s6, destination: d6)
        #expect(try UDPDatagram.parse(six[...], source: s6, destination: d6) == datagram)
    }

    @Test func tcpSynWithLinuxOptions() throws {
        let wire = bytes(hex: "c82200b3000003e800000000a002faf04faf0000020405b40402080a112233440000000001030307")
        let segment = try TCPSegment.parse(wire[...], source: s4, destination: d4)
        #expect(segment.sourcePort == 51234 && segment.destinationPort == 179)
        #expect(segment.flags == .syn && segment.window == 64240)
        #expect(segment.options == [.maximumSegmentSize(1460), .sackPermitted,
                                    .timestamps(value: 0x1122_3344, echoReply: 0), .windowScale(7)])
        let again = try TCPSegment.parse(segment.emit(source: s4, destination: d4)[...], source: s4, destination: d4)
        #expect(again == segment)
        var withSack = segment
        withSack.options = [.sack([(1, 2), (3, 4)]), .md5Signature([UInt8](repeating: 7, count: 16))]
        withSack.payload = [1, 2, 3]
        #expect(try TCPSegment.parse(withSack.emit(source: s4, destination: d4)[...], source: s4, destination: d4) == withSack)
        #expect(throws: WireError.malformed("option length")) { try TCPOption.parseList([2, 1, 0, 0][...]) }
        #expect(throws: WireError.malformed("option 2 length")) { try TCPOption.parseList([2, 3, 0, 0][...]) }
        #expect(try TCPOption.parseList([1, 1, 0, 2, 4, 5, 0xb4][...]) == [])  // stops at EOL
        #expect(try TCPOption.parseList([30, 3, 9, 1][...]) == [.unknown(kind: 30, data: [9])])
    }

    @Test func ipv6ExtensionHeaders() throws {
        // Hop-by-Hop (8 bytes) → Fragment → UDP.
        let hbh: [UInt8] = [44, 0, 1, 4, 0, 0, 0, 0]
        let fragment: [UInt8] = [17, 0, 0x00, 0x09, 0, 0, 0x12, 0x34]  // offset 1, M=1
        let chain = try IPv6ExtensionChain.walk((hbh + fragment + [0, 0, 0, 0, 0, 0, 0, 0])[...], nextHeader: 0)
        #expect(chain.upperLayerProtocol == 17 && chain.upperLayerOffset == 16 && chain.headerCount == 2)
        #expect(chain.fragment?.offset == 1 && chain.fragment?.moreFragments == true && chain.fragment?.identification == 0x1234)
        #expect(throws: WireError.malformed("hop-by-hop not first")) {
            try IPv6ExtensionChain.walk(([0, 0, 0, 0, 0, 0, 0, 0] as [UInt8] + hbh)[...], nextHeader: 60)
        }
        #expect(throws: WireError.truncated) { try IPv6ExtensionChain.walk(([17, 3, 0, 0, 0, 0, 0, 0] as [UInt8])[...], nextHeader: 60) }
        let loop: [UInt8] = (0..<20).flatMap { _ -> [UInt8] in [60, 0, 0, 0, 0, 0, 0, 0] }
        #expect(throws: WireError.unsupported("more than 16 extension headers")) {
            try IPv6ExtensionChain.walk(loop[...], nextHeader: 60)
        }
        let header = IPv6Header(nextHeader: 58, source: IPv6Address("fe80::1")!, destination: IPv6Address("ff02::1")!)
        let (parsed, range) = try IPv6Header.parse((header.emit(payloadLength: 8) + [UInt8](repeating: 0, count: 8))[...])
        #expect(parsed == header && range == 40..<48)
    }

    @Test func icmpBothFamilies() throws {
        let echo = ICMPMessage(type: 8, code: 0, restOfHeader: 0x1234_0001, body: [1, 2, 3])
        #expect(try ICMPMessage.parseV4(echo.emitV4()[...]) == echo)
        #expect(echo.identifier == 0x1234 && echo.sequenceNumber == 1)
        let s = IPv6Address("fe80::1")!, d = IPv6Address("fe80::2")!
        let echo6 = ICMPMessage(type: 128, code: 0, restOfHeader: 7, body: [9])
        #expect(try ICMPMessage.parseV6(echo6.emitV6(source: s, destination: d)[...], source: s, destination: d) == echo6)
        #expect(throws: WireError.badChecksum) {
            try ICMPMessage.parseV6(echo6.emitV6(source: s, destination: d)[...], source: s, destination: IPv6Address("fe80::3")!)
        }
    }

    @Test func wireGuardMessages() throws {
        let messages: [WireGuardMessage] = [
            .initiation(sender: 1, ephemeral: .init(repeating: 2, count: 32), encryptedStatic: .init(repeating: 3, count: 48),
                        encryptedTimestamp: .init(repeating: 4, count: 28), mac1: .init(repeating: 5, count: 16),
                        mac2: .init(repeating: 6, count: 16)),
            .response(sender: 7, receiver: 8, ephemeral: .init(repeating: 9, count: 32),
                      encryptedNothing: .init(repeating: 10, count: 16), mac1: .init(repeating: 11, count: 16),
                      mac2: .init(repeating: 12, count: 16)),
            .cookieReply(receiver: 13, nonce: .init(repeating: 14, count: 24), encryptedCookie: .init(repeating: 15, count: 32)),
            .transport(receiver: 16, counter: 0x1_0000_0002, encryptedPacket: .init(repeating: 17, count: 16)),
        ]
        let lengths = [148, 92, 64, 32]
        for (message, length) in zip(messages, lengths) {
            let out = message.emit()
            #expect(out.count == length)
            #expect(try WireGuardMessage.parse(out[...]) == message)
        }
        #expect(throws: WireError.malformed("reserved")) { try WireGuardMessage.parse([1, 1, 0, 0][...]) }
        #expect(throws: WireError.malformed("initiation length")) { try WireGuardMessage.parse(([1, 0, 0, 0] + [UInt8](repeating: 0, count: 100))[...]) }
        #expect(throws: WireError.unsupported("message type 9")) { try WireGuardMessage.parse([9, 0, 0, 0][...]) }
    }
}
