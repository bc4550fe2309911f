import Testing
import Wire

/// The four WireGuard messages (WireGuard paper §5.4): wireguard-go's own datagrams read
/// through the views, every field at its paper offset (checked against bytes laid out by
/// Python's struct), the owning enum's round trip, and the checks.
@Suite struct WireGuardMessageTests {
    @Test func wireguardGoHandshakeAndTransport() throws {
        try Captured.wgInitiation.view { raw in
            #expect(WireGuardMessageType(of: raw) == .initiation)
            let m = try WireGuardInitiationMessage(checking: raw)
            #expect(m.sender == 0x9732_4e74)
            #expect(Array(m.ephemeral) == Array(Captured.wgInitiation[8..<40]))
            #expect(Array(m.encryptedStatic) == Array(Captured.wgInitiation[40..<88]))
            #expect(Array(m.encryptedTimestamp) == Array(Captured.wgInitiation[88..<116]))
            // mac1 covers msg_α (Python's BLAKE2s reproduced it from the responder's public key).
            #expect(m.beforeMac1.count == 116 && Array(m.mac1) == Array(Captured.wgInitiation[116..<132]))
            #expect(m.beforeMac2.count == 132 && Array(m.mac2) == [UInt8](repeating: 0, count: 16))
        }
        try Captured.wgResponse.view { raw in
            let m = try WireGuardResponseMessage(checking: raw)
            #expect(m.sender == 0xc1a1_2696 && m.receiver == 0x9732_4e74)
            #expect(Array(m.ephemeral) == Array(Captured.wgResponse[12..<44]))
            #expect(Array(m.encryptedNothing) == Array(Captured.wgResponse[44..<60]))
            #expect(m.beforeMac1.count == 60 && Array(m.mac1) == Array(Captured.wgResponse[60..<76]))
        }
        try Captured.wgTransport.view { raw in
            let m = try WireGuardTransportMessage(checking: raw)
            #expect(m.receiver == 0xc1a1_2696 && m.counter == 0 && m.encryptedPacket.count == 112 && !m.isKeepalive)
            let repr = WireGuardTransportRepr.parse(m)
            #expect(repr == WireGuardTransportRepr(receiver: 0xc1a1_2696, counter: 0, payloadLength: 112))
            #expect(emitted(16) { repr.emit(into: $0) } == Array(Captured.wgTransport.prefix(16)))
        }
        for datagram in [Captured.wgInitiation, Captured.wgResponse, Captured.wgTransport] {
            #expect(try WireGuardMessage.parse(datagram[...]).emit() == datagram)
        }
    }

    /// The paper's layouts as Python's struct lays them out (`<B3xI32s48s28s16s16s`,
    /// `<B3xII32s16s16s16s`, `<B3xI24s32s`, `<B3xIQ` + data; the expected arrays below were
    /// checked equal to those packs), each field filled with its offsets' low bytes so a
    /// misplaced field shows.
    @Test func layoutsMatchThePaper() throws {
        func field(_ offset: Int, _ count: Int) -> [UInt8] { (offset..<(offset + count)).map { UInt8($0 & 0xff) } }
        let initiation = WireGuardMessage.initiation(sender: 0x0403_0201, ephemeral: field(8, 32), encryptedStatic: field(40, 48),
                                                     encryptedTimestamp: field(88, 28), mac1: field(116, 16), mac2: field(132, 16))
        #expect(initiation.emit() == [1, 0, 0, 0, 1, 2, 3, 4] + field(8, 140))
        let response = WireGuardMessage.response(sender: 0x0403_0201, receiver: 0x0807_0605, ephemeral: field(12, 32),
                                                 encryptedNothing: field(44, 16), mac1: field(60, 16), mac2: field(76, 16))
        #expect(response.emit() == [2, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8] + field(12, 80))
        let cookie = WireGuardMessage.cookieReply(receiver: 0x0403_0201, nonce: field(8, 24), encryptedCookie: field(32, 32))
        #expect(cookie.emit() == [3, 0, 0, 0, 1, 2, 3, 4] + field(8, 56))
        let transport = WireGuardMessage.transport(receiver: 0x0403_0201, counter: 0x0c0b_0a09_0807_0605, encryptedPacket: field(16, 17))
        #expect(transport.emit() == [4, 0, 0, 0] + (1...12).map { UInt8($0) } + field(16, 17))
        for message in [initiation, response, cookie, transport] {
            let bytes = message.emit()
            #expect(bytes.count == message.bufferLength)
            #expect(try bytes.view { try WireGuardMessage.parse($0) } == message)
        }
        try cookie.emit().view { raw in
            let view = try WireGuardCookieReplyMessage(checking: raw)
            #expect(view.receiver == 0x0403_0201 && Array(view.nonce) == field(8, 24) && Array(view.encryptedCookie) == field(32, 32))
        }
        // Short byte fields are zero-filled (the device emits handshakes with `mac1: []`).
        let unstamped = WireGuardMessage.initiation(sender: 1, ephemeral: [], encryptedStatic: [], encryptedTimestamp: [],
                                                    mac1: [], mac2: []).emit()
        #expect(unstamped.count == 148 && unstamped.dropFirst(8).allSatisfy { $0 == 0 })
    }

