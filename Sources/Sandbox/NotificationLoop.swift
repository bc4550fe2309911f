import CSRouterLinux
import Glibc
import Logging
import LinuxABI

/// One trapped system call of a guest thread (`struct seccomp_notif`).
public struct SyscallNotification: Sendable {
    /// The kernel's cookie for this notification; answers and validity checks quote it.
    public var id: UInt64
    /// The calling thread (a thread id, in srouter's pid namespace).
    public var tid: pid_t
    /// The native system call number.
    public var number: Int32
    /// The six raw argument registers.
    public var arguments: SyscallArguments

    /// Creates a notification (tests build these by hand): missing arguments are 0.
    public init(id: UInt64, tid: pid_t, number: Int32, arguments: [UInt64]) {
        self.init(id: id, tid: tid, number: number, arguments: SyscallArguments(arguments))
    }

    /// Creates a notification with its argument registers.
    public init(id: UInt64, tid: pid_t, number: Int32, arguments: SyscallArguments) {
        self.id = id
        self.tid = tid
        self.number = number
        self.arguments = arguments
    }

    /// Argument `index` as the kernel reads an `int`: the low 32 bits, sign-extended.
    public func int32Argument(_ index: Int) -> Int32 {
        Int32(truncatingIfNeeded: arguments[index])
    }
}

/// The six argument registers of a trapped call (`seccomp_data.args`), held inline as the
/// kernel hands them over: a notification costs no array, and `arguments[i]` reads register
/// `i` (0…5; any other index traps, as an array's would).
public struct SyscallArguments: Sendable {
    private var registers: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    /// The registers in order.
    public init(_ registers: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)) { self.registers = registers }

    /// The first six of `values`, the missing ones 0.
    public init(_ values: [UInt64]) {
        precondition(values.count <= 6, "a system call has six argument registers")
        let value = { (index: Int) in index < values.count ? values[index] : 0 }
        registers = (value(0), value(1), value(2), value(3), value(4), value(5))
    }

    /// Register `index`.
    public subscript(index: Int) -> UInt64 {
        get {
            switch index {
            case 0: registers.0
            case 1: registers.1
            case 2: registers.2
            case 3: registers.3
            case 4: registers.4
            case 5: registers.5
            default: preconditionFailure("argument register \(index) out of 0…5")
            }
        }
        set {
            switch index {
            case 0: registers.0 = newValue
            case 1: registers.1 = newValue
            case 2: registers.2 = newValue
            case 3: registers.3 = newValue
            case 4: registers.4 = newValue
            case 5: registers.5 = newValue
            default: preconditionFailure("argument register \(index) out of 0…5")
            }
        }
    }
}

/// How a handler answers a trapped call.
public enum SyscallAnswer: Equatable, Sendable {
    /// The call returns this value.
    case value(Int64)
    /// The call fails with this errno.
    case error(LinuxErrno)
    /// The kernel runs the call natively (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`). Only where
    /// running it is safe whatever its memory arguments become (DESIGN §3).
    case continueNatively
    /// The handler keeps the notification and answers later with `NotificationLoop.answer`.
    case pending
    /// The guest no longer waits (interrupted or gone): nothing to answer.
    case withdrawn
}

/// Serves the trapped calls of one system call family.
public protocol SyscallHandler: AnyObject {
    /// Answers `notification`. May read guest memory with `GuestMemory(tid:)`; must check
    /// `loop.isStillPending(_:)` after reading anything its decision depends on.
    func handle(_ notification: SyscallNotification, loop: NotificationLoop) -> SyscallAnswer
}

