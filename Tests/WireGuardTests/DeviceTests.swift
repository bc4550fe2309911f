import Testing
import Wire
@testable import WireGuard

/// Two devices joined by an in-memory network, driven with explicit time.
final class TwoDevices {
    let alice: WireGuardDevice
    let bob: WireGuardDevice
    var aliceEndpoint = Endpoint(address: IPAddress("198.18.1.1")!, port: 51820)
    let bobEndpoint = Endpoint(address: IPAddress("198.18.1.2")!, port: 51821)
    var now: UInt64 = 1_000_000_000
    var delivered: [(to: String, packet: [UInt8])] = []
    var wire: [(to: String, datagram: [UInt8], from: Endpoint)] = []

    init(psk: WireGuardKey = .zero, bobKnowsAlice: Bool = true) {
        let aliceKey = Curve25519.generatePrivateKey(using: SeededEntropy(seed: 100))
        let bobKey = Curve25519.generatePrivateKey(using: SeededEntropy(seed: 200))
        alice = WireGuardDevice(privateKey: aliceKey, entropy: SeededEntropy(seed: 1))
        bob = WireGuardDevice(privateKey: bobKey, entropy: SeededEntropy(seed: 2))
        alice.configure(peer: PeerConfiguration(publicKey: bob.publicKey, presharedKey: psk,
                                                endpoint: bobEndpoint,
                                                allowedIPs: [IPPrefix("10.0.0.2/32")!]))
        if bobKnowsAlice {
            bob.configure(peer: PeerConfiguration(publicKey: alice.publicKey, presharedKey: psk,
                                                  allowedIPs: [IPPrefix("10.0.0.1/32")!]))
        }
    }

    var time: DeviceTime { DeviceTime(monotonic: now, wallSeconds: 1_700_000_000 + now / 1_000_000_000) }

    /// Queues what a device emitted.
    func route(_ outputs: [DeviceOutput], from sender: String) {
        for output in outputs {
            switch output {
            case .transmit(let datagram, let endpoint):
                let to = endpoint == bobEndpoint ? "bob" : "alice"
                wire.append((to, datagram, sender == "alice" ? aliceEndpoint : bobEndpoint))
            case .deliver(let packet, _):
                delivered.append((sender, packet))
            }
        }
    }

    /// Delivers queued datagrams until the network is quiet (bounded).
    func run(dropping: (([UInt8]) -> Bool)? = nil) {
        var rounds = 0
        while !wire.isEmpty && rounds < 100 {
            rounds += 1
            let (to, datagram, from) = wire.removeFirst()
            if dropping?(datagram) == true { continue }
            let device = to == "bob" ? bob : alice
            route(device.receive(datagram, from: from, at: time), from: to)
        }
    }
}

/// A minimal IPv4 packet from `source` (20-byte header, payload).
func ipv4Packet(from source: String, to destination: String, payload: [UInt8]) -> [UInt8] {
    let s = IPv4Address(source)!.octets, d = IPv4Address(destination)!.octets
    let total = 20 + payload.count
    return [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 0, 0, 0, 64, 17, 0, 0] + s + d + payload
}

@Suite struct DeviceTests {
    @Test func firstPacketTriggersAHandshakeAndArrives() {
        let net = TwoDevices()
        let packet = ipv4Packet(from: "10.0.0.1", to: "10.0.0.2", payload: [1, 2, 3])
        net.route(net.alice.send(packet, to: net.bob.publicKey, at: net.time), from: "alice")
        #expect(net.wire.count == 1 && net.wire[0].datagram.count == 148)
        net.run()
        // Bob got the staged packet after the handshake, padding stripped.
        #expect(net.delivered.count == 1)
        #expect(net.delivered.first?.packet == packet)
        #expect(net.alice.peers[net.bob.publicKey]?.current != nil)
        #expect(net.bob.peers[net.alice.publicKey]?.current != nil)
        #expect(net.bob.peers[net.alice.publicKey]?.endpoint == net.aliceEndpoint)
        // And back.
        let reply = ipv4Packet(from: "10.0.0.2", to: "10.0.0.1", payload: [9])
        net.route(net.bob.send(reply, to: net.alice.publicKey, at: net.time), from: "bob")
        net.run()
        #expect(net.delivered.last?.packet == reply)
        #expect(net.bob.peers[net.alice.publicKey]!.receivedBytes > 0)
        #expect(net.alice.peers[net.bob.publicKey]!.lastHandshake != nil)
    }

