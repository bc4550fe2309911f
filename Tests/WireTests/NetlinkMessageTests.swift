import Testing
import Wire

/// The netlink wire layer against datagrams Linux wrote (`NetlinkCaptured`): headers,
/// batches, attributes, rtnetlink fixed headers and NLMSG_ERROR, read and written back
/// byte for byte; and random bytes through every parser.
@Suite struct NetlinkMessageTests {
    /// The bytes of `buffer` from `offset` on.
    private func tail(_ buffer: UnsafeRawBufferPointer, _ offset: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[offset...])
    }

    static let port: UInt32 = 0x48ba

    private func messages(_ bytes: [UInt8]) -> [(NetlinkHeader, [UInt8])] {
        bytes.withUnsafeBytes { raw in
            var out: [(NetlinkHeader, [UInt8])] = []
            var batch = NetlinkMessages(raw)
            while let m = batch.next() { out.append((m.header, Array(m.payload))) }
            #expect(batch.error == nil)
            return out
        }
    }

    @Test func addressDumpParses() throws {
        let parsed = messages(NetlinkCaptured.addressDump4)
        #expect(parsed.count == 2)
        for (header, _) in parsed {
            #expect(header == NetlinkHeader(type: RouteNetlinkType.newAddress, flags: .multi, sequence: 1, portID: Self.port))
        }
        try parsed[1].1.withUnsafeBytes { raw in
            let address = try InterfaceAddressRepr.parse(raw)
            #expect(address == InterfaceAddressRepr(family: 2, prefixLength: 24, flags: 0x80, scope: 0, index: 3))
            var found: [UInt16: String] = [:]
            for attribute in NetlinkAttributes(tail(raw, InterfaceAddressRepr.length)) {
                found[attribute.type] = attribute.address.map { "\($0)" } ?? attribute.string
            }
            #expect(found[InterfaceAddressRepr.Attribute.local] == "10.9.0.1")
            #expect(found[InterfaceAddressRepr.Attribute.address] == "10.9.0.1")
            #expect(found[InterfaceAddressRepr.Attribute.label] == "d0")
        }
    }

    @Test func addressMessageIsWrittenAsLinuxWritesIt() throws {
        let (header, payload) = messages(NetlinkCaptured.addressDump4)[0]
        let cacheInfo = Array(payload[(payload.count - 16)...])
        var writer = NetlinkWriter()
        writer.begin(header)
        writer.appendBytes(InterfaceAddressRepr(family: 2, prefixLength: 8, flags: 0x80, scope: 254, index: 1).bytes)
        writer.appendAttribute(InterfaceAddressRepr.Attribute.address, address: IPAddress("127.0.0.1")!)
        writer.appendAttribute(InterfaceAddressRepr.Attribute.local, address: IPAddress("127.0.0.1")!)
        writer.appendAttribute(InterfaceAddressRepr.Attribute.label, string: "lo")
        writer.appendAttribute(InterfaceAddressRepr.Attribute.flags, uint32: 0x80)
        writer.appendAttribute(InterfaceAddressRepr.Attribute.cacheInfo, bytes: cacheInfo)
        writer.end()
        #expect(writer.bytes == Array(NetlinkCaptured.addressDump4[0..<76]))
    }

    @Test func doneCarriesTheDumpStatus() {
        let parsed = messages(NetlinkCaptured.addressDumpDone)
        #expect(parsed.count == 1)
        #expect(parsed[0].0 == NetlinkHeader(type: NetlinkControlType.done, flags: .multi, sequence: 1, portID: Self.port))
        #expect(parsed[0].1 == [0, 0, 0, 0])
    }

    @Test func routeDumpParses() throws {
        let parsed = messages(NetlinkCaptured.routeDump4)
        #expect(parsed.count == 6)
        try parsed[0].1.withUnsafeBytes { raw in
            let route = try RouteRepr.parse(raw)
            #expect(route == RouteRepr(family: 2, destinationLength: 24, table: 254, protocolNumber: 2, scope: 253,
                                       type: RouteRepr.RouteType.unicast))
            #expect(route.bytes == Array(UnsafeRawBufferPointer(rebasing: raw[0..<RouteRepr.length])))
            var attributes = NetlinkAttributes(tail(raw, RouteRepr.length))
            var types: [UInt16] = []
            while let a = attributes.next() { types.append(a.type) }
            #expect(types == [RouteRepr.Attribute.table, RouteRepr.Attribute.destination,
                              RouteRepr.Attribute.preferredSource, RouteRepr.Attribute.outputInterface])
        }
        // The local table's entries: type local and broadcast, scope host and link.
        let types = try parsed.map { try $0.1.withUnsafeBytes { try RouteRepr.parse($0).type } }
        #expect(types == [1, 2, 3, 2, 2, 3])
    }

    @Test func acknowledgementIsCapped() throws {
        let ack = try NetlinkCaptured.routeAck.withUnsafeBytes { try NetlinkErrorRepr.parse(NetlinkMessage(checking: $0)) }
        #expect(ack.error == 0)
        #expect(ack.request == NetlinkHeader(type: RouteNetlinkType.newRoute, flags: [.request, .ack, .exclusive, .create],
                                             sequence: 4, portID: 0))
        #expect(ack.requestLength == 60)
        var writer = NetlinkWriter()
        ack.append(to: &writer, portID: Self.port, capAcknowledgements: false)
        #expect(writer.bytes == NetlinkCaptured.routeAck)
    }

    @Test func errorEchoesTheRequest() throws {
        let error = try NetlinkCaptured.routeExists.withUnsafeBytes { try NetlinkErrorRepr.parse(NetlinkMessage(checking: $0)) }
        #expect(error.error == -17)  // EEXIST
        #expect(error.requestPayload.count == 44)
        #expect(error.message == nil)
        var writer = NetlinkWriter()
        error.append(to: &writer, portID: Self.port, capAcknowledgements: false)
        #expect(writer.bytes == NetlinkCaptured.routeExists)
        // With NETLINK_CAP_ACK the request shrinks to its header.
        var capped = NetlinkWriter()
        error.append(to: &capped, portID: Self.port, capAcknowledgements: true)
        #expect(capped.bytes.count == 36)
        let back = try capped.bytes.withUnsafeBytes { try NetlinkErrorRepr.parse(NetlinkMessage(checking: $0)) }
        #expect(back.error == -17 && back.requestPayload.isEmpty && back.request == error.request)
    }

    @Test func extendedAcknowledgementCarriesTheMessage() throws {
        let error = try NetlinkCaptured.routeBadGateway.withUnsafeBytes {
            try NetlinkErrorRepr.parse(NetlinkMessage(checking: $0))
        }
        #expect(error.error == -101)  // ENETUNREACH
        #expect(error.message == "Nexthop has invalid gateway")
        var writer = NetlinkWriter()
        error.append(to: &writer, portID: Self.port, capAcknowledgements: false)
        #expect(writer.bytes == NetlinkCaptured.routeBadGateway)
    }

    @Test func nestedAttributesAndCancel() {
        var writer = NetlinkWriter()
        writer.begin(NetlinkHeader(type: RouteNetlinkType.newLink, flags: .multi, sequence: 9, portID: 1))
        writer.appendBytes(InterfaceInfoRepr(hardwareType: 65534, index: 2, flags: 0x10d1).bytes)
        writer.appendAttribute(InterfaceInfoRepr.Attribute.name, string: "wg0")
        writer.beginNested(InterfaceInfoRepr.Attribute.linkInfo)
        writer.appendAttribute(InterfaceInfoRepr.Attribute.infoKind, string: "wireguard")
        writer.endNested()
        writer.end()
        let kept = writer.bytes
        writer.begin(NetlinkHeader(type: RouteNetlinkType.newLink))
        writer.appendAttribute(InterfaceInfoRepr.Attribute.mtu, uint32: 1420)
        writer.cancel()
        #expect(writer.bytes == kept)
        kept.withUnsafeBytes { raw in
            var batch = NetlinkMessages(raw)
            let message = batch.next()
            #expect(message?.length == kept.count && batch.next() == nil && batch.error == nil)
            guard let message, let info = try? InterfaceInfoRepr.parse(message.payload) else {
                Issue.record("no link message"); return
            }
            #expect(info == InterfaceInfoRepr(hardwareType: 65534, index: 2, flags: 0x10d1))
            let attributes = Array(NetlinkAttributes(tail(message.payload, InterfaceInfoRepr.length)))
            #expect(attributes.map(\.type) == [InterfaceInfoRepr.Attribute.name, InterfaceInfoRepr.Attribute.linkInfo])
            #expect(attributes[0].string == "wg0")
            #expect(attributes[1].nested.map(\.string) == ["wireguard"])
        }
    }

    @Test func malformedLengthsStopIteration() {
        // nlmsg_len 8 (under the header), then a length past the end.
        let short: [UInt8] = [8, 0, 0, 0, 2, 0, 0, 0] + [UInt8](repeating: 0, count: 8)
        short.withUnsafeBytes { raw in
            var batch = NetlinkMessages(raw)
            #expect(batch.next() == nil && batch.error == .malformed("nlmsg_len"))
        }
        let long: [UInt8] = [64, 0, 0, 0] + [UInt8](repeating: 0, count: 12)
        long.withUnsafeBytes { raw in
            var batch = NetlinkMessages(raw)
            #expect(batch.next() == nil && batch.error == .truncated)
        }
        let attribute: [UInt8] = [2, 0, 1, 0, 9, 0, 1, 0]
        attribute.withUnsafeBytes { raw in
            var attributes = NetlinkAttributes(raw)
            #expect(attributes.next() == nil && attributes.error == .malformed("nla_len"))
        }
    }

    /// Parsing is total: 200,000 random and mutated datagrams through the batch iterator, every
    /// fixed header, the attributes (nested ones too) and NLMSG_ERROR.
    @Test func randomBytesNeverTrap() {
        var rng = SplitMix64(state: 0x6e6c)
        let seeds = [NetlinkCaptured.addressDump4, NetlinkCaptured.routeDump4, NetlinkCaptured.routeAck,
                     NetlinkCaptured.routeExists, NetlinkCaptured.routeBadGateway]
        var parsed = 0
        for round in 0..<200_000 {
            var input: [UInt8]
            if round % 2 == 0 {
                input = rng.bytes(rng.below(120))
            } else {
                input = seeds[rng.below(seeds.count)]
                for _ in 0..<(1 + rng.below(4)) where !input.isEmpty {
                    input[rng.below(input.count)] = UInt8(truncatingIfNeeded: rng.next())
                }
                if rng.below(4) == 0 { input = Array(input.prefix(rng.below(input.count + 1))) }
            }
            input.withUnsafeBytes { raw in
                var batch = NetlinkMessages(raw)
                while let message = batch.next() {
                    parsed += 1
                    _ = try? NetlinkErrorRepr.parse(message)
                    for length in [InterfaceInfoRepr.length, InterfaceAddressRepr.length, RouteRepr.length] {
                        _ = try? InterfaceInfoRepr.parse(message.payload)
                        _ = try? InterfaceAddressRepr.parse(message.payload)
                        _ = try? RouteRepr.parse(message.payload)
                        guard message.payload.count >= length else { continue }
                        for attribute in NetlinkAttributes(tail(message.payload, length)) {
                            _ = (attribute.string, attribute.address, attribute.uint32, attribute.uint16, attribute.uint8)
                            for inner in attribute.nested { _ = inner.string }
                        }
                    }
                }
            }
        }
        #expect(parsed > 50_000)
    }
}
