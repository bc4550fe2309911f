import Testing
import Wire
@testable import NetStack

@Suite struct FragmentReassemblerTests {
    let key = FragmentReassembler.Key(source: IPAddress("10.0.0.1")!, destination: IPAddress("10.0.0.2")!,
                                      identification: 7, protocolNumber: 17)

    /// Splits `data` into pieces of multiples of 8 bytes, shuffled by `random`.
    func fragments(_ data: [UInt8], pieces: Int, random: inout SeededRandom) -> [(offset: Int, more: Bool, bytes: [UInt8])] {
        var cuts = Set<Int>()
        while cuts.count < pieces - 1 { cuts.insert(8 * (1 + random.below(max(1, data.count / 8 - 1)))) }
        let bounds = [0] + cuts.sorted() + [data.count]
        var result = (0..<(bounds.count - 1)).map { i in
            (offset: bounds[i], more: i < bounds.count - 2, bytes: Array(data[bounds[i]..<bounds[i + 1]]))
        }
        for i in result.indices.reversed() { result.swapAt(i, random.below(i + 1)) }
        return result
    }

    func feed(_ reassembler: FragmentReassembler, _ piece: (offset: Int, more: Bool, bytes: [UInt8]), now: UInt64 = 0,
              key: FragmentReassembler.Key? = nil) -> [UInt8]? {
        piece.bytes.withUnsafeBytes { data in
            reassembler.insert(key ?? self.key, offset: piece.offset, more: piece.more, data: data, quote: data, now: now)
        }
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5]) func shuffledFragmentsReassembleExactly(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let data = (0..<(1000 + random.below(20_000))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let reassembler = FragmentReassembler()
        let pieces = fragments(data, pieces: 2 + random.below(20), random: &random)
        var result: [UInt8]?
        for (i, piece) in pieces.enumerated() {
            result = feed(reassembler, piece)
            #expect((result != nil) == (i == pieces.count - 1))
        }
        #expect(result == data)
        #expect(reassembler.heldBytes == 0 && reassembler.pendingCount == 0)
    }

    @Test func duplicatesAreToleratedOverlapsDropTheDatagram() {
        let reassembler = FragmentReassembler()
        let a = (offset: 0, more: true, bytes: [UInt8](repeating: 1, count: 16))
        #expect(feed(reassembler, a) == nil)
        #expect(feed(reassembler, a) == nil) // exact duplicate: ignored
        #expect(reassembler.pendingCount == 1)
        #expect(feed(reassembler, (offset: 8, more: false, bytes: [2, 2, 2])) == nil) // overlaps 8..<16
        #expect(reassembler.counters.overlaps == 1 && reassembler.pendingCount == 0)
    }

    @Test func oversizedAndMalformedFragmentsAreRefused() {
        let reassembler = FragmentReassembler()
        #expect(feed(reassembler, (offset: 65528, more: false, bytes: [UInt8](repeating: 0, count: 16))) == nil)
        #expect(reassembler.counters.tooLarge == 1) // the "ping of death"
        #expect(feed(reassembler, (offset: 0, more: true, bytes: [1, 2, 3])) == nil) // MF with a length not ×8
        #expect(reassembler.counters.malformed == 1)
    }

    @Test func incompleteDatagramsTimeOutWithTheirFirstFragment() {
        let reassembler = FragmentReassembler()
        _ = feed(reassembler, (offset: 0, more: true, bytes: [UInt8](repeating: 9, count: 8)), now: 0)
        #expect(reassembler.expire(now: 29 * StackDuration.second).isEmpty)
        let expired = reassembler.expire(now: 30 * StackDuration.second)
        #expect(expired.count == 1 && expired[0].firstFragment == [UInt8](repeating: 9, count: 8))
        #expect(reassembler.heldBytes == 0)
    }

    /// Completed and timed-out datagrams leave no bookkeeping behind, and a key reused after
    /// completion starts afresh with its own deadline.
    @Test func bookkeepingStaysProportionalToWhatIsHeld() {
        let reassembler = FragmentReassembler()
        for i in 0..<10_000 {
            var key = self.key
            key.identification = UInt32(i % 3)
            _ = feed(reassembler, (offset: 8, more: false, bytes: [1, 2, 3]), now: UInt64(i), key: key)
            let whole = feed(reassembler, (offset: 0, more: true, bytes: [UInt8](repeating: 0, count: 8)), now: UInt64(i), key: key)
            #expect(whole?.count == 11)
        }
        #expect(reassembler.pendingCount == 0 && reassembler.heldBytes == 0)
        #expect(reassembler.arrivalOrderEntries <= 64)
        _ = feed(reassembler, (offset: 0, more: true, bytes: [UInt8](repeating: 0, count: 8)), now: 100 * StackDuration.second)
        #expect(reassembler.nextDeadline == 130 * StackDuration.second)
        #expect(reassembler.expire(now: 129 * StackDuration.second).isEmpty)
        #expect(reassembler.expire(now: 130 * StackDuration.second).count == 1)
        #expect(reassembler.nextDeadline == nil)
    }

    /// A flood of random fragments never takes more than the byte budget.
    @Test func memoryStaysBoundedUnderAFragmentFlood() {
        var limits = ReassemblyLimits()
        limits.maximumBytes = 256 * 1024
        let reassembler = FragmentReassembler(limits: limits)
        var random = SeededRandom(seed: 77)
        var peak = 0
        for i in 0..<100_000 {
            var key = self.key
            key.identification = UInt32(random.below(50_000))
            let length = 8 * (1 + random.below(180))
            let bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: length)
            _ = bytes.withUnsafeBytes {
                reassembler.insert(key, offset: 8 * random.below(8000), more: random.chance(0.9), data: $0, quote: $0,
                                   now: UInt64(i) * StackDuration.millisecond / 10)
            }
            peak = max(peak, reassembler.heldBytes)
        }
        #expect(peak <= limits.maximumBytes)
        #expect(reassembler.counters.evicted > 0)
    }
}

