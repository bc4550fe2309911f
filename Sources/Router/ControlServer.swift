import CSRouterLinux
import Glibc
import Logging
import Sandbox

/// srouter's control socket: a unix stream socket, owner-only (the socket 0600 in a 0700
/// directory), served on srouter's event loop. Each connection carries one request
/// (`ControlProtocol`), handed to the handler registered for its command.
///
/// Nothing a client does can stall the router: reads and writes are non-blocking, a request
/// is bounded (`ControlRequest.maximumLength`) and must arrive within 10 seconds, garbage
/// gets an error and a close, and a client that does not read its answer only fills its own
/// bounded queue (`ControlSession`).
public final class ControlServer {
    /// Serves one request; the handler answers through `session` now or later.
    public typealias Handler = (_ request: ControlRequest, _ session: ControlSession) -> Void

    /// The socket's path.
    public let path: String
    private let listener: Int32
    private let loop: EventLoop
    private let logger: Logger
    private var handlers: [String: Handler] = [:]
    private var sessions: [Int32: ControlSession] = [:]
    private var isShutDown = false

    /// Whether a client (by the pid SO_PEERCRED gives) must be refused: the guest runs as
    /// srouter's uid, so the socket's permissions let it in, but a guest must not capture
    /// the tunnels' traffic or drive its own router. srouter sets this to "descends from the
    /// guard".
    public var refusesClient: ((pid_t) -> Bool)?

    /// How long a client may take to send its request (default 10 s).
    public var requestTimeoutMilliseconds: UInt64 = 10_000

    /// The most clients served at once; more are accepted and closed at once.
    public static let maximumSessions = 64

