import CSRouterLinux
import Foundation
import Glibc
import Logging
import NetStack
import Sandbox
import Testing
import WireGuard
@testable import Router

/// Capture on a router with one tunnel, through a real control socket: no tap while nobody
/// captures, records for what the tap sees, the end after COUNT packets, and a client that
/// never reads losing packets (counted) instead of holding the router.
@Suite(.serialized) struct PacketCaptureTests {
    private final class Fixture {
        let loop: EventLoop
        let router: VirtualRouter
        let server: ControlServer
        let capture: PacketCapture
        let index: Int
        let path = NSTemporaryDirectory() + "srouter-capture-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"

        init() throws {
            loop = try EventLoop()
            let logger = Logger(label: "test")
            router = VirtualRouter(loop: loop, secret: (1, 2), logger: logger)
            let key = WireGuardKey(bytes: [UInt8](repeating: 7, count: 32))!
            let tunnel = try WireGuardInterface(name: "wgt", privateKey: key, listenPort: 0, peers: [], loop: loop, logger: logger)
            let file = try WgQuickFile.parse("[Interface]\nPrivateKey = \(key.base64)\nAddress = 10.9.0.1/24\n", file: "wgt.conf")
            index = try router.attach(tunnel, file: file).index
            server = try ControlServer(path: path, name: "x", directories: [], loop: loop, logger: logger)
            capture = PacketCapture(router: router, logger: logger)
            capture.register(on: server)
        }

        deinit { server.shutdown() }

        func client(_ request: String) -> Int32 {
            let fd = connectedClient(path, sending: request)
            #expect(fd >= 0)
            return fd
        }

        func spin(_ milliseconds: UInt64 = 50) throws {
            loop.schedule(afterMilliseconds: milliseconds) { [loop] in loop.stop() }
            try loop.run()
        }

        /// Hands the tap `count` IPv4 packets of `size` bytes.
        func offer(_ count: Int, size: Int = 60) {
            var packet = [UInt8](repeating: 0, count: size)
            packet[0] = 0x45
            for n in 0..<count {
                packet[4] = UInt8(truncatingIfNeeded: n)
                packet.withUnsafeBytes { router.tap?(index, $0) }
            }
        }
    }

    @Test func recordsWhatTheTapSeesAndEndsAfterCount() throws {
        let f = try Fixture()
        #expect(f.router.tap == nil)
        let fd = f.client("{\"command\":\"capture\",\"interface\":\"wgt\",\"count\":3}\n")
        defer { close(fd) }
        try f.spin()
        #expect(f.router.tap != nil && f.capture.clientCount == 1)
        f.offer(5)
        try f.spin()
        #expect(f.router.tap == nil && f.capture.clientCount == 0)
        let bytes = readAvailable(fd)
        let header = Array("{\"ok\":true,\"stream\":\"pcap\",\"version\":1}\n".utf8)
        #expect(Array(bytes.prefix(header.count)) == header)
        var reader = PcapStreamReader()
        reader.append(Array(bytes.dropFirst(header.count)))
        var records: [PcapStreamReader.Record] = []
        while let record = reader.nextRecord() { records.append(record) }
        #expect(reader.fileHeader == PcapFormat.fileHeader())
        #expect(records.map { $0.packet[$0.packet.startIndex + 4] } == [0, 1, 2])
        #expect(records.allSatisfy { $0.packet.count == 60 })
        var byte: UInt8 = 0
        #expect(recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) == 0)  // the server closed: end of stream
    }

    @Test func aClientThatDoesNotReadLosesPacketsAndTheRouterGoesOn() throws {
        let f = try Fixture()
        let fd = f.client("{\"command\":\"capture\",\"interface\":\"wgt\"}\n")
        try f.spin()
        let started = EventLoop.monotonicNow()
        f.offer(20_000, size: 1400)  // 28 MB offered to a client that reads nothing
        try f.spin()
        f.offer(1000, size: 1400)
        #expect(EventLoop.monotonicNow() - started < 5_000_000_000)
        let dropped = f.capture.dropped["wgt"] ?? 0
        // At most the 4 MiB queue and the socket's buffer were taken; the rest was dropped.
        #expect(dropped > 21_000 - (PacketCapture.queueLimit + (8 << 20)) / 1416)
        close(fd)
        try f.spin()
        #expect(f.router.tap == nil && f.capture.clientCount == 0)
    }

    @Test func refusesWhatIsNotATunnel() throws {
        let f = try Fixture()
        let fd = f.client("{\"command\":\"capture\",\"interface\":\"lo\"}\n")
        defer { close(fd) }
        try f.spin()
        #expect(String(decoding: readAvailable(fd), as: UTF8.self).contains("lo is not a WireGuard interface"))
        #expect(f.router.tap == nil)
    }
}
