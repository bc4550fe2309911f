import NetStack
import Wire

/// `srouter show sockets`: the sockets of srouter's stack — the guest's and srouter's own —
/// as `ss -tuna` (and `ss -wa` for raw and ping sockets) lists them.
public struct SocketsReport: Codable, Sendable, Equatable {
    /// TCP listeners, TCP connections, then UDP, ping and raw sockets.
    public var sockets: [Socket]

    /// One socket.
    public struct Socket: Codable, Sendable, Equatable {
        /// `tcp`, `udp`, `icmp` (a ping socket), `raw`.
        public var netid: String
        /// `inet` or `inet6`.
        public var family: String
        /// TCP: `LISTEN`, `SYN-SENT`, `ESTAB`, `TIME-WAIT`…; datagram sockets: `ESTAB` when
        /// connected, else `UNCONN`.
        public var state: String
        /// Bytes waiting to be read (a listener: connections waiting for accept).
        public var recvQ: Int
        /// Bytes not yet acknowledged (a listener: its backlog).
        public var sendQ: Int
        /// The local address and port, `ss`-style: `10.0.0.1:179`, `[fe80::1]:179`, `*:179`.
        public var local: String
        /// The peer, or `*:*`.
        public var peer: String
        /// The IP protocol of a raw socket.
        public var proto: Int?
    }

    /// The sockets of `stack`.
    public init(_ stack: NetworkStack) {
        var sockets: [Socket] = []
        for listener in stack.tcp.allListeners {
            sockets.append(Socket(
                netid: "tcp", family: listener.acceptsIPv6 ? "inet6" : "inet", state: "LISTEN",
                recvQ: listener.pendingAcceptCount, sendQ: listener.backlog,
                local: Self.endpoint(listener.localAddress, listener.port), peer: "*:*", proto: nil))
        }
        let connections = stack.tcp.connections.values.sorted {
            ($0.tuple.localPort, $0.tuple.description) < ($1.tuple.localPort, $1.tuple.description)
        }
        for connection in connections {
            let tuple = connection.tuple
            sockets.append(Socket(
                netid: "tcp", family: tuple.localAddress.bitWidth == 32 ? "inet" : "inet6",
                state: connection.state.rawValue, recvQ: connection.bytesReadable,
                sendQ: connection.bytesUnacknowledged, local: Self.endpoint(tuple.localAddress, tuple.localPort),
                peer: Self.endpoint(tuple.remoteAddress, tuple.remotePort), proto: nil))
        }
        for socket in stack.datagrams.sockets {
            let netid: String, proto: Int?
            switch socket.kind {
            case .udp: (netid, proto) = ("udp", nil)
            case .ping: (netid, proto) = ("icmp", nil)
            case .raw(let number): (netid, proto) = ("raw", Int(number))
            }
            let port = socket.kind == .udp || socket.kind == .ping ? socket.localPort : 0
            sockets.append(Socket(
                netid: netid, family: socket.isIPv6 ? "inet6" : "inet", state: socket.remote == nil ? "UNCONN" : "ESTAB",
                recvQ: socket.queue.reduce(0) { $0 + $1.data.count }, sendQ: 0,
                local: Self.endpoint(socket.localAddress, port),
                peer: socket.remote.map { Self.endpoint($0.address, $0.port) } ?? "*:*", proto: proto))
        }
        self.sockets = sockets
    }

    /// `10.0.0.1:179`, `[fe80::1]:179`, `*:179` (wildcard), `*` for port 0 as `ss` writes it.
    static func endpoint(_ address: IPAddress?, _ port: UInt16) -> String {
        let port = port == 0 ? "*" : "\(port)"
        switch address {
        case nil: return "*:\(port)"
        case .v4(let a)?: return a == .any ? "*:\(port)" : "\(a):\(port)"
        case .v6(let a)?: return a == .any ? "*:\(port)" : "[\(a)]:\(port)"
        }
    }
}
