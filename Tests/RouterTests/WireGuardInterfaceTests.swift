import Logging
import Sandbox
import Testing
import Wire
import WireGuard
@testable import Router

/// Two interfaces on loopback, one event loop: the handshake through the control queue, then
/// transport both ways on the fast path, delivered in place (WireGuard paper §5.4.6).
@Suite struct WireGuardInterfaceTests {
    /// A minimal IPv4 packet (20-byte header through the Wire emitter, then `payload`).
    func packet(from source: IPv4Address, to destination: IPv4Address, payload: [UInt8]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 20) + payload
        bytes.withUnsafeMutableBytes { raw in
            IPv4Repr(protocolNumber: 17, source: source, destination: destination, payloadLength: payload.count)
                .emit(into: raw)
        }
        return bytes
    }

    @Test func packetsCrossBothWaysAfterTheHandshake() throws {
        let loop = try EventLoop()
        let logger = Logger(label: "test")
        let aliceKey = Curve25519.generatePrivateKey(using: SystemEntropy())
        let bobKey = Curve25519.generatePrivateKey(using: SystemEntropy())
        let alicePublic = Curve25519.publicKey(of: aliceKey), bobPublic = Curve25519.publicKey(of: bobKey)
        let alice10 = IPv4Address(10, 0, 0, 1), bob10 = IPv4Address(10, 0, 0, 2)
        let bob = try WireGuardInterface(
            name: "wgb", privateKey: bobKey, listenPort: 0,
            peers: [PeerConfiguration(publicKey: alicePublic, allowedIPs: [IPPrefix("10.0.0.1/32")!])],
            loop: loop, logger: logger)
        let alice = try WireGuardInterface(
            name: "wga", privateKey: aliceKey, listenPort: 0,
            peers: [PeerConfiguration(publicKey: bobPublic, endpoint: Endpoint(address: .v4(.loopback), port: bob.socket.port),
                                      allowedIPs: [IPPrefix("10.0.0.2/32")!])],
            loop: loop, logger: logger)

        var atBob: [[UInt8]] = []
        var atAlice: [[UInt8]] = []
        let requests = (0..<3).map { packet(from: alice10, to: bob10, payload: [UInt8](repeating: UInt8($0), count: 100 + $0)) }
        let reply = packet(from: bob10, to: alice10, payload: Array("pong".utf8))
        bob.deliver = { bytes, interface, peer in
            #expect(interface === bob && peer == alicePublic)
            atBob.append(Array(bytes))
            if atBob.count == requests.count { bob.send(reply, toPeer: alicePublic) }
        }
        alice.deliver = { bytes, _, peer in
            #expect(peer == bobPublic)
            atAlice.append(Array(bytes))
            loop.stop()
        }
        // Staged behind the handshake Alice started when she came up.
        for request in requests {
            request.withUnsafeBytes { #expect(alice.send($0, nextHop: .v4(bob10), destination: .v4(bob10))) }
        }
        loop.schedule(afterMilliseconds: 5_000) { loop.stop() }
        try loop.run()
        #expect(atBob == requests)
        #expect(atAlice == [reply])
        #expect(bob.device.peers[alicePublic]?.current != nil)
        #expect(bob.device.peers[alicePublic]?.endpoint == Endpoint(address: .v4(.loopback), port: alice.socket.port))
        #expect(alice.socket.queuedCount == 0 && bob.socket.queuedCount == 0)
    }
}
