import CSRouterLinux
import Foundation
import Glibc
import Logging
import Sandbox
import Testing
@testable import Router

/// The control socket on a real event loop: where it goes and with what permissions, one
/// request answered, bad requests refused, a live socket of the same name kept, and a
/// client that never reads its answer costing only its own bounded queue.
@Suite(.serialized) struct ControlServerTests {
    private let base = NSTemporaryDirectory() + "srouter-control-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    private func connectClient(_ path: String) -> Int32 {
        let fd = connectedClient(path)
        #expect(fd >= 0)
        return fd
    }

    /// Runs `loop` for `milliseconds`.
    private func spin(_ loop: EventLoop, _ milliseconds: UInt64 = 100) throws {
        loop.schedule(afterMilliseconds: milliseconds) { loop.stop() }
        try loop.run()
    }

    private func readAll(_ fd: Int32) -> String { String(decoding: readAvailable(fd), as: UTF8.self) }

    @Test func fallsBackToAPrivateDirectoryWithOwnerOnlyPermissions() throws {
        defer { try? FileManager.default.removeItem(atPath: base) }
        let loop = try EventLoop()
        let server = try ControlServer(path: nil, name: "r1", directories: ["/proc/cannot-write", "\(base)/srouter"],
                                       loop: loop, logger: Logger(label: "test"))
        #expect(server.path == "\(base)/srouter/r1.sock")
        var info = stat()
        #expect(stat(server.path, &info) == 0 && info.st_mode & 0o777 == 0o600 && info.st_mode & S_IFMT == S_IFSOCK)
        #expect(stat("\(base)/srouter", &info) == 0 && info.st_mode & 0o777 == 0o700)
        server.shutdown()
        #expect(access(server.path, F_OK) != 0)
    }

    @Test func refusesADirectoryOthersMayWrite() throws {
        defer { try? FileManager.default.removeItem(atPath: base) }
        #expect(mkdir(base, 0o700) == 0 && mkdir("\(base)/open", 0o777) == 0 && chmod("\(base)/open", 0o777) == 0)
        let loop = try EventLoop()
        let server = try ControlServer(path: nil, name: "r1", directories: ["\(base)/open", "\(base)/private"],
                                       loop: loop, logger: Logger(label: "test"))
        #expect(server.path == "\(base)/private/r1.sock")
    }

    @Test func answersARequestAndRefusesGarbage() throws {
        defer { try? FileManager.default.removeItem(atPath: base) }
        let loop = try EventLoop()
        let server = try ControlServer(path: "\(base).sock", name: "x", directories: [], loop: loop, logger: Logger(label: "test"))
        defer { server.shutdown() }
        var seen: [ControlRequest] = []
        server.register("echo") { request, session in
            seen.append(request)
            session.reply(["report": request.report ?? ""])
        }
        let good = connectClient(server.path), bad = connectClient(server.path), unknown = connectClient(server.path)
        defer { close(good); close(bad); close(unknown) }
        _ = send(good, "{\"command\":\"echo\",", 18, 0)  // half a request: nothing yet
        _ = send(bad, "nonsense\n", 9, 0)
        _ = send(unknown, "{\"command\":\"nope\"}\n", 19, 0)
        try spin(loop, 50)
        #expect(seen.isEmpty)
        _ = send(good, "\"report\":\"r\"}\n", 14, 0)
        try spin(loop)
        #expect(seen == [ControlRequest(command: "echo", report: "r")])
        #expect(readAll(good) == "{\"ok\":true,\"result\":{\"report\":\"r\"},\"version\":1}\n")
        #expect(readAll(bad) == "{\"error\":\"request is not a JSON object\",\"ok\":false,\"version\":1}\n")
        #expect(readAll(unknown) == "{\"error\":\"unknown command \\\"nope\\\"\",\"ok\":false,\"version\":1}\n")
        try spin(loop, 20)
        #expect(server.sessionCount == 0)
    }

    @Test func keepsALiveSocketOfTheSameNameAndReplacesAStaleOne() throws {
        defer { try? FileManager.default.removeItem(atPath: base) }
        let loop = try EventLoop()
        let first = try ControlServer(path: nil, name: "r", directories: ["\(base)/a", "\(base)/b"], loop: loop,
                                      logger: Logger(label: "test"))
        #expect(throws: SystemError.self) {
            _ = try ControlServer(path: nil, name: "r", directories: ["\(base)/a", "\(base)/b"], loop: loop,
                                  logger: Logger(label: "test"))
        }
        // A socket file nobody listens on (a crashed router's) is replaced.
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = UnixAddress("\(base)/a/s.sock")!
        #expect(address.withSockaddr { bind(stale, $0, $1) } == 0)
        close(stale)
        let second = try ControlServer(path: nil, name: "s", directories: ["\(base)/a"], loop: loop, logger: Logger(label: "test"))
        #expect(second.path == "\(base)/a/s.sock")
        first.shutdown()
        second.shutdown()
    }

    @Test func aClientThatDoesNotReadFillsOnlyItsOwnBoundedQueue() throws {
        defer { try? FileManager.default.removeItem(atPath: base) }
        let loop = try EventLoop()
        let server = try ControlServer(path: "\(base).sock", name: "x", directories: [], loop: loop, logger: Logger(label: "test"))
        defer { server.shutdown() }
        var refused = 0
        var session: ControlSession?
        server.register("flood") { _, s in
            session = s
            s.outputLimit = 1 << 20
            s.startStream("bytes")
            let chunk = [UInt8](repeating: 0x41, count: 64 * 1024)
            for _ in 0..<64 where !s.send(chunk) { refused += 1 }
        }
        let client = connectClient(server.path)
        defer { close(client) }
        _ = send(client, "{\"command\":\"flood\"}\n", 20, 0)
        try spin(loop)
        // 4 MiB offered, the socket buffer took some, the queue stayed within its limit.
        #expect(refused > 0)
        #expect(session.map { $0.queuedBytes <= 1 << 20 } == true)
        close(client)
        try spin(loop, 50)
        #expect(session?.isClosed == true)
        #expect(server.sessionCount == 0)
    }
}