/// Receives seccomp notifications from the guest's listener and dispatches them by system call
/// number. It never blocks on one guest call: a handler that cannot answer yet returns
/// `.pending` and answers later. A notification whose thread died or was interrupted by a
/// signal is dropped quietly, as the kernel has already withdrawn it.
public final class NotificationLoop {
    /// The seccomp listener fd, taken from the guest.
    public let listener: Int32
    private var handlers: [Int32: SyscallHandler] = [:]
    private let logger: Logger
    /// Trapped calls served, by system call number (for `srouter show stats` and tests).
    public private(set) var counts: [Int32: Int] = [:]
    /// Answers dropped because the guest thread had gone (signal, exit).
    public private(set) var withdrawn = 0
    /// Serves calls no handler is routed for. Unset, such a call is a filter/loop mismatch
    /// and is refused with ENOSYS; `srouter run --learn` sets a `PolicyLearner` here.
    public var fallbackHandler: SyscallHandler?

    /// Serves `listener` with `handlers` keyed by system call number.
    public init(listener: Int32, logger: Logger) {
        self.listener = listener
        self.logger = logger
        // Linux 6.6+: wake srouter on the guest's CPU (about a quarter off each trap here).
        _ = srouter_notif_set_flags(listener, SROUTER_SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)
    }

    deinit { close(listener) }

    /// Routes system call `name` to `handler`. Unknown names (another architecture) are ignored.
    public func route(_ name: String, to handler: SyscallHandler) {
        if let number = SyscallTable.number(of: name) { handlers[number] = handler }
    }

    /// Watches the listener on `loop`.
    public func attach(to loop: EventLoop) throws {
        try loop.register(listener) { [weak self] events in
            guard let self else { return }
            if events & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 && events & EPOLLIN.rawValue == 0 {
                // Every guest process has exited: the filter is gone with them.
                loop.unregister(self.listener)
                return
            }
            self.receiveOne()
        }
    }

    /// Whether the kernel still holds notification `id` (the guest thread is still waiting).
    public func isStillPending(_ id: UInt64) -> Bool {
        srouter_notif_id_valid(listener, id) == 0
    }

    /// Answers a notification, now or later. Returns false if the guest had withdrawn it.
    @discardableResult
    public func answer(_ id: UInt64, _ answer: SyscallAnswer) -> Bool {
        var response = seccomp_notif_resp()
        response.id = id
        switch answer {
        case .value(let v): response.val = v
        case .error(let e): response.error = -e.rawValue
        case .continueNatively: response.flags = srouter_seccomp_user_notif_flag_continue
        case .pending: return true
        case .withdrawn:
            withdrawn += 1
            return false
        }
        let rc = srouter_notif_send(listener, &response)
        if rc == -ENOENT {
            withdrawn += 1
            return false
        }
        if rc < 0 {
            logger.warning("seccomp answer failed", metadata: ["error": "\(SystemError("SECCOMP_IOCTL_NOTIF_SEND", errno: -rc))"])
        }
        return rc == 0
    }

    private func receiveOne() {
        var request = seccomp_notif()
        let rc = srouter_notif_recv(listener, &request)
        if rc == -ENOENT || rc == -EINTR { return }  // withdrawn between poll and receive
        if rc < 0 {
            logger.error("seccomp receive failed", metadata: ["error": "\(SystemError("SECCOMP_IOCTL_NOTIF_RECV", errno: -rc))"])
            return
        }
        let args = request.data.args
        let notification = SyscallNotification(
            id: request.id, tid: pid_t(request.pid), number: request.data.nr,
            arguments: SyscallArguments(args))
        counts[notification.number, default: 0] += 1
        guard request.data.arch == srouter_audit_arch_native,
              let handler = handlers[notification.number] ?? fallbackHandler else {
            // The filter only notifies native calls that srouter routes; anything else is a
            // mismatch between filter and loop. Fail safe: refuse it.
            logger.warning("unexpected trapped call", metadata: [
                "syscall": "\(SyscallTable.name(of: notification.number))",
                "tid": "\(notification.tid)"])
            answer(notification.id, .error(.ENOSYS))
            return
        }
        let result = handler.handle(notification, loop: self)
        if logger.logLevel <= .trace {
            logger.trace("\(SyscallTable.name(of: notification.number)) → \(result)",
                         metadata: ["tid": "\(notification.tid)"])
        }
        answer(notification.id, result)
    }
}
