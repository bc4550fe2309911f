import Testing
import Wire
@testable import NetStack

/// Seeded simulations between two TCP layers: handshakes, transfers checked byte for byte
/// under loss, reordering and duplication, and both ways of closing.
@Suite struct TCPSimulationTests {
    /// Connects a client on A to a listener on B; returns both ends once established.
    func open(_ sim: TCPSimulation, configuration: TCPConfiguration = TCPConfiguration())
        -> (client: TCPConnection, server: TCPConnection)?
    {
        let listener = sim.b.listen(address: nil, port: 179, acceptsIPv4: true, acceptsIPv6: true, backlog: 8,
                                    configuration: configuration)
        let tuple = TCPFourTuple(localAddress: sim.addressA, localPort: 40000, remoteAddress: sim.addressB, remotePort: 179)
        let client = sim.a.connect(tuple, configuration: configuration, now: sim.now)
        var server: TCPConnection?
        let ok = sim.run(milliseconds: 60_000) {
            if server == nil { server = listener.accept() }
            return server != nil && client.state == .established
        }
        guard ok, let server else { return nil }
        return (client, server)
    }

    /// Pushes `data` from `sender` to `receiver`, reading as it arrives.
    func transfer(_ sim: TCPSimulation, _ data: [UInt8], from sender: TCPConnection, to receiver: TCPConnection,
                  milliseconds: Int = 600_000) -> [UInt8] {
        var offset = 0
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        let senderLayer = sender.tuple.localAddress == sim.addressA ? sim.a : sim.b
        let receiverLayer = receiver.tuple.localAddress == sim.addressA ? sim.a : sim.b
        sim.run(milliseconds: milliseconds) {
            if offset < data.count {
                let n = data[offset...].withUnsafeBytes { (try? sender.send($0)) ?? 0 }
                offset += n
                if n > 0 { senderLayer.markActive(sender) }
            }
            let got = chunk.withUnsafeMutableBytes { receiver.receive(into: $0) }
            if got > 0 {
                received += chunk[0..<got]
                receiverLayer.markActive(receiver)
            }
            return received.count >= data.count
        }
        return received
    }

    @Test func handshakeNegotiatesOptions() throws {
        let sim = TCPSimulation(seed: 1)
        let (client, server) = try #require(open(sim))
        #expect(server.state == .established)
        #expect(client.timestampsEnabled && server.timestampsEnabled)
        #expect(client.sackEnabled && server.sackEnabled)
        #expect(client.windowScalingEnabled && server.windowScalingEnabled)
        #expect(client.sendMSS == 1380 - 12)
    }

    @Test(arguments: [false, true]) func cleanTransferBothWays(v6: Bool) throws {
        let sim = TCPSimulation(seed: 2, v6: v6)
        let (client, server) = try #require(open(sim))
        let up = pattern(2_000_000, seed: 1)
        #expect(firstDifference(transfer(sim, up, from: client, to: server), up) == nil)
        let down = pattern(1_000_000, seed: 2)
        #expect(firstDifference(transfer(sim, down, from: server, to: client), down) == nil)
    }

    @Test(arguments: [UInt64(3), 4, 5]) func transferUnderLossReorderDuplicate(seed: UInt64) throws {
        let sim = TCPSimulation(seed: seed)
        let (client, server) = try #require(open(sim))
        sim.loss = 0.02
        sim.reorder = 0.05
        sim.duplicate = 0.02
        let data = pattern(500_000, seed: UInt8(seed))
        let received = transfer(sim, data, from: client, to: server)
        #expect(received.count == data.count)
        #expect(firstDifference(received, data) == nil)
    }

    @Test func activeCloseReachesTimeWaitAndPassiveSideCloses() throws {
        let sim = TCPSimulation(seed: 6)
        let (client, server) = try #require(open(sim))
        client.shutdownSend()
        sim.a.markActive(client)
        #expect(sim.run(milliseconds: 1_000) { server.state == .closeWait })
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(buffer.withUnsafeMutableBytes { server.receive(into: $0) } == 0)
        #expect(server.isReadable && server.peerClosed)
        server.shutdownSend()
        sim.b.markActive(server)
        #expect(sim.run(milliseconds: 1_000) { client.state == .timeWait && server.state == .closed })
        // TIME-WAIT lasts 60 s (Linux TCP_TIMEWAIT_LEN), then the pair is free.
        #expect(sim.run(milliseconds: 61_000) { client.state == .closed })
        #expect(sim.a.connections.isEmpty)
    }

    @Test func connectToClosedPortIsRefused() {
        let sim = TCPSimulation(seed: 7)
        let tuple = TCPFourTuple(localAddress: sim.addressA, localPort: 40001, remoteAddress: sim.addressB, remotePort: 9)
        let client = sim.a.connect(tuple, configuration: TCPConfiguration(), now: sim.now)
        #expect(sim.run(milliseconds: 1_000) { client.state == .closed })
        #expect(client.pendingError == .refused)
        #expect(sim.b.counters.resetsSent == 1)
    }

    @Test func synRetriesRunOutWithTimeout() {
        let sim = TCPSimulation(seed: 8)
        sim.loss = 1.0
        var configuration = TCPConfiguration()
        configuration.synRetries = 2
        let tuple = TCPFourTuple(localAddress: sim.addressA, localPort: 40002, remoteAddress: sim.addressB, remotePort: 179)
        let client = sim.a.connect(tuple, configuration: configuration, now: sim.now)
        // 1 s + 2 s + 4 s with the initial RTO of 1 s (RFC 6298 §2.1) and doubling.
        #expect(sim.run(milliseconds: 8_000) { client.state == .closed })
        #expect(client.pendingError == .timedOut)
    }

    @Test func resetAbortsPeer() throws {
        let sim = TCPSimulation(seed: 9)
        let (client, server) = try #require(open(sim))
        client.abort(now: sim.now, emit: sim.transmit)
        #expect(sim.run(milliseconds: 1_000) { server.state == .closed })
        #expect(server.pendingError == .reset)
    }

    @Test func zeroWindowIsProbedAndReopens() throws {
        var configuration = TCPConfiguration()
        configuration.receiveBufferSize = 16 * 1024
        let sim = TCPSimulation(seed: 10)
        let (client, server) = try #require(open(sim, configuration: configuration))
        let data = pattern(100_000, seed: 3)
        var offset = 0
        // Fill the receiver without reading: the window closes.
        sim.run(milliseconds: 5_000) {
            offset += data[offset...].withUnsafeBytes { (try? client.send($0)) ?? 0 }
            sim.a.markActive(client)
            return false
        }
        #expect(server.receiveBuffer.isFull)
        #expect(client.sndWnd == 0)
        // Reading reopens it; the rest arrives.
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        sim.run(milliseconds: 120_000) {
            offset += data[offset...].withUnsafeBytes { (try? client.send($0)) ?? 0 }
            sim.a.markActive(client)
            let n = chunk.withUnsafeMutableBytes { server.receive(into: $0) }
            if n > 0 { received += chunk[0..<n]; sim.b.markActive(server) }
            return received.count == data.count
        }
        #expect(firstDifference(received, data) == nil)
    }
}

/// The first index where two byte arrays differ (or the shorter length), nil if equal; keeps
/// failure messages short.
func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
    if a == b { return nil }
    return (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
}
