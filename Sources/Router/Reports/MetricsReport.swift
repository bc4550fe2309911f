import Foundation

/// `srouter metrics` and `--metrics ADDR:PORT`: the reports in Prometheus's text exposition
/// format (version 0.0.4). Metric and label names are stable; every family has HELP and TYPE.
public struct MetricsReport {
    /// The exposition text.
    public private(set) var text = ""

    /// The metrics of the given reports; `routeCounts` is the number of routes by table and
    /// family (`inet`, `inet6`).
    public init(interfaces: InterfacesReport, peers: PeersReport,
                routeCounts: [RouteCount], stats: StatsReport) {
        for (name, help, value) in [
            ("srouter_interface_up", "Whether the interface is up (1) or down (0).", { (i: InterfacesReport.Interface) in i.state == "DOWN" ? 0 : 1 }),
            ("srouter_interface_mtu", "The interface MTU in bytes.", { $0.mtu }),
        ] as [(String, String, (InterfacesReport.Interface) -> Int)] {
            family(name, "gauge", help)
            for i in interfaces.interfaces { sample(name, ["interface": i.name, "kind": i.kind], value(i)) }
        }
        for (name, help, value) in [
            ("srouter_interface_receive_packets_total", "Packets received on the interface.", { (i: InterfacesReport.Interface) in i.rxPackets }),
            ("srouter_interface_receive_bytes_total", "Bytes received on the interface.", { $0.rxBytes }),
            ("srouter_interface_transmit_packets_total", "Packets sent on the interface.", { $0.txPackets }),
            ("srouter_interface_transmit_bytes_total", "Bytes sent on the interface.", { $0.txBytes }),
            ("srouter_interface_receive_drops_total", "Received packets dropped.", { $0.rxDropped }),
            ("srouter_interface_transmit_drops_total", "Packets that could not be sent.", { $0.txDropped }),
        ] as [(String, String, (InterfacesReport.Interface) -> Int)] {
            family(name, "counter", help)
            for i in interfaces.interfaces { sample(name, ["interface": i.name], value(i)) }
        }

        let allPeers = peers.interfaces.flatMap { tunnel in tunnel.peers.map { (tunnel.name, $0) } }
        func peerFamily(_ name: String, _ type: String, _ help: String, _ value: (PeersReport.Peer) -> UInt64?) {
            family(name, type, help)
            for (interface, peer) in allPeers {
                if let v = value(peer) { sample(name, ["interface": interface, "peer": peer.publicKey], v) }
            }
        }
        peerFamily("srouter_peer_receive_bytes_total", "counter", "Bytes received from the WireGuard peer.") { $0.rxBytes }
        peerFamily("srouter_peer_transmit_bytes_total", "counter", "Bytes sent to the WireGuard peer.") { $0.txBytes }
        peerFamily("srouter_peer_session_up", "gauge", "Whether a session with the peer is up.") { $0.sessionUp ? 1 : 0 }
        peerFamily("srouter_peer_last_handshake_seconds", "gauge",
                   "Unix time of the last completed handshake (0: never).") { $0.latestHandshake ?? 0 }
        peerFamily("srouter_peer_handshake_age_seconds", "gauge",
                   "Seconds since the last completed handshake (absent: never).") { $0.handshakeAgeSeconds }

        family("srouter_routes", "gauge", "Routes in the FIB by table and family.")
        for count in routeCounts {
            sample("srouter_routes", ["table": RoutesReport.tableName(count.table), "family": count.family], count.routes)
        }

        let events = ["forwarded", "delivered", "icmp-errors-sent", "icmp-rate-limited", "echo-replies"]
        family("srouter_packets_total", "counter", "Packets the stack forwarded or delivered, and ICMP it sent or suppressed.")
        for event in events { sample("srouter_packets_total", ["event": event], stats.stack[event] ?? 0) }
        family("srouter_packets_dropped_total", "counter", "Packets the stack dropped, by reason.")
        for (reason, value) in stats.stack.sorted(by: { $0.key < $1.key }) where !events.contains(reason) {
            sample("srouter_packets_dropped_total", ["reason": reason], value)
        }
        family("srouter_tcp_dropped_total", "counter", "TCP segments dropped or reset before reaching a connection, by reason.")
        for (reason, value) in stats.tcp.sorted(by: { $0.key < $1.key }) { sample("srouter_tcp_dropped_total", ["reason": reason], value) }
        family("srouter_udp_dropped_total", "counter", "UDP datagrams dropped, by reason.")
        for (reason, value) in stats.udp.sorted(by: { $0.key < $1.key }) { sample("srouter_udp_dropped_total", ["reason": reason], value) }
        family("srouter_wireguard_dropped_total", "counter", "WireGuard datagrams dropped (and cookie replies sent), by reason.")
        for (interface, counters) in stats.wireguard.sorted(by: { $0.key < $1.key }) {
            for (reason, value) in counters.sorted(by: { $0.key < $1.key }) {
                sample("srouter_wireguard_dropped_total", ["interface": interface, "reason": reason], value)
            }
        }
        family("srouter_trapped_calls_total", "counter", "The guest's system calls trapped and served by srouter.")
        for (call, value) in stats.trappedCalls.sorted(by: { $0.key < $1.key }) {
            sample("srouter_trapped_calls_total", ["syscall": call], value)
        }
        family("srouter_capture_dropped_total", "counter", "Packets a capture client was too slow to take.")
        for (interface, value) in stats.captureDropped.sorted(by: { $0.key < $1.key }) {
            sample("srouter_capture_dropped_total", ["interface": interface], value)
        }
    }

    /// Routes of one table and family.
    public struct RouteCount: Equatable, Sendable {
        /// The table number.
        public var table: UInt32
        /// `inet` or `inet6`.
        public var family: String
        /// How many routes.
        public var routes: Int

        /// A count.
        public init(table: UInt32, family: String, routes: Int) {
            self.table = table
            self.family = family
            self.routes = routes
        }
    }

    private mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    private mutating func sample<V: BinaryInteger>(_ name: String, _ labels: [String: String], _ value: V) {
        let rendered = labels.keys.sorted().map { "\($0)=\"\(Self.escape(labels[$0]!))\"" }.joined(separator: ",")
        text += labels.isEmpty ? "\(name) \(value)\n" : "\(name){\(rendered)} \(value)\n"
    }

    /// A label value as the format quotes it: backslash, double quote and newline escaped.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
