import Testing
import Wire

/// Echo replies checked against packets `ping` sends (captured bytes rebuilt by hand).
@Suite struct EchoReplyTests {
    func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum = InternetChecksum()
        sum.add(bytes)
        return sum.value
    }

    /// An IPv4 ICMP echo request from 10.0.0.1 to 10.0.0.2, id 0x1234, seq 1, 8 data bytes.
    func request4() -> [UInt8] {
        var icmp: [UInt8] = [8, 0, 0, 0, 0x12, 0x34, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8]
        let s = checksum(icmp)
        icmp[2] = UInt8(s >> 8); icmp[3] = UInt8(s & 0xff)
        var header: [UInt8] = [0x45, 0, 0, 36, 0xab, 0xcd, 0x40, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
        let h = checksum(header)
        header[10] = UInt8(h >> 8); header[11] = UInt8(h & 0xff)
        return header + icmp
    }

    @Test func ipv4() throws {
        let reply = try #require(EchoReply.reply(to: request4(), localAddresses: [IPAddress("10.0.0.2")!]))
        #expect(reply.count == 36)
        #expect(Array(reply[12..<16]) == [10, 0, 0, 2] && Array(reply[16..<20]) == [10, 0, 0, 1])
        #expect(checksum(Array(reply[0..<20])) == 0)
        #expect(reply[20] == 0 && checksum(Array(reply[20...])) == 0)
        #expect(Array(reply[24...]) == [0x12, 0x34, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8])
        #expect(EchoReply.reply(to: request4(), localAddresses: [IPAddress("10.0.0.9")!]) == nil)
        var corrupt = request4()
        corrupt[30] ^= 0xff
        #expect(EchoReply.reply(to: corrupt, localAddresses: [IPAddress("10.0.0.2")!]) == nil)
    }

    @Test func ipv6LinkLocal() throws {
        let source = IPv6Address("fe80::1")!, destination = IPv6Address("fe80::2")!
        var icmp: [UInt8] = [128, 0, 0, 0, 0, 7, 0, 1, 0xaa, 0xbb]
        let pseudo = source.bytes + destination.bytes + [0, 0, 0, UInt8(icmp.count), 0, 0, 0, 58]
        let s = checksum(pseudo + icmp)
        icmp[2] = UInt8(s >> 8); icmp[3] = UInt8(s & 0xff)
        let request = [0x60, 0, 0, 0, 0, UInt8(icmp.count), 58, 255] + source.bytes + destination.bytes + icmp
        let reply = try #require(EchoReply.reply(to: request, localAddresses: [.v6(destination)]))
        #expect(reply[40] == 129)
        #expect(Array(reply[8..<24]) == destination.bytes)
        let replyPseudo = destination.bytes + source.bytes + [0, 0, 0, UInt8(icmp.count), 0, 0, 0, 58]
        #expect(checksum(replyPseudo + Array(reply[40...])) == 0)
    }

    @Test func anythingElseIsNotAnswered() {
        var rng: UInt64 = 7
        for length in 0..<200 {
            let bytes = (0..<length).map { _ -> UInt8 in
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                return UInt8(truncatingIfNeeded: rng >> 33)
            }
            _ = EchoReply.reply(to: bytes, localAddresses: [IPAddress("10.0.0.2")!])
            _ = EchoReply.reply(to: [0x45] + bytes, localAddresses: [IPAddress("10.0.0.2")!])
            _ = EchoReply.reply(to: [0x60] + bytes, localAddresses: [IPAddress("fe80::2")!])
        }
    }
}
