// WireGuard crypto benchmark (not a test): srouter's transport path beside raw libsodium
// ChaCha20-Poly1305 over the same buffers in the same run, and handshakes per second.
//
//   swift run -c release wireguard-benchmark [--packets N] [--size BYTES] [--handshakes N] [--repeat R]
//
// Each repetition times libsodium directly, srouter's in-place AEAD, the device's fast path
// (seal into a caller's buffer, open in place: WireGuardDevice+Transport) and its array path
// (send → [DeviceOutput], receive → [DeviceOutput]), two devices back to back, in turns of
// `block` packets each, so a stall of this noisy machine hits every path alike. Ratios are
// taken within a repetition (libsodium's time / the path's time) and reported as median
// (min–max) over the repetitions. Every path encrypts the packet padded to 16 bytes,
// as the device must (paper §5.4.6), so the baseline does too. Allocations are counted around
// the paths' loops only: the harness allocates nothing inside them.
import CSodium
import MallocCounter
import Foundation
import Wire
import WireGuard

var packets = 200_000
var size = 1420
var handshakes = 500
var repetitions = 5
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let flag = arguments.next() {
    guard let value = arguments.next().flatMap(Int.init) else { break }
    switch flag {
    case "--packets": packets = value
    case "--size": size = max(20, min(value, 65_535))
    case "--handshakes": handshakes = value
    case "--repeat": repetitions = max(1, value)
    default: break
    }
}

@MainActor func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

_ = sodium_init()
let padded = (size + 15) & ~15
let key = [UInt8](repeating: 7, count: 32)
let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: padded + 16, alignment: 16)
defer { buffer.deallocate() }
buffer.initializeMemory(as: UInt8.self, repeating: 0x5a)

/// Packets per turn of each path within a repetition.
let block = 1_000

/// Baseline: libsodium directly, detached, in place, nonce on the stack.
@MainActor func rawAEAD(_ packets: Int) -> Double {
    seconds {
        key.withUnsafeBufferPointer { k in
            var nonce: (UInt64, UInt64) = (0, 0)  // 12 bytes used: 32 zero bits, the counter
            let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            withUnsafeMutableBytes(of: &nonce) { n in
                let noncePointer = n.baseAddress!.assumingMemoryBound(to: UInt8.self)
                for counter in 0..<UInt64(packets) {
                    n.storeBytes(of: counter.littleEndian, toByteOffset: 4, as: UInt64.self)
                    crypto_aead_chacha20poly1305_ietf_encrypt_detached(
                        base, base + padded, nil, base, UInt64(padded), nil, 0, nil, noncePointer, k.baseAddress!)
                    _ = crypto_aead_chacha20poly1305_ietf_decrypt_detached(
                        base, nil, base, UInt64(padded), base + padded, nil, 0, noncePointer, k.baseAddress!)
                }
            }
        }
    }
}

/// srouter's in-place transport AEAD.
@MainActor func oursAEAD(_ packets: Int) -> Double {
    seconds {
        key.withUnsafeBytes { k in
            for counter in 0..<UInt64(packets) {
                AEAD.sealInPlace(key: k, counter: counter, buffer: buffer, plaintextLength: padded)
                _ = AEAD.openInPlace(key: k, counter: counter, buffer: buffer)
            }
        }
    }
}

// Two devices back to back, a session established through the array path.
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
@MainActor func exchange(_ outputs: [DeviceOutput], to device: WireGuardDevice, from source: Endpoint) -> [DeviceOutput] {
    outputs.flatMap { output -> [DeviceOutput] in
        if case .transmit(let datagram, _) = output { return device.receive(datagram, from: source, at: time) }
        return []
    }
}
// An IPv4 packet of `size` bytes (header fields through the Wire layer's emitter).
var packet = [UInt8](repeating: 0, count: size)
packet.withUnsafeMutableBytes { raw in
    IPv4Repr(protocolNumber: 17, source: IPv4Address(10, 0, 0, 1), destination: IPv4Address(10, 0, 0, 2),
             payloadLength: size - 20).emit(into: raw)
}
let first = exchange(alice.send(packet, to: bob.publicKey, at: time), to: bob, from: aliceEnd)
_ = exchange(exchange(first, to: alice, from: bobEnd), to: bob, from: aliceEnd)

let output = UnsafeMutableRawBufferPointer.allocate(
    byteCount: WireGuardDevice.transportLength(forPacketLength: size), alignment: 16)
defer { output.deallocate() }

