import WireGuard

/// `srouter show peers`: each WireGuard interface and its peers, what `wg show` prints.
public struct PeersReport: Codable, Sendable, Equatable {
    /// The WireGuard interfaces, by name.
    public var interfaces: [Tunnel]

    /// One WireGuard interface.
    public struct Tunnel: Codable, Sendable, Equatable {
        /// The interface name.
        public var name: String
        /// Its public key (base64).
        public var publicKey: String
        /// Its UDP port.
        public var listenPort: Int
        /// Its peers, by public key.
        public var peers: [Peer]
    }

    /// One peer.
    public struct Peer: Codable, Sendable, Equatable {
        /// The peer's public key (base64).
        public var publicKey: String
        /// Whether a preshared key is set.
        public var presharedKey: Bool
        /// `host:port` (`[v6]:port`), or nil when none is known yet.
        public var endpoint: String?
        /// AllowedIPs as prefixes.
        public var allowedIPs: [String]
        /// The last completed handshake, seconds since the Unix epoch (nil: never).
        public var latestHandshake: UInt64?
        /// Seconds since that handshake (nil: never).
        public var handshakeAgeSeconds: UInt64?
        /// Whether a session is up (a current key pair).
        public var sessionUp: Bool
        /// Bytes received and sent through the tunnel (WireGuard datagrams, as `wg` counts).
        public var rxBytes: UInt64, txBytes: UInt64
        /// PersistentKeepalive in seconds (0: off).
        public var persistentKeepalive: Int
    }

    /// The report for `tunnels`, `nowSeconds` being the wall clock.
    public init(_ tunnels: [WireGuardInterface], nowSeconds: UInt64) {
        interfaces = tunnels.sorted { $0.name < $1.name }.map { tunnel in
            let device = tunnel.device
            return Tunnel(
                name: tunnel.name, publicKey: device.publicKey.base64, listenPort: Int(tunnel.socket.port),
                peers: device.peers.values.sorted { $0.publicKey.base64 < $1.publicKey.base64 }.map { peer in
                    let config = peer.configuration
                    let handshake = peer.lastHandshake?.seconds
                    return Peer(
                        publicKey: peer.publicKey.base64, presharedKey: config.presharedKey != .zero,
                        endpoint: peer.endpoint?.description, allowedIPs: config.allowedIPs.map(\.description),
                        latestHandshake: handshake,
                        handshakeAgeSeconds: handshake.map { nowSeconds >= $0 ? nowSeconds - $0 : 0 },
                        sessionUp: peer.current != nil, rxBytes: peer.receivedBytes, txBytes: peer.sentBytes,
                        persistentKeepalive: Int(config.persistentKeepalive))
                })
        }
    }
}
