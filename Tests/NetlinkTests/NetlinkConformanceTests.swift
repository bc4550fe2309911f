import NetStack
@testable import Netlink
import Testing
import Wire

/// What the netlink scenario of Tests/Integration/sockets.sh found Linux doing.
struct NetlinkConformanceTests {
    static let strict = NetlinkSocketSettings(portID: 0x48ba, strictCheck: true, extendedAck: true)

    /// A strict dump's own check fails in the dump callback: NLMSG_DONE carries the error,
    /// with NLM_F_ACK_TLVS and the message, not an NLMSG_ERROR (`netlink_dump_done`).
    @Test func strictDumpErrorIsTheStatusOfDone() {
        let router = TestRouter()
        let replies = router.request(RouteNetlinkType.getLink, flags: .dump, settings: Self.strict) {
            $0.appendBytes(InterfaceInfoRepr(flags: 1).bytes)
        }
        let messages = parse(replies)
        #expect(messages.map(\.header.type) == [NetlinkControlType.done])
        #expect(messages.first?.header.flags == [.multi, .acknowledgementAttributes])
        let payload = messages.first?.payload ?? []
        #expect(Array(payload.prefix(4)) == [0xea, 0xff, 0xff, 0xff])  // -EINVAL
        let text = "Invalid values in header for link dump request"
        #expect(Array(payload.dropFirst(8).prefix(text.utf8.count)) == Array(text.utf8))
    }

    /// A route request whose first attribute is malformed: the attributes before it count
    /// (none), the rest is a warning, and the missing device is the error (ENODEV), with the
    /// warning as its message (`nlmsg_parse_deprecated`).
    @Test func malformedAttributeIsLeftOver() {
        let router = TestRouter()
        let replies = router.request(RouteNetlinkType.newRoute, flags: [.ack, .create], settings: Self.strict) {
            $0.appendBytes(RouteRepr(family: 2, destinationLength: 24, table: 254, protocolNumber: 4, scope: 253,
                                     type: 1).bytes)
            $0.appendBytes([3, 0, 1, 0, 10, 99, 4, 0])  // RTA_DST with nla_len 3
        }
        #expect(replies.map(errorCode) == [-19])
        #expect(replies.map(extendedMessage) == ["bytes leftover after parsing attributes"])
    }
}
