import CSRouterLinux
import Foundation
import Glibc
import Logging
import LinuxABI

/// Runs one guest to completion: starts it, serves its trapped calls, forwards signals,
/// reaps, and reports the exit status srouter should exit with.
///
/// Process duties, as an init for one service (tini's, plus the sandbox's):
/// - srouter exits with the guest's status, or 128+N when the guest died of signal N;
/// - SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 are forwarded to the guest;
/// - as PID 1 it reaps every orphan that reaches it;
/// - a guest that daemonizes (its main process exits 0 and leaves children, as `bird`
///   without `-f` does) is served until its last process exits;
/// - a guest whose main process fails takes its leftover processes with it;
/// - if srouter dies, even by SIGKILL, the guard kills every guest process.
public final class Supervisor {
    /// The signals forwarded to the guest.
    public static let forwardedSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2]

    private let logger: Logger
    private let loop: EventLoop
    private let notifications: NotificationLoop
    private let guest: GuestProcess
    private let command: String
    private var signals: Int32 = -1
    private var mainStatus: Int32?
    private var exitCode: Int32 = 0
    private var execFailure: LinuxErrno?
    private var guardExited = false

    /// Blocks the signals srouter reads through its signalfd. Call first thing in `main`,
    /// before any thread exists, so that every thread inherits the mask.
    public static func blockSignals() {
        let all = forwardedSignals + [SIGCHLD, SIGTTOU, SIGTTIN]
        _ = all.withUnsafeBufferPointer { srouter_block_signals($0.baseAddress, Int32($0.count)) }
        signal(SIGPIPE, SIG_IGN)
    }

    /// Starts `arguments` (argv[0] resolved on PATH) under `filter` and prepares to serve it
    /// on `loop` (shared with the rest of srouter: WireGuard interfaces, control socket).
    /// `configure` installs further handlers (the guest's sockets) over the defaults.
    public init(arguments: [String], environment: [String], filter: CompiledFilter,
                loop: EventLoop, logger: Logger, configure: ((NotificationLoop) -> Void)? = nil) throws {
        self.logger = logger
        self.command = arguments[0]
        let executable = try GuestLauncher.resolve(arguments[0])
        self.loop = loop
        // The signalfd exists before the guest so that no SIGCHLD is missed.
        let watched = Self.forwardedSignals + [SIGCHLD]
        signals = try checkingNegativeErrno("signalfd", watched.withUnsafeBufferPointer {
            srouter_signalfd($0.baseAddress, Int32($0.count))
        })
        _ = srouter_become_subreaper()
        // A guest runs as srouter's uid: without this it could open /proc/<srouter>/mem.
        // The guard inherits it; the guest does not (execve makes it dumpable again).
        try checkingNegativeErrno("prctl(PR_SET_DUMPABLE)", srouter_make_undumpable())
        guest = try GuestLauncher.launch(executable: executable, arguments: arguments,
                                         environment: environment, filter: filter)
        notifications = NotificationLoop(listener: guest.listener, logger: logger)
        SocketCallHandler().install(on: notifications)
        InterfaceIoctlHandler().install(on: notifications)
        configure?(notifications)

        logger.info("guest started", metadata: [
            "pid": "\(guest.pid)", "command": "\(arguments.joined(separator: " "))"])
        if let caps = GuestLauncher.capabilityText(of: guest.pid) {
            logger.debug("guest capabilities: \(caps)", metadata: ["pid": "\(guest.pid)"])
            if caps != "=" { logger.warning("guest kept capabilities: \(caps)") }
        }
    }

    /// Serves the guest until it is done; returns the status srouter should exit with.
    public func run() throws -> Int32 {
        try notifications.attach(to: loop)
        try loop.register(signals) { [unowned self] _ in self.readSignals() }
        try loop.register(guest.statusPipe) { [unowned self] _ in self.readRecords() }
        try loop.run()
        return exitCode
    }

    /// The guard's pid: every guest process descends from it (it is their subreaper).
    public var guardPID: pid_t { guest.guardPID }

    /// Trapped calls served so far, by system call name.
    public var trappedCalls: [String: Int] {
        Dictionary(uniqueKeysWithValues: notifications.counts.map {
            (SyscallTable.name(of: $0.key), $0.value)
        })
    }

    // MARK: - Events

    private func readSignals() {
        var signo: Int32 = 0, sender: pid_t = 0, code: Int32 = 0
        while srouter_signalfd_read(signals, &signo, &sender, &code) == 0 {
            if signo == SIGCHLD {
                reapChildren()
            } else {
                forward(signo)
            }
        }
    }

    private func forward(_ signo: Int32) {
        let name = String(cString: strsignal(signo))
        if mainStatus == nil {
            logger.info("forwarding \(name) to the guest", metadata: ["pid": "\(guest.pid)"])
            _ = srouter_pidfd_send_signal(guest.pidfd, signo)
        } else {
            logger.info("forwarding \(name) to the guest's remaining processes")
            guest.signalAll(signo)
        }
    }

    /// Reaps srouter's own children: the guard, and any orphan that reached PID 1.
    private func reapChildren() {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { break }
            if pid == guest.guardPID {
                guardExited = true
                if mainStatus == nil {
                    // The guest's main process dies with the guard (PR_SET_PDEATHSIG); its
                    // orphans were reparented to srouter, a subreaper too.
                    logger.error("the guard process exited before the guest; stopping the guest")
                    finish(code: 125)
                }
            } else {
                logger.debug("reaped orphan", metadata: ["pid": "\(pid)"])
            }
        }
    }

    private func readRecords() {
        var record = srouter_launch_record()
        let count = withUnsafeMutableBytes(of: &record) {
            read(guest.statusPipe, $0.baseAddress, $0.count)
        }
        if count <= 0 {
            // The guard is gone; its reaping records are over.
            loop.unregister(guest.statusPipe)
            if mainStatus == nil {
                logger.error("the guard process exited before the guest; stopping the guest")
                finish(code: 125)
            }
            return
        }
        switch UInt32(record.kind) {
        case SROUTER_LAUNCH_FAILED.rawValue where UInt32(record.stage) == SROUTER_STAGE_EXEC.rawValue:
            let error = LinuxErrno(rawValue: record.value)
            execFailure = error
            logger.error("\(command): cannot execute: \(String(cString: strerror(error.rawValue)))")
        case SROUTER_LAUNCH_REAPED.rawValue:
            guestExited(pid: record.pid, status: record.value, othersRemain: record.stage != 0)
        default:
            break
        }
    }

    private func guestExited(pid: pid_t, status: Int32, othersRemain: Bool) {
        let code = Self.exitCode(fromWaitStatus: status)
        if pid == guest.pid {
            mainStatus = status
            if let failure = execFailure {
                finish(code: failure == .ENOENT ? 127 : 126)
                return
            }
            logger.info("guest exited", metadata: ["pid": "\(pid)", "status": "\(Self.describe(status))"])
            if code == 0 && othersRemain {
                logger.info("guest daemonized; serving its remaining processes until they exit")
                exitCode = 0
                return
            }
            if othersRemain { logger.info("stopping the guest's remaining processes") }
            finish(code: code)
        } else {
            logger.debug("guest process exited", metadata: ["pid": "\(pid)", "status": "\(Self.describe(status))"])
            if mainStatus != nil && !othersRemain {
                logger.info("the guest's last process exited")
                finish(code: exitCode)
            }
        }
    }

    /// Ends the run: the guard kills whatever guest process is left, the terminal is handed
    /// back, and `run()` returns `code`.
    private func finish(code: Int32) {
        exitCode = code
        if logger.logLevel <= .debug {
            let calls = trappedCalls.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            logger.debug("trapped calls served: \(calls.isEmpty ? "none" : calls.joined(separator: " "))",
                         metadata: ["withdrawn": "\(notifications.withdrawn)"])
        }
        guest.killAll()
        waitForGuard()
        // Whatever reached srouter rather than the guard (the guard died; PID 1's orphans).
        killAdoptedProcesses()
        if guest.tookTerminal { _ = tcsetpgrp(0, getpgrp()) }  // SIGTTOU is blocked
        loop.stop()
    }

    /// SIGKILLs every child srouter has adopted (as subreaper or PID 1) and reaps them,
    /// until none is left or a bounded number of rounds has passed.
    private func killAdoptedProcesses() {
        for _ in 0..<100 {
            let children = Self.children()
            if children.isEmpty { return }
            for child in children { kill(child, SIGKILL) }
            var status: Int32 = 0
            while waitpid(-1, &status, WNOHANG) > 0 {}
            usleep(10_000)
        }
    }

    /// srouter's children, from /proc/self/task/*/children (each thread has its own list).
    static func children() -> [pid_t] {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
        else { return [] }
        return tasks.flatMap { task -> [pid_t] in
            let text = (try? String(contentsOfFile: "/proc/self/task/\(task)/children",
                                    encoding: .utf8)) ?? ""
            return text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    /// Waits (bounded) for the guard to finish killing and exit.
    private func waitForGuard() {
        guard !guardExited else { return }
        for _ in 0..<500 {
            var status: Int32 = 0
            let pid = waitpid(guest.guardPID, &status, WNOHANG)
            if pid == guest.guardPID || (pid < 0 && errno == ECHILD) { guardExited = true; return }
            usleep(10_000)
        }
        logger.warning("the guard did not exit in 5 s; killing it")
        kill(guest.guardPID, SIGKILL)
    }

    /// The shell convention: the exit status, or 128+N for death by signal N.
    public static func exitCode(fromWaitStatus status: Int32) -> Int32 {
        let signal = status & 0x7f
        if signal == 0 { return (status >> 8) & 0xff }
        return 128 + signal
    }

    /// "exit 0", "signal 15 (Terminated)".
    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exit \((status >> 8) & 0xff)" }
        return "signal \(signal) (\(String(cString: strsignal(signal))))"
    }
}
