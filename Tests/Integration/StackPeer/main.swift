// stack-peer: srouter's network stack on WireGuard tunnels with small built-in TCP and UDP
// services, for the integration tests that prove the stack against Linux before guest
// sockets exist. Not a product; the test scripts drive it.
//
//   stack-peer --wg FILE… [--tcp-sink PORT] [--tcp-source PORT] [--udp-echo PORT]
//              [--connect ADDR:PORT --bytes N] [--md5 PEER=KEY…] [--log-level LEVEL]
//
// tcp-sink:   reads to end of stream, then answers "BYTES CRC32\n" and closes.
// tcp-source: reads "N\n", sends N bytes of the test pattern, closes.
// connect:    opens a connection, sends N bytes of the pattern, half-closes, reads the
//             peer's answer to end of stream and prints it as "reply: …", then exits.
// --md5 sets an RFC 2385 key for a peer address on the listeners and the active open.
// The pattern repeats a 65521-byte block: byte j = ((j·2654435761) >> 13) & 0xff.
import Foundation
import Logging
import NetStack
import Router
import Sandbox
import Wire
import WireGuard

setvbuf(stdout, nil, _IOLBF, 0)
var wgFiles: [String] = []
var sinkPorts: [UInt16] = []
var sourcePorts: [UInt16] = []
var udpEchoPorts: [UInt16] = []
var connectTarget: (IPAddress, UInt16)?
var connectBytes = 0
var md5Keys: [IPAddress: [UInt8]] = [:]
var logLevel = Logger.Level.info
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let flag = arguments.next() {
    let value = arguments.next() ?? ""
    switch flag {
    case "--wg": wgFiles.append(value)
    case "--tcp-sink": sinkPorts.append(UInt16(value)!)
    case "--tcp-source": sourcePorts.append(UInt16(value)!)
    case "--udp-echo": udpEchoPorts.append(UInt16(value)!)
    case "--bytes": connectBytes = Int(value)!
    case "--md5":
        let parts = value.split(separator: "=", maxSplits: 1)
        md5Keys[IPAddress(String(parts[0]))!] = Array(parts[1].utf8)
    case "--log-level": logLevel = Logger.Level(rawValue: value) ?? .info
    case "--connect":
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        let host = parts.dropLast().joined(separator: ":").trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        connectTarget = (IPAddress(host)!, UInt16(parts.last!)!)
    default:
        FileHandle.standardError.write("stack-peer: unknown option \(flag)\n".data(using: .utf8)!)
        exit(2)
    }
}

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = logLevel
    return handler
}
let logger = Logger(label: "stack-peer")

/// The test pattern's repeating block.
let block: [UInt8] = (0..<65521).map { UInt8(truncatingIfNeeded: (UInt64($0) &* 2654435761) >> 13) }

/// CRC-32 (IEEE 802.3, as zlib.crc32).
struct CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
    var value: UInt32 = 0xffff_ffff
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes { value = Self.table[Int((value ^ UInt32(byte)) & 0xff)] ^ (value >> 8) }
    }
    var final: UInt32 { value ^ 0xffff_ffff }
}

let loop = try EventLoop()
var system = SystemRandomNumberGenerator()
let secret = (system.next(), system.next())
let router = VirtualRouter(loop: loop, secret: secret, logger: logger)
for path in wgFiles {
    let file = try WgQuickFile.load(path: path)
    let tunnel = try WireGuardInterface(
        name: file.name, privateKey: file.privateKey, listenPort: file.listenPort,
        peers: try file.peers.map {
            PeerConfiguration(publicKey: $0.publicKey, presharedKey: $0.presharedKey, endpoint: try $0.endpoint?.resolve(),
                              allowedIPs: $0.allowedIPs, persistentKeepalive: $0.persistentKeepalive)
        },
        loop: loop, logger: logger)
    try router.attach(tunnel, file: file)
}
let stack = router.stack
let tcp = stack.tcp

/// One served connection: what it has read and what it still has to write.
final class Session {
    enum Role { case sink, source, client }
    let connection: TCPConnection
    let role: Role
    var crc = CRC32()
    var received = 0
    var request = ""
    var toSend = 0
    var sent = 0
    var reply: [UInt8] = []
    var replyOffset = 0
    var done = false
    init(_ connection: TCPConnection, role: Role) {
        self.connection = connection
        self.role = role
    }
}
var sessions: [Session] = []
var readBuffer = [UInt8](repeating: 0, count: 256 * 1024)

