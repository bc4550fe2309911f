import CCap
import CSRouterLinux
import Glibc
import LinuxABI

/// Why a guest could not be started. Each maps to the exit status a shell would use.
public enum LaunchError: Error, CustomStringConvertible {
    /// No such command on PATH or at that path (exit 127).
    case commandNotFound(String)
    /// The file exists but cannot be executed (exit 126).
    case notExecutable(String, LinuxErrno)
    /// A step of the launch failed (exit 125 for srouter's own failures).
    case failed(stage: String, SystemError)

    /// The exit status srouter reports for this failure, as shells and `env` do.
    public var exitStatus: Int32 {
        switch self {
        case .commandNotFound: 127
        case .notExecutable: 126
        case .failed: 125
        }
    }

    public var description: String {
        switch self {
        case .commandNotFound(let command): "\(command): command not found"
        case .notExecutable(let path, let errno):
            "\(path): cannot execute: \(String(cString: strerror(errno.rawValue)))"
        case .failed(let stage, let error): "cannot start the guest (\(stage)): \(error)"
        }
    }
}

/// A started guest: the guard process, the guest's main process and the seccomp listener
/// taken from it.
public final class GuestProcess {
    /// The guard (launcher.c): subreaper of the guest's processes.
    public let guardPID: pid_t
    /// The guest's main process (CMD).
    public let pid: pid_t
    /// A pidfd for `pid`, so signals never reach a recycled pid.
    public let pidfd: Int32
    /// The seccomp user-notification listener.
    public let listener: Int32
    /// Records from the launcher and guard (`srouter_launch_record`), read end.
    public let statusPipe: Int32
    /// Commands to the guard, write end; closing it makes the guard kill every guest process.
    public private(set) var controlPipe: Int32
    /// Whether the guest took over the terminal's foreground process group.
    public let tookTerminal: Bool

    init(guardPID: pid_t, pid: pid_t, pidfd: Int32, listener: Int32, statusPipe: Int32,
         controlPipe: Int32, tookTerminal: Bool) {
        self.guardPID = guardPID
        self.pid = pid
        self.pidfd = pidfd
        self.listener = listener
        self.statusPipe = statusPipe
        self.controlPipe = controlPipe
        self.tookTerminal = tookTerminal
    }

    /// Asks the guard to send `signal` to each of its children (the guest's main process and
    /// the orphans it adopted).
    public func signalAll(_ signal: Int32) {
        guard controlPipe >= 0 else { return }
        var command: (Int32, Int32) = (Int32(SROUTER_GUARD_SIGNAL.rawValue), signal)
        _ = withUnsafeBytes(of: &command) { Glibc.write(controlPipe, $0.baseAddress, $0.count) }
    }

    /// Closes the control pipe: the guard SIGKILLs every remaining guest process and exits.
    public func killAll() {
        guard controlPipe >= 0 else { return }
        close(controlPipe)
        controlPipe = -1
    }
}

