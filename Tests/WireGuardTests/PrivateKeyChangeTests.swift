import Testing
import Wire
@testable import WireGuard

/// `WireGuardDevice.setPrivateKey` (UAPI `private_key=`, `wg set … private-key`), as
/// wireguard-go's SetPrivateKey: old sessions go, a peer holding the new public key goes, and
/// the next packet makes a handshake with the new key that the peer accepts once it knows it.
@Suite struct PrivateKeyChangeTests {
    @Test func sessionsStartOverWithTheNewKey() {
        let net = TwoDevices()
        let packet = ipv4Packet(from: "10.0.0.1", to: "10.0.0.2", payload: [1, 2, 3])
        net.route(net.alice.send(packet, to: net.bob.publicKey, at: net.time), from: "alice")
        net.run()
        #expect(net.delivered.count == 1)
        let oldPublic = net.alice.publicKey
        let newKey = Curve25519.generatePrivateKey(using: SeededEntropy(seed: 300))
        net.alice.setPrivateKey(newKey)
        #expect(net.alice.publicKey == Curve25519.publicKey(of: newKey))
        #expect(net.alice.publicKey != oldPublic)
        #expect(net.alice.peers[net.bob.publicKey]?.current == nil)
        // Bob still expects the old key: a new handshake is refused…
        net.route(net.alice.send(packet, to: net.bob.publicKey, at: net.time), from: "alice")
        net.run()
        #expect(net.delivered.count == 1)
        // …until Bob is told the new one (as `wg set … peer NEWKEY` on the far side).
        net.bob.removePeer(oldPublic)
        net.bob.configure(peer: PeerConfiguration(publicKey: net.alice.publicKey, allowedIPs: [IPPrefix("10.0.0.1/32")!]))
        net.now += 6_000_000_000  // past REKEY_TIMEOUT: Alice tries again
        net.route(net.alice.send(packet, to: net.bob.publicKey, at: net.time), from: "alice")
        net.run()
        #expect(net.delivered.count >= 2)
        #expect(net.delivered.last?.packet == packet)
        #expect(net.bob.peers[net.alice.publicKey]?.current != nil)
    }

    @Test func aPeerWithTheNewPublicKeyIsRemoved() {
        let net = TwoDevices()
        let newKey = Curve25519.generatePrivateKey(using: SeededEntropy(seed: 301))
        net.alice.configure(peer: PeerConfiguration(publicKey: Curve25519.publicKey(of: newKey)))
        #expect(net.alice.peers.count == 2)
        net.alice.setPrivateKey(newKey)
        #expect(net.alice.peers.count == 1)
        #expect(net.alice.peers[net.bob.publicKey] != nil)
        // The same key again changes nothing.
        net.alice.setPrivateKey(newKey)
        #expect(net.alice.peers.count == 1)
    }
}
