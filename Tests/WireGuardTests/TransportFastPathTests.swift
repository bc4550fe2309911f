import Testing
import Wire
@testable import WireGuard

/// The transport fast path (`seal` into a caller's buffer, `open` in place) beside the array
/// path: the same protocol either way (WireGuard paper §5.4.6, §6), and each path reads what
/// the other wrote.
extension TwoDevices {
    /// Runs a handshake started by Alice (initiation, response, Alice's confirming keepalive).
    func establish() {
        route(alice.initiate(to: bob.publicKey, at: time), from: "alice")
        run()
    }

    /// Seals `packet` on `device`'s fast path for `peer`; the result and the datagram written.
    func seal(_ packet: [UInt8], on device: WireGuardDevice, to peer: WireGuardKey) -> (TransportSend, [UInt8]) {
        var output = [UInt8](repeating: 0xee, count: WireGuardDevice.transportLength(forPacketLength: packet.count))
        let result = output.withUnsafeMutableBytes { out in
            packet.withUnsafeBytes { device.seal($0, to: peer, into: out, at: time) }
        }
        guard case .transmit(let length, _) = result else { return (result, []) }
        return (result, Array(output[..<length]))
    }

    /// Opens a copy of `datagram` on `device`'s fast path; the result and the delivered bytes.
    func open(_ datagram: [UInt8], on device: WireGuardDevice, from source: Endpoint) -> (TransportReceive, [UInt8]) {
        var buffer = datagram
        let result = buffer.withUnsafeMutableBytes { device.open($0, from: source, at: time) }
        guard case .deliver(let range, _) = result else { return (result, []) }
        return (result, Array(buffer[range]))
    }

    /// Routes what `device`'s control queue holds, as if `sender` emitted it.
    func drainControl(of device: WireGuardDevice, from sender: String) {
        route(device.takeControlOutputs(), from: sender)
    }
}

@Suite struct TransportFastPathTests {
    let packet = ipv4Packet(from: "10.0.0.1", to: "10.0.0.2", payload: Array(0..<23))

    @Test func sealAndOpenThroughCallerBuffers() {
        let net = TwoDevices()
        net.establish()
        let (sent, datagram) = net.seal(packet, on: net.alice, to: net.bob.publicKey)
        // 43 bytes padded to 48, framed by the 16-byte header and tag.
        #expect(sent == .transmit(length: 80, to: net.bobEndpoint))
        #expect(WireGuardDevice.transportLength(forPacketLength: 43) == 80)
        #expect(WireGuardDevice.transportLength(forPacketLength: 0) == 32)
        #expect(datagram.count == 80)
        let (received, delivered) = net.open(datagram, on: net.bob, from: net.aliceEndpoint)
        #expect(received == .deliver(16..<59, from: net.alice.publicKey))
        #expect(delivered == packet)
        #expect(!net.alice.hasControlOutputs && !net.bob.hasControlOutputs)
        #expect(net.bob.peers[net.alice.publicKey]!.timers.isArmed(.sendKeepalive))
    }

    @Test func theTwoPathsReadEachOther() {
        let net = TwoDevices()
        net.establish()
        // Array send → fast open.
        guard case .transmit(let datagram, _)? = net.alice.send(packet, to: net.bob.publicKey, at: net.time).first else {
            Issue.record("no datagram")
            return
        }
        #expect(net.open(datagram, on: net.bob, from: net.aliceEndpoint).1 == packet)
        // Fast seal → array receive, the other way.
        let reply = ipv4Packet(from: "10.0.0.2", to: "10.0.0.1", payload: [7, 7])
        let (_, sealed) = net.seal(reply, on: net.bob, to: net.alice.publicKey)
        #expect(net.alice.receive(sealed, from: net.bobEndpoint, at: net.time) == [.deliver(reply, from: net.bob.publicKey)])
        // Counters run on from either path: the array path refuses the fast path's replay.
        _ = net.alice.receive(sealed, from: net.bobEndpoint, at: net.time)
        #expect(net.alice.counters.replayedTransport == 1)
    }