/// Starts a command as a sandboxed guest (see launcher.c for the steps in the child).
public enum GuestLauncher {
    /// Finds `command` as execvp(3) would: a name with a slash is a path; otherwise each
    /// directory of `PATH` (default `/usr/local/bin:/usr/bin:/bin` plus sbin dirs) in turn.
    public static func resolve(_ command: String,
                               path: String? = getenv("PATH").map { String(cString: $0) })
        throws -> String
    {
        if command.isEmpty { throw LaunchError.commandNotFound(command) }
        if command.contains("/") {
            try checkExecutable(command)
            return command
        }
        let directories = (path ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .split(separator: ":", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "." : String($0) }
        var denied: LinuxErrno?
        for directory in directories {
            let candidate = "\(directory)/\(command)"
            var info = stat()
            guard stat(candidate, &info) == 0, info.st_mode & S_IFMT != S_IFDIR else { continue }
            if access(candidate, X_OK) == 0 { return candidate }
            denied = .EACCES
        }
        if let denied { throw LaunchError.notExecutable(command, denied) }
        throw LaunchError.commandNotFound(command)
    }

    private static func checkExecutable(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw LaunchError.commandNotFound(path) }
            throw LaunchError.notExecutable(path, LinuxErrno(rawValue: errno))
        }
        if info.st_mode & S_IFMT == S_IFDIR { throw LaunchError.notExecutable(path, .EISDIR) }
        if access(path, X_OK) != 0 { throw LaunchError.notExecutable(path, .EACCES) }
    }

    /// Forks the guard and the guest, installs `filter` in the guest and takes its listener.
    /// - Parameters:
    ///   - executable: a path from `resolve(_:)`.
    ///   - arguments: argv, including argv[0].
    ///   - environment: `NAME=value` strings.
    ///   - stdio: descriptors to become the guest's 0, 1 and 2 (`srouter exec` passes its
    ///     client's); nil: srouter's own, and the terminal is handed over if srouter has it.
    ///   - directory: the guest's working directory (nil: srouter's).
    public static func launch(executable: String, arguments: [String], environment: [String],
                              filter: CompiledFilter, stdio: [Int32]? = nil,
                              directory: String? = nil) throws -> GuestProcess {
        let status = try pipePair()
        let ack = try pipePair()
        let control = try pipePair()
        var ownEnds = [status.read, ack.write, control.write]
        var childEnds = [status.write, ack.read, control.read]
        defer { (childEnds + ownEnds).forEach { if $0 >= 0 { close($0) } } }

        let giveTerminal = stdio == nil && isatty(0) == 1 && tcgetpgrp(0) == getpgrp()
        let standard = stdio ?? [-1, -1, -1]
        precondition(standard.count == 3, "stdio: three descriptors")
        let argv = CStringArray(arguments)
        let envp = CStringArray(environment)
        defer { argv.free(); envp.free() }

        var policy = filter.instructions
        var refusals = filter.refusals
        let guardPID: pid_t = try policy.withUnsafeMutableBufferPointer { policy in
            try refusals.withUnsafeMutableBufferPointer { refusals in
                var spec = srouter_launch_spec()
                spec.refusals = sock_fprog(len: UInt16(refusals.count),
                                           filter: refusals.baseAddress)
                spec.filter = sock_fprog(len: UInt16(policy.count), filter: policy.baseAddress)
                spec.argv = UnsafePointer(argv.pointer)
                spec.envp = UnsafePointer(envp.pointer)
                spec.give_terminal = giveTerminal ? 1 : 0
                spec.terminal_fd = 0
                spec.last_cap = Int32(cap_max_bits()) - 1
                spec.status_fd = status.write
                spec.ack_fd = ack.read
                spec.control_fd = control.read
                spec.stdio_fds = (standard[0], standard[1], standard[2])
                return try executable.withCString { path in
                    spec.path = path
                    guard let directory else { return try checkingNegativeErrno("fork", srouter_spawn_guest(&spec)) }
                    return try directory.withCString { cwd in
                        spec.directory = cwd
                        return try checkingNegativeErrno("fork", srouter_spawn_guest(&spec))
                    }
                }
            }
        }
        childEnds.forEach { close($0) }
        childEnds = []

        // The launcher reports READY (or FAILED) within moments; bound the wait anyway.
        let record = try readRecord(status.read, timeoutMilliseconds: 30_000)
        guard record.kind == SROUTER_LAUNCH_READY.rawValue else {
            kill(guardPID, SIGKILL)
            throw LaunchError.failed(stage: stageName(record.stage),
                                     SystemError("launcher", errno: record.value))
        }
        let pidfd = srouter_pidfd_open(record.pid, 0)
        let listener = pidfd >= 0 ? srouter_pidfd_getfd(pidfd, record.value) : pidfd
        var go: UInt8 = listener >= 0 ? 1 : 0
        _ = write(ack.write, &go, 1)
        guard listener >= 0 else {
            if pidfd >= 0 { close(pidfd) }
            kill(guardPID, SIGKILL)
            throw LaunchError.failed(stage: "taking the seccomp listener",
                                     SystemError(pidfd >= 0 ? "pidfd_getfd" : "pidfd_open",
                                                 errno: -listener))
        }
        _ = fcntl(listener, F_SETFD, FD_CLOEXEC)
        let process = GuestProcess(guardPID: guardPID, pid: record.pid, pidfd: pidfd,
                                   listener: listener, statusPipe: status.read,
                                   controlPipe: control.write, tookTerminal: giveTerminal)
        ownEnds = [ack.write]  // the rest now belong to `process`
        return process
    }

    /// The guest's capability sets as libcap prints them (`"="` means none at all).
    public static func capabilityText(of pid: pid_t) -> String? {
        guard let caps = cap_get_pid(pid) else { return nil }
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        guard let text = cap_to_text(caps, nil) else { return nil }
        defer { cap_free(text) }
        return String(cString: text)
    }

    /// Reads one launcher record, waiting at most `timeoutMilliseconds`.
    static func readRecord(_ fd: Int32, timeoutMilliseconds: Int32) throws
        -> srouter_launch_record
    {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = try retryingEINTR("poll") { poll(&poller, 1, timeoutMilliseconds) }
        guard ready == 1 else { throw LaunchError.failed(stage: "waiting for the launcher",
                                                         SystemError("poll", errno: ETIMEDOUT)) }
        var record = srouter_launch_record()
        let count = try retryingEINTR("read") {
            withUnsafeMutableBytes(of: &record) { read(fd, $0.baseAddress, $0.count) }
        }
        guard count == MemoryLayout<srouter_launch_record>.size else {
            throw LaunchError.failed(stage: "waiting for the launcher",
                                     SystemError("read", errno: EPIPE))
        }
        return record
    }

    /// A human name for a `srouter_launch_stage`.
    public static func stageName(_ stage: Int32) -> String {
        switch UInt32(stage) {
        case SROUTER_STAGE_FORK.rawValue: "fork"
        case SROUTER_STAGE_PDEATHSIG.rawValue: "PR_SET_PDEATHSIG"
        case SROUTER_STAGE_SETPGID.rawValue: "setpgid"
        case SROUTER_STAGE_CAPS.rawValue: "dropping capabilities"
        case SROUTER_STAGE_NO_NEW_PRIVS.rawValue: "PR_SET_NO_NEW_PRIVS"
        case SROUTER_STAGE_SECCOMP.rawValue: "installing the seccomp filter"
        case SROUTER_STAGE_HANDOFF.rawValue: "handing over the seccomp listener"
        case SROUTER_STAGE_EXEC.rawValue: "execve"
        case SROUTER_STAGE_STDIO.rawValue: "standard descriptors and working directory"
        default: "stage \(stage)"
        }
    }

    private static func pipePair() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        try checkingNegativeErrno("pipe2", srouter_pipe_cloexec(&fds))
        return (fds[0], fds[1])
    }
}

/// A NULL-terminated array of C strings that lives until `free()`.
struct CStringArray {
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointer = .allocate(capacity: strings.count + 1)
        for (i, string) in strings.enumerated() { pointer[i] = strdup(string) }
        pointer[strings.count] = nil
    }

    func free() {
        for i in 0..<count { Glibc.free(pointer[i]) }
        pointer.deallocate()
    }
}
