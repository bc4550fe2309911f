import Foundation
import Wire

/// A wg-quick configuration file, as DN42 operators already have them (`wg-quick(8)`):
/// `[Interface]` with PrivateKey, ListenPort, Address, MTU; `[Peer]` sections with PublicKey,
/// PresharedKey, Endpoint, AllowedIPs, PersistentKeepalive.
///
/// Keys only wg-quick acts on (DNS, PreUp/PostUp/PreDown/PostDown, SaveConfig, FwMark)
/// are ignored with a warning — except the common DN42 line
/// `PostUp = ip addr add 172.20.1.1/32 peer 172.20.1.2/32 dev %i`, whose address is taken.
/// Errors name the file, the line and the key: `wg0.conf:7: PublicKey: not a valid key`.
public struct WgQuickFile: Equatable, Sendable {
    /// An interface address, optionally point-to-point (`peer`).
    public struct Address: Equatable, Sendable, CustomStringConvertible {
        /// The local address and its prefix length.
        public var local: IPPrefix
        /// The far end of a point-to-point address, if any.
        public var peer: IPPrefix?

        /// `172.20.1.1/32 peer 172.20.1.2/32`.
        public var description: String { peer.map { "\(local) peer \($0)" } ?? "\(local)" }
    }

    /// An endpoint as written: a host name or address, and a port; resolved at start.
    public struct EndpointSpec: Equatable, Sendable, CustomStringConvertible {
        /// The host: an IP address or a name.
        public var host: String
        /// The port.
        public var port: UInt16

        /// `host:port`, with brackets around IPv6.
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// One `[Peer]`.
    public struct Peer: Equatable, Sendable {
        /// PublicKey.
        public var publicKey: WireGuardKey
        /// PresharedKey (zero if absent).
        public var presharedKey: WireGuardKey = .zero
        /// Endpoint, unresolved.
        public var endpoint: EndpointSpec?
        /// AllowedIPs.
        public var allowedIPs: [IPPrefix] = []
        /// PersistentKeepalive seconds (0: off).
        public var persistentKeepalive: UInt16 = 0
        /// The line of its `[Peer]` header, for messages.
        public var line: Int
    }

    /// The interface name: the file name without `.conf`.
    public var name: String
    /// PrivateKey.
    public var privateKey: WireGuardKey
    /// ListenPort (0: any free port).
    public var listenPort: UInt16 = 0
    /// Address entries, in order.
    public var addresses: [Address] = []
    /// MTU (wg-quick's default 1420 if absent).
    public var mtu: Int = 1420
    /// `Table`: the routing table that gets a route for each peer's AllowedIPs, as wg-quick
    /// adds them (`auto`, the default: main, 254); nil for `Table = off` (routes come from
    /// elsewhere, e.g. BIRD).
    public var routeTable: UInt32? = 254
    /// The peers.
    public var peers: [Peer] = []
    /// Notes for the operator: keys ignored, lines interpreted.
    public var warnings: [String] = []

    /// A problem in a file: `FILE:LINE: KEY: MESSAGE`.
    public typealias ParseError = ConfigurationFileError

    /// Reads and parses `path`; the interface is named after the file.
    public static func load(path: String) throws -> WgQuickFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ParseError(file: path, line: 0, key: nil, message: "cannot read the file")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    /// Parses the text of file `file` (whose name gives the interface name).
    public static func parse(_ text: String, file: String) throws -> WgQuickFile {
        let base = (file as NSString).lastPathComponent
        let name = base.hasSuffix(".conf") ? String(base.dropLast(5)) : base
        guard !name.isEmpty, name.utf8.count <= 15,
              name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_=+.-".unicodeScalars.contains($0)) })
        else {
            throw ParseError(file: file, line: 0, key: nil, message:
                "the interface name \"\(name)\" (from the file name) must be 1–15 characters of a-z A-Z 0-9 _ = + . -")
        }
        var parser = Parser(file: file)
        return try parser.parse(text, name: name)
    }
}

private struct Parser {
    let file: String
    var section: String?
    var privateKey: WireGuardKey?
    var interfaceLine = 0
    var result = WgQuickFile(name: "", privateKey: .zero)
    var peer: WgQuickFile.Peer?
    var peerHasKey = false