    @Test func withoutASessionThePacketIsStagedAndAHandshakeQueued() {
        let net = TwoDevices()
        let (sent, _) = net.seal(packet, on: net.alice, to: net.bob.publicKey)
        #expect(sent == .none)
        #expect(net.alice.hasControlOutputs)
        net.drainControl(of: net.alice, from: "alice")
        #expect(!net.alice.hasControlOutputs)
        #expect(net.wire.count == 1 && net.wire[0].datagram.count == 148)
        net.run()
        #expect(net.delivered.map(\.packet) == [packet])
        // An unknown peer: nothing, nothing queued.
        let stranger = Curve25519.publicKey(of: Curve25519.generatePrivateKey(using: SeededEntropy(seed: 9)))
        #expect(net.seal(packet, on: net.alice, to: stranger).0 == .none)
        #expect(!net.alice.hasControlOutputs)
    }

    @Test func handshakeMessagesGoThroughTheControlQueue() {
        let net = TwoDevices()
        net.route(net.alice.initiate(to: net.bob.publicKey, at: net.time), from: "alice")
        let (to, initiation, from) = net.wire.removeFirst()
        #expect(to == "bob")
        #expect(net.open(initiation, on: net.bob, from: from).0 == .none)
        net.drainControl(of: net.bob, from: "bob")
        #expect(net.wire.count == 1 && net.wire[0].datagram.count == 92)
    }

