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
            socket.receiveAll { got.append(($0, $1)) }
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

    @Test func aTakenPortIsAnError() throws {
        let a = try UDPSocket(port: 0)
        #expect(throws: (any Error).self) { try UDPSocket(port: a.port) }
    }
}