    @Test func aPresharedKeyMismatchNeverCompletes() {
        let net = TwoDevices(psk: .zero)
        net.bob.configure(peer: PeerConfiguration(publicKey: net.alice.publicKey,
                                                  presharedKey: WireGuardKey(bytes: [UInt8](repeating: 1, count: 32))!,
                                                  allowedIPs: [IPPrefix("10.0.0.1/32")!]))
        net.route(net.alice.send(ipv4Packet(from: "10.0.0.1", to: "10.0.0.2", payload: []),
                                 to: net.bob.publicKey, at: net.time), from: "alice")
        net.run()
        #expect(net.delivered.isEmpty)
        #expect(net.alice.counters.invalidResponse == 1)
    }

    @Test func garbageUnknownPeersAndReplaysAreCountedAndDropped() {
        let net = TwoDevices(bobKnowsAlice: false)
        for length in [0, 1, 3, 4, 147, 148, 149, 31, 32, 92, 64] {
            _ = net.bob.receive([UInt8](repeating: 1, count: length), from: net.aliceEndpoint, at: net.time)
        }
        #expect(net.bob.counters.malformed == 11)
        net.route(net.alice.initiate(to: net.bob.publicKey, at: net.time), from: "alice")
        let initiation = net.wire[0].datagram
        net.run()
        #expect(net.bob.counters.unknownPeer == 1)

        // Now Bob knows Alice: the same initiation is accepted once, then it is a replay.
        net.bob.configure(peer: PeerConfiguration(publicKey: net.alice.publicKey,
                                                  allowedIPs: [IPPrefix("10.0.0.1/32")!]))
        #expect(net.bob.receive(initiation, from: net.aliceEndpoint, at: net.time).count == 1)
        net.now += ProtocolConstants.second
        #expect(net.bob.receive(initiation, from: net.aliceEndpoint, at: net.time).isEmpty)
        #expect(net.bob.counters.replayedInitiation == 1)
        var wrongMac = initiation
        wrongMac[120] ^= 1
        _ = net.bob.receive(wrongMac, from: net.aliceEndpoint, at: net.time)
        #expect(net.bob.counters.invalidMac1 == 1)
    }

    @Test func replayedTransportPacketsAndDisallowedSourcesAreDropped() {
        let net = TwoDevices()
        net.route(net.alice.send(ipv4Packet(from: "10.0.0.1", to: "10.0.0.2", payload: [1]),
                                 to: net.bob.publicKey, at: net.time), from: "alice")
        net.run()
        net.route(net.alice.send(ipv4Packet(from: "10.0.0.1", to: "10.0.0.2", payload: [2]),
                                 to: net.bob.publicKey, at: net.time), from: "alice")
        let transport = net.wire[0].datagram
        net.run()
        let count = net.delivered.count
        _ = net.bob.receive(transport, from: net.aliceEndpoint, at: net.time)
        #expect(net.delivered.count == count)
        #expect(net.bob.counters.replayedTransport == 1)
        // A spoofed inner source is not delivered.
        net.route(net.alice.send(ipv4Packet(from: "10.9.9.9", to: "10.0.0.2", payload: [3]),
                                 to: net.bob.publicKey, at: net.time), from: "alice")
        net.run()
        #expect(net.bob.counters.disallowedSource == 1)
        #expect(net.delivered.count == count)
    }

