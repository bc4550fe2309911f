import NetStack
@testable import Netlink
import Testing
import Wire

/// srouter's rtnetlink against what Linux 6.x answered in a network namespace shaped the same
/// way (lo; a wireguard-go tun, index 2, with 10.77.0.2/24, fd77::2/64, fe80::2/64 — the
/// native side of Tests/Integration/sockets.sh): the same messages, attributes in the same
/// order, the same errors and extended-ack messages for the same requests.
@Suite struct RouteNetlinkServerTests {
    static let me = NetlinkSocketSettings(portID: 0x48ba)
    static let strict = NetlinkSocketSettings(portID: 0x48ba, strictCheck: true, extendedAck: true)

    // MARK: - Links

    @Test func linkDumpFollowsLinuxLayout() {
        let router = TestRouter()
        router.addReferenceAddresses()
        let replies = router.request(RouteNetlinkType.getLink, flags: .dump, settings: Self.me) {
            $0.appendBytes(InterfaceInfoRepr().bytes)
        }
        let messages = parse(replies)
        #expect(messages.map(\.header.type) == [RouteNetlinkType.newLink, RouteNetlinkType.newLink, NetlinkControlType.done])
        #expect(messages.allSatisfy { $0.header.flags.contains(.multi) && $0.header.portID == 0x48ba })
        // ifi_type and ifi_flags as Linux reports lo and a wireguard-go tun.
        let lo = messages[0].payload.withUnsafeBytes { try? InterfaceInfoRepr.parse($0) }
        let wg = messages[1].payload.withUnsafeBytes { try? InterfaceInfoRepr.parse($0) }
        #expect(lo == InterfaceInfoRepr(hardwareType: 772, index: 1, flags: 0x10049))
        #expect(wg == InterfaceInfoRepr(hardwareType: 65534, index: 2, flags: 0x110d1))
        // Every attribute srouter writes, in Linux's order (a subsequence of what Linux wrote).
        let linuxOrder: [UInt16] = [3, 13, 16, 17, 67, 4, 50, 51, 27, 30, 61, 31, 40, 41, 58, 63, 64, 59, 60, 66, 32, 33,
                                    35, 47, 48, 68, 69, 39, 1, 2, 23, 7, 43, 18, 6, 26, 14, 62, 65]
        for message in messages.prefix(2) {
            let types = message.attributes(after: InterfaceInfoRepr.length).map(\.0)
            var cursor = linuxOrder.makeIterator()
            #expect(types.allSatisfy { type in
                while let next = cursor.next() { if next == type { return true } }
                return false
            }, "attribute order \(types)")
        }
        let attributes = Dictionary(uniqueKeysWithValues: messages[1].attributes(after: InterfaceInfoRepr.length))
        #expect(attributes[InterfaceInfoRepr.Attribute.name] == Array("wg0".utf8) + [0])
        #expect(attributes[InterfaceInfoRepr.Attribute.mtu] == [0x8c, 0x05, 0, 0])  // 1420
        #expect(attributes[InterfaceInfoRepr.Attribute.transmitQueueLength] == [0xf4, 0x01, 0, 0])  // 500
        #expect(attributes[InterfaceInfoRepr.Attribute.minimumMTU] == [68, 0, 0, 0])
        #expect(attributes[InterfaceInfoRepr.Attribute.maximumMTU] == [0xff, 0xff, 0, 0])
        #expect(attributes[RouteNetlinkServer.LinkAttribute.statistics64]?.count == 200)
        #expect(attributes[InterfaceInfoRepr.Attribute.stats]?.count == 96)
    }

    @Test func getLinkByNameOrIndex() {
        let router = TestRouter()
        let byName = router.request(RouteNetlinkType.getLink, flags: [], settings: Self.me) {
            $0.appendBytes(InterfaceInfoRepr().bytes)
            $0.appendAttribute(InterfaceInfoRepr.Attribute.name, string: "wg0")
        }
        #expect(byName.count == 1)
        let message = parse(byName)[0]
        #expect(message.header == NetlinkHeader(type: RouteNetlinkType.newLink, flags: [], sequence: 1, portID: 0x48ba))
        let missing = router.request(RouteNetlinkType.getLink, flags: [], settings: Self.me) {
            $0.appendBytes(InterfaceInfoRepr(index: 9).bytes)
        }
        #expect(missing.map(errorCode) == [-19])  // ENODEV
    }

    @Test func setLinkDownAndMTU() {
        let router = TestRouter()
        let down = router.request(RouteNetlinkType.newLink, flags: .ack, settings: Self.strict) {
            $0.appendBytes(InterfaceInfoRepr(index: 2, flags: 0, change: 1).bytes)
            $0.appendAttribute(InterfaceInfoRepr.Attribute.mtu, uint32: 1280)
        }
        #expect(down.map(errorCode) == [0])
        #expect(!router.wg.isUp && router.wg.mtu == 1280)
        #expect(router.notifications.map(\.0) == [.link])
        let tooSmall = router.request(RouteNetlinkType.newLink, flags: .ack, settings: Self.strict) {
            $0.appendBytes(InterfaceInfoRepr(index: 2).bytes)
            $0.appendAttribute(InterfaceInfoRepr.Attribute.mtu, uint32: 10)
        }
        #expect(tooSmall.map(errorCode) == [-22])
        #expect(extendedMessage(tooSmall[0]) == "mtu less than device minimum")
    }

    // MARK: - Addresses

    @Test func addressDumpMatchesLinux() {
        let router = TestRouter()
        router.addReferenceAddresses()
        let replies = router.request(RouteNetlinkType.getAddress, flags: .dump, settings: Self.me) {
            $0.appendBytes([0, 0, 0, 0])  // rtgenmsg, AF_UNSPEC, as glibc's getifaddrs asks
        }
        let messages = parse(replies).filter { $0.header.type == RouteNetlinkType.newAddress }
        // Linux's ifaddrmsg bytes and attribute types, in its order (IPv4, then IPv6; global
        // IPv6 before link-local).
        let expected: [(String, [UInt16])] = [
            ("020880fe01000000", [1, 2, 3, 8, 6]), ("0218800002000000", [1, 2, 3, 8, 6]),
            ("0a8080fe01000000", [1, 6, 8, 11]), ("0a40820002000000", [1, 6, 8]), ("0a4082fd02000000", [1, 6, 8]),
        ]
        #expect(messages.count == expected.count)
        for (message, (header, types)) in zip(messages, expected) {
            #expect(Array(message.payload.prefix(8)) == hex(header))
            #expect(message.attributes(after: 8).map(\.0) == types)
        }
        let wg4 = Dictionary(uniqueKeysWithValues: messages[1].attributes(after: 8))
        #expect(wg4[InterfaceAddressRepr.Attribute.local] == [10, 77, 0, 2])
        #expect(wg4[InterfaceAddressRepr.Attribute.label] == Array("wg0".utf8) + [0])
        #expect(wg4[InterfaceAddressRepr.Attribute.flags] == [0x80, 0, 0, 0])
    }

    @Test func addressChangesAnswerAndNotify() {
        let router = TestRouter()
        router.addReferenceAddresses()
        let add = router.request(RouteNetlinkType.newAddress, flags: [.ack, .create, .exclusive], sequence: 7,
                                 settings: Self.strict) {
            $0.appendBytes(InterfaceAddressRepr(family: 2, prefixLength: 32, index: 2).bytes)
            $0.appendAttribute(InterfaceAddressRepr.Attribute.local, address: IPAddress("172.20.1.1")!)
            $0.appendAttribute(InterfaceAddressRepr.Attribute.address, address: IPAddress("172.20.1.2")!)
        }
        #expect(add.map(errorCode) == [0])
        #expect(router.wg.addresses.contains { $0.address == IPAddress("172.20.1.1") && $0.peer == IPAddress("172.20.1.2") })
        // The address, then the kernel routes it brings, each echoed with the requester's port and sequence.
        #expect(router.notifications.map(\.0) == [.ipv4Address, .ipv4Route, .ipv4Route])
        let first = parse([router.notifications[0].1])[0].header
        #expect(first == NetlinkHeader(type: RouteNetlinkType.newAddress, sequence: 7, portID: 0x48ba))
        let again = router.request(RouteNetlinkType.newAddress, flags: [.ack, .create, .exclusive], settings: Self.strict) {
            $0.appendBytes(InterfaceAddressRepr(family: 2, prefixLength: 32, index: 2).bytes)
            $0.appendAttribute(InterfaceAddressRepr.Attribute.local, address: IPAddress("172.20.1.1")!)
        }
        #expect(again.map(errorCode) == [-17])
        let missing = router.request(RouteNetlinkType.deleteAddress, flags: .ack, settings: Self.strict) {
            $0.appendBytes(InterfaceAddressRepr(family: 10, prefixLength: 64, index: 2).bytes)
            $0.appendAttribute(InterfaceAddressRepr.Attribute.address, address: IPAddress("fd77::9")!)
        }
        #expect(missing.map(errorCode) == [-99])  // EADDRNOTAVAIL
        let noDevice = router.request(RouteNetlinkType.newAddress, flags: .ack, settings: Self.strict) {
            $0.appendBytes(InterfaceAddressRepr(family: 10, prefixLength: 64, index: 9).bytes)
            $0.appendAttribute(InterfaceAddressRepr.Attribute.address, address: IPAddress("fd77::9")!)
        }
        #expect(noDevice.map(errorCode) == [-19])
    }

    // MARK: - Routes

    @Test func routeDumpMatchesLinuxBytes() {
        let router = TestRouter()
        router.addReferenceAddresses()
        let v4 = parse(router.request(RouteNetlinkType.getRoute, flags: .dump, settings: Self.strict) {
            $0.appendBytes(RouteRepr(family: 2, table: 254).bytes)
        })
        // Strict and filtered to main: the connected route only, exactly as Linux wrote it.
        #expect(v4.map(\.header.type) == [RouteNetlinkType.newRoute, NetlinkControlType.done])
        #expect(v4[0].header.flags == [.multi, .dumpFiltered])
        #expect(v4[0].payload == hex("02180000fe02fd010000000008000f00fe000000080001000a4d0000080007000a4d000208000400"
            + "02000000"))
        // IPv6 connected and local routes, byte for byte (cache info and preference included).
        let v6 = parse(router.request(RouteNetlinkType.getRoute, flags: .dump, settings: Self.me) {
            $0.appendBytes(RouteRepr(family: 10).bytes)
        })
        let fd77 = v6.first { $0.payload.count > 20 && $0.payload[0..<12] == hex("0a400000fe02000100000000")[...] }
        #expect(fd77?.payload == hex("0a400000fe02000100000000" + "08000f00fe000000" + "14000100fd770000000000000000000000000000"
            + "0800060000010000" + "0800040002000000" + "24000c00" + String(repeating: "00", count: 32) + "0500140000000000"))
        let local = v6.first { $0.payload.prefix(12) == hex("0a800000ff02000200000000")[...] && $0.payload.contains(0xfd) }
        #expect(local != nil)
        // Without strict checking Linux dumps every table whatever was asked.
        let all = parse(router.request(RouteNetlinkType.getRoute, flags: .dump, settings: Self.me) {
            $0.appendBytes(RouteRepr(family: 2, table: 254).bytes)
        })
        #expect(all.filter { $0.header.type == RouteNetlinkType.newRoute }.count == router.routing.table.routes(ipv6: false).count)
    }

    /// The requests of `NetlinkCaptured` in the Wire tests, with Linux's answers byte for byte:
    /// an ACK, EEXIST with the request echoed, and ENETUNREACH with "Nexthop has invalid gateway".
    @Test func routeWritesAnswerAsLinuxDid() {
        let router = TestRouter(wireGuardName: "d0", extraInterface: "d1")
        try! router.interfaces.addAddress(InterfaceAddress(address: IPAddress("10.9.0.1")!, prefixLength: 24), to: router.wg)
        let settings = NetlinkSocketSettings(portID: 0x48ba, extendedAck: true)
        let ack = hex("240000000200000104000000ba480000000000003c000000180005060400000000000000")
        let exists = hex("500000000200000005000000ba480000efffffff3c00000018000506050000000000000002100000fe0c000100000000"
            + "080001000a630000080005000a09000208000600200000000800040003000000")
        let badGateway = hex("600000000200000206000000ba4800009bffffff2c00000018000506060000000000000002100000fe0c00010000"
            + "0000080001000a62000008000500c0000209200001004e657874686f702068617320696e76616c6964206761746577617900")
        // Each request is the one Linux echoed: bytes 20..<20+len of its error message.
        let request = Array(exists[20..<80]), secondRequestSequence: UInt32 = 5
        var first = request
        first[8] = 4
        #expect(first.withUnsafeBytes { router.server.handle($0, settings: settings) } == [ack])
        #expect(request.withUnsafeBytes { router.server.handle($0, settings: settings) } == [exists])
        #expect(request[8] == UInt8(secondRequestSequence))
        let unreachable = Array(badGateway[20..<64])
        #expect(unreachable.withUnsafeBytes { router.server.handle($0, settings: settings) } == [badGateway])
        let route = router.routing.table.routes(exactly: IPPrefix("10.99.0.0/16")!, table: RouteTable.main)
        #expect(route.count == 1 && route[0].protocolNumber == 12 && route[0].metric == 32)
        #expect(route.first?.nextHops == [NextHop(gateway: IPAddress("10.9.0.2"), interfaceIndex: 3)])
    }

    @Test func routeChecksFollowLinux() {
        let router = TestRouter()
        router.addReferenceAddresses()
        func add(_ family: UInt8, _ destination: String, length: UInt8, type: UInt8 = 1,
                 _ body: (inout NetlinkWriter) -> Void = { _ in }) -> (Int32?, String?) {
            let reply = router.request(RouteNetlinkType.newRoute, flags: [.ack, .create, .exclusive], settings: Self.strict) {
                $0.appendBytes(RouteRepr(family: family, destinationLength: length, table: 254, protocolNumber: 12,
                                         type: type).bytes)
                $0.appendAttribute(RouteRepr.Attribute.destination, address: IPAddress(destination)!)
                body(&$0)
            }
            return (errorCode(reply[0]), extendedMessage(reply[0]))
        }
        typealias A = RouteRepr.Attribute
        // Seen on Linux 6.x with iproute2 (`ip route add …`).
        #expect(add(2, "10.50.0.0", length: 16) == (-19, nil))
        #expect(add(2, "10.50.0.1", length: 16) { $0.appendAttribute(A.outputInterface, uint32: 2) }
            == (-22, "Invalid prefix for given prefix length"))
        #expect(add(2, "10.50.0.0", length: 16) { $0.appendAttribute(A.gateway, address: IPAddress("10.99.0.1")!) }
            == (-101, "Nexthop has invalid gateway"))
        #expect(add(2, "10.50.0.0", length: 16) {
            $0.appendAttribute(A.outputInterface, uint32: 2)
            $0.appendAttribute(A.preferredSource, address: IPAddress("10.1.1.1")!)
        } == (-22, "Invalid prefsrc address"))
        #expect(add(10, "fd50::", length: 16) { $0.appendAttribute(A.gateway, address: IPAddress("fe80::1")!) }
            == (-22, "Egress device not specified"))
        #expect(add(10, "fd50::", length: 16) { $0.appendAttribute(A.gateway, address: IPAddress("fd99::1")!) }
            == (-113, nil))
        #expect(add(10, "fd50::", length: 16) { $0.appendAttribute(A.gateway, address: IPAddress("fd77::2")!) }
            == (-22, "Gateway can not be a local address"))
        #expect(add(2, "10.52.0.0", length: 16, type: 6) == (0, nil))  // blackhole
        #expect(add(2, "10.53.0.0", length: 16, type: 6) { $0.appendAttribute(A.outputInterface, uint32: 2) }
            == (-22, "Gateway, device and multipath can not be specified for this route type"))
        // Extended next hop (RFC 8950): an IPv4 route via an IPv6 link-local gateway.
        #expect(add(2, "10.51.0.0", length: 16) {
            $0.appendAttribute(A.via, bytes: RouteVia.bytes(IPAddress("fe80::1")!))
            $0.appendAttribute(A.outputInterface, uint32: 2)
        } == (0, nil))
        let via = router.routing.table.routes(exactly: IPPrefix("10.51.0.0/16")!, table: RouteTable.main)
        #expect(via.first?.nextHops == [NextHop(gateway: IPAddress("fe80::1"), interfaceIndex: 2)])
        // An IPv6 route without a metric gets 1024; host bits are cleared.
        #expect(add(10, "fd50::1", length: 16) { $0.appendAttribute(A.outputInterface, uint32: 2) } == (0, nil))
        #expect(router.routing.table.routes(exactly: IPPrefix("fd50::/16")!, table: RouteTable.main).first?.metric == 1024)
        // The dump reports the IPv4 route over IPv6 with RTA_VIA.
        let dumped = parse(router.request(RouteNetlinkType.getRoute, flags: .dump, settings: Self.strict) {
            $0.appendBytes(RouteRepr(family: 2, table: 254).bytes)
        })
        let viaMessage = dumped.first { $0.attributes(after: 12).contains { $0.0 == A.via } }
        #expect(viaMessage?.attributes(after: 12).map(\.0) == [A.table, A.destination, A.via, A.outputInterface])
    }

    @Test func birdStyleDeleteAndMultipath() {
        let router = TestRouter()
        router.addReferenceAddresses()
        let gateways = ["10.77.0.1", "10.77.0.3"]
        let added = router.request(RouteNetlinkType.newRoute, flags: [.ack, .create, .exclusive], settings: Self.strict) {
            $0.appendBytes(RouteRepr(family: 2, destinationLength: 24, table: 254, protocolNumber: 12, type: 1).bytes)
            $0.appendAttribute(RouteRepr.Attribute.destination, address: IPAddress("172.22.0.0")!)
            $0.appendAttribute(RouteRepr.Attribute.priority, uint32: 32)
            $0.beginNested(RouteRepr.Attribute.multipath)
            for gateway in gateways {
                $0.appendNextHopRecord(flags: 0, hops: 0, interfaceIndex: 2) {
                    $0.appendAttribute(RouteRepr.Attribute.gateway, address: IPAddress(gateway)!)
                }
            }
            $0.endNested()
        }
        #expect(added.map(errorCode) == [0])
        let route = router.routing.table.routes(exactly: IPPrefix("172.22.0.0/24")!, table: RouteTable.main)
        #expect(route.first?.nextHops.map(\.gateway) == gateways.map { IPAddress($0) })
        // BIRD deletes with RTA_DST and RTA_PRIORITY only.
        func delete() -> [[UInt8]] {
            router.request(RouteNetlinkType.deleteRoute, flags: .ack, settings: Self.strict) {
                $0.appendBytes(RouteRepr(family: 2, destinationLength: 24, table: 254).bytes)
                $0.appendAttribute(RouteRepr.Attribute.destination, address: IPAddress("172.22.0.0")!)
                $0.appendAttribute(RouteRepr.Attribute.priority, uint32: 32)
            }
        }
        #expect(delete().map(errorCode) == [0])
        #expect(delete().map(errorCode) == [-3])  // ESRCH
        #expect(router.notifications.suffix(2).map { parse([$0.1])[0].header.type }
            == [RouteNetlinkType.newRoute, RouteNetlinkType.deleteRoute])
    }

    @Test func routeLookupAnswersAsIpRouteGet() {
        let router = TestRouter()
        router.addReferenceAddresses()
        let reply = parse(router.request(RouteNetlinkType.getRoute, flags: [], settings: Self.me) {
            $0.appendBytes(RouteRepr(family: 2, destinationLength: 32).bytes)
            $0.appendAttribute(RouteRepr.Attribute.destination, address: IPAddress("10.77.0.7")!)
        })
        #expect(reply.count == 1)
        // Linux: table main, type unicast, RTM_F_CLONED; TABLE, DST, OIF, PREFSRC, UID, CACHEINFO.
        #expect(Array(reply[0].payload.prefix(12)) == hex("02200000fe00000100020000"))
        #expect(reply[0].attributes(after: 12).map(\.0) == [15, 1, 4, 7, 25, 12])
        let none = router.request(RouteNetlinkType.getRoute, flags: [], settings: Self.me) {
            $0.appendBytes(RouteRepr(family: 2, destinationLength: 32).bytes)
            $0.appendAttribute(RouteRepr.Attribute.destination, address: IPAddress("192.0.2.1")!)
        }
        #expect(none.map(errorCode) == [-101])
    }

    // MARK: - The rest

    @Test func rulesNeighboursAndUnservedRequests() {
        let router = TestRouter()
        let rules = parse(router.request(RouteNetlinkType.getRule, flags: .dump, settings: Self.me) { $0.appendBytes([2, 0, 0, 0]) })
        // Linux: 0 local, 32766 main, 32767 default.
        #expect(rules.filter { $0.header.type == RouteNetlinkType.newRule }.map { Array($0.payload) } == [
            hex("02000000ff00000100000000" + "08000f00ff000000" + "08000e00ffffffff" + "0500150002000000"),
            hex("02000000fe00000100000000" + "08000f00fe000000" + "08000e00ffffffff" + "0500150002000000" + "08000600fe7f0000"),
            hex("02000000fd00000100000000" + "08000f00fd000000" + "08000e00ffffffff" + "0500150002000000" + "08000600ff7f0000"),
        ])
        let neighbours = parse(router.request(RouteNetlinkType.getNeighbour, flags: .dump, settings: Self.me) {
            $0.appendBytes([0, 0, 0, 0])
        })
        #expect(neighbours.map(\.header.type) == [NetlinkControlType.done])
        // RTM_GETNEXTHOP: srouter keeps no nexthop objects; EOPNOTSUPP, as a kernel without them.
        let unserved = router.request(106, flags: [], settings: Self.me) { $0.appendBytes([0, 0, 0, 0]) }
        #expect(unserved.map(errorCode) == [-95])
        // Traffic control: no such device (tcm_ifindex 0), as Linux answers.
        let chain = router.request(100, flags: [], settings: Self.me) { $0.appendBytes([UInt8](repeating: 0, count: 20)) }
        #expect(chain.map(errorCode) == [-19])
        // Not a request: nothing, unless an ACK is asked for.
        var writer = NetlinkWriter()
        writer.begin(NetlinkHeader(type: RouteNetlinkType.getLink, flags: .dump))
        writer.appendBytes([0, 0, 0, 0])
        writer.end()
        #expect(writer.bytes.withUnsafeBytes { router.server.handle($0, settings: Self.me) }.isEmpty)
    }

    @Test func largeDumpsSplitIntoDatagramsLinuxClientsRead() {
        let router = TestRouter()
        router.addReferenceAddresses()
        router.addRoutes(600)
        let replies = router.request(RouteNetlinkType.getRoute, flags: .dump, settings: Self.me) {
            $0.appendBytes(RouteRepr(family: 2).bytes)
        }
        #expect(replies.count > 10)
        #expect(replies.allSatisfy { $0.count <= NetlinkDumpSizing.goodSize })
        let messages = parse(replies)
        #expect(messages.last?.header.type == NetlinkControlType.done)
        #expect(messages.filter { $0.header.type == RouteNetlinkType.newRoute }.count
            == router.routing.table.routes(ipv6: false).count)
    }

    /// Any bytes a guest sends get an answer or nothing, never a trap: 20,000 random and
    /// mutated requests under every setting.
    @Test func randomRequestsNeverTrap() {
        let router = TestRouter()
        router.addReferenceAddresses()
        var rng = SplitMix64(state: 0x726e6c)
        let types: [UInt16] = [16, 17, 18, 19, 20, 21, 22, 24, 25, 26, 30, 34, 2, 3, 100]
        var answered = 0
        for _ in 0..<20_000 {
            var writer = NetlinkWriter()
            let flags = NetlinkFlags(rawValue: UInt16(truncatingIfNeeded: rng.next()) & 0x0f0f)
            writer.begin(NetlinkHeader(type: types[rng.below(types.count)], flags: flags, sequence: 1))
            var body = (0..<rng.below(64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if body.count > 0 { body[0] = [0, 2, 10, 7][rng.below(4)] }
            writer.appendBytes(body)
            if rng.below(2) == 0 {
                writer.pad()
                writer.appendAttribute(UInt16(rng.below(30)), bytes: (0..<rng.below(20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            }
            writer.end()
            var bytes = writer.bytes
            if rng.below(8) == 0, !bytes.isEmpty { bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            let settings = NetlinkSocketSettings(portID: 7, strictCheck: rng.below(2) == 0, extendedAck: rng.below(2) == 0,
                                                 capAck: rng.below(2) == 0)
            answered += bytes.withUnsafeBytes { router.server.handle($0, settings: settings) }.count
        }
        #expect(answered > 5_000)
    }
}

/// The NLMSGERR_ATTR_MSG of an error reply.
func extendedMessage(_ datagram: [UInt8]) -> String? {
    datagram.withUnsafeBytes { raw in
        (try? NetlinkMessage(checking: raw)).flatMap { try? NetlinkErrorRepr.parse($0) }?.message
    }
}
