import Glibc
import Testing
import Wire
import WireGuard
@testable import Router

/// The outside socket on loopback: batches both ways, IPv4 and IPv6 peers on one socket.
@Suite struct UDPSocketTests {
    func receive(_ socket: UDPSocket, expecting count: Int) -> [([UInt8], Endpoint)] {
        var got: [([UInt8], Endpoint)] = []
        for _ in 0..<200 where got.count < count {
            socket.receiveAll { got.append((Array($0), $1)) }
            if got.count < count { usleep(5_000) }
        }
        return got
    }

    @Test func batchesOverIPv4AndIPv6Loopback() throws {
        let a = try UDPSocket(port: 0)
        let b = try UDPSocket(port: 0)
        #expect(a.port != 0 && a.port != b.port)
        let toB4 = Endpoint(address: .v4(.loopback), port: b.port)
        let datagrams = (0..<40).map { i in ([UInt8](repeating: UInt8(i), count: 100 + i), toB4) }
        #expect(a.send(datagrams) == 40)
        let got = receive(b, expecting: 40)
        #expect(got.count == 40)
        #expect(got.map(\.0.count) == (0..<40).map { 100 + $0 })
        #expect(got.first?.1 == Endpoint(address: .v4(.loopback), port: a.port))

        let toB6 = Endpoint(address: .v6(.loopback), port: b.port)
        #expect(a.send([([1, 2, 3], toB6)]) == 1)
        let six = receive(b, expecting: 1)
        #expect(six.first?.0 == [1, 2, 3])
        #expect(six.first?.1 == Endpoint(address: .v6(.loopback), port: a.port))
    }

    /// The buffers asked for (7 MiB, as wireguard-go), capped by `net.core.rmem_max` and
    /// `wmem_max` without CAP_NET_ADMIN; Linux reports twice the size set (`sk_setsockopt`).
    @Test func socketBuffersAreEnlargedAsWireGuardGoDoes() throws {
        let socket = try UDPSocket(port: 0)
        func limit(_ name: String) -> Int32 {
            guard let file = fopen("/proc/sys/net/core/\(name)", "r") else { return 0 }
            defer { fclose(file) }
            var line = [CChar](repeating: 0, count: 32)
            guard fgets(&line, 32, file) != nil else { return 0 }
            return Int32(atoi(line))
        }
        for (option, sysctl) in [(SO_RCVBUF, "rmem_max"), (SO_SNDBUF, "wmem_max")] {
            var size: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            #expect(getsockopt(socket.fd, SOL_SOCKET, option, &size, &length) == 0)
            // With CAP_NET_ADMIN the FORCE options pass the sysctl's cap.
            #expect(size >= 2 * min(UDPSocket.socketBufferSize, limit(sysctl)))
        }
    }

    @Test func queuedDatagramsLeaveInBatchesFromTheSendBuffers() throws {
        let a = try UDPSocket(port: 0)
        let b = try UDPSocket(port: 0)
        let toB = Endpoint(address: .v4(.loopback), port: b.port)
        // More than one batch: the queue flushes itself when full.
        for i in 0..<(UDPSocket.sendBatchSize + 6) {
            let buffer = a.nextSendBuffer()
            #expect(buffer.count == UDPSocket.sendBufferLength)
            buffer.initializeMemory(as: UInt8.self, repeating: UInt8(i))
            #expect(a.queue(length: 10 + i, to: toB))
        }
        #expect(a.queuedCount == 6)
        #expect(a.flush() == 6)
        #expect(a.queuedCount == 0)
        let got = receive(b, expecting: UDPSocket.sendBatchSize + 6)
        #expect(got.map(\.0.count) == (0..<(UDPSocket.sendBatchSize + 6)).map { 10 + $0 })
        #expect(got.last?.0 == [UInt8](repeating: UInt8(UDPSocket.sendBatchSize + 5), count: UDPSocket.sendBatchSize + 15))
        // An unreachable destination is dropped alone; the rest of the batch goes.
        for port in [b.port, 0, b.port] {
            a.nextSendBuffer().initializeMemory(as: UInt8.self, repeating: 1)
            a.queue(length: 3, to: Endpoint(address: .v4(.loopback), port: port))
        }
        #expect(a.flush() == 2)
        #expect(receive(b, expecting: 2).count == 2)
    }

    /// Runs of one size to one endpoint leave as UDP GSO messages; the receiver sees the
    /// datagrams a sendmmsg of each would give, in order, sizes and bytes kept.
    @Test func runsOfOneSizeLeaveSegmentedAndArriveAsTheirDatagrams() throws {
        let a = try UDPSocket(port: 0)
        let b = try UDPSocket(port: 0)
        let c = try UDPSocket(port: 0)
        let toB = Endpoint(address: .v4(.loopback), port: b.port)
        let toC = Endpoint(address: .v6(.loopback), port: c.port)
        // Ten of 1400 bytes and a shorter last one to b, three to c, two more to b of another
        // size, then one run longer than 64 datagrams.
        var plan: [(Int, Endpoint)] = (0..<10).map { _ in (1400, toB) } + [(700, toB)]
        plan += (0..<3).map { _ in (200, toC) } + [(90, toB), (90, toB)]
        plan += (0..<60).map { _ in (300, toB) }
        var sent = 0
        for (i, (length, endpoint)) in plan.enumerated() {
            let buffer = a.nextSendBuffer()
            if a.queuedCount == 0 && i > 0 { sent += UDPSocket.sendBatchSize }
            buffer.initializeMemory(as: UInt8.self, repeating: UInt8(i & 0xff))
            #expect(a.queue(length: length, to: endpoint))
        }
        sent += a.flush()
        #expect(sent == plan.count)
        #expect(a.segments && a.segmentedDatagrams > 0)
        // b and c take the runs with UDP GRO, as one buffer each, and hand them out one by one.
        #expect(b.coalesces && c.coalesces)
        let toBPlan = plan.enumerated().filter { $0.element.1 == toB }
        let gotB = receive(b, expecting: toBPlan.count)
        #expect(gotB.map(\.0.count) == toBPlan.map(\.element.0))
        #expect(gotB.map { $0.0.first ?? 0 } == toBPlan.map { UInt8($0.offset & 0xff) })
        #expect(gotB.allSatisfy { Set($0.0).count == 1 && $0.1 == Endpoint(address: .v4(.loopback), port: a.port) })
        let gotC = receive(c, expecting: 3)
        #expect(gotC.map(\.0.count) == [200, 200, 200])
        #expect(gotC.map { $0.0.first ?? 0 } == [11, 12, 13])
        #expect(b.coalescedDatagrams > 0 && c.coalescedDatagrams == 3)
    }

    @Test func aTakenPortIsAnError() throws {
        let a = try UDPSocket(port: 0)
        #expect(throws: (any Error).self) { try UDPSocket(port: a.port) }
    }
}
