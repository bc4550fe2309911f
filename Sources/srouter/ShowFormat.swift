import Foundation
import Router

/// The text forms of `srouter show`, each modelled on the Linux tool an operator knows.
enum ShowFormat {
    /// `ip -br addr`: name, state, addresses.
    static func interfaces(_ report: InterfacesReport) -> String {
        report.interfaces.map { interface in
            let addresses = interface.addresses.map { $0 + " " }.joined()
            return pad(interface.name, 16) + " " + pad(interface.state, 14) + " " + addresses + "\n"
        }.joined()
    }

    /// `wg show`: each interface, then its peers.
    static func peers(_ report: PeersReport) -> String {
        var out: [String] = []
        for tunnel in report.interfaces {
            var block = "interface: \(tunnel.name)\n  public key: \(tunnel.publicKey)\n"
            block += "  private key: (hidden)\n  listening port: \(tunnel.listenPort)\n"
            out.append(block)
            // wg show lists the most recent handshake first (sort_peers in show.c).
            let peers = tunnel.peers.enumerated().sorted {
                ($0.element.latestHandshake ?? 0, -$0.offset) > ($1.element.latestHandshake ?? 0, -$1.offset)
            }.map(\.element)
            for peer in peers {
                var text = "peer: \(peer.publicKey)\n"
                if peer.presharedKey { text += "  preshared key: (hidden)\n" }
                if let endpoint = peer.endpoint { text += "  endpoint: \(endpoint)\n" }
                text += "  allowed ips: \(peer.allowedIPs.isEmpty ? "(none)" : peer.allowedIPs.joined(separator: ", "))\n"
                if let age = peer.handshakeAgeSeconds { text += "  latest handshake: \(ago(age))\n" }
                if peer.rxBytes > 0 || peer.txBytes > 0 {
                    text += "  transfer: \(bytes(peer.rxBytes)) received, \(bytes(peer.txBytes)) sent\n"
                }
                if peer.persistentKeepalive > 0 {
                    text += "  persistent keepalive: every \(units(UInt64(peer.persistentKeepalive)))\n"
                }
                out.append(text)
            }
        }
        return out.joined(separator: "\n")
    }

    /// `ip route` (with `allTables`, `ip route show table all`: tables other than main named,
    /// as iproute2 names them only when no single table was asked for).
    static func routes(_ report: RoutesReport, allTables: Bool) -> String {
        report.routes.map { route in
            var text = route.type == "unicast" ? "" : "\(route.type) "
            text += destination(route.destination)
            if route.nextHops.count == 1, let hop = route.nextHops.first {
                if let gateway = hop.gateway { text += " via " + via(gateway, family: route.family) }
                text += " dev \(hop.device)"
            }
            if allTables && route.table != 254 { text += " table \(RoutesReport.tableName(route.table))" }
            if route.proto != "boot" { text += " proto \(route.proto)" }
            if route.scope != "global" { text += " scope \(route.scope)" }
            if let source = route.source { text += " src \(source)" }
            if route.metric != 0 { text += " metric \(route.metric)" }
            if let mtu = route.mtu { text += " mtu \(mtu)" }
            if route.nextHops.count > 1 {
                for hop in route.nextHops {
                    text += "\n\tnexthop" + (hop.gateway.map { " via " + via($0, family: route.family) } ?? "")
                    text += " dev \(hop.device) weight \(hop.weight)"
                }
            }
            return text + "\n"
        }.joined()
    }

    /// `ss -tuna`.
    static func sockets(_ report: SocketsReport) -> String {
        var out = pad("Netid", 6) + pad("State", 11) + pad("Recv-Q", 7) + pad("Send-Q", 7)
            + pad("Local Address:Port", 41) + "Peer Address:Port\n"
        for socket in report.sockets {
            let netid = socket.proto.map { "\(socket.netid)/\($0)" } ?? socket.netid
            out += pad(netid, 6) + pad(socket.state, 11) + pad("\(socket.recvQ)", 7) + pad("\(socket.sendQ)", 7)
                + pad(socket.local, 41) + socket.peer + "\n"
        }
        return out
    }

    /// Counters by section, zeros left out (`--json` has them all).
    static func stats(_ report: StatsReport) -> String {
        var out = ""
        func section(_ title: String, _ counters: [String: Int]) {
            let shown = counters.filter { $0.value != 0 }.sorted { $0.key < $1.key }
            out += "\(title):\(shown.isEmpty ? " (none)" : "")\n"
            for (key, value) in shown { out += "  " + pad(key, 26) + " \(value)\n" }
        }
        section("stack", report.stack)
        section("tcp", report.tcp)
        section("udp", report.udp)
        for (name, counters) in report.wireguard.sorted(by: { $0.key < $1.key }) { section("wireguard \(name)", counters) }
        section("routes", report.routes)
        section("trapped calls", report.trappedCalls)
        if !report.captureDropped.isEmpty { section("capture dropped", report.captureDropped) }
        return out
    }

    // MARK: - Pieces

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    /// `default`, a host address without its length, or the prefix.
    private static func destination(_ prefix: String) -> String {
        if prefix == "0.0.0.0/0" || prefix == "::/0" { return "default" }
        if prefix.hasSuffix("/32") && !prefix.contains(":") { return String(prefix.dropLast(3)) }
        if prefix.hasSuffix("/128") { return String(prefix.dropLast(4)) }
        return prefix
    }

    /// `GATEWAY`, or `inet6 GATEWAY` for an IPv4 route via IPv6 (RTA_VIA), as ip prints it.
    private static func via(_ gateway: String, family: String) -> String {
        family == "inet" && gateway.contains(":") ? "inet6 \(gateway)" : gateway
    }

    /// wg's `ago`: `1 minute, 5 seconds ago`, `Now`.
    static func ago(_ seconds: UInt64) -> String {
        seconds == 0 ? "Now" : "\(units(seconds)) ago"
    }

    /// `2 days, 1 hour, 3 seconds` as wg writes durations.
    static func units(_ seconds: UInt64) -> String {
        let parts: [(UInt64, String)] = [(seconds / 86400 / 365, "year"), (seconds / 86400 % 365, "day"),
                                         (seconds / 3600 % 24, "hour"), (seconds / 60 % 60, "minute"), (seconds % 60, "second")]
        let words = parts.filter { $0.0 > 0 }.map { "\($0.0) \($0.1)\($0.0 == 1 ? "" : "s")" }
        return words.isEmpty ? "0 seconds" : words.joined(separator: ", ")
    }

    /// wg's byte counts: `812 B`, `1.50 KiB`, `3.20 MiB`.
    static func bytes(_ count: UInt64) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        if count < 1024 { return "\(count) B" }
        var value = Double(count) / 1024
        var index = 0
        while value >= 1024 && index < units.count - 1 {
            value /= 1024
            index += 1
        }
        return String(format: "%.2f", value) + " " + units[index]
    }
}