/// Moves data for every session as far as buffers allow.
func service() {
    for session in sessions where !session.done {
        let c = session.connection
        // Read.
        while true {
            let n = readBuffer.withUnsafeMutableBytes { c.receive(into: $0) }
            if n == 0 { break }
            switch session.role {
            case .sink, .client:
                readBuffer.withUnsafeBytes { session.crc.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                session.received += n
                if session.role == .client { session.reply += readBuffer[0..<n] }
            case .source:
                session.request += String(decoding: readBuffer[0..<n], as: UTF8.self)
                if let newline = session.request.firstIndex(of: "\n") {
                    session.toSend = Int(session.request[..<newline]) ?? 0
                }
            }
        }
        // Sink: answer at end of stream.
        if session.role == .sink && c.peerClosed && session.reply.isEmpty {
            session.reply = Array("\(session.received) \(String(session.crc.final, radix: 16))\n".utf8)
        }
        // Write the pattern (source, client) or the reply (sink).
        if session.role == .sink {
            if !session.reply.isEmpty && session.replyOffset < session.reply.count {
                let n = session.reply[session.replyOffset...].withUnsafeBytes { (try? c.send($0)) ?? 0 }
                session.replyOffset += n
                if session.replyOffset == session.reply.count { c.shutdownSend() }
            }
        } else if session.toSend > session.sent {
            while session.sent < session.toSend {
                let offset = session.sent % block.count
                let length = min(block.count - offset, session.toSend - session.sent)
                let n = block[offset..<(offset + length)].withUnsafeBytes { (try? c.send($0)) ?? 0 }
                session.sent += n
                if n < length { break }
            }
            if session.sent == session.toSend { c.shutdownSend() }
        }
        tcp.markActive(c)
        if c.state == .closed || c.state == .timeWait {
            session.done = true
            if session.role == .client {
                let text = String(decoding: session.reply, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                print("reply: \(text) error: \(c.pendingError.map { "\($0.rawValue)" } ?? "none")")
                exit(c.pendingError == nil ? 0 : 1)
            }
            tcp.release(c)
            print("closed \(c.tuple) received \(session.received) sent \(session.sent) state \(c.state.rawValue) error \(c.pendingError.map { "\($0.rawValue)" } ?? "none")")
        }
    }
    sessions.removeAll { $0.done }
}

var listeners: [(TCPListener, Session.Role)] = []
for port in sinkPorts {
    listeners.append((tcp.listen(address: nil, port: port, acceptsIPv4: true, acceptsIPv6: true, backlog: 16,
                                 configuration: TCPConfiguration()), .sink))
}
for port in sourcePorts {
    listeners.append((tcp.listen(address: nil, port: port, acceptsIPv4: true, acceptsIPv6: true, backlog: 16,
                                 configuration: TCPConfiguration()), .source))
}
for (listener, role) in listeners {
    listener.md5Keys = md5Keys
    listener.onEvent = { listener in
        while let connection = listener.accept() {
            print("accepted \(connection.tuple)")
            let session = Session(connection, role: role)
            connection.onEvent = { _ in service() }
            sessions.append(session)
        }
    }
}

var udpSockets: [DatagramSocket] = []
for port in udpEchoPorts {
    let socket = stack.datagrams.open(kind: .udp, isIPv6: true)
    try stack.datagrams.bind(socket, address: nil, port: port)
    socket.onEvent = { socket in
        while let datagram = socket.receive() {
            _ = datagram.data.withUnsafeBytes {
                stack.send(socket, $0, to: (datagram.info.source, datagram.sourcePort),
                           sourceOverride: datagram.info.destination, now: EventLoop.monotonicNow())
            }
        }
    }
    udpSockets.append(socket)
}

if let (address, port) = connectTarget {
    guard let source = stack.sourceAddress(toward: address) else {
        print("no source address toward \(address)")
        exit(1)
    }
    let localPort = tcp.ephemeralPort(local: source, remote: address, remotePort: port, isTaken: { _ in false })!
    let tuple = TCPFourTuple(localAddress: source, localPort: localPort, remoteAddress: address, remotePort: port)
    var configuration = TCPConfiguration()
    configuration.md5Key = md5Keys[address]
    let connection = tcp.connect(tuple, configuration: configuration, now: EventLoop.monotonicNow())
    let session = Session(connection, role: .client)
    session.toSend = connectBytes
    connection.onEvent = { _ in service() }
    sessions.append(session)
}

// Service runs after every batch of input and on a short tick, so writes resume when the
// send buffer drains.
func tick() {
    service()
    router.kick()
    _ = loop.schedule(afterMilliseconds: 5) { tick() }
}
tick()
print("stack-peer ready")
try loop.run()