@Suite struct StackReassemblyTests {
    @Test func fragmentedUDPIsDeliveredWhole() throws {
        let h = StackHarness()
        let socket = h.stack.datagrams.open(kind: .udp, isIPv6: true)
        try h.stack.datagrams.bind(socket, address: nil, port: 9)
        let payload = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        // Build the datagram, then let the stack's own fragmenter cut it for a 1280 link.
        let whole = h.udp4(from: "10.0.0.1", to: "10.0.0.2", payload: payload, df: false)
        let lo = try h.stack.interfaces.add(name: "cut", kind: .wireguard, mtu: 1280)
        var pieces: [[UInt8]] = []
        lo.transmit = { packet, _ in pieces.append(Array(packet)); return true }
        _ = whole.withUnsafeBytes { h.stack.fragmentAndTransmit($0, mtu: 1280, on: lo, nextHop: IPAddress("10.0.0.2")!) }
        #expect(pieces.count == 3)
        for piece in pieces.reversed() { h.inject(piece, on: h.wg0) }
        let datagram = try #require(socket.receive())
        #expect(datagram.data == payload)
        #expect(h.stack.reassembler4.counters.reassembled == 1)
    }

    @Test func largeIPv6EchoIsReassembledAndTheReplyFragmented() throws {
        let h = StackHarness()
        let source = IPv6Address("fd00::1")!, destination = IPv6Address("fd00::2")!
        let data = [UInt8](repeating: 0x5a, count: 3000)
        let echo = ICMPv6Repr(message: .echoRequest(identifier: 3, sequenceNumber: 4), payloadLength: data.count)
            .emit(payload: data, source: source, destination: destination)
        let ip = IPv6Repr(nextHeader: IPProtocolNumber.icmpv6, source: source, destination: destination, payloadLength: echo.count)
        let whole = ip.emit(payloadLength: echo.count) + echo
        let cut = try h.stack.interfaces.add(name: "cut6", kind: .wireguard, mtu: 1280)
        var pieces: [[UInt8]] = []
        cut.transmit = { packet, _ in pieces.append(Array(packet)); return true }
        _ = whole.withUnsafeBytes { h.stack.fragmentIPv6AndTransmit($0, mtu: 1280, on: cut, nextHop: .v6(destination)) }
        #expect(pieces.count == 3)
        for piece in pieces { h.inject(piece, on: h.wg0) }
        let replies = h.sent.filter { $0.interface == "wg0" }
        #expect(replies.count == 3) // the reply is fragmented for wg0's 1420
        #expect(h.stack.reassembler6.counters.reassembled == 1)
    }
}
