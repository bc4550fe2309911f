import ArgumentParser
import Foundation
import Glibc
import Router

/// `--router NAME` / `--control PATH`: which running router a client command talks to.
struct RouterSelection: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The router's name (its 'srouter run --name'; default srouter).", valueName: "name"))
    var router = "srouter"

    @Option(name: .long, help: ArgumentHelp(
        "The control socket's path (instead of finding NAME.sock).", valueName: "path"))
    var control: String?

    /// The socket path: `--control`, else the first `NAME.sock` that exists in the server's
    /// candidate directories (the server picks the first it can write, in the same order).
    func path() throws -> String {
        if let control { return control }
        let directories = ControlServer.candidateDirectories(environment: ProcessInfo.processInfo.environment)
        var forbidden: [String] = []
        for directory in directories {
            let candidate = "\(directory)/\(router).sock"
            var info = stat()
            if stat(candidate, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK { return candidate }
            if errno == EACCES { forbidden.append(directory) }
        }
        if let directory = forbidden.first {
            throw ControlClientError(message: "cannot look in \(directory): permission denied "
                + "(the router runs as another user? run as that user or root)")
        }
        throw ControlClientError(message: "no router named \(router) (looked for \(router).sock in "
            + directories.joined(separator: ", ") + "); is 'srouter run --name \(router)' running?")
    }
}

/// A client failure, printed as `srouter: MESSAGE` with exit status 1.
struct ControlClientError: Error, CustomStringConvertible {
    /// What went wrong.
    var message: String
    /// The message.
    var description: String { message }
}

/// One connection to a router's control socket: sends a request, reads the header line,
/// then the result or the stream (see `ControlProtocol`).
final class ControlClient {
    /// The connection.
    let fd: Int32
    private var buffered: [UInt8] = []

    /// Connects to `path`.
    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlClientError(message: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw ControlClientError(message: "\(path): path too long for a unix socket")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw ControlClientError(message: "cannot connect to \(path): \(message)")
        }
    }

    deinit { close(fd) }

    /// Sends `request`.
    func send(_ request: ControlRequest) throws {
        try sendRaw(request.line)
    }

    /// Sends `request` with `descriptors` attached (SCM_RIGHTS), as `exec` sends the client's
    /// standard input, output and error.
    func send(_ request: ControlRequest, descriptors: [Int32]) throws {
        let line = request.line
        let sent = DescriptorPassing.send(line, on: fd, descriptors: descriptors)
        guard sent == line.count else {
            throw ControlClientError(message: "control socket: \(sent < 0 ? String(cString: strerror(errno)) : "short write")")
        }
    }

    /// Sends bytes as they are (tests of bad requests).
    func sendRaw(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ControlClientError(message: "control socket: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// Reads up to 64 KiB; empty at end of stream. Waits at most `timeout` ms (nil: forever),
    /// then throws; `interrupted` is polled every 200 ms and ends the wait with an empty read.
    func read(timeout: Int32? = 10_000, interrupted: () -> Bool = { false }) throws -> [UInt8] {
        if !buffered.isEmpty {
            defer { buffered = [] }
            return buffered
        }
        var waited: Int32 = 0
        while true {
            if interrupted() { return [] }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 200)
            if ready > 0 { break }
            waited += 200
            if let timeout, waited >= timeout { throw ControlClientError(message: "the router did not answer in \(timeout / 1000) s") }
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = Glibc.read(fd, &chunk, chunk.count)
        if n < 0 {
            if errno == EINTR { return try read(timeout: timeout, interrupted: interrupted) }
            throw ControlClientError(message: "control socket: \(String(cString: strerror(errno)))")
        }
        return Array(chunk.prefix(n))
    }

    /// What arrived after the header and has not been read yet.
    func takeBuffered() -> [UInt8] {
        defer { buffered = [] }
        return buffered
    }

    /// Reads the header line; what came after it is kept for the next `read`.
    func readHeader() throws -> [UInt8] {
        var line: [UInt8] = []
        while true {
            let chunk = try read()
            guard !chunk.isEmpty else { throw ControlClientError(message: "the router closed the connection without an answer") }
            line += chunk
            if let newline = line.firstIndex(of: 10) {
                buffered = Array(line[(newline + 1)...])
                return Array(line[...newline])
            }
            guard line.count < 256 << 20 else { throw ControlClientError(message: "answer header too long") }
        }
    }

    /// Reads the header, checks `ok`, and decodes it with its result; throws the router's error.
    func readResult<Result: Codable>(_ type: Result.Type) throws -> Result {
        let header = try readHeader()
        let status = try decodeStatus(header)
        guard status.ok else { throw ControlClientError(message: status.error ?? "the router refused the request") }
        do {
            let decoded = try JSONDecoder().decode(ControlHeader<Result>.self, from: Data(header))
            guard let result = decoded.result else { throw ControlClientError(message: "the answer has no result") }
            return result
        } catch let error as ControlClientError {
            throw error
        } catch {
            throw ControlClientError(message: "cannot read the router's answer: \(error)")
        }
    }

    /// Reads the header of a stream answer and checks it announces `stream`.
    func readStreamHeader(_ stream: String) throws {
        let status = try decodeStatus(try readHeader())
        guard status.ok else { throw ControlClientError(message: status.error ?? "the router refused the request") }
        guard status.stream == stream else { throw ControlClientError(message: "expected a \(stream) stream") }
    }

    private func decodeStatus(_ header: [UInt8]) throws -> ControlStatus {
        do {
            return try JSONDecoder().decode(ControlStatus.self, from: Data(header))
        } catch {
            throw ControlClientError(message: "not a control socket answer: \(String(decoding: header.prefix(200), as: UTF8.self))")
        }
    }
}

/// Prints `value` as pretty JSON with sorted keys (`--json`).
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
