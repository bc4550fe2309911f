import Testing
import Wire
@testable import NetStack

/// The TCP layer's timer heap: the next deadline is the earliest connection timer, due
/// connections are found without scanning, and stale entries stay bounded.
@Suite struct TCPTimerQueueTests {
    /// Opens `count` connections from A to a listener on B (client ports 41000…).
    func openMany(_ sim: TCPSimulation, count: Int) -> [TCPConnection] {
        let listener = sim.b.listen(address: nil, port: 179, acceptsIPv4: true, acceptsIPv6: true, backlog: count,
                                    configuration: TCPConfiguration())
        let clients = (0..<count).map { index in
            sim.a.connect(TCPFourTuple(localAddress: sim.addressA, localPort: UInt16(41000 + index),
                                       remoteAddress: sim.addressB, remotePort: 179),
                          configuration: TCPConfiguration(), now: sim.now)
        }
        var accepted = 0
        sim.run(milliseconds: 5_000) {
            while listener.accept() != nil { accepted += 1 }
            return accepted == count && clients.allSatisfy { $0.state == .established }
        }
        return clients
    }

    @Test func timeWaitExpiresAtTheHeapsDeadline() throws {
        let sim = TCPSimulation(seed: 21)
        let clients = openMany(sim, count: 200)
        #expect(clients.allSatisfy { $0.state == .established })
        for client in clients {
            client.shutdownSend()
            sim.a.markActive(client)
        }
        // B answers each FIN by closing too (it never reads: the FIN alone makes CLOSE-WAIT).
        let servers = { sim.b.connections.values.filter { $0.state == .closeWait } }
        #expect(sim.run(milliseconds: 1_000) { servers().count == 200 })
        for server in servers() {
            server.shutdownSend()
            sim.b.markActive(server)
        }
        #expect(sim.run(milliseconds: 1_000) { clients.allSatisfy { $0.state == .timeWait } })
        #expect(sim.a.timerEntryCount <= 2 * 200 + 64)
        // Nothing is due until TIME-WAIT ends: the next deadline is the first expiry.
        let deadline = try #require(sim.a.nextDeadline)
        #expect(deadline > sim.now + 59 * StackDuration.second)
        #expect(deadline <= sim.now + 60 * StackDuration.second)
        sim.a.poll(now: deadline - 1) { _ in Issue.record("nothing is due before the deadline") }
        #expect(clients.allSatisfy { $0.state == .timeWait })
        // Jumping to the deadline (as the event loop does) ends the first ones, the rest follow.
        sim.a.poll(now: deadline) { _ in }
        #expect(clients.contains { $0.state == .closed })
        sim.a.poll(now: deadline + 2 * StackDuration.second) { _ in }
        #expect(clients.allSatisfy { $0.state == .closed })
        #expect(sim.a.connections.isEmpty)
        #expect(sim.a.nextDeadline == nil)
        #expect(sim.a.timerEntryCount == 0)
    }

    @Test func reArmingDuringATransferKeepsTheHeapBounded() throws {
        let sim = TCPSimulation(seed: 22)
        let clients = openMany(sim, count: 4)
        let server = try #require(sim.b.connections.values.first { $0.tuple.remotePort == 41000 })
        let data = pattern(2_000_000, seed: 7)
        var offset = 0
        var received = 0
        var largest = 0
        var chunk = [UInt8](repeating: 0, count: 65536)
        sim.run(milliseconds: 120_000) {
            if offset < data.count {
                let n = data[offset...].withUnsafeBytes { (try? clients[0].send($0)) ?? 0 }
                offset += n
                if n > 0 { sim.a.markActive(clients[0]) }
            }
            let got = chunk.withUnsafeMutableBytes { server.receive(into: $0) }
            if got > 0 {
                received += got
                sim.b.markActive(server)
            }
            largest = max(largest, sim.a.timerEntryCount, sim.b.timerEntryCount)
            return received == data.count
        }
        #expect(received == data.count)
        #expect(largest <= 2 * 4 + 64)
    }

    /// A SYN flood (RFC 4987) from many spoofed sources cannot grow a listener's half-open
    /// queue past its bound, nor the connection table or the timer heap with it; an
    /// established session keeps carrying data meanwhile.
    @Test func synFloodStaysWithinTheHalfOpenBound() throws {
        let sim = TCPSimulation(seed: 23)
        let clients = openMany(sim, count: 1)  // backlog 1: a bound of 16 half-open
        let server = try #require(sim.b.connections.values.first { $0.state == .established })
        let listener = try #require(sim.b.allListeners.first { $0.port == 179 })
        var random = SeededRandom(seed: 99)
        var segment = [UInt8](repeating: 0, count: 20)
        for index in 0..<10_000 {
            let source = IPAddress.v4(IPv4Address(UInt32(0x0a00_0000) | UInt32(truncatingIfNeeded: random.next() & 0xffffff)))
            let syn = TCPRepr(sourcePort: UInt16(truncatingIfNeeded: 1024 + index), destinationPort: 179,
                              sequenceNumber: UInt32(truncatingIfNeeded: random.next()), acknowledgmentNumber: 0,
                              flags: [.syn], window: 65535)
            segment.withUnsafeMutableBytes { syn.emit(into: $0, source: source, destination: sim.addressB) }
            segment.withUnsafeBytes {
                sim.b.receive($0, source: source, destination: sim.addressB, timeToLive: 64, now: sim.now)
            }
            sim.b.poll(now: sim.now) { _ in }  // SYN-ACKs to nowhere
            #expect(listener.halfOpen.count <= listener.maximumHalfOpen)
        }
        #expect(listener.maximumHalfOpen == 16)
        #expect(listener.halfOpen.count == 16)
        #expect(sim.b.counters.synQueueEvictions == 10_000 - 16)
        #expect(sim.b.connections.count <= 1 + 16)
        #expect(sim.b.timerEntryCount <= 2 * (1 + 16) + 64)
        // The established session still works.
        let data = pattern(100_000, seed: 3)
        var offset = 0, received = 0
        var chunk = [UInt8](repeating: 0, count: 65536)
        sim.run(milliseconds: 20_000) {
            if offset < data.count {
                let n = data[offset...].withUnsafeBytes { (try? clients[0].send($0)) ?? 0 }
                offset += n
                if n > 0 { sim.a.markActive(clients[0]) }
            }
            let got = chunk.withUnsafeMutableBytes { server.receive(into: $0) }
            if got > 0 { received += got; sim.b.markActive(server) }
            return received == data.count
        }
        #expect(received == data.count)
    }
}
