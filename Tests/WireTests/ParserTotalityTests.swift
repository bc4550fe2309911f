import Testing
import Wire

/// Every parser is total: a million seeded inputs — random byte strings of 0…200 bytes and
/// mutations of valid packets — go through the views and `Repr` parsers, and each gives a
/// value or a `WireError`, never a trap. Whatever parses is emitted again and must parse back
/// to the same value (and, where the encoding is canonical, the same bytes). The million is
/// split across eight families of parsers (a full IPv4 or IPv6 packet goes on through its
/// extension headers and upper layer), 125,000 inputs each, and every fourth input also
/// goes through all the other families. A failure repeats exactly: the generator is seeded
/// by the family.
///
/// Why split: swift-testing captures a backtrace for every thrown error, which makes a throw
/// cost microseconds here (not in srouter), and nearly every random input is a throw.
@Suite struct ParserTotalityTests {
    static let a4 = IPAddress("192.0.2.1")!, b4 = IPAddress("198.51.100.7")!
    static let a6 = IPAddress("2001:db8::1")!, b6 = IPAddress("fe80::2")!

    /// The parser families, each with the valid inputs its mutations start from.
    enum Family: Int, CaseIterable, Sendable {
        case ipv4, ipv6, tcp, udp, icmpv4, icmpv6, extensionHeadersAndOptions, wireGuard

        var seeds: [[UInt8]] {
            switch self {
            case .ipv4:
                [Captured.tcp4Syn, Captured.tcp4MD5Syn, Captured.udp4, Captured.icmp4Echo, Captured.icmp4PortUnreachable,
                 Captured.icmp4TimeExceeded, Captured.udp4RecordRoute]
            case .ipv6:
                [Captured.tcp6Syn, Captured.udp6, Captured.icmp6Echo, Captured.icmp6PortUnreachable, Captured.icmp6TimeExceeded,
                 Captured.udp6HopByHopAndDestinationOptions, Captured.udp6FirstFragmentHead]
            case .tcp:
                [Array(Captured.tcp4Syn[20...]), Array(Captured.tcp4MD5Syn[20...]), Array(Captured.tcp6Syn[40...]),
                 TCPRepr(sourcePort: 1, destinationPort: 2, sequenceNumber: 3, acknowledgmentNumber: 4, flags: .ack, window: 5,
                         options: TCPOptions(timestamps: TCPTimestamps(value: 1, echoReply: 2),
                                             sackBlocks: [TCPSackBlock(left: 1, right: 2), TCPSackBlock(left: 3, right: 4)]))
                    .emit(payload: [1, 2, 3], source: a4, destination: b4)]
            case .udp:
                [Array(Captured.udp4[20...]), Array(Captured.udp6[40...]), Array(Captured.udp4RecordRoute[32...])]
            case .icmpv4:
                [Array(Captured.icmp4Echo[20...]), Array(Captured.icmp4PortUnreachable[20...]), Array(Captured.icmp4TimeExceeded[20...])]
            case .icmpv6:
                [Array(Captured.icmp6Echo[40...]), Array(Captured.icmp6PortUnreachable[40...]), Array(Captured.icmp6TimeExceeded[40...])]
            case .extensionHeadersAndOptions:
                // Hop-by-Hop → Routing → Fragment → Destination Options → AH → TCP; Linux's
                // HBH + DestOpts; IPv4 record route options; TCP options.
                [[43, 0, 1, 4, 0, 0, 0, 0, 44, 0, 4, 1, 0, 0, 0, 0, 60, 0, 0, 1, 0, 0, 0, 7,
                  51, 0, 0, 0, 0, 0, 0, 0, 6, 2, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16] + Captured.tcp4Syn[20...],
                 Array(Captured.udp6HopByHopAndDestinationOptions[40...]), Array(Captured.udp4RecordRoute[20..<32]),
                 Array(Captured.tcp4MD5Syn[40..<60])]
            case .wireGuard:
                [Captured.wgInitiation, Captured.wgResponse, Captured.wgTransport,
                 WireGuardMessage.cookieReply(receiver: 1, nonce: [], encryptedCookie: []).emit()]
            }
        }
    }

