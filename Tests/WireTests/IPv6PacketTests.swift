import Testing
import Wire

/// IPv6 (RFC 8200 §3) and its extension headers (RFC 8200 §4): fields of packets Linux wrote,
/// round trips, and the walk's checks on well-formed and malformed chains.
@Suite struct IPv6PacketTests {
    let a = IPv6Address("2001:db8::1")!, b = IPv6Address("2001:db8::2")!

    func chain(_ payload: [UInt8], first: UInt8, maximumHeaders: Int = 16) throws -> IPv6ExtensionHeaderChain {
        try payload.view { try IPv6ExtensionHeaderChain.walk($0, nextHeader: first, maximumHeaders: maximumHeaders) }
    }

    @Test func fieldsOfALinuxSyn() throws {
        try Captured.tcp6Syn.view { raw in
            let packet = try IPv6Packet(checking: raw)
            #expect(packet.version == 6 && packet.trafficClass == 0 && packet.flowLabel == 0x0beb63)
            #expect(packet.payloadLength == 40 && packet.nextHeader == IPProtocolNumber.tcp && packet.hopLimit == 64)
            #expect(packet.source == a && packet.destination == b && packet.payload.count == 40)
            let walk = try packet.extensionHeaders()
            #expect(walk.upperLayerProtocol == 6 && walk.upperLayerOffset == 0 && walk.headerCount == 0)
            #expect(packet.upperLayerPayload(walk).count == 40)
        }
    }

    @Test(arguments: [Captured.tcp6Syn, Captured.udp6, Captured.icmp6Echo, Captured.icmp6PortUnreachable,
                      Captured.icmp6TimeExceeded, Captured.udp6HopByHopAndDestinationOptions, Captured.udp6SecondFragment])
    func emitReproducesLinuxHeaders(packet: [UInt8]) throws {
        let parsed = try packet.view { try IPv6Repr.parse($0) }
        #expect(parsed.bufferLength == packet.count)
        #expect(emitted(40) { parsed.emit(into: $0) } == Array(packet.prefix(40)))
    }

    @Test func trafficClassAndFlowLabelRoundTrip() throws {
        var header = IPv6Repr(nextHeader: 59, source: a, destination: b, hopLimit: 1, payloadLength: 0)
        header.trafficClass = 0xb8
        header.flowLabel = 0xfffff
        let bytes = emitted(40) { header.emit(into: $0) }
        #expect(Array(bytes.prefix(4)) == [0x6b, 0x8f, 0xff, 0xff])
        #expect(try bytes.view { try IPv6Repr.parse($0) } == header)
    }

    @Test func checks() throws {
        #expect(throws: WireError.truncated) { try Array(Captured.udp6.prefix(39)).view { try IPv6Packet(checking: $0) } }
        var four = Captured.udp6
        four[0] = 0x45
        #expect(throws: WireError.malformed("version")) { try four.view { try IPv6Packet(checking: $0) } }
        let short = Array(Captured.udp6.dropLast())
        #expect(throws: WireError.truncated) { try short.view { try IPv6Packet(checking: $0) } }
        try short.view { raw in
            let quoted = try IPv6Packet(checkingQuoted: raw)
            #expect(quoted.payloadLength == 13 && quoted.payload.count == 12)
        }
        // Bytes past the payload length are not payload.
        let (_, range) = try IPv6Header.parse((Captured.udp6 + [0, 0])[...])
        #expect(range == 40..<53)
    }

