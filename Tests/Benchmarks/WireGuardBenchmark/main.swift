// WireGuard crypto benchmark (not a test): srouter's transport path beside raw libsodium
// ChaCha20-Poly1305 over the same buffers in the same run, and handshakes per second.
//
//   swift run -c release wireguard-benchmark [--packets N] [--size BYTES] [--handshakes N]
import CSodium
import MallocCounter
import Foundation
import Wire
import WireGuard

var packets = 200_000
var size = 1420
var handshakes = 500
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let flag = arguments.next() {
    guard let value = arguments.next().flatMap(Int.init) else { break }
    switch flag {
    case "--packets": packets = value
    case "--size": size = value
    case "--handshakes": handshakes = value
    default: break
    }
}

func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

_ = sodium_init()
let key = [UInt8](repeating: 7, count: 32)
let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size + 16, alignment: 16)
defer { buffer.deallocate() }
buffer.initializeMemory(as: UInt8.self, repeating: 0x5a)

// Baseline: libsodium directly, detached, in place, nonce built on the stack.
let raw = seconds {
    key.withUnsafeBufferPointer { k in
        var nonce = [UInt8](repeating: 0, count: 12)
        let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        for counter in 0..<UInt64(packets) {
            withUnsafeBytes(of: counter.littleEndian) { c in
                for i in 0..<8 { nonce[4 + i] = c[i] }
            }
            crypto_aead_chacha20poly1305_ietf_encrypt_detached(
                base, base + size, nil, base, UInt64(size), nil, 0, nil, nonce, k.baseAddress!)
            _ = crypto_aead_chacha20poly1305_ietf_decrypt_detached(
                base, nil, base, UInt64(size), base + size, nil, 0, nonce, k.baseAddress!)
        }
    }
}

// srouter's in-place transport AEAD.
let ours = seconds {
    key.withUnsafeBytes { k in
        let whole = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(size + 16)])
        for counter in 0..<UInt64(packets) {
            AEAD.sealInPlace(key: k, counter: counter, buffer: whole, plaintextLength: size)
            _ = AEAD.openInPlace(key: k, counter: counter, buffer: whole)
        }
    }
}

// The whole device path (framing, counters, replay window), two devices back to back.
final class Entropy: EntropySource {
    func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        randombytes_buf(buffer.baseAddress!, buffer.count)
    }
}
let alice = WireGuardDevice(privateKey: Curve25519.generatePrivateKey(using: Entropy()), entropy: Entropy())
let bob = WireGuardDevice(privateKey: Curve25519.generatePrivateKey(using: Entropy()), entropy: Entropy())
let aliceEnd = Endpoint(address: .v4(IPv4Address(198, 18, 0, 1)), port: 1)
let bobEnd = Endpoint(address: .v4(IPv4Address(198, 18, 0, 2)), port: 2)
alice.configure(peer: PeerConfiguration(publicKey: bob.publicKey, endpoint: bobEnd, allowedIPs: [IPPrefix("0.0.0.0/0")!]))
bob.configure(peer: PeerConfiguration(publicKey: alice.publicKey, endpoint: aliceEnd, allowedIPs: [IPPrefix("0.0.0.0/0")!]))
let time = DeviceTime(monotonic: 1, wallSeconds: 1_700_000_000)
func exchange(_ outputs: [DeviceOutput], to device: WireGuardDevice, from source: Endpoint) -> [DeviceOutput] {
    outputs.flatMap { output -> [DeviceOutput] in
        if case .transmit(let datagram, _) = output { return device.receive(datagram, from: source, at: time) }
        return []
    }
}
var packet = [UInt8](repeating: 0, count: size)
packet[0] = 0x45
packet[2] = UInt8(size >> 8)
packet[3] = UInt8(size & 0xff)
let first = exchange(alice.send(packet, to: bob.publicKey, at: time), to: bob, from: aliceEnd)
_ = exchange(exchange(first, to: alice, from: bobEnd), to: bob, from: aliceEnd)
var delivered = 0
let allocationsBefore = malloc_counter_allocations()
let devicePath = seconds {
    for _ in 0..<packets {
        for output in exchange(alice.send(packet, to: bob.publicKey, at: time), to: bob, from: aliceEnd) {
            if case .deliver = output { delivered += 1 }
        }
    }
}

let allocationsPerPacket = Double(malloc_counter_allocations() - allocationsBefore) / Double(packets)

// Handshakes: initiation, response, completion, between the two static keys.
let handshakeTime = seconds {
    let aliceKey = Curve25519.generatePrivateKey(using: Entropy())
    let bobKey = Curve25519.generatePrivateKey(using: Entropy())
    let alicePublic = Curve25519.publicKey(of: aliceKey), bobPublic = Curve25519.publicKey(of: bobKey)
    for i in 0..<handshakes {
        let stamp = TAI64N(unixSeconds: UInt64(i), nanoseconds: 0)
        let (initiation, state) = NoiseHandshake.initiate(localPrivate: aliceKey, localPublic: alicePublic,
                                                          remoteStatic: bobPublic, timestamp: stamp,
                                                          localIndex: 1, entropy: Entropy())!
        let consumed = NoiseHandshake.consumeInitiation(initiation, localPrivate: bobKey, localPublic: bobPublic)!
        let (response, _) = NoiseHandshake.respond(to: consumed, presharedKey: .zero, localIndex: 2, entropy: Entropy())!
        _ = NoiseHandshake.consumeResponse(response, state: state, localPrivate: aliceKey, presharedKey: .zero)!
    }
}

func rate(_ count: Int, _ time: Double) -> String { String(format: "%.0f", Double(count) / time) }
@MainActor func gbps(_ time: Double) -> String { String(format: "%.2f", Double(packets * size * 8) / time / 1e9) }
print("| figure | srouter | baseline (libsodium direct) | ratio |")
print("|---|---|---|---|")
print("| AEAD seal+open in place, \(size) B, Gbit/s | \(gbps(ours)) | \(gbps(raw)) | \(String(format: "%.2f", raw / ours)) |")
print("| device send→receive, \(size) B, packets/s | \(rate(packets, devicePath)) | \(rate(packets, raw)) (AEAD only) | \(String(format: "%.2f", raw / devicePath)) |")
print("| heap allocations per packet (send + receive) | \(String(format: "%.1f", allocationsPerPacket)) | 0 (goal) | — |")
print("| handshakes/s (both sides, one core) | \(rate(handshakes, handshakeTime)) | — | — |")
print("")
print("\(packets) packets, \(delivered) delivered through the device path; \(handshakes) handshakes.")