    /// Where `NAME.sock` goes when no `--control PATH` is given, in order: the system run
    /// directories (when srouter may write them), `$XDG_RUNTIME_DIR/srouter`, then
    /// `/tmp/srouter-UID` (as `UAPIServer.candidateDirectories` does for WireGuard).
    public static func candidateDirectories(environment: [String: String]) -> [String] {
        var directories = ["/run/srouter", "/var/run/srouter"]
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            directories.append("\(runtime)/srouter")
        }
        directories.append("/tmp/srouter-\(getuid())")
        return directories
    }

    /// Listens at `path` (its directory as it is), or when nil at `NAME.sock` in the first
    /// usable directory of `directories` (made 0700); logs one notice when that is not the
    /// first.
    public init(path: String?, name: String, directories: [String], loop: EventLoop, logger: Logger) throws {
        self.loop = loop
        self.logger = logger
        var lastError = SystemError("bind", errno: ENOENT)
        var firstError: SystemError?
        var chosen: (String, Int32)?
        let candidates = path.map { [($0, Self.parent(of: $0))] } ?? directories.map { ("\($0)/\(name).sock", $0) }
        for (candidate, directory) in candidates {
            do {
                // An explicit path's directory is the operator's choice; ours must be private.
                if path == nil { try Self.makePrivateDirectory(directory) }
                chosen = (candidate, try Self.listen(at: candidate))
                break
            } catch let error as SystemError {
                // A live socket of another router with this name: never fall back past it.
                if error.errno == .EADDRINUSE { throw error }
                lastError = error
                if firstError == nil { firstError = error }
            }
        }
        guard let (chosenPath, fd) = chosen else { throw lastError }
        self.path = chosenPath
        listener = fd
        if path == nil, chosenPath != candidates.first?.0 {
            // Expected for an unprivileged user (the clients look in the same places): info,
            // not notice, so it does not add a line to every run.
            logger.info("control socket is \(chosenPath) (\(candidates.first!.1): \(firstError.map { "\($0)" } ?? "unusable"))")
        }
        try loop.register(listener) { [weak self] _ in self?.accept() }
        logger.info("control socket listening", metadata: ["path": "\(chosenPath)"])
    }

    deinit { shutdown() }

    /// Serves requests whose `command` is `command` with `handler`.
    public func register(_ command: String, handler: @escaping Handler) {
        handlers[command] = handler
    }

    /// Stops listening, ends every session and removes the socket file (also at deinit).
    public func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        loop.unregister(listener)
        close(listener)
        for session in sessions.values { session.close() }
        sessions.removeAll()
        unlink(path)
    }

    /// Sessions open now.
    public var sessionCount: Int { sessions.count }

    // MARK: - Connections

    private func accept() {
        let fd = srouter_accept_nonblocking(listener)
        guard fd >= 0 else { return }
        guard sessions.count < Self.maximumSessions else {
            _ = ControlJSON.error("too many clients").withUnsafeBytes {
                send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            Glibc.close(fd)
            return
        }
        let session = ControlSession(fd: fd, loop: loop, logger: logger)
        if let refusesClient, refusesClient(session.peer.pid) {
            logger.notice("control socket: refused a guest process", metadata: ["pid": "\(session.peer.pid)"])
            _ = ControlJSON.error("not served to the guest").withUnsafeBytes {
                send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            session.close()
            return
        }
        session.onRequest = { [unowned self] request, session in self.dispatch(request, session) }
        session.onClose = { [weak self] session in self?.sessions[session.fd] = nil }
        sessions[fd] = session
        do {
            try session.start(requestTimeoutMilliseconds: requestTimeoutMilliseconds)
        } catch {
            sessions[fd] = nil
            session.close()
        }
    }

    private func dispatch(_ request: ControlRequest, _ session: ControlSession) {
        guard let handler = handlers[request.command] else {
            session.fail("unknown command \"\(request.command)\"")
            return
        }
        handler(request, session)
    }

    // MARK: - The socket file

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Creates `path` (and a missing parent) with mode 0700, or accepts it if it exists, is
    /// a directory of ours and nobody else may write it (a directory in /tmp that another
    /// user made first is refused).
    static func makePrivateDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0 {
            let error = errno
            if error == ENOENT {
                let parent = Self.parent(of: path)
                guard mkdir(parent, 0o700) == 0 || errno == EEXIST, mkdir(path, 0o700) == 0 || errno == EEXIST else {
                    throw SystemError("mkdir(\(path))", errno: errno)
                }
            } else if error != EEXIST {
                throw SystemError("mkdir(\(path))", errno: error)
            }
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { throw SystemError("lstat(\(path))", errno: errno) }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw SystemError("mkdir(\(path))", errno: ENOTDIR) }
        guard info.st_uid == getuid() || path == "/" || path == "." else {
            throw SystemError("mkdir(\(path)): owned by uid \(info.st_uid)", errno: EPERM)
        }
        if info.st_uid == getuid() && info.st_mode & 0o022 != 0 {
            throw SystemError("mkdir(\(path)): writable by others", errno: EPERM)
        }
    }

    private static func listen(at path: String) throws -> Int32 {
        guard var address = UnixAddress(path) else { throw SystemError("bind(\(path))", errno: ENAMETOOLONG) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                        | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket(AF_UNIX)", errno: errno) }
        // A socket left by an earlier run that nobody serves any more is replaced; a live one
        // (another router with this name) is not.
        if address.refusesConnections { unlink(path) }
        // Created 0600 from the start: no moment where another user could connect.
        let mask = umask(0o177)
        let rc = address.withSockaddr { bind(fd, $0, $1) }
        umask(mask)
        guard rc == 0, Glibc.listen(fd, 16) == 0 else {
            let error = errno
            close(fd)
            let what = error == EADDRINUSE ? "bind(\(path)) (another router with this name?)" : "bind(\(path))"
            throw SystemError(what, errno: error)
        }
        return fd
    }
}

/// A `sockaddr_un` for a path.
struct UnixAddress {
    private var address = sockaddr_un()

    /// nil when the path does not fit `sun_path`.
    init?(_ path: String) {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
    }

    /// Calls `body` with the address as a `sockaddr` and its length.
    mutating func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// Whether the path is a socket nobody listens on (its server is gone).
    var refusesConnections: Bool {
        mutating get {
            let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            defer { close(probe) }
            let rc = withSockaddr { connect(probe, $0, $1) }
            return rc != 0 && errno == ECONNREFUSED
        }
    }
}