    init(file: String) { self.file = file }

    func error(_ line: Int, _ key: String?, _ message: String) -> WgQuickFile.ParseError {
        .init(file: file, line: line, key: key, message: message)
    }

    mutating func parse(_ text: String, name: String) throws -> WgQuickFile {
        result.name = name
        for item in try ConfigurationLine.split(text, file: file) {
            guard case .setting(let key, let value, let number) = item else {
                guard case .section(let written, let number) = item else { continue }
                try finishPeer()
                let name = written.lowercased()
                switch name {
                case "interface":
                    guard interfaceLine == 0 else { throw error(number, nil, "a second [Interface] section") }
                    interfaceLine = number
                case "peer":
                    peer = WgQuickFile.Peer(publicKey: .zero, line: number)
                    peerHasKey = false
                default:
                    throw error(number, nil, "unknown section [\(written)] (expected [Interface] or [Peer])")
                }
                section = name
                continue
            }
            guard let section else { throw error(number, key, "outside any section") }
            if section == "interface" {
                try interfaceKey(key, value, line: number)
            } else {
                try peerKey(key, value, line: number)
            }
        }
        try finishPeer()
        guard interfaceLine > 0 else { throw error(0, nil, "no [Interface] section") }
        guard let privateKey else { throw error(interfaceLine, "PrivateKey", "missing from [Interface]") }
        result.privateKey = privateKey
        return result
    }

    mutating func interfaceKey(_ key: String, _ value: String, line: Int) throws {
        switch key.lowercased() {
        case "privatekey":
            guard let parsed = WireGuardKey(base64: value) else {
                throw error(line, key, "not a valid key (expected 44 characters of base64)")
            }
            privateKey = parsed
        case "listenport":
            guard let port = UInt16(value) else { throw error(line, key, "not a port number (0–65535)") }
            result.listenPort = port
        case "address":
            for item in value.split(separator: ",") {
                result.addresses.append(try address(item.trimmingCharacters(in: .whitespaces), key: key, line: line))
            }
        case "mtu":
            guard let mtu = Int(value), (576...65535).contains(mtu) else {
                throw error(line, key, "not an MTU (576–65535)")
            }
            result.mtu = mtu
        case "postup":
            if let parsed = ipAddressCommand(value) {
                result.addresses.append(try address(parsed, key: key, line: line))
                result.warnings.append("\(file):\(line): PostUp: taken as Address = \(parsed)")
            } else {
                result.warnings.append("\(file):\(line): PostUp: ignored (srouter runs no commands)")
            }
        case "table":
            switch value.lowercased() {
            case "off": result.routeTable = nil
            case "auto", "main": result.routeTable = 254
            default:
                guard let table = UInt32(value), table > 0 else {
                    throw error(line, key, "not a table (off, auto, main or a number)")
                }
                result.routeTable = table
            }
        case "dns", "preup", "predown", "postdown", "saveconfig", "fwmark":
            result.warnings.append("\(file):\(line): \(key): ignored (only wg-quick uses it)")
        default:
            throw error(line, key, "unknown key in [Interface]")
        }
    }

    mutating func peerKey(_ key: String, _ value: String, line: Int) throws {
        guard var current = peer else { return }
        defer { peer = current }
        switch key.lowercased() {
        case "publickey":
            guard let parsed = WireGuardKey(base64: value) else {
                throw error(line, key, "not a valid key (expected 44 characters of base64)")
            }
            current.publicKey = parsed
            peerHasKey = true
        case "presharedkey":
            guard let parsed = WireGuardKey(base64: value) else {
                throw error(line, key, "not a valid key (expected 44 characters of base64)")
            }
            current.presharedKey = parsed
        case "endpoint":
            current.endpoint = try endpoint(value, key: key, line: line)
        case "allowedips":
            for item in value.split(separator: ",") {
                let text = item.trimmingCharacters(in: .whitespaces)
                guard let prefix = IPPrefix(text) else {
                    throw error(line, key, "\"\(text)\" is not an address or prefix")
                }
                current.allowedIPs.append(prefix)
            }
        case "persistentkeepalive":
            if value.lowercased() == "off" {
                current.persistentKeepalive = 0
            } else {
                guard let seconds = UInt16(value) else {
                    throw error(line, key, "expected \"off\" or seconds (1–65535)")
                }
                current.persistentKeepalive = seconds
            }
        default:
            throw error(line, key, "unknown key in [Peer]")
        }
    }

