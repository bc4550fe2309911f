import NetStack
import WireGuard

/// `srouter show stats`: what the stack did with packets and why it dropped the rest, the
/// WireGuard interfaces' drops, routes per table, and the guest's trapped calls.
///
/// Counter names are stable (kebab-case, as the shutdown log line prints them); a counter
/// that is zero is still listed.
public struct StatsReport: Codable, Sendable, Equatable {
    /// The IP layer: `forwarded`, `delivered`, and drops by reason (`no-route`, `malformed`…).
    public var stack: [String: Int]
    /// TCP's drops and resets before any connection saw a segment.
    public var tcp: [String: Int]
    /// UDP datagrams dropped for a bad checksum or length.
    public var udp: [String: Int]
    /// Per WireGuard interface: datagrams dropped by reason and cookie replies sent.
    public var wireguard: [String: [String: Int]]
    /// Routes per table (by table name: `main`, `local`, or the number).
    public var routes: [String: Int]
    /// The guest's trapped system calls served, by name (empty when no guest runs).
    public var trappedCalls: [String: Int]
    /// Packets a capture dropped because its client read too slowly, by interface.
    public var captureDropped: [String: Int]

    /// The report; `trappedCalls` and `captureDropped` come from the sandbox and the capture.
    public init(router: VirtualRouter, trappedCalls: [String: Int], captureDropped: [String: Int]) {
        stack = Dictionary(uniqueKeysWithValues: Self.stackCounters(router.stack.counters))
        tcp = Dictionary(uniqueKeysWithValues: Self.tcpCounters(router.stack.tcp.counters))
        udp = ["malformed": router.stack.datagrams.malformed]
        var wireguard: [String: [String: Int]] = [:]
        for tunnel in router.tunnels.values {
            wireguard[tunnel.name] = Dictionary(uniqueKeysWithValues: Self.deviceCounters(tunnel))
        }
        self.wireguard = wireguard
        var routes: [String: Int] = [:]
        for number in router.routing.table.tableNumbers {
            routes[RoutesReport.tableName(number)] = router.routing.table.routeCount(table: number)
        }
        self.routes = routes
        self.trappedCalls = trappedCalls
        self.captureDropped = captureDropped
    }

    /// The IP layer's counters by name.
    public static func stackCounters(_ c: StackCounters) -> [(String, Int)] {
        [("forwarded", c.forwarded), ("delivered", c.delivered), ("malformed", c.malformed),
         ("martian-source", c.martianSource), ("interface-down", c.interfaceDown),
         ("not-forwarded", c.notForwarded), ("time-exceeded", c.timeExceeded), ("no-route", c.noRoute),
         ("rejected", c.rejected), ("blackholed", c.blackholed), ("too-big", c.tooBig),
         ("rp-filtered", c.reversePathFiltered), ("link-local-not-forwarded", c.linkLocalNotForwarded),
         ("transmit-failed", c.transmitFailed), ("fragments-dropped", c.fragmentsDropped),
         ("port-unreachable", c.unreachablePort), ("icmp-errors-sent", c.icmpErrorsSent),
         ("icmp-rate-limited", c.icmpRateLimited), ("echo-replies", c.echoRepliesSent)]
    }

    /// TCP's layer counters by name.
    public static func tcpCounters(_ t: TCPLayer.Counters) -> [(String, Int)] {
        [("malformed", t.malformed), ("bad-checksum", t.badChecksum), ("below-min-ttl", t.belowMinimumTTL),
         ("bad-signature", t.badSignature), ("resets-sent", t.resetsSent), ("syn-queue-evictions", t.synQueueEvictions)]
    }

    /// A WireGuard interface's drop counters by name.
    public static func deviceCounters(_ tunnel: WireGuardInterface) -> [(String, Int)] {
        let counters = tunnel.device.counters
        return [
            ("malformed", counters.malformed), ("invalid-mac1", counters.invalidMac1),
            ("unknown-peer", counters.unknownPeer), ("replayed-initiation", counters.replayedInitiation),
            ("initiation-flood", counters.initiationFlood), ("cookie-replies", counters.cookieRepliesSent),
            ("rate-limited", counters.rateLimited), ("unknown-index", counters.unknownIndex),
            ("invalid-response", counters.invalidResponse), ("invalid-cookie-reply", counters.invalidCookieReply),
            ("invalid-transport", counters.invalidTransport), ("replayed-transport", counters.replayedTransport),
            ("disallowed-source", counters.disallowedSource), ("no-endpoint", counters.noEndpoint),
            ("truncated", tunnel.socket.truncated),
        ]
    }
}
