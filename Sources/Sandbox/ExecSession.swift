import CSRouterLinux
import Glibc
import Logging
import LinuxABI

/// One `srouter exec` command inside a running router: a further guest under the same
/// seccomp filter, served by the same handlers (so it sees the same interfaces, routes and
/// sockets — a `ping` across a tunnel, an `ip route`, a `birdc` to the BIRD already there),
/// with the client's standard descriptors and working directory.
///
/// Like the main guest it has a guard process of its own, which kills whatever the command
/// leaves behind once it exits, and whatever is left if srouter dies. srouter, as the
/// guard's parent, reaps the guard (`Supervisor` reaps every child).
public final class ExecSession {
    /// The command's process.
    public var pid: pid_t { guest.pid }
    /// The guard process, ancestor of every process the command starts.
    public var guardPID: pid_t { guest.guardPID }
    /// Whether the command has exited (and `onExit` has run).
    public private(set) var hasExited = false

    private let guest: GuestProcess
    private let notifications: NotificationLoop
    private let loop: EventLoop
    private let logger: Logger
    private let command: String
    private var execFailure: LinuxErrno?
    private var onExit: ((Int32) -> Void)?

    /// Starts `arguments` (argv[0] found on the `PATH` of `environment`) under `filter` with
    /// `stdio` as its descriptors 0, 1 and 2 and `directory` as its working directory;
    /// `configure` routes the trapped calls of its notification loop (the same handlers as
    /// the main guest's). `onExit` receives the shell-style status: the command's, 128+N for
    /// signal N, 126/127 when it cannot be executed.
    public init(arguments: [String], environment: [String], directory: String?, stdio: [Int32],
                filter: CompiledFilter, loop: EventLoop, logger: Logger,
                configure: (NotificationLoop) -> Void, onExit: @escaping (Int32) -> Void) throws {
        precondition(!arguments.isEmpty && stdio.count == 3)
        let path = environment.first { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) }
        let executable = try GuestLauncher.resolve(arguments[0], path: path)
        self.loop = loop
        self.logger = logger
        self.command = arguments.joined(separator: " ")
        self.onExit = onExit
        guest = try GuestLauncher.launch(executable: executable, arguments: arguments, environment: environment,
                                         filter: filter, stdio: stdio, directory: directory)
        notifications = NotificationLoop(listener: guest.listener, logger: logger)
        SocketCallHandler().install(on: notifications)
        InterfaceIoctlHandler().install(on: notifications)
        configure(notifications)
        try notifications.attach(to: loop)
        try loop.register(guest.statusPipe) { [weak self] _ in self?.readRecords() }
        logger.info("exec started", metadata: ["pid": "\(guest.pid)", "command": "\(command)"])
    }

    deinit {
        if !hasExited {
            loop.unregister(guest.statusPipe)
            guest.killAll()
        }
        close(guest.statusPipe)
        close(guest.pidfd)
    }

    /// Sends `signal` to the command's process.
    public func signal(_ signal: Int32) {
        guard !hasExited else { return }
        _ = srouter_pidfd_send_signal(guest.pidfd, signal)
    }

    /// Kills the command and everything it started (the client went away).
    public func terminate() {
        guard !hasExited else { return }
        logger.info("exec stopped: its client went away", metadata: ["pid": "\(guest.pid)"])
        guest.killAll()
    }

    private func readRecords() {
        var record = srouter_launch_record()
        let count = withUnsafeMutableBytes(of: &record) { read(guest.statusPipe, $0.baseAddress, $0.count) }
        if count <= 0 {
            // The guard is gone: its records are over.
            finish(status: execFailure.map { $0 == .ENOENT ? 127 : 126 } ?? 125)
            return
        }
        switch UInt32(record.kind) {
        case SROUTER_LAUNCH_FAILED.rawValue where UInt32(record.stage) == SROUTER_STAGE_EXEC.rawValue:
            execFailure = LinuxErrno(rawValue: record.value)
        case SROUTER_LAUNCH_FAILED.rawValue:
            let reason = String(cString: strerror(record.value))
            logger.error("exec \(command): cannot start (\(GuestLauncher.stageName(record.stage))): \(reason)")
        case SROUTER_LAUNCH_REAPED.rawValue where record.pid == guest.pid:
            if let failure = execFailure {
                logger.error("exec \(command): cannot execute: \(String(cString: strerror(failure.rawValue)))")
                finish(status: failure == .ENOENT ? 127 : 126)
            } else {
                logger.info("exec exited", metadata: ["pid": "\(record.pid)",
                                                      "status": "\(Supervisor.describe(record.value))"])
                finish(status: Supervisor.exitCode(fromWaitStatus: record.value))
            }
        default:
            break
        }
    }

    private func finish(status: Int32) {
        guard !hasExited else { return }
        hasExited = true
        loop.unregister(guest.statusPipe)
        guest.killAll()  // what the command left behind goes with it
        let callback = onExit
        onExit = nil
        callback?(status)
    }
}
