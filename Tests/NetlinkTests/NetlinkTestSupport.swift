import NetStack
@testable import Netlink
import Wire

/// Bytes from hex text.
func hex(_ text: String) -> [UInt8] {
    let digits = text.utf8.compactMap { c -> UInt8? in
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }
    return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}

/// A small seeded generator (SplitMix64).
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// One parsed message of a reply: header, fixed header bytes and attributes by order.
struct ParsedMessage {
    var header: NetlinkHeader
    var payload: [UInt8]
    /// (type, value) in order, after a fixed header of `fixedLength` bytes.
    func attributes(after fixedLength: Int) -> [(UInt16, [UInt8])] {
        payload.withUnsafeBytes { raw in
            guard raw.count >= fixedLength else { return [] }
            return NetlinkAttributes(UnsafeRawBufferPointer(rebasing: raw[fixedLength...])).map { ($0.type, Array($0.payload)) }
        }
    }
}

/// Every message of every datagram.
func parse(_ datagrams: [[UInt8]]) -> [ParsedMessage] {
    datagrams.flatMap { datagram in
        datagram.withUnsafeBytes { raw in
            NetlinkMessages(raw).map { ParsedMessage(header: $0.header, payload: Array($0.payload)) }
        }
    }
}

/// A stack shaped like the native reference of Tests/Integration/sockets.sh: lo with 127.0.0.1/8
/// and ::1, and a WireGuard interface (index 2, MTU 1420) with 10.77.0.2/24, fd77::2/64 and
/// fe80::2/64; its kernel routes follow.
final class TestRouter {
    let interfaces = InterfaceTable()
    let routing = RoutingPolicy()
    let server: RouteNetlinkServer
    var notifications: [(RouteNetlinkGroup, [UInt8])] = []
    let lo: NetworkInterface
    let wg: NetworkInterface

    init(wireGuardName: String = "wg0", extraInterface: String? = nil) {
        routing.follow(interfaces)
        lo = try! interfaces.add(name: "lo", kind: .loopback, mtu: 65536)
        if let extraInterface { _ = try! interfaces.add(name: extraInterface, kind: .wireguard, mtu: 1420) }
        wg = try! interfaces.add(name: wireGuardName, kind: .wireguard, mtu: 1420)
        try! interfaces.addAddress(InterfaceAddress(address: IPAddress("127.0.0.1")!, prefixLength: 8), to: lo)
        try! interfaces.addAddress(InterfaceAddress(address: IPAddress("::1")!, prefixLength: 128), to: lo)
        server = RouteNetlinkServer(interfaces: interfaces, routing: routing, clock: { 0 })
        server.broadcast = { [unowned self] group, message in self.notifications.append((group, message)) }
    }

    /// Adds the reference addresses to the WireGuard interface.
    func addReferenceAddresses() {
        for (text, length) in [("10.77.0.2", 24), ("fd77::2", 64), ("fe80::2", 64)] {
            try! interfaces.addAddress(InterfaceAddress(address: IPAddress(text)!, prefixLength: length), to: wg)
        }
        notifications.removeAll()
    }

    /// Sends one request and returns the reply datagrams.
    /// Adds `count` routes of one shape to the main table: 10.100.0.0/24, 10.100.1.0/24, …
    /// via 10.77.0.1 on the WireGuard interface, protocol 12 (BIRD's).
    func addRoutes(_ count: Int) {
        for i in 0..<count {
            try! routing.add(Route(destination: IPPrefix("10.\(100 + i / 256).\(i % 256).0/24")!,
                                   nextHops: [NextHop(gateway: IPAddress("10.77.0.1"), interfaceIndex: 2)],
                                   protocolNumber: 12), flags: [.create, .exclusive])
        }
    }

    func request(_ type: UInt16, flags: NetlinkFlags, sequence: UInt32 = 1, settings: NetlinkSocketSettings,
                 _ body: (inout NetlinkWriter) -> Void) -> [[UInt8]] {
        var writer = NetlinkWriter()
        writer.begin(NetlinkHeader(type: type, flags: flags.union(.request), sequence: sequence, portID: 0))
        body(&writer)
        writer.end()
        return writer.bytes.withUnsafeBytes { server.handle($0, settings: settings) }
    }
}

/// The errno of an NLMSG_ERROR reply (0 for an ACK), nil if the reply is not one.
func errorCode(_ datagram: [UInt8]) -> Int32? {
    datagram.withUnsafeBytes { raw -> Int32? in
        guard let message = try? NetlinkMessage(checking: raw), let error = try? NetlinkErrorRepr.parse(message) else {
            return nil
        }
        return error.error
    }
}