    mutating func finishPeer() throws {
        guard let current = peer else { return }
        guard peerHasKey else { throw error(current.line, "PublicKey", "missing from [Peer]") }
        if result.peers.contains(where: { $0.publicKey == current.publicKey }) {
            throw error(current.line, "PublicKey", "a second [Peer] with the same key")
        }
        result.peers.append(current)
        peer = nil
    }

    /// `A`, `A/len`, or `A/len peer B/len`.
    func address(_ text: String, key: String, line: Int) throws -> WgQuickFile.Address {
        let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let first = words.first, let local = IPPrefix(first) else {
            throw error(line, key, "\"\(text)\" is not an address")
        }
        if words.count == 1 { return .init(local: local, peer: nil) }
        guard words.count == 3, words[1] == "peer", let remote = IPPrefix(words[2]),
              remote.address.bitWidth == local.address.bitWidth else {
            throw error(line, key, "\"\(text)\": expected ADDRESS[/LEN] or ADDRESS[/LEN] peer ADDRESS[/LEN]")
        }
        return .init(local: local, peer: remote)
    }

    /// `host:port`, `[v6]:port`.
    func endpoint(_ text: String, key: String, line: Int) throws -> WgQuickFile.EndpointSpec {
        let host: Substring, port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw error(line, key, "expected [IPv6]:PORT")
            }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
            guard IPv6Address(String(host)) != nil else { throw error(line, key, "\"\(host)\" is not an IPv6 address") }
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                throw error(line, key, "expected HOST:PORT (IPv6 in brackets)")
            }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let number = UInt16(port), number > 0 else {
            throw error(line, key, "expected HOST:PORT with a port 1–65535")
        }
        return .init(host: String(host), port: number)
    }

    /// The address of `ip [-4|-6] addr[ess] add ADDRESS [peer ADDRESS] dev %i`, if that is
    /// what the command is.
    func ipAddressCommand(_ command: String) -> String? {
        var words = command.split(separator: " ").map(String.init)
        guard words.first == "ip" else { return nil }
        words.removeFirst()
        if let first = words.first, first == "-4" || first == "-6" { words.removeFirst() }
        guard words.count >= 3, ["addr", "address", "a"].contains(words[0]), words[1] == "add" else {
            return nil
        }
        words.removeFirst(2)
        guard let dev = words.firstIndex(of: "dev"), dev + 1 < words.count, words[dev + 1] == "%i",
              dev + 2 == words.count else { return nil }
        return words[..<dev].joined(separator: " ")
    }
}

extension WgQuickFile.EndpointSpec {
    /// Resolves the host (getaddrinfo; an address resolves to itself) to an endpoint,
    /// preferring IPv4 as wg does when a name has both.
    public func resolve() throws -> Endpoint {
        if let address = IPAddress(host) { return Endpoint(address: address, port: port) }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw WgQuickFile.ParseError(file: host, line: 0, key: "Endpoint",
                                         message: "cannot resolve: \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var candidates: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if entry.pointee.ai_family == AF_INET, let raw = entry.pointee.ai_addr {
                let sin = raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
                candidates.append(.v4(IPv4Address(UInt32(bigEndian: sin.sin_addr.s_addr))))
            } else if entry.pointee.ai_family == AF_INET6, let raw = entry.pointee.ai_addr {
                let sin6 = raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
                if let a = IPv6Address(bytes: withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }) {
                    candidates.append(.v6(a))
                }
            }
            cursor = entry.pointee.ai_next
        }
        guard let chosen = candidates.first(where: { if case .v4 = $0 { true } else { false } })
                ?? candidates.first else {
            throw WgQuickFile.ParseError(file: host, line: 0, key: "Endpoint", message: "no address")
        }
        return Endpoint(address: chosen, port: port)
    }
}