/// Descriptors sent with a request (SCM_RIGHTS) reach the handler, as `exec` needs them.
@Suite struct ControlDescriptorTests {
    @Test func descriptorsSentWithTheRequestReachTheHandler() throws {
        let path = NSTemporaryDirectory() + "srouter-control-fds-\(getpid()).sock"
        let loop = try EventLoop()
        let server = try ControlServer(path: path, name: "x", directories: [], loop: loop, logger: Logger(label: "test"))
        defer { server.shutdown() }
        var received: [Int32] = []
        server.register("take") { _, session in
            received = session.takeDescriptors()
            session.reply(["count": received.count])
        }
        var pipeEnds: [Int32] = [0, 0]
        #expect(pipe(&pipeEnds) == 0)
        defer { close(pipeEnds[0]); close(pipeEnds[1]) }
        let client = connectedClient(path)
        defer { close(client) }
        #expect(client >= 0)
        let line = Array("{\"command\":\"take\"}\n".utf8)
        let sent = DescriptorPassing.send(line, on: client, descriptors: [pipeEnds[1]])
        #expect(sent == line.count)
        loop.schedule(afterMilliseconds: 100) { loop.stop() }
        try loop.run()
        #expect(received.count == 1)
        // The handler's copy is the same pipe: what it writes, the read end sees.
        if let copy = received.first {
            #expect(write(copy, "x", 1) == 1)
            var byte: UInt8 = 0
            #expect(read(pipeEnds[0], &byte, 1) == 1 && byte == 0x78)
            close(copy)
        }
    }
}

/// A client that never sends its request is closed after the timeout, freeing its slot.
@Suite struct ControlTimeoutTests {
    @Test func anIdleClientIsClosedAfterTheRequestTimeout() throws {
        let path = NSTemporaryDirectory() + "srouter-control-idle-\(getpid()).sock"
        let loop = try EventLoop()
        let server = try ControlServer(path: path, name: "x", directories: [], loop: loop, logger: Logger(label: "test"))
        defer { server.shutdown() }
        server.requestTimeoutMilliseconds = 50
        let client = connectedClient(path, sending: "{\"comm")
        defer { close(client) }
        #expect(client >= 0)
        loop.schedule(afterMilliseconds: 20) { loop.stop() }
        try loop.run()
        #expect(server.sessionCount == 1)
        loop.schedule(afterMilliseconds: 100) { loop.stop() }
        try loop.run()
        #expect(server.sessionCount == 0)
        #expect(String(decoding: readAvailable(client), as: UTF8.self)
            == "{\"error\":\"no request within 50 ms\",\"ok\":false,\"version\":1}\n")
    }
}

/// A client that shuts its sending side: the end of stream ends the request line, and the
/// answer still arrives (`printf '{"command":…}' | socat - UNIX-CONNECT:…`).
@Suite struct ControlHalfCloseTests {
    @Test func endOfStreamEndsTheRequestAndTheAnswerStillArrives() throws {
        let path = NSTemporaryDirectory() + "srouter-control-half-\(getpid()).sock"
        let loop = try EventLoop()
        let server = try ControlServer(path: path, name: "x", directories: [], loop: loop, logger: Logger(label: "test"))
        defer { server.shutdown() }
        server.register("ping") { _, session in session.reply(["pong": true]) }
        var clients: [Int32] = []
        for request in ["{\"command\":\"ping\"}", "{\"command\":\"ping\"}\n", "not json"] {
            let fd = connectedClient(path, sending: request)
            #expect(shutdown(fd, Int32(SHUT_WR)) == 0)
            clients.append(fd)
        }
        defer { clients.forEach { close($0) } }
        loop.schedule(afterMilliseconds: 100) { loop.stop() }
        try loop.run()
        let answers = clients.map { String(decoding: readAvailable($0), as: UTF8.self) }
        #expect(answers == [
            "{\"ok\":true,\"result\":{\"pong\":true},\"version\":1}\n",
            "{\"ok\":true,\"result\":{\"pong\":true},\"version\":1}\n",
            "{\"error\":\"request is not a JSON object\",\"ok\":false,\"version\":1}\n",
        ])
        #expect(server.sessionCount == 0)
    }
}