    @Test func everyDropIsCountedAndNothingIsDelivered() {
        let net = TwoDevices()
        net.establish()
        let bob = net.bob
        let (_, datagram) = net.seal(packet, on: net.alice, to: bob.publicKey)

        // Too short for a transport message.
        #expect(net.open(Array(datagram[..<31]), on: bob, from: net.aliceEndpoint).0 == .none)
        #expect(bob.counters.malformed == 1)
        // Unknown receiver index.
        var unknown = datagram
        unknown[4] ^= 0xff
        #expect(net.open(unknown, on: bob, from: net.aliceEndpoint).0 == .none)
        #expect(bob.counters.unknownIndex == 1)
        // Tampered ciphertext.
        var tampered = datagram
        tampered[20] ^= 1
        #expect(net.open(tampered, on: bob, from: net.aliceEndpoint).0 == .none)
        #expect(bob.counters.invalidTransport == 1)
        // Accepted once, then a replay.
        #expect(net.open(datagram, on: bob, from: net.aliceEndpoint).1 == packet)
        #expect(net.open(datagram, on: bob, from: net.aliceEndpoint).0 == .none)
        #expect(bob.counters.replayedTransport == 1)
        // A source outside Alice's AllowedIPs (10.0.0.1/32).
        let spoofed = ipv4Packet(from: "10.0.0.99", to: "10.0.0.2", payload: [1])
        #expect(net.open(net.seal(spoofed, on: net.alice, to: bob.publicKey).1, on: bob, from: net.aliceEndpoint).0 == .none)
        #expect(bob.counters.disallowedSource == 1)
        // Authenticated but not IP, and a keepalive: nothing delivered, nothing counted.
        #expect(net.open(net.seal([0x00, 1, 2], on: net.alice, to: bob.publicKey).1, on: bob, from: net.aliceEndpoint).0 == .none)
        #expect(net.open(net.seal([], on: net.alice, to: bob.publicKey).1, on: bob, from: net.aliceEndpoint).0 == .none)
        // A keypair past REJECT_AFTER_TIME.
        let late = net.seal(packet, on: net.alice, to: bob.publicKey).1
        net.now += ProtocolConstants.rejectAfterTime
        #expect(net.open(late, on: bob, from: net.aliceEndpoint).0 == .none)
        #expect(bob.counters.invalidTransport == 2)
        #expect(bob.counters.malformed == 1 && bob.counters.unknownIndex == 1 && bob.counters.replayedTransport == 1
                && bob.counters.disallowedSource == 1)
    }

    @Test func anAuthenticatedPacketMovesThePeersEndpoint() {
        let net = TwoDevices()
        net.establish()
        let roamed = Endpoint(address: IPAddress("198.18.9.9")!, port: 4000)
        #expect(net.open(net.seal(packet, on: net.alice, to: net.bob.publicKey).1, on: net.bob, from: roamed).1 == packet)
        #expect(net.bob.peers[net.alice.publicKey]?.endpoint == roamed)
        // A forgery from elsewhere does not.
        var forged = net.seal(packet, on: net.alice, to: net.bob.publicKey).1
        forged[40] ^= 1
        _ = net.open(forged, on: net.bob, from: net.aliceEndpoint)
        #expect(net.bob.peers[net.alice.publicKey]?.endpoint == roamed)
    }

    @Test func theInitiatorsFirstPacketConfirmsTheRespondersKeypair() {
        let net = TwoDevices()
        net.route(net.alice.initiate(to: net.bob.publicKey, at: net.time), from: "alice")
        // Initiation to Bob, response to Alice; Alice's confirming keepalive is lost.
        net.run(dropping: { $0.count == 32 })
        let alicePeer = net.bob.peers[net.alice.publicKey]!
        #expect(alicePeer.current == nil && alicePeer.next != nil)
        // Bob waits: his packet is staged, no competing handshake.
        let reply = ipv4Packet(from: "10.0.0.2", to: "10.0.0.1", payload: [5])
        #expect(net.seal(reply, on: net.bob, to: net.alice.publicKey).0 == .none)
        #expect(!net.bob.hasControlOutputs)
        // Alice's data on the fast path confirms it, and Bob's staged packet follows.
        #expect(net.open(net.seal(packet, on: net.alice, to: net.bob.publicKey).1, on: net.bob, from: net.aliceEndpoint).1 == packet)
        #expect(alicePeer.next == nil && alicePeer.current != nil)
        #expect(net.bob.hasControlOutputs)
        net.drainControl(of: net.bob, from: "bob")
        net.run()
        #expect(net.delivered.map(\.packet) == [reply])
    }

    @Test func rekeyIsDueAfterSendingOrReceivingOnAnOldKeypair() {
        let net = TwoDevices()
        net.establish()
        // REKEY_AFTER_TIME: the initiator's next send queues an initiation (paper §6.2).
        net.now += ProtocolConstants.rekeyAfterTime
        #expect(net.seal(packet, on: net.alice, to: net.bob.publicKey).0 != .none)
        #expect(net.alice.takeControlOutputs().map { output -> Int in
            guard case .transmit(let d, _) = output else { return 0 }
            return d.count
        } == [148])
        // The responder never rekeys on time.
        let reply = ipv4Packet(from: "10.0.0.2", to: "10.0.0.1", payload: [5])
        let (_, fromBob) = net.seal(reply, on: net.bob, to: net.alice.publicKey)
        #expect(!net.bob.hasControlOutputs)

        // REJECT_AFTER_TIME − KEEPALIVE_TIMEOUT − REKEY_TIMEOUT: the initiator receiving on
        // it starts a handshake (a second one: the first is forgotten as if lost).
        let other = TwoDevices()
        other.establish()
        other.now += ProtocolConstants.rejectAfterTime - ProtocolConstants.keepaliveTimeout
            - ProtocolConstants.rekeyTimeout
        let (_, late) = other.seal(reply, on: other.bob, to: other.alice.publicKey)
        #expect(other.open(late, on: other.alice, from: other.bobEndpoint).1 == reply)
        #expect(other.alice.hasControlOutputs)
        #expect(net.open(fromBob, on: net.alice, from: net.bobEndpoint).1 == reply)
    }
}