    @Test func roamingFollowsTheSourceOfAuthenticatedPackets() {
        let net = TwoDevices()
        net.route(net.alice.send(ipv4Packet(from: "10.0.0.1", to: "10.0.0.2", payload: [1]),
                                 to: net.bob.publicKey, at: net.time), from: "alice")
        net.run()
        net.aliceEndpoint = Endpoint(address: IPAddress("198.18.9.9")!, port: 40000)
        net.route(net.alice.send(ipv4Packet(from: "10.0.0.1", to: "10.0.0.2", payload: [2]),
                                 to: net.bob.publicKey, at: net.time), from: "alice")
        net.run()
        #expect(net.bob.peers[net.alice.publicKey]?.endpoint == net.aliceEndpoint)
        // A forged packet from elsewhere does not move it.
        _ = net.bob.receive([4, 0, 0, 0] + [UInt8](repeating: 7, count: 40),
                            from: Endpoint(address: IPAddress("203.0.113.1")!, port: 1), at: net.time)
        #expect(net.bob.peers[net.alice.publicKey]?.endpoint == net.aliceEndpoint)
    }

    @Test func underLoadHandshakesNeedACookie() {
        let net = TwoDevices()
        net.bob.underLoadThreshold = 0
        net.route(net.alice.initiate(to: net.bob.publicKey, at: net.time), from: "alice")
        net.run()
        #expect(net.bob.counters.cookieRepliesSent == 1)
        #expect(net.alice.peers[net.bob.publicKey]?.current == nil)
        // The retransmission carries mac2 and is processed.
        net.now += 6 * ProtocolConstants.second
        net.route(net.alice.tick(at: net.time), from: "alice")
        net.run()
        #expect(net.bob.counters.cookieRepliesSent == 1)
        #expect(net.alice.peers[net.bob.publicKey]?.current != nil)
    }

    @Test func retransmissionRekeyAndKeyErasure() {
        let net = TwoDevices()
        let s = ProtocolConstants.second
        // Lost initiations are retransmitted after REKEY_TIMEOUT (+ jitter)...
        net.route(net.alice.initiate(to: net.bob.publicKey, at: net.time), from: "alice")
        net.run(dropping: { _ in true })
        net.now += 5 * s + s / 2
        net.route(net.alice.tick(at: net.time), from: "alice")
        #expect(net.wire.count == 1 && net.wire[0].datagram.count == 148)
        net.run()
        let first = net.alice.peers[net.bob.publicKey]?.current
        #expect(first != nil)
        // ...sending after REKEY_AFTER_TIME starts a new handshake...
        net.now += 121 * s
        net.route(net.alice.send(ipv4Packet(from: "10.0.0.1", to: "10.0.0.2", payload: [1]),
                                 to: net.bob.publicKey, at: net.time), from: "alice")
        #expect(net.wire.contains { $0.datagram.count == 148 })
        net.run()
        #expect(net.alice.peers[net.bob.publicKey]?.current !== first)
        // ...and without handshakes for 3 × REJECT_AFTER_TIME every key is erased.
        net.now += 541 * s
        net.route(net.alice.tick(at: net.time), from: "alice")
        net.route(net.bob.tick(at: net.time), from: "bob")
        #expect(net.alice.peers[net.bob.publicKey]?.current == nil)
        #expect(net.bob.peers[net.alice.publicKey]?.current == nil)
    }

    @Test func keepalivesAnswerDataThatGetsNoReply() {
        let net = TwoDevices()
        net.route(net.alice.send(ipv4Packet(from: "10.0.0.1", to: "10.0.0.2", payload: [1]),
                                 to: net.bob.publicKey, at: net.time), from: "alice")
        net.run()
        let before = net.bob.peers[net.alice.publicKey]!.sentBytes
        net.now += 11 * ProtocolConstants.second
        net.route(net.bob.tick(at: net.time), from: "bob")
        #expect(net.wire.count == 1 && net.wire[0].datagram.count == 32)  // a keepalive
        #expect(net.bob.peers[net.alice.publicKey]!.sentBytes == before + 32)
        net.run()
    }
}
