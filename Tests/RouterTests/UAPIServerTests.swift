import Foundation
import Glibc
import Logging
import Sandbox
import Testing
@testable import Router

/// The UAPI socket: where it goes, and a request/response round trip on the event loop.
@Suite struct UAPIServerTests {
    @Test func fallsBackToAWritableDirectoryAndServes() throws {
        let base = NSTemporaryDirectory() + "srouter-uapi-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let loop = try EventLoop()
        let server = try UAPIServer(
            name: "wgtest", directories: ["/proc/srouter-cannot-write-here", "\(base)/wireguard"],
            loop: loop, logger: Logger(label: "test")) { _, bytes in
                guard bytes.suffix(2) == [10, 10] else { return nil }
                return (Array("errno=0\n\n".utf8), false)
            }
        #expect(server.path == "\(base)/wireguard/wgtest.sock")

        let client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(server.path.utf8) + [0]) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(client, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        #expect(rc == 0)
        _ = write(client, "get=1\n", 6)  // incomplete: no answer yet
        loop.schedule(afterMilliseconds: 30) { _ = write(client, "\n", 1) }
        loop.schedule(afterMilliseconds: 100) { loop.stop() }
        try loop.run()
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(client, &buffer, buffer.count)
        #expect(String(decoding: buffer.prefix(max(0, n)), as: UTF8.self) == "errno=0\n\n")
    }
}
