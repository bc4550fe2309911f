import Wire
import WireGuard

/// The WireGuard cross-platform UAPI text protocol (wireguard.com/xplatform) for one
/// interface: `get=1` answers the device and peer state in wireguard-go's order, `set=1`
/// applies peer changes. Every request ends with an empty line; every answer ends with
/// `errno=N` and an empty line (22, EINVAL, for a malformed request, as wireguard-go answers).
public final class UAPIConnection {
    private let interface: WireGuardInterface

    /// Serves `interface`.
    public init(interface: WireGuardInterface) { self.interface = interface }

    /// `UAPIServer.Handler`: answers once the buffered bytes hold a whole request.
    public func handle(_ connection: Int32, _ bytes: [UInt8]) -> (response: [UInt8], close: Bool)? {
        guard let end = Self.requestEnd(bytes) else { return nil }
        let text = String(decoding: bytes[..<end], as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while lines.last == "" { lines.removeLast() }
        switch lines.first {
        case "get=1" where lines.count == 1:
            return (Array((get() + "errno=0\n\n").utf8), false)
        case "set=1":
            let errno = set(Array(lines.dropFirst()))
            return (Array("errno=\(errno)\n\n".utf8), errno != 0)
        default:
            return (Array("errno=22\n\n".utf8), true)
        }
    }

    /// The index just past the first empty line (`\n\n`), if any.
    static func requestEnd(_ bytes: [UInt8]) -> Int? {
        if bytes.first == 10 { return 1 }
        var index = 1
        while index < bytes.count {
            if bytes[index] == 10 && bytes[index - 1] == 10 { return index + 1 }
            index += 1
        }
        return nil
    }

    /// The `get` body in wireguard-go's order (device/uapi.go).
    func get() -> String {
        let device = interface.device
        var out = "private_key=\(device.privateKey.hex)\nlisten_port=\(interface.socket.port)\n"
        for peer in device.peers.values.sorted(by: { $0.publicKey.hex < $1.publicKey.hex }) {
            let config = peer.configuration
            out += "public_key=\(peer.publicKey.hex)\n"
            out += "preshared_key=\(config.presharedKey.hex)\n"
            out += "protocol_version=1\n"
            if let endpoint = peer.endpoint { out += "endpoint=\(endpoint)\n" }
            out += "last_handshake_time_sec=\(peer.lastHandshake?.seconds ?? 0)\n"
            out += "last_handshake_time_nsec=\(peer.lastHandshake?.nanoseconds ?? 0)\n"
            out += "tx_bytes=\(peer.sentBytes)\n"
            out += "rx_bytes=\(peer.receivedBytes)\n"
            out += "persistent_keepalive_interval=\(config.persistentKeepalive)\n"
            for prefix in config.allowedIPs { out += "allowed_ip=\(prefix)\n" }
        }
        return out
    }

    /// Applies `set` lines; returns 0 or an errno.
    func set(_ lines: [String]) -> Int {
        let device = interface.device
        var pending: PeerConfiguration?
        var remove = false
        var updateOnly = false
        var changes: [(PeerConfiguration, remove: Bool, updateOnly: Bool)] = []
        var privateKey: WireGuardKey?
        var listenPort: UInt16?
        var replacePeers = false
        func flush() {
            if let peer = pending { changes.append((peer, remove, updateOnly)) }
            pending = nil
            remove = false
            updateOnly = false
        }
        for line in lines {
            guard let equals = line.firstIndex(of: "=") else { return 22 }
            let key = String(line[..<equals]), value = String(line[line.index(after: equals)...])
            switch key {
            case "private_key":
                guard let key = WireGuardKey(hex: value) else { return 22 }
                privateKey = key
            case "listen_port":
                guard let port = UInt16(value) else { return 22 }
                listenPort = port
            case "fwmark":
                guard value == "0" || value.isEmpty else { return 22 }
            case "replace_peers":
                guard value == "true" else { return 22 }
                replacePeers = true
            case "public_key":
                flush()
                guard let key = WireGuardKey(hex: value) else { return 22 }
                pending = device.peers[key]?.configuration ?? PeerConfiguration(publicKey: key)
            case "remove" where pending != nil:
                remove = value == "true"
            case "update_only" where pending != nil:
                updateOnly = value == "true"
            case "preshared_key" where pending != nil:
                guard let key = WireGuardKey(hex: value) else { return 22 }
                pending?.presharedKey = key
            case "endpoint" where pending != nil:
                guard let endpoint = Self.parseEndpoint(value) else { return 22 }
                pending?.endpoint = endpoint
            case "persistent_keepalive_interval" where pending != nil:
                guard let seconds = UInt16(value) else { return 22 }
                pending?.persistentKeepalive = seconds
            case "replace_allowed_ips" where pending != nil:
                if value == "true" { pending?.allowedIPs = [] }
            case "allowed_ip" where pending != nil:
                guard let prefix = IPPrefix(value) else { return 22 }
                pending?.allowedIPs.append(prefix)
            case "protocol_version" where pending != nil:
                guard value == "1" else { return 22 }
            default:
                return 22
            }
        }
        flush()
        // As wireguard-go applies them: the port (a taken one fails the request, EADDRINUSE),
        // the key, the peer list, then each peer.
        if let listenPort {
            do { try interface.setListenPort(listenPort) } catch { return 98 }
        }
        if let privateKey { interface.setPrivateKey(privateKey) }
        if replacePeers { for key in Array(device.peers.keys) { device.removePeer(key) } }
        for (peer, remove, updateOnly) in changes {
            if remove {
                device.removePeer(peer.publicKey)
            } else if !updateOnly || device.peers[peer.publicKey] != nil {
                device.configure(peer: peer)
            }
        }
        return 0
    }

    /// `1.2.3.4:51820` or `[2001:db8::1]:51820`.
    static func parseEndpoint(_ text: String) -> Endpoint? {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            return nil
        }
        var host = text[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        return IPAddress(String(host)).map { Endpoint(address: $0, port: port) }
    }
}