    /// Linux's Hop-by-Hop (Router Alert, PadN) then Destination Options (0x1e) then UDP.
    @Test func hopByHopAndDestinationOptions() throws {
        try Captured.udp6HopByHopAndDestinationOptions.view { raw in
            let packet = try IPv6Packet(checking: raw)
            let walk = try packet.extensionHeaders()
            #expect(walk.upperLayerProtocol == IPProtocolNumber.udp && walk.upperLayerOffset == 16)
            #expect(walk.headerCount == 2 && walk.hasHopByHopOptions && walk.destinationOptionsCount == 1)
            #expect(walk.fragment == nil && walk.routing == nil && !walk.isFragmentData)
            var reader = IPv6ExtensionHeaderReader(payload: packet.payload, nextHeader: packet.nextHeader)
            let hbh = try #require(try reader.next())
            #expect(hbh.kind == 0 && hbh.nextHeader == 60 && hbh.length == 8)
            var options = IPv6OptionReader(hbh.body)
            let alert = try #require(try options.next())
            #expect(alert.type == IPv6OptionReader.routerAlert && Array(alert.data) == [0, 0] && alert.unrecognizedAction == 0)
            #expect(try options.next() == nil)  // PadN is skipped
            let destination = try #require(try reader.next())
            var destinationOptions = IPv6OptionReader(destination.body)
            let experiment = try #require(try destinationOptions.next())
            #expect(experiment.type == 0x1e && Array(experiment.data) == [1, 2, 3, 4])
            #expect(try reader.next() == nil && reader.nextHeader == 17 && reader.offset == 16)
            let udp = try UDPRepr.parse(packet.upperLayerPayload(walk), source: .v6(packet.source), destination: .v6(packet.destination))
            #expect(udp.destinationPort == 7 && udp.payloadLength == 4)
        }
    }

    /// Linux's fragments of one datagram: the first carries the UDP header after the Fragment
    /// header; the second is data, and the walk must not read it as headers.
    @Test func fragments() throws {
        try Captured.udp6FirstFragmentHead.view { raw in
            let packet = try IPv6Packet(checkingQuoted: raw)
            let walk = try packet.extensionHeaders()
            let fragment = try #require(walk.fragment)
            #expect(fragment == IPv6FragmentRepr(nextHeader: 17, fragmentOffset: 0, moreFragments: true, identification: 0x2413_7615))
            #expect(walk.upperLayerProtocol == 17 && walk.upperLayerOffset == 8 && !walk.isFragmentData)
        }
        try Captured.udp6SecondFragment.view { raw in
            let walk = try IPv6Packet(checking: raw).extensionHeaders()
            #expect(walk.fragment?.fragmentOffset == 154 && walk.fragment?.moreFragments == false)
            #expect(walk.upperLayerProtocol == 17 && walk.upperLayerOffset == 8 && walk.isFragmentData)
        }
        // Data after a non-first Fragment header that looks like a broken header is not walked.
        let data: [UInt8] = [0, 0, 0x00, 0x08, 0, 0, 0, 1] + [0, 200, 0, 0]  // offset 1, next header HBH
        #expect(try chain(data, first: 44).isFragmentData)
        // An atomic fragment (offset 0, M clear; RFC 6946) continues to the upper layer.
        let atomic = try chain([17, 0, 0, 0, 0, 0, 0, 9] + [UInt8](repeating: 0, count: 8), first: 44)
        #expect(atomic.fragment?.isAtomic == true && atomic.upperLayerOffset == 8 && !atomic.isFragmentData)
        let repr = IPv6FragmentRepr(nextHeader: 6, fragmentOffset: 0x1fff, moreFragments: true, identification: 0xdead_beef)
        let bytes = emitted(8) { repr.emit(into: $0) }
        #expect(bytes == [6, 0, 0xff, 0xf9, 0xde, 0xad, 0xbe, 0xef])
        #expect(bytes.view { IPv6FragmentRepr.parse($0) } == repr)
    }

