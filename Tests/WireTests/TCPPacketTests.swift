import Testing
import Wire

/// TCP (RFC 9293 §3.1) and its options (RFC 9293 §3.2, RFC 7323, RFC 2018, RFC 2385): Linux's
/// SYNs field by field and re-emitted byte for byte, every option's length rules, SACK room,
/// and the MD5 signature's signed bytes.
@Suite struct TCPPacketTests {
    let s4 = IPAddress("10.9.0.1")!, d4 = IPAddress("10.9.0.2")!
    let s6 = IPAddress("2001:db8::1")!, d6 = IPAddress("2001:db8::2")!

    func options(_ area: [UInt8]) throws -> TCPOptions { try area.view { try TCPOptions.parse($0) } }

    @Test func linuxSynFields() throws {
        let segment = Array(Captured.tcp4Syn[20...])
        try segment.view { raw in
            let tcp = try TCPPacket(checking: raw)
            #expect(tcp.sourcePort == 56550 && tcp.destinationPort == 179)
            #expect(tcp.sequenceNumber == 0x86d3_4a72 && tcp.acknowledgmentNumber == 0)
            #expect(tcp.headerLength == 40 && tcp.flags == .syn && tcp.window == 64240)
            #expect(tcp.checksum == 0x7406 && tcp.urgentPointer == 0 && tcp.reservedBits == 0 && tcp.payload.isEmpty)
            #expect(tcp.checksumIsValid(source: s4, destination: d4))
            var reader = tcp.optionReader
            var seen: [TCPOption] = []
            while let option = try reader.next() { seen.append(option) }
            #expect(seen == [.maximumSegmentSize(1460), .sackPermitted,
                             .timestamps(TCPTimestamps(value: 0x2253_f3be, echoReply: 0)), .windowScale(10)])
            let repr = try TCPRepr.parse(tcp, source: s4, destination: d4)
            #expect(repr.options == TCPOptions(maximumSegmentSize: 1460, windowScale: 10, sackPermitted: true,
                                               timestamps: TCPTimestamps(value: 0x2253_f3be, echoReply: 0)))
            #expect(repr.sequenceLength == 1)
        }
    }

    /// Emission follows Linux's option layout, so Linux's SYNs come back byte for byte,
    /// checksums included.
    @Test func linuxSynsReEmitIdentically() throws {
        for (packet, headerLength, source, destination) in [
            (Captured.tcp4Syn, 20, s4, d4), (Captured.tcp6Syn, 40, s6, d6), (Captured.tcp4MD5Syn, 20, s4, d4),
        ] {
            let segment = Array(packet[headerLength...])
            let repr = try segment.view { try TCPRepr.parse($0, source: source, destination: destination) }
            #expect(repr.emit(payload: [], source: source, destination: destination) == segment)
        }
    }

    /// RFC 2385 §2.0 signs the pseudo-header, the fixed header with a zero checksum, and the
    /// data; Python's hashlib confirmed MD5(these ‖ "secret") is the digest Linux sent.
    @Test func md5Signature() throws {
        var segment = Array(Captured.tcp4MD5Syn[20...])
        let digest = try #require(TCPMD5Digest(bytes: hex("bb5b973a8bbb9eef7bd83fd81b2d8241")))
        try segment.view { raw in
            let tcp = try TCPPacket(checking: raw)
            #expect(try TCPRepr.parse(tcp, source: s4, destination: d4).options.md5Signature == digest)
            #expect(tcp.md5SignatureOffset == 24)
            var signed: [UInt8] = []
            tcp.forEachMD5SignedRegion(source: s4, destination: d4) { signed += $0 }
            #expect(signed == Captured.tcp4MD5Signed)
            var none = 0
            tcp.forEachMD5SignedRegion(source: s4, destination: d6) { _ in none += 1 }
            #expect(none == 0)
        }
        // Sending: emit with a placeholder, sign, then store the digest (checksum refreshed).
        var repr = try segment.view { try TCPRepr.parse($0, source: s4, destination: d4) }
        repr.options.md5Signature = .zero
        var placeholder = repr.emit(payload: [], source: s4, destination: d4)
        #expect(placeholder != segment)
        let stored = placeholder.withUnsafeMutableBytes { TCPPacket.storeMD5Signature(digest, in: $0, source: s4, destination: d4) }
        #expect(stored && placeholder == segment)
        segment = Array(Captured.tcp4Syn[20...])
        #expect(!segment.withUnsafeMutableBytes { TCPPacket.storeMD5Signature(digest, in: $0, source: s4, destination: d4) })
        #expect(segment == Array(Captured.tcp4Syn[20...]))
        // The IPv6 pseudo-header is the 40-byte one, as Linux signs.
        try Array(Captured.tcp6Syn[40...]).view { raw in
            var first: [UInt8] = []
            try TCPPacket(checking: raw).forEachMD5SignedRegion(source: s6, destination: d6) { if first.isEmpty { first = Array($0) } }
            #expect(first == Array(Captured.tcp6Syn[8..<40]) + [0, 0, 0, 40, 0, 0, 0, 6])
        }
    }

    @Test func optionLengthRules() throws {
        #expect(try options([1, 1, 0, 2, 4, 5, 0xb4]) == .none)                         // stops at end-of-list
        #expect(try options([30, 3, 9, 2, 4, 5, 0xb4]).maximumSegmentSize == 1460)      // unknown skipped by length
        #expect(try options([1, 1, 1, 1]) == .none)
        #expect(try options([]) == .none)
        for (area, field) in [
            ([2, 1, 0, 0], "option length"), ([2, 5, 0, 0], "option length"), ([8], "option length"),
            ([30, 0], "option length"), ([1, 30], "option length"),
            ([2, 3, 0, 0], "maximum segment size length"), ([3, 2, 1, 1], "window scale length"),
            ([4, 3, 0, 1], "SACK permitted length"), ([5, 2, 1, 1], "SACK length"),
            ([5, 6, 0, 0, 0, 0, 1, 1], "SACK length"), ([8, 6, 0, 0, 0, 0, 1, 1], "timestamps length"),
            ([19, 4, 0, 0], "MD5 signature length"),
        ] as [([UInt8], String)] {
            #expect(throws: WireError.malformed(field)) { try options(area) }
        }
        // Five SACK blocks cannot be: the length itself is refused.
        let fiveBlocks: [UInt8] = [5, 42] + [UInt8](repeating: 0, count: 40)
        #expect(throws: WireError.malformed("SACK length")) { try options(fiveBlocks) }
        // A later duplicate wins.
        #expect(try options([3, 3, 1, 3, 3, 7, 1, 1]).windowScale == 7)
    }

    /// Four SACK blocks fit alone, three beside timestamps, none beside MD5 and timestamps
    /// (RFC 2018 §3); emission drops what does not fit and stays within 40 bytes.
    @Test func sackBlocksFitTheRoomLeft() throws {
        let blocks = TCPSackBlocks((0..<4).map { TCPSackBlock(left: UInt32($0) * 100, right: UInt32($0) * 100 + 50) })
        #expect(blocks.count == 4 && blocks[3].right == 350)
        var o = TCPOptions(sackBlocks: blocks)
        #expect(o.emittedSackBlockCount == 4 && o.bufferLength == 36)
        o.timestamps = TCPTimestamps(value: 1, echoReply: 2)
        #expect(o.emittedSackBlockCount == 3 && o.bufferLength == 40)
        o.md5Signature = .zero
        #expect(o.emittedSackBlockCount == 0 && o.bufferLength == 32)
        o.md5Signature = nil
        let area = emitted(o.bufferLength) { o.emit(into: $0) }
        #expect(Array(area.prefix(16)) == [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 5, 26])
        var expected = o
        expected.sackBlocks = TCPSackBlocks(blocks.prefix(3))
        #expect(try options(area) == expected)
        var five = TCPSackBlocks()
        for i in 0..<5 { five.append(TCPSackBlock(left: UInt32(i), right: UInt32(i))) }
        #expect(five.count == 4)
    }

    static let reprs: [TCPRepr] = {
        var everything = TCPRepr(sourcePort: 179, destinationPort: 40000, sequenceNumber: 0xffff_fff0, acknowledgmentNumber: 7,
                                 flags: [.syn, .ack, .ece], window: 65535,
                                 options: TCPOptions(maximumSegmentSize: 1400, windowScale: 14, sackPermitted: true,
                                                     timestamps: TCPTimestamps(value: 1, echoReply: 0xffff_ffff)))
        everything.urgentPointer = 3
        let sack = TCPRepr(sourcePort: 1, destinationPort: 2, sequenceNumber: 3, acknowledgmentNumber: 4, flags: [.ack, .fin, .psh],
                           window: 5, options: TCPOptions(sackBlocks: [TCPSackBlock(left: 10, right: 20)], md5Signature: TCPMD5Digest(high: 1, low: 2)))
        let bare = TCPRepr(sourcePort: 1, destinationPort: 2, sequenceNumber: 3, acknowledgmentNumber: 4, flags: .rst, window: 0)
        return [everything, sack, bare]
    }()

    @Test(arguments: reprs)
    func roundTrip(repr: TCPRepr) throws {
        for (source, destination) in [(s4, d4), (s6, d6)] {
            let bytes = repr.emit(payload: [1, 2, 3, 4, 5], source: source, destination: destination)
            var expected = repr
            expected.payloadLength = 5
            #expect(try bytes.view { try TCPRepr.parse($0, source: source, destination: destination) } == expected)
            #expect(bytes.count == expected.bufferLength && expected.headerLength % 4 == 0)
        }
    }

    @Test func checks() throws {
        let bytes = Self.reprs[2].emit(payload: [], source: s4, destination: d4)
        #expect(throws: WireError.truncated) { try Array(bytes.prefix(19)).view { try TCPPacket(checking: $0) } }
        var offset = bytes
        offset[12] = 0x40
        #expect(throws: WireError.malformed("data offset")) { try offset.view { try TCPPacket(checking: $0) } }
        offset[12] = 0x60
        #expect(throws: WireError.truncated) { try offset.view { try TCPPacket(checking: $0) } }
        #expect(throws: WireError.badChecksum) { try bytes.view { try TCPRepr.parse($0, source: s4, destination: IPAddress("10.9.0.3")!) } }
        #expect(throws: WireError.badChecksum) { try bytes.view { try TCPRepr.parse($0, source: s4, destination: d6) } }
        #expect(try bytes.view { try TCPRepr.parse($0, source: s4, destination: d6, verifyChecksum: false) }.flags == .rst)
        // Reserved bits are ignored on receipt (RFC 9293 §3.1).
        var reserved = bytes
        reserved[12] |= 0x0f
        #expect(try reserved.view { try TCPRepr.parse($0, source: s4, destination: d4, verifyChecksum: false) }.flags == .rst)
    }
}