/// The device's fast path: seal into a caller's buffer, open it there. Returns the time, the
/// packets delivered and the allocations made.
@MainActor func fastPath(_ packets: Int) -> (Double, Int, UInt64) {
    var delivered = 0
    var allocations: UInt64 = 0
    let elapsed = packet.withUnsafeBytes { inner in
        seconds {
            let before = malloc_counter_allocations()
            for _ in 0..<packets {
                guard case .transmit(let length, _) = alice.seal(inner, to: bob.publicKey, into: output, at: time)
                else { continue }
                let datagram = UnsafeMutableRawBufferPointer(rebasing: output[0..<length])
                if case .deliver = bob.open(datagram, from: aliceEnd, at: time) { delivered += 1 }
            }
            allocations = malloc_counter_allocations() - before
        }
    }
    return (elapsed, delivered, allocations)
}

/// The device's array path, without harness arrays: what `send` and `receive` return.
@MainActor func arrayPath(_ packets: Int) -> (Double, Int, UInt64) {
    var delivered = 0
    var allocations: UInt64 = 0
    let elapsed = seconds {
        let before = malloc_counter_allocations()
        for _ in 0..<packets {
            for case .transmit(let datagram, _) in alice.send(packet, to: bob.publicKey, at: time) {
                for case .deliver in bob.receive(datagram, from: aliceEnd, at: time) { delivered += 1 }
            }
        }
        allocations = malloc_counter_allocations() - before
    }
    return (elapsed, delivered, allocations)
}

struct Sample {
    var raw = 0.0, aead = 0.0, fast = 0.0, array = 0.0
    var fastAllocations: UInt64 = 0, arrayAllocations: UInt64 = 0
    var fastDelivered = 0, arrayDelivered = 0
}
var samples: [Sample] = []
for _ in 0..<repetitions {
    var sample = Sample()
    var done = 0
    while done < packets {
        let turn = min(block, packets - done)
        sample.raw += rawAEAD(turn)
        sample.aead += oursAEAD(turn)
        let fast = fastPath(turn)
        sample.fast += fast.0
        sample.fastDelivered += fast.1
        sample.fastAllocations += fast.2
        let array = arrayPath(turn)
        sample.array += array.0
        sample.arrayDelivered += array.1
        sample.arrayAllocations += array.2
        done += turn
    }
    samples.append(sample)
}

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

@MainActor func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
@MainActor func spread(_ values: [Double]) -> String {
    String(format: "%.2f (%.2f–%.2f)", median(values), values.min()!, values.max()!)
}
@MainActor func rate(_ count: Int, _ time: Double) -> String { String(format: "%.0f", Double(count) / time) }
@MainActor func gbps(_ time: Double) -> String { String(format: "%.2f", Double(packets * padded * 8) / time / 1e9) }
@MainActor func perPacket(_ allocations: [UInt64]) -> String {
    String(format: "%.1f", median(allocations.map { Double($0) / Double(packets) }))
}
let raw = median(samples.map(\.raw))
print("| figure (\(repetitions) repetitions; ratio: median (min–max)) | srouter | baseline (libsodium direct) | ratio |")
print("|---|---|---|---|")
print("| AEAD seal+open in place, \(size) B, Gbit/s | \(gbps(median(samples.map(\.aead)))) | \(gbps(raw)) | \(spread(samples.map { $0.raw / $0.aead })) |")
print("| device fast path seal→open, \(size) B, packets/s | \(rate(packets, median(samples.map(\.fast)))) | \(rate(packets, raw)) (AEAD only) | \(spread(samples.map { $0.raw / $0.fast })) |")
print("| device array path send→receive, \(size) B, packets/s | \(rate(packets, median(samples.map(\.array)))) | \(rate(packets, raw)) (AEAD only) | \(spread(samples.map { $0.raw / $0.array })) |")
print("| heap allocations per packet (fast path, seal + open) | \(perPacket(samples.map(\.fastAllocations))) | 0 (goal) | — |")
print("| heap allocations per packet (array path, send + receive) | \(perPacket(samples.map(\.arrayAllocations))) | — | — |")
print("| handshakes/s (both sides, one core) | \(rate(handshakes, handshakeTime)) | — | — |")
print("")
let delivered = samples.map { min($0.fastDelivered, $0.arrayDelivered) }.min()!
print("\(packets) packets, \(delivered) delivered through the device path (the fewest of either path in any repetition); \(handshakes) handshakes.")
