import NetStack
@testable import Netlink
import Testing
import Wire

/// Dumps packed as Linux packs them (`net/netlink/af_netlink.c`): `netlink_recvmsg` records
/// the largest buffer offered (`max_recvmsg_len`, capped at `SKB_WITH_OVERHEAD(32768)`),
/// `netlink_dump` sizes each skb by it, `NLMSG_GOODSIZE` at least, and makes one per call.
/// The figures are those of Guest/probes/sockets/netlink_dump.c, run natively on Linux 6.18.
@Suite struct NetlinkDumpTests {
    static let me = NetlinkSocketSettings(portID: 0x48ba)

    // MARK: - Sizing (max_recvmsg_len)

    @Test func freshSocketDumpsInGoodSizeDatagrams() {
        let sizing = NetlinkDumpSizing()
        #expect(sizing.largestReceive == 0)
        #expect(sizing.datagramSize == 3776)
    }

    @Test func largestOfferedBufferSizesLaterDatagrams() {
        var sizing = NetlinkDumpSizing()
        sizing.recordReceive(offered: 4096)
        #expect(sizing.datagramSize == 4096)
        sizing.recordReceive(offered: 8192)
        #expect(sizing.datagramSize == 8192)
        // A smaller buffer later does not shrink it (max()): that reader sees MSG_TRUNC.
        sizing.recordReceive(offered: 4096)
        #expect(sizing.datagramSize == 8192)
    }

    @Test func emptyPeekRecordsNothing() {
        // iproute2's MSG_PEEK|MSG_TRUNC with a zero-length buffer: max(len, 0).
        var sizing = NetlinkDumpSizing()
        sizing.recordReceive(offered: 0)
        #expect(sizing.datagramSize == NetlinkDumpSizing.goodSize)
        sizing.recordReceive(offered: 32768)
        sizing.recordReceive(offered: 0)
        #expect(sizing.datagramSize == NetlinkDumpSizing.largest)
    }

    @Test func recordedLengthIsCappedAndFloored() {
        var sizing = NetlinkDumpSizing()
        sizing.recordReceive(offered: 1000)  // below NLMSG_GOODSIZE: netlink_dump allocates that
        #expect(sizing.largestReceive == 1000)
        #expect(sizing.datagramSize == 3776)
        sizing.recordReceive(offered: Int.max)  // a huge recvfrom length
        #expect(sizing.largestReceive == 32448)
        #expect(sizing.datagramSize == 32448)
    }

    // MARK: - Packing

    /// `count` routes of one shape, and the dump of them (not yet packed).
    private func routeDump(routes count: Int = 1000) -> (router: TestRouter, dump: NetlinkDump) {
        let router = TestRouter()
        router.addReferenceAddresses()
        router.addRoutes(count)
        var writer = NetlinkWriter()
        writer.begin(NetlinkHeader(type: RouteNetlinkType.getRoute, flags: [.request, .dump], sequence: 7))
        writer.appendBytes(RouteRepr(family: 2).bytes)
        writer.end()
        let replies = writer.bytes.withUnsafeBytes { router.server.respond(to: $0, settings: Self.me) }
        guard replies.count == 1, case .dump(let dump) = replies[0] else { preconditionFailure("not a dump: \(replies)") }
        return (router, dump)
    }

