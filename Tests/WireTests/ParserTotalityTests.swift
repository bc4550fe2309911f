import Testing
@testable import Wire

/// Every parser is total: a million random and mutated inputs give a value or a WireError,
/// never a trap (seeded, so a failure is repeatable).
@Suite struct ParserTotalityTests {
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
    }

    /// Valid packets to mutate, so inputs reach the parsers' deeper checks.
    static let seeds: [[UInt8]] = {
        let s4 = IPAddress("192.0.2.1")!, d4 = IPAddress("198.51.100.7")!
        let tcp = TCPSegment(sourcePort: 1, destinationPort: 179, sequenceNumber: 1, acknowledgmentNumber: 0, flags: .syn,
                             window: 100, options: [.maximumSegmentSize(1460), .sackPermitted, .timestamps(value: 1, echoReply: 0), .windowScale(7)])
        let header = IPv4Header(protocolNumber: 6, source: IPv4Address("192.0.2.1")!, destination: IPv4Address("198.51.100.7")!)
        let segment = tcp.emit(source: s4, destination: d4)
        return [header.emit(payloadLength: segment.count) + segment,
                UDPDatagram(sourcePort: 1, destinationPort: 2, payload: [1, 2, 3]).emit(source: s4, destination: d4),
                IPv6Header(nextHeader: 0, source: .loopback, destination: .loopback).emit(payloadLength: 16)
                    + [44, 0, 1, 4, 0, 0, 0, 0, 17, 0, 0, 9, 0, 0, 0, 1],
                WireGuardMessage.cookieReply(receiver: 1, nonce: [], encryptedCookie: []).emit()]
    }()

    func exercise(_ input: [UInt8]) {
        let slice = input[...]
        let a = IPAddress("192.0.2.1")!, b = IPAddress("2001:db8::1")!
        _ = try? IPv4Header.parse(slice)
        _ = try? IPv4Header.parse(slice, verifyChecksum: false)
        _ = try? IPv6Header.parse(slice)
        _ = try? IPv6ExtensionChain.walk(slice, nextHeader: input.first ?? 0)
        _ = try? ICMPMessage.parseV4(slice, verifyChecksum: false)
        _ = try? ICMPMessage.parseV6(slice, source: .loopback, destination: .loopback)
        _ = try? UDPDatagram.parse(slice, source: a, destination: a, verifyChecksum: false)
        _ = try? UDPDatagram.parse(slice, source: b, destination: b)
        _ = try? TCPSegment.parse(slice, source: a, destination: a, verifyChecksum: false)
        _ = try? TCPOption.parseList(slice)
        _ = try? WireGuardMessage.parse(slice)
        _ = EchoReply.reply(to: input, localAddresses: [a, b])
    }

    @Test(arguments: 0..<8)
    func randomAndMutatedInputs(shard: Int) {
        var generator = Generator(state: UInt64(shard) &* 7919 &+ 1)
        // 8 shards × 125,000 = 1,000,000 inputs, half random, half mutated valid packets.
        for round in 0..<125_000 {
            var input: [UInt8]
            if round % 2 == 0 {
                input = generator.bytes(Int(generator.next() % 96))
            } else {
                input = Self.seeds[Int(generator.next() % UInt64(Self.seeds.count))]
                for _ in 0..<(1 + Int(generator.next() % 3)) where !input.isEmpty {
                    input[Int(generator.next() % UInt64(input.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
                if generator.next() % 4 == 0 { input = Array(input.prefix(Int(generator.next() % UInt64(input.count + 1)))) }
            }
            exercise(input)
        }
    }
}