    /// Every walked kind in one chain: Hop-by-Hop → Routing (type 4, 2 segments left) →
    /// Fragment → Destination Options → AH (RFC 4302, 24 bytes) → TCP.
    @Test func fullChain() throws {
        let hopByHop: [UInt8] = [43, 0, 1, 4, 0, 0, 0, 0]                       // PadN 4
        let routing: [UInt8] = [44, 2, 4, 2, 0, 0, 0, 0] + [UInt8](repeating: 0xaa, count: 16)
        let fragment: [UInt8] = [60, 0, 0, 1, 0, 0, 0, 7]                        // offset 0, M
        let destination: [UInt8] = [51, 0, 0, 0, 0, 0, 0, 0]                    // six Pad1
        let authentication: [UInt8] = [6, 4, 0, 0] + [UInt8](repeating: 0x55, count: 20)  // (4 + 2) × 4
        let payload = hopByHop + routing + fragment + destination + authentication + [UInt8](repeating: 0, count: 20)
        let walk = try chain(payload, first: 0)
        #expect(walk.upperLayerProtocol == 6 && walk.upperLayerOffset == 72 && walk.headerCount == 5)
        #expect(walk.hasHopByHopOptions && walk.hasAuthenticationHeader && walk.destinationOptionsCount == 1)
        #expect(walk.routing == IPv6RoutingSummary(routingType: 4, segmentsLeft: 2))
        #expect(walk.fragment?.identification == 7 && walk.fragment?.moreFragments == true)
        // The same chain with a fixed header, parsed through the view.
        let header = IPv6Repr(nextHeader: 0, source: a, destination: b, payloadLength: payload.count)
        let packet = emitted(40) { header.emit(into: $0) } + payload
        #expect(try packet.view { try IPv6Packet(checking: $0).extensionHeaders() } == walk)
    }

    @Test func malformedChains() throws {
        let pad: [UInt8] = [0, 0, 0, 0, 0, 0]
        // Hop-by-Hop anywhere but first (RFC 8200 §4.1).
        #expect(throws: WireError.malformed("hop-by-hop position")) { try chain([0, 0] + pad + [59, 0] + pad, first: 60) }
        // A header longer than the payload; a payload ending inside the first 8 bytes.
        #expect(throws: WireError.truncated) { try chain([17, 1] + pad, first: 60) }
        #expect(throws: WireError.truncated) { try chain([17, 0, 0], first: 43) }
        #expect(throws: WireError.truncated) { try chain([44, 0] + pad + [17, 0, 0, 0], first: 60) }
        // Options that run past their header, and a lone type byte at the end.
        #expect(throws: WireError.malformed("options")) { try chain([17, 0, 1, 5, 0, 0, 0, 0], first: 0) }
        #expect(throws: WireError.malformed("options")) { try chain([17, 0, 0, 0, 0, 0, 0, 0x1e], first: 60) }
        // AH: a payload length of 0, and a length that is not a multiple of 8 bytes in IPv6.
        #expect(throws: WireError.malformed("authentication header length")) { try chain([6, 0] + pad, first: 51) }
        #expect(throws: WireError.malformed("authentication header length")) { try chain([6, 1] + pad + [0, 0, 0, 0], first: 51) }
        // Too many headers.
        let loop = (0..<19).flatMap { _ in [60, 0] + pad } + [59, 0] + pad
        #expect(throws: WireError.unsupported("extension header count")) { try chain(loop, first: 60) }
        #expect(try chain(loop, first: 60, maximumHeaders: 20).upperLayerProtocol == 59)
        // ESP and No Next Header end the walk; what follows is not read.
        #expect(try chain([0xff], first: 50).upperLayerProtocol == 50)
        #expect(try chain([], first: 59).upperLayerOffset == 0)
        // An empty payload whose first header is an extension header.
        #expect(throws: WireError.truncated) { try chain([], first: 0) }
    }

    @Test func decrementHopLimit() throws {
        var bytes = Captured.udp6
        #expect(bytes.withUnsafeMutableBytes { IPv6Packet.decrementHopLimit(in: $0) } == 63)
        #expect(bytes[7] == 63)
        bytes[7] = 0
        #expect(bytes.withUnsafeMutableBytes { IPv6Packet.decrementHopLimit(in: $0) } == 0)
        #expect(bytes[7] == 0)
    }
}
