import CSRouterLinux
import Glibc
import Logging
import Sandbox

/// Serves the WireGuard cross-platform UAPI on a unix socket, so the stock `wg show NAME` and
/// `wg set NAME …` talk to srouter as they talk to wireguard-go.
///
/// The socket goes where `wg` looks: `/var/run/wireguard/NAME.sock`. A user who cannot create
/// it there gets `$XDG_RUNTIME_DIR/wireguard/NAME.sock` (or `/tmp/srouter-UID/wireguard/`) and
/// one notice line, never a refusal to start. Connections are served on srouter's event loop;
/// the text protocol itself is the handler's.
public final class UAPIServer {
    /// Answers the bytes a client sent so far: returns the response to write, or `nil` while
    /// the request is incomplete. `close` is true when the connection should end (garbage).
    public typealias Handler = (_ connection: Int32, _ bytes: [UInt8]) -> (response: [UInt8], close: Bool)?

    /// The socket's path.
    public let path: String
    private let listener: Int32
    private let loop: EventLoop
    private let logger: Logger
    private let handler: Handler
    private var pending: [Int32: [UInt8]] = [:]

    /// Whether a client (by its SO_PEERCRED pid) must be refused: srouter refuses the guest's
    /// processes, which run as its uid and could otherwise read the private key or change
    /// the peers.
    public var refusesClient: ((pid_t) -> Bool)?

    /// The most bytes buffered for one unfinished request (a `set` of a full peer list fits).
    public static let maximumRequest = 1 << 20

    /// Where the socket for interface `name` goes: the first directory of `candidates` that
    /// can be created (mode 0755 for the system one, 0700 for the per-user ones).
    public static func candidateDirectories(environment: [String: String] = [:]) -> [String] {
        var directories = ["/var/run/wireguard"]
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            directories.append("\(runtime)/wireguard")
        }
        directories.append("/tmp/srouter-\(getuid())/wireguard")
        return directories
    }

    /// Listens for interface `name` in the first usable directory.
    public init(name: String, directories: [String], loop: EventLoop, logger: Logger,
                handler: @escaping Handler) throws {
        self.loop = loop
        self.logger = logger
        self.handler = handler
        var lastError = SystemError("bind", errno: ENOENT)
        var chosen: (String, Int32)?
        for directory in directories {
            do {
                try Self.makeDirectory(directory)
                let path = "\(directory)/\(name).sock"
                chosen = (path, try Self.listen(at: path))
                break
            } catch let error as SystemError {
                lastError = error
            }
        }
        guard let (path, fd) = chosen else { throw lastError }
        self.path = path
        listener = fd
        if path != "\(directories[0])/\(name).sock" {
            logger.notice("""
                cannot write \(directories[0]); UAPI socket for \(name) is \(path) \
                (the stock wg tool looks only in \(directories[0]))
                """)
        }
        try loop.register(listener) { [weak self] _ in self?.accept() }
    }

    deinit { shutdown() }

    private var isShutDown = false

    /// Stops listening and removes the socket file (also done at deinit).
    public func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        loop.unregister(listener)
        close(listener)
        for fd in pending.keys { loop.unregister(fd); close(fd) }
        pending.removeAll()
        unlink(path)
    }

    private func accept() {
        let fd = srouter_accept_nonblocking(listener)
        guard fd >= 0 else { return }
        let pid = PeerCredentials(of: fd).pid
        if let refusesClient, refusesClient(pid) {
            logger.notice("UAPI socket: refused a guest process", metadata: ["pid": "\(pid)"])
            close(fd)
            return
        }
        pending[fd] = []
        do {
            try loop.register(fd) { [weak self] _ in self?.read(fd) }
        } catch {
            close(fd)
            pending[fd] = nil
        }
    }

    private func read(_ fd: Int32) {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let n = Glibc.read(fd, &chunk, chunk.count)
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
        if n <= 0 {
            finish(fd)
            return
        }
        pending[fd, default: []] += chunk.prefix(n)
        guard let buffered = pending[fd], buffered.count <= Self.maximumRequest else {
            finish(fd)
            return
        }
        guard let (response, close) = handler(fd, buffered) else { return }
        pending[fd] = []
        writeAll(fd, response)
        if close { finish(fd) }
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        var attempts = 0
        while offset < bytes.count && attempts < 1000 {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                offset += n
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                attempts += 1
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&poller, 1, 10)
            } else {
                return
            }
        }
    }

    private func finish(_ fd: Int32) {
        loop.unregister(fd)
        close(fd)
        pending[fd] = nil
    }

    private static func makeDirectory(_ path: String) throws {
        if mkdir(path, path.hasPrefix("/var/run") ? 0o755 : 0o700) != 0 && errno != EEXIST {
            // Create the parents of a per-user directory (e.g. /tmp/srouter-UID).
            let parent = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
            if errno == ENOENT, !parent.isEmpty, mkdir(parent, 0o700) == 0 || errno == EEXIST,
               mkdir(path, 0o700) == 0 || errno == EEXIST {
                return
            }
            throw SystemError("mkdir(\(path))", errno: errno)
        }
    }

    private static func listen(at path: String) throws -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SystemError("bind(\(path))", errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                        | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket(AF_UNIX)", errno: errno) }
        // A socket left by a previous run that nobody listens on any more is replaced.
        if Self.isStale(path) { unlink(path) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0, Glibc.listen(fd, 16) == 0 else {
            let error = errno
            close(fd)
            throw SystemError("bind(\(path))", errno: error)
        }
        chmod(path, 0o600)
        return fd
    }

    /// Whether `path` is a socket that refuses connections (its server is gone).
    private static func isStale(_ path: String) -> Bool {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(probe) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return rc != 0 && errno == ECONNREFUSED
    }
}