    @Test func eachDatagramHoldsAsManyWholeEntriesAsFit() {
        let (router, dump) = routeDump()
        let first = dump.nextDatagram(size: NetlinkDumpSizing.goodSize)!
        let entry = (NetlinkMessage.headerLength + parse([first])[0].payload.count + 3) & ~3
        #expect(first.count == (3776 / entry) * entry)
        let second = dump.nextDatagram(size: NetlinkDumpSizing.largest)!
        #expect(second.count == (32448 / entry) * entry)
        let third = dump.nextDatagram(size: 8192)!
        #expect(third.count == (8192 / entry) * entry)
        var rest: [[UInt8]] = []
        while let next = dump.nextDatagram(size: 4096) { rest.append(next) }
        #expect(dump.isFinished)
        #expect(dump.nextDatagram(size: 4096) == nil)
        // NLMSG_DONE alone in the last datagram, as Linux sends it after an IPv4 route dump.
        let last = parse([rest.last!])
        #expect(last.map(\.header.type) == [NetlinkControlType.done])
        let all = parse([first, second, third] + rest)
        #expect(all.filter { $0.header.type == RouteNetlinkType.newRoute }.count
            == router.routing.table.routes(ipv6: false).count)
        #expect(rest.dropLast().allSatisfy { $0.count <= 4096 && $0.count % entry == 0 })
    }

    @Test func packingDoesNotChangeTheMessages() {
        let (_, small) = routeDump()
        let (_, large) = routeDump()
        var smallDatagrams: [[UInt8]] = [], largeDatagrams: [[UInt8]] = []
        while let next = small.nextDatagram(size: NetlinkDumpSizing.goodSize) { smallDatagrams.append(next) }
        while let next = large.nextDatagram(size: NetlinkDumpSizing.largest) { largeDatagrams.append(next) }
        #expect(smallDatagrams.count > largeDatagrams.count)
        #expect(smallDatagrams.flatMap { $0 } == largeDatagrams.flatMap { $0 })
    }

    @Test func anEntryLargerThanTheSizeStillGoesAlone() {
        let (_, dump) = routeDump()
        let datagram = dump.nextDatagram(size: 1)!
        #expect(parse([datagram]).count == 1)
    }

    /// The reader of the probe's `r32768` case on the same entries: NLMSG_GOODSIZE first
    /// (nothing recorded when the request is sent), then SKB_WITH_OVERHEAD(32768); a second
    /// dump on the socket starts large.
    @Test func readerWithLargeBufferGetsOneSmallDatagramThenLargeOnes() {
        var sizing = NetlinkDumpSizing()
        let (_, dump) = routeDump()
        var lengths: [Int] = []
        while let next = dump.nextDatagram(size: sizing.datagramSize) {
            lengths.append(next.count)
            sizing.recordReceive(offered: 32768)
        }
        #expect(lengths.first! <= 3776 && lengths[1] > 3776 && lengths[1] <= 32448)
        let (_, again) = routeDump()
        #expect(again.nextDatagram(size: sizing.datagramSize)!.count > 3776)
    }

    /// A route dump is encoded as it is read, a part (`DumpWriter.partBytes`) at a time, as
    /// Linux fills an skb per recvmsg: what it holds encoded stays within a part or two
    /// whatever the table's size, and a route the walk has not reached is read as it is then.
    @Test func aLargeDumpIsEncodedAsItIsRead() {
        let (router, dump) = routeDump(routes: 8000)
        let first = dump.nextDatagram(size: NetlinkDumpSizing.largest)!
        let entry = (NetlinkMessage.headerLength + parse([first])[0].payload.count + 3) & ~3
        #expect(8000 * entry > 4 * DumpWriter.partBytes)
        #expect(dump.remainingEntryBytes <= DumpWriter.partBytes + entry)
        // The last two routes, not yet reached: one deleted, one given another next hop.
        let last = IPPrefix("10.\(100 + 7999 / 256).\(7999 % 256).0/24")!
        let nextToLast = IPPrefix("10.\(100 + 7998 / 256).\(7998 % 256).0/24")!
        _ = try! router.routing.table.delete(RouteMatch(destination: last, table: RouteTable.main))
        try! router.routing.add(Route(destination: nextToLast, nextHops: [NextHop(gateway: IPAddress("10.77.0.3"), interfaceIndex: 2)],
                                      protocolNumber: 12), flags: [.create, .replace])
        var datagrams = [first]
        var held = 0
        while let next = dump.nextDatagram(size: NetlinkDumpSizing.largest) {
            datagrams.append(next)
            held = max(held, dump.remainingEntryBytes)
        }
        #expect(held <= DumpWriter.partBytes + entry)
        let entries = parse(datagrams).filter { $0.header.type == RouteNetlinkType.newRoute }
        #expect(entries.count == router.routing.table.routes(ipv6: false).count)
        #expect(datagrams.dropLast().allSatisfy { $0.count <= NetlinkDumpSizing.largest })
        #expect(parse([datagrams.last!]).map(\.header.type) == [NetlinkControlType.done])
        // The deleted route is not in it, the replaced one is, as it was when the walk got there.
        let attributes = entries.map { Dictionary($0.attributes(after: 12), uniquingKeysWith: { a, _ in a }) }
        let lastBytes: [UInt8] = [10, 131, 63, 0], nextToLastBytes: [UInt8] = [10, 131, 62, 0]  // 7999 and 7998
        #expect(!attributes.contains { $0[1] == lastBytes })  // RTA_DST
        #expect(attributes.filter { $0[1] == nextToLastBytes }.map { $0[5] } == [[10, 77, 0, 3]])  // RTA_GATEWAY
    }

    // MARK: - Order

    @Test func anAckAfterADumpInTheSameDatagramFollowsIt() {
        let router = TestRouter()
        router.addReferenceAddresses()
        var writer = NetlinkWriter()
        writer.begin(NetlinkHeader(type: RouteNetlinkType.getRoute, flags: [.request, .dump], sequence: 1))
        writer.appendBytes(RouteRepr(family: 2).bytes)
        writer.end()
        writer.begin(NetlinkHeader(type: RouteNetlinkType.getLink, flags: [.request, .ack], sequence: 2))
        writer.appendBytes(InterfaceInfoRepr(index: 1).bytes)
        writer.end()
        let replies = writer.bytes.withUnsafeBytes { router.server.respond(to: $0, settings: Self.me) }
        guard replies.count == 3, case .dump = replies[0], case .datagram(let link) = replies[1],
              case .datagram(let ack) = replies[2] else {
            Issue.record("replies: \(replies)")
            return
        }
        #expect(parse([link]).first?.header.type == RouteNetlinkType.newLink)
        #expect(errorCode(ack) == 0)
    }

    /// A dump request and a GETLINK, both with NLM_F_ACK, in one datagram.
    private func dumpThenGet(dumpFlags: NetlinkFlags = [.request, .dump, .ack]) -> [UInt8] {
        var writer = NetlinkWriter()
        writer.begin(NetlinkHeader(type: RouteNetlinkType.getLink, flags: dumpFlags, sequence: 20))
        writer.appendBytes(InterfaceInfoRepr(index: 0).bytes)
        writer.end()
        writer.begin(NetlinkHeader(type: RouteNetlinkType.getLink, flags: [.request, .ack], sequence: 21))
        writer.appendBytes(InterfaceInfoRepr(index: 1).bytes)
        writer.end()
        return writer.bytes
    }

    /// `__netlink_dump_start` returns -EINTR once the dump runs, and `netlink_rcv_skb`
    /// acknowledges nothing for it: NLM_F_ACK on a dump brings no ACK (probe netlink-order).
    @Test func aDumpThatStartsIsNotAcknowledged() {
        let router = TestRouter()
        let replies = dumpThenGet().withUnsafeBytes { router.server.respond(to: $0, settings: Self.me) }
        guard replies.count == 3, case .dump = replies[0], case .datagram(let link) = replies[1],
              case .datagram(let ack) = replies[2] else {
            Issue.record("replies: \(replies)")
            return
        }
        #expect(parse([link]).first?.header.sequence == 21)
        #expect(errorCode(ack) == 0)
        #expect(parse([ack]).first?.header.sequence == 21)
    }

    /// A dump request while the socket's dump runs fails with EBUSY, acknowledged as an
    /// error; the other messages are served as usual.
    @Test func aSecondDumpWhileOneRunsIsBusy() {
        let router = TestRouter()
        let replies = dumpThenGet().withUnsafeBytes {
            router.server.respond(to: $0, settings: Self.me, dumpRunning: true)
        }
        let datagrams = replies.compactMap { reply -> [UInt8]? in
            if case .datagram(let bytes) = reply { return bytes }
            return nil
        }
        #expect(datagrams.count == 3 && replies.count == 3)
        #expect(datagrams.first.flatMap(errorCode) == -16)  // -EBUSY
        #expect(datagrams.first.map { parse([$0]).first?.header.sequence } == 20)
    }

    /// Two dump requests in one datagram: the first starts, the second is busy.
    @Test func aSecondDumpInTheSameDatagramIsBusy() {
        let router = TestRouter()
        var writer = NetlinkWriter()
        for sequence in [30, 31] as [UInt32] {
            writer.begin(NetlinkHeader(type: RouteNetlinkType.getLink, flags: [.request, .dump], sequence: sequence))
            writer.appendBytes(InterfaceInfoRepr(index: 0).bytes)
            writer.end()
        }
        let replies = writer.bytes.withUnsafeBytes { router.server.respond(to: $0, settings: Self.me) }
        guard replies.count == 2, case .dump = replies[0], case .datagram(let busy) = replies[1] else {
            Issue.record("replies: \(replies)")
            return
        }
        #expect(errorCode(busy) == -16)  // -EBUSY
        #expect(parse([busy]).first?.header.sequence == 31)
    }
}