    /// Counts what parsed, so the test can show the inputs reached past the first checks.
    struct Tally {
        var inputs = 0, network = 0, transport = 0, other = 0
    }

    @Test(arguments: Family.allCases)
    func randomAndMutatedInputs(family: Family) {
        var rng = SplitMix64(state: UInt64(family.rawValue) &* 0x9E37_79B9 &+ 17)
        let seeds = family.seeds.filter { $0.count <= 200 }
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 8)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 512, alignment: 8)
        defer { input.deallocate(); scratch.deallocate() }
        var tally = Tally()
        // 8 families × 125,000 = 1,000,000 inputs: half random, half mutated valid ones.
        for round in 0..<125_000 {
            let count: Int
            if round % 2 == 0 {
                count = rng.below(201)
                var i = 0
                while i < count {
                    var word = rng.next()
                    for _ in 0..<min(8, count - i) { input[i] = UInt8(truncatingIfNeeded: word); word >>= 8; i += 1 }
                }
                // Half the random packets get a version and a consistent length, to reach further.
                if round % 4 == 0 {
                    if family == .ipv4 && count >= 20 {
                        input[0] = 0x40 | input[0] & 0x0f
                        input[2] = UInt8(count >> 8)
                        input[3] = UInt8(count & 0xff)
                    } else if family == .ipv6 && count >= 40 {
                        input[0] = 0x60 | input[0] & 0x0f
                        input[4] = 0
                        input[5] = UInt8(count - 40)
                    }
                }
            } else {
                let seed = seeds[rng.below(seeds.count)]
                seed.withUnsafeBytes { input.copyMemory(from: $0) }
                var length = seed.count
                for _ in 0..<(1 + rng.below(4)) {
                    let value: UInt8 = switch rng.below(4) {
                    case 0: 0
                    case 1: 0xff
                    case 2: UInt8(rng.below(3))
                    default: UInt8(truncatingIfNeeded: rng.next())
                    }
                    input[rng.below(length)] = value
                }
                switch rng.below(8) {
                case 0: length = rng.below(length + 1)
                case 1:
                    let extra = rng.below(201 - length)
                    for i in length..<(length + extra) { input[i] = UInt8(truncatingIfNeeded: rng.next()) }
                    length += extra
                default: break
                }
                count = length
            }
            let raw = UnsafeRawBufferPointer(rebasing: input[0..<count])
            tally.inputs += 1
            run(family, raw, round, scratch, &tally)
            // A quarter of the inputs (random and mutated) also go through every other family.
            if round % 8 < 2 {
                var ignored = Tally()
                for other in Family.allCases where other != family { run(other, raw, round, scratch, &ignored) }
            }
        }
        // The inputs must reach the deep parsers, or the test proves little.
        #expect(tally.inputs == 125_000)
        switch family {
        case .ipv4, .ipv6: #expect(tally.network > 10_000 && tally.transport > 1_000)
        case .tcp, .udp, .icmpv4, .icmpv6: #expect(tally.transport > 10_000)
        case .extensionHeadersAndOptions, .wireGuard: #expect(tally.other > 10_000)
        }
    }

    // MARK: - The parsers

    /// Runs one family's parsers on `raw`.
    func run(_ family: Family, _ raw: UnsafeRawBufferPointer, _ round: Int, _ scratch: UnsafeMutableRawBufferPointer,
             _ tally: inout Tally) {
        switch family {
        case .ipv4:
            if let packet = try? IPv4Packet(checking: raw) { ipv4(packet, scratch, &tally) }
            if let quoted = try? IPv4Packet(checkingQuoted: raw) { _ = try? IPv4Repr.parse(quoted, verifyChecksum: false) }
        case .ipv6:
            if let packet = try? IPv6Packet(checking: raw) { ipv6(packet, scratch, &tally) }
            if let quoted = try? IPv6Packet(checkingQuoted: raw) { _ = try? quoted.extensionHeaders() }
        case .tcp:
            if upperLayer(IPProtocolNumber.tcp, raw, round % 3 == 0 ? Self.a6 : Self.a4, round % 3 == 0 ? Self.b6 : Self.b4,
                          scratch, verifyChecksum: round % 5 == 0) { tally.transport += 1 }
            if (try? TCPOptions.parse(raw)) != nil { tally.other += 1 }
        case .udp:
            if upperLayer(IPProtocolNumber.udp, raw, round % 3 == 0 ? Self.a6 : Self.a4, round % 3 == 0 ? Self.b6 : Self.b4,
                          scratch, verifyChecksum: round % 5 == 0) { tally.transport += 1 }
        case .icmpv4:
            if upperLayer(IPProtocolNumber.icmp, raw, Self.a4, Self.b4, scratch, verifyChecksum: round % 5 == 0) { tally.transport += 1 }
        case .icmpv6:
            if upperLayer(IPProtocolNumber.icmpv6, raw, Self.a6, Self.b6, scratch, verifyChecksum: round % 5 == 0) { tally.transport += 1 }
        case .extensionHeadersAndOptions:
            let first: UInt8 = switch (round >> 2) & 3 {
            case 0: IPProtocolNumber.hopByHopOptions
            case 1: IPProtocolNumber.routing
            case 2: IPProtocolNumber.fragment
            default: IPProtocolNumber.authentication
            }
            if (try? IPv6ExtensionHeaderChain.walk(raw, nextHeader: first)) != nil { tally.other += 1 }
            var v4Options = IPv4OptionReader(raw)
            while case .some(.some) = try? v4Options.next() {}
            var v6Options = IPv6OptionReader(raw)
            while case .some(.some) = try? v6Options.next() {}
            var tcpOptions = TCPOptionReader(raw)
            while case .some(.some) = try? tcpOptions.next() {}
        case .wireGuard:
            if wireGuard(raw, scratch) { tally.other += 1 }
        }
    }


    func ipv4(_ packet: IPv4Packet, _ scratch: UnsafeMutableRawBufferPointer, _ tally: inout Tally) {
        _ = (packet.version, packet.dscp, packet.ecn, packet.totalLength, packet.identification, packet.isFragment,
             packet.timeToLive, packet.headerChecksum, packet.source, packet.destination, packet.options.count)
        guard let repr = try? IPv4Repr.parse(packet, verifyChecksum: false) else { return }
        tally.network += 1
        repr.emit(into: scratch)
        let again = try? IPv4Repr.parse(IPv4Packet(checkingQuoted: scratch.readOnly.bytes(0, repr.headerLength)))
        var expected = repr
        expected.payloadLength = 0
        if var again {
            again.payloadLength = 0
            if again != expected { Issue.record("IPv4 round trip: \(repr) → \(again)") }
        } else {
            Issue.record("IPv4 re-parse failed: \(repr)")
        }
        // The same bytes, but for the checksum (a valid sum may be stored as 0x0000 or 0xffff).
        if differs(packet.header, scratch.readOnly, count: repr.headerLength, skipping: { $0 == 10 || $0 == 11 }) {
            Issue.record("IPv4 bytes differ: \(repr)")
        }
        guard !packet.isFragment || packet.fragmentOffset == 0 else { return }
        let source = IPAddress.v4(repr.source), destination = IPAddress.v4(repr.destination)
        if upperLayer(repr.protocolNumber, packet.payload, source, destination, scratch, verifyChecksum: true) { tally.transport += 1 }
    }

    func ipv6(_ packet: IPv6Packet, _ scratch: UnsafeMutableRawBufferPointer, _ tally: inout Tally) {
        let repr = IPv6Repr.parse(packet)
        tally.network += 1
        repr.emit(into: scratch)
        if !packet.buffer.bytes(0, 40).elementsEqual(scratch.readOnly.bytes(0, 40)) { Issue.record("IPv6 bytes differ: \(repr)") }
        guard let chain = try? packet.extensionHeaders() else { return }
        var reader = IPv6ExtensionHeaderReader(payload: packet.payload, nextHeader: packet.nextHeader)
        while case .some(.some(let header)) = try? reader.next() {
            _ = (header.routingType, header.segmentsLeft, header.fragment, header.body.count)
        }
        if let fragment = chain.fragment {
            IPv6FragmentRepr(nextHeader: fragment.nextHeader, fragmentOffset: fragment.fragmentOffset,
                             moreFragments: fragment.moreFragments, identification: fragment.identification).emit(into: scratch)
            if IPv6FragmentRepr.parse(scratch.readOnly) != fragment { Issue.record("fragment round trip: \(fragment)") }
        }
        guard !chain.isFragmentData else { return }
        let source = IPAddress.v6(repr.source), destination = IPAddress.v6(repr.destination)
        if upperLayer(chain.upperLayerProtocol, packet.upperLayerPayload(chain), source, destination, scratch,
                      verifyChecksum: true) { tally.transport += 1 }
    }

    /// Parses `raw` as `protocolNumber`; on success emits it again (payload copied into place)
    /// and checks that it parses back, checksum verified, to the same value.
    func upperLayer(_ protocolNumber: UInt8, _ raw: UnsafeRawBufferPointer, _ source: IPAddress, _ destination: IPAddress,
                    _ scratch: UnsafeMutableRawBufferPointer, verifyChecksum: Bool) -> Bool {
        switch (protocolNumber, source, destination) {
        case (IPProtocolNumber.tcp, _, _):
            guard let packet = try? TCPPacket(checking: raw) else { return false }
            _ = (packet.flags, packet.reservedBits, packet.md5SignatureOffset)
            packet.forEachMD5SignedRegion(source: source, destination: destination) { _ = $0.count }
            guard let repr = try? TCPRepr.parse(packet, source: source, destination: destination, verifyChecksum: verifyChecksum)
            else { return false }
            scratch.copy(packet.payload, to: repr.headerLength, count: repr.payloadLength)
            repr.emit(into: scratch, source: source, destination: destination)
            var expected = repr
            expected.options.sackBlocks = TCPSackBlocks(repr.options.sackBlocks.prefix(repr.options.emittedSackBlockCount))
            let again = try? TCPRepr.parse(scratch.readOnly.bytes(0, repr.bufferLength), source: source, destination: destination)
            if again != expected { Issue.record("TCP round trip: \(repr) → \(String(describing: again))") }
            // Fixed fields and data come back as they were (options are laid out anew).
            let emitted = scratch.readOnly
            if differs(raw, emitted, count: 20, skipping: { $0 == 12 || $0 == 16 || $0 == 17 })
                || !packet.payload.elementsEqual(emitted.bytes(repr.headerLength, repr.payloadLength)) {
                Issue.record("TCP bytes differ: \(repr)")
            }
        case (IPProtocolNumber.udp, _, _):
            guard let packet = try? UDPPacket(checking: raw),
                  let repr = try? UDPRepr.parse(packet, source: source, destination: destination, verifyChecksum: verifyChecksum)
            else { return false }
            scratch.copy(packet.payload, to: 8, count: repr.payloadLength)
            repr.emit(into: scratch, source: source, destination: destination)
            let again = try? UDPRepr.parse(scratch.readOnly.bytes(0, repr.bufferLength), source: source, destination: destination)
            if again != repr { Issue.record("UDP round trip: \(repr)") }
            if differs(packet.datagram, scratch.readOnly, count: repr.bufferLength, skipping: { $0 == 6 || $0 == 7 }) {
                Issue.record("UDP bytes differ: \(repr)")
            }
        case (IPProtocolNumber.icmp, _, _):
            guard let packet = try? ICMPv4Packet(checking: raw) else { return false }
            if packet.isError { _ = try? packet.quotedPacket() }
            guard let repr = try? ICMPv4Repr.parse(packet, verifyChecksum: verifyChecksum) else { return false }
            scratch.copy(packet.data, to: 8, count: repr.payloadLength)
            repr.emit(into: scratch)
            let again = try? ICMPv4Repr.parse(scratch.readOnly.bytes(0, repr.bufferLength))
            if again != repr { Issue.record("ICMP round trip: \(repr)") }
            if differs(raw, scratch.readOnly, count: repr.bufferLength, skipping: { $0 == 2 || $0 == 3 }) {
                Issue.record("ICMP bytes differ: \(repr)")
            }
        case (IPProtocolNumber.icmpv6, .v6(let s), .v6(let d)):
            guard let packet = try? ICMPv6Packet(checking: raw) else { return false }
            if packet.isError { _ = try? packet.quotedPacket() }
            guard let repr = try? ICMPv6Repr.parse(packet, source: s, destination: d, verifyChecksum: verifyChecksum)
            else { return false }
            scratch.copy(packet.data, to: 8, count: repr.payloadLength)
            repr.emit(into: scratch, source: s, destination: d)
            let again = try? ICMPv6Repr.parse(scratch.readOnly.bytes(0, repr.bufferLength), source: s, destination: d)
            if again != repr { Issue.record("ICMPv6 round trip: \(repr)") }
            if differs(raw, scratch.readOnly, count: repr.bufferLength, skipping: { $0 == 2 || $0 == 3 }) {
                Issue.record("ICMPv6 bytes differ: \(repr)")
            }
        default:
            return false
        }
        return true
    }

    /// Every WireGuard view and parser; what parses must emit the same bytes.
    func wireGuard(_ raw: UnsafeRawBufferPointer, _ scratch: UnsafeMutableRawBufferPointer) -> Bool {
        _ = WireGuardMessageType(of: raw)
        if let m = try? WireGuardInitiationMessage(checking: raw) { _ = (m.sender, m.ephemeral, m.mac1, m.beforeMac2) }
        if let m = try? WireGuardResponseMessage(checking: raw) { _ = (m.receiver, m.encryptedNothing, m.mac2, m.beforeMac1) }
        if let m = try? WireGuardCookieReplyMessage(checking: raw) { _ = (m.receiver, m.nonce, m.encryptedCookie) }
        if let m = try? WireGuardTransportMessage(checking: raw) {
            let repr = WireGuardTransportRepr.parse(m)
            repr.emit(into: scratch)
            if !raw.bytes16.elementsEqual(scratch.readOnly.bytes(0, 16)) { Issue.record("transport header differs") }
        }
        guard let message = try? WireGuardMessage.parse(raw) else { return false }
        message.emit(into: scratch)
        if !raw.elementsEqual(scratch.readOnly.bytes(0, message.bufferLength)) { Issue.record("WireGuard bytes differ: \(message)") }
        return true
    }
}

/// Whether the first `count` bytes of `a` and `b` differ anywhere but where `skipping` says.
private func differs(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, count: Int, skipping: (Int) -> Bool) -> Bool {
    for i in 0..<count where !skipping(i) && a[i] != b[i] { return true }
    return false
}

extension UnsafeRawBufferPointer {
    fileprivate var bytes16: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: self[0..<16]) }
    fileprivate func bytes(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[offset..<(offset + count)])
    }
}

extension UnsafeMutableRawBufferPointer {
    fileprivate var readOnly: UnsafeRawBufferPointer { UnsafeRawBufferPointer(self) }
    fileprivate func copy(_ source: UnsafeRawBufferPointer, to offset: Int, count: Int) {
        guard count > 0 else { return }
        UnsafeMutableRawBufferPointer(rebasing: self[offset..<(offset + count)])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<count]))
    }
}
