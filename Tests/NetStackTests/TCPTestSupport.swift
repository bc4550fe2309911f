import Wire
@testable import NetStack

/// A seeded generator (SplitMix64) so simulations replay exactly.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < p }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// A segment as bytes, the way the IP layer would carry it.
func serialize(_ segment: TCPOutgoingSegment) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: segment.header.bufferLength)
    bytes.withUnsafeMutableBytes { buffer in
        let headerLength = segment.header.headerLength
        segment.copyPayload(into: UnsafeMutableRawBufferPointer(rebasing: buffer[headerLength...]))
        segment.header.emit(into: buffer, source: segment.source, destination: segment.destination)
        if let key = segment.md5Key {
            TCPSignature.sign(buffer, source: segment.source, destination: segment.destination, key: key)
        }
    }
    return bytes
}

/// Two TCP layers joined by a lossy, reordering, duplicating link, driven in 1 ms steps.
final class TCPSimulation {
    struct InFlight {
        var bytes: [UInt8]
        var source: IPAddress
        var destination: IPAddress
        var arrival: UInt64
    }
    let a: TCPLayer
    let b: TCPLayer
    let addressA: IPAddress
    let addressB: IPAddress
    var random: SeededRandom
    var loss = 0.0
    var duplicate = 0.0
    var reorder = 0.0
    var delay: UInt64 = 5 * StackDuration.millisecond
    var now: UInt64 = 1_000 * StackDuration.second
    var wire: [InFlight] = []
    var delivered = 0
    var log: [String] = []
    var keepLog = false

    init(seed: UInt64, v6: Bool = false) {
        random = SeededRandom(seed: seed)
        addressA = v6 ? IPAddress("fd00::1")! : IPAddress("10.0.0.1")!
        addressB = v6 ? IPAddress("fd00::2")! : IPAddress("10.0.0.2")!
        var isnRandom = SeededRandom(seed: seed ^ 0xabcdef)
        let source: (TCPFourTuple, StackInstant) -> (isn: UInt32, timestampOffset: UInt32) = { _, _ in
            (UInt32(truncatingIfNeeded: isnRandom.next()), UInt32(truncatingIfNeeded: isnRandom.next()))
        }
        a = TCPLayer(sequenceSource: source)
        b = TCPLayer(sequenceSource: source)
    }

    func transmit(_ segment: TCPOutgoingSegment) {
        let bytes = serialize(segment)
        if keepLog { log.append(describe(segment)) }
        if random.chance(loss) { return }
        var arrival = now + delay
        if random.chance(reorder) { arrival += UInt64(1 + random.below(20)) * StackDuration.millisecond }
        wire.append(InFlight(bytes: bytes, source: segment.source, destination: segment.destination, arrival: arrival))
        if random.chance(duplicate) {
            wire.append(InFlight(bytes: bytes, source: segment.source, destination: segment.destination,
                                 arrival: arrival + StackDuration.millisecond))
        }
    }

    func describe(_ s: TCPOutgoingSegment) -> String {
        "\(s.source):\(s.header.sourcePort)>\(s.destination):\(s.header.destinationPort) flags=\(s.header.flags.rawValue) seq=\(s.header.sequenceNumber) ack=\(s.header.acknowledgmentNumber) len=\(s.header.payloadLength) win=\(s.header.window)"
    }

    /// Advances one millisecond: deliveries, then both layers' output.
    func step() {
        let due = wire.filter { $0.arrival <= now }
        wire.removeAll { $0.arrival <= now }
        for packet in due {
            let layer = packet.destination == addressA ? a : b
            packet.bytes.withUnsafeBytes {
                layer.receive($0, source: packet.source, destination: packet.destination, timeToLive: 64, now: now)
            }
            delivered += 1
        }
        a.poll(now: now, emit: transmit)
        b.poll(now: now, emit: transmit)
        now += StackDuration.millisecond
    }

    /// Steps until `done` or `limit` simulated milliseconds pass; returns whether `done` held.
    @discardableResult
    func run(milliseconds limit: Int, until done: () -> Bool) -> Bool {
        for _ in 0..<limit {
            if done() { return true }
            step()
        }
        return done()
    }
}

/// A deterministic byte pattern for transfers.
func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ $0 >> 8) }
}