    @Test func checks() throws {
        func parse(_ bytes: [UInt8]) throws -> WireGuardMessage { try bytes.view { try WireGuardMessage.parse($0) } }
        #expect(throws: WireError.truncated) { try parse([1, 0, 0]) }
        #expect(throws: WireError.malformed("reserved")) { try parse([1, 1, 0, 0]) }
        #expect(throws: WireError.unsupported("message type")) { try parse([9, 0, 0, 0]) }
        #expect(throws: WireError.malformed("initiation length")) { try parse(Array(Captured.wgInitiation.dropLast())) }
        #expect(throws: WireError.malformed("initiation length")) { try parse(Captured.wgInitiation + [0]) }
        #expect(throws: WireError.malformed("response length")) { try parse(Array(Captured.wgResponse.prefix(91))) }
        #expect(throws: WireError.malformed("cookie reply length")) { try parse([3, 0, 0, 0] + [UInt8](repeating: 0, count: 59)) }
        #expect(throws: WireError.truncated) { try parse(Array(Captured.wgTransport.prefix(31))) }
        #expect(try parse(Array(Captured.wgTransport.prefix(32))) == .transport(receiver: 0xc1a1_2696, counter: 0,
                                                                                encryptedPacket: Array(Captured.wgTransport[16..<32])))
        // A view of the wrong kind says so.
        #expect(throws: WireError.malformed("message type")) { try Captured.wgResponse.view { try WireGuardInitiationMessage(checking: $0) } }
        #expect([1, 0, 0, 1].view { WireGuardMessageType(of: $0) } == nil)
        #expect([5, 0, 0, 0].view { WireGuardMessageType(of: $0) } == nil)
    }

    /// The conveniences the WireGuard device calls on arrays.
    @Test func deviceConveniences() throws {
        #expect(WireGuardMessage.type(of: Captured.wgTransport) == 4)
        #expect(WireGuardMessage.type(of: [4, 0, 1, 0]) == nil)
        #expect(WireGuardMessage.transportHeader(Captured.wgTransport)! == (0xc1a1_2696, 0))
        var datagram: [UInt8] = [0xee]
        WireGuardMessage.appendTransportHeader(to: &datagram, receiver: 0x0403_0201, counter: 0x0807_0605)
        #expect(datagram == [0xee, 4, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0])
        let stamped = WireGuardMessage.stampMacs(Captured.wgResponse, mac1: .init(repeating: 1, count: 16), mac2: .init(repeating: 2, count: 16))
        #expect(Array(stamped.prefix(60)) == Array(Captured.wgResponse.prefix(60)) && stamped.suffix(32) == [UInt8](repeating: 1, count: 16) + [UInt8](repeating: 2, count: 16))
        let regions = try #require(HandshakeMacRegions(Captured.wgInitiation))
        #expect(regions.beforeMac1 == Array(Captured.wgInitiation.prefix(116)) && regions.mac2.count == 16)
    }
}
