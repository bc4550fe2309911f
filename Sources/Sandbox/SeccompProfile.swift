import LinuxABI

/// A seccomp policy in the OCI runtime-spec / Docker profile format.
///
/// The same JSON that `docker run --security-opt seccomp=FILE` takes: `defaultAction`,
/// `defaultErrnoRet`, `architectures`, and `syscalls` entries with `names`, `action`,
/// `errnoRet` and `args`. Docker's `includes`/`excludes` (by capability, architecture and
/// minimum kernel) are understood: the guest holds no capabilities, so an entry that requires
/// one never applies. `SCMP_ACT_NOTIFY` marks calls served by srouter.
///
/// Parsing is total: any byte string gives a profile or a `PolicyError` naming the JSON path
/// of the bad entry (e.g. `syscalls[3].names[1]`).
public struct SeccompProfile: Equatable, Sendable {
    /// What happens to a system call no rule matches.
    public var defaultAction: SeccompAction
    /// The `architectures` the file lists (`SCMP_ARCH_…`). srouter serves only the native one;
    /// calls through any other ABI are denied with ENOSYS (DESIGN §6).
    public var architectures: [String]
    /// The rules that apply to this machine, in file order.
    public var rules: [SeccompRule]

    /// Creates a profile from its parts.
    public init(defaultAction: SeccompAction, architectures: [String], rules: [SeccompRule]) {
        self.defaultAction = defaultAction
        self.architectures = architectures
        self.rules = rules
    }
}

/// A seccomp action (`SCMP_ACT_…`), as libseccomp and the OCI spec name them.
public enum SeccompAction: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// `SCMP_ACT_ALLOW`: the call runs natively.
    case allow
    /// `SCMP_ACT_LOG`: the call runs natively and the kernel logs it.
    case log
    /// `SCMP_ACT_ERRNO`: the call fails with this error number without running.
    case errno(Int32)
    /// `SCMP_ACT_KILL` / `SCMP_ACT_KILL_THREAD`: the calling thread is killed.
    case killThread
    /// `SCMP_ACT_KILL_PROCESS`: the whole guest process is killed.
    case killProcess
    /// `SCMP_ACT_TRAP`: the thread receives SIGSYS.
    case trap
    /// `SCMP_ACT_TRACE`: a ptrace tracer is notified; without one the call fails with this errno.
    case trace(Int32)
    /// `SCMP_ACT_NOTIFY`: srouter serves the call (seccomp user notification).
    case notify

    /// The OCI spelling (`SCMP_ACT_ERRNO`), without the errno.
    public var ociName: String {
        switch self {
        case .allow: "SCMP_ACT_ALLOW"
        case .log: "SCMP_ACT_LOG"
        case .errno: "SCMP_ACT_ERRNO"
        case .killThread: "SCMP_ACT_KILL_THREAD"
        case .killProcess: "SCMP_ACT_KILL_PROCESS"
        case .trap: "SCMP_ACT_TRAP"
        case .trace: "SCMP_ACT_TRACE"
        case .notify: "SCMP_ACT_NOTIFY"
        }
    }

    /// Whether the call runs natively under this action.
    public var runsNatively: Bool { self == .allow || self == .log }

    /// e.g. `SCMP_ACT_ERRNO(EPERM)`.
    public var description: String {
        switch self {
        case .errno(let e), .trace(let e):
            "\(ociName)(\(LinuxErrno(rawValue: e).name))"
        default: ociName
        }
    }

    /// Parses an OCI action name; `errno` is the entry's `errnoRet` (EPERM when absent, as
    /// Docker and runc do). `nil` for an unknown name.
    public init?(ociName: String, errno: Int32) {
        switch ociName {
        case "SCMP_ACT_ALLOW": self = .allow
        case "SCMP_ACT_LOG": self = .log
        case "SCMP_ACT_ERRNO": self = .errno(errno)
        case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": self = .killThread
        case "SCMP_ACT_KILL_PROCESS": self = .killProcess
        case "SCMP_ACT_TRAP": self = .trap
        case "SCMP_ACT_TRACE": self = .trace(errno)
        case "SCMP_ACT_NOTIFY": self = .notify
        default: return nil
        }
    }
}

/// One `syscalls` entry that applies here: the calls it names, its action and its argument
/// conditions (all must hold, as in libseccomp).
public struct SeccompRule: Equatable, Sendable {
    /// System call names (`socket`, `openat`…).
    public var names: [String]
    /// The action when the call and its arguments match.
    public var action: SeccompAction
    /// Argument conditions; empty for an unconditional rule.
    public var arguments: [SeccompArgumentCondition]
    /// Where the entry is in the file (`syscalls[3]`), for messages.
    public var path: String

    /// Creates a rule.
    public init(names: [String], action: SeccompAction,
                arguments: [SeccompArgumentCondition] = [], path: String = "") {
        self.names = names
        self.action = action
        self.arguments = arguments
        self.path = path
    }
}

/// An argument condition (`args` entry): compare argument `index` with `value`.
public struct SeccompArgumentCondition: Equatable, Sendable {
    /// The comparison (`SCMP_CMP_…`).
    public enum Operator: String, Sendable, CaseIterable {
        /// `SCMP_CMP_NE`: argument ≠ value.
        case notEqual = "SCMP_CMP_NE"
        /// `SCMP_CMP_LT`: argument < value.
        case lessThan = "SCMP_CMP_LT"
        /// `SCMP_CMP_LE`: argument ≤ value.
        case lessOrEqual = "SCMP_CMP_LE"
        /// `SCMP_CMP_EQ`: argument = value.
        case equal = "SCMP_CMP_EQ"
        /// `SCMP_CMP_GE`: argument ≥ value.
        case greaterOrEqual = "SCMP_CMP_GE"
        /// `SCMP_CMP_GT`: argument > value.
        case greaterThan = "SCMP_CMP_GT"
        /// `SCMP_CMP_MASKED_EQ`: (argument & value) = valueTwo.
        case maskedEqual = "SCMP_CMP_MASKED_EQ"
    }

    /// Which argument (0…5).
    public var index: UInt32
    /// The comparison.
    public var op: Operator
    /// The value compared with (the mask for `maskedEqual`).
    public var value: UInt64
    /// The second value (the expected masked value for `maskedEqual`).
    public var valueTwo: UInt64

    /// Creates a condition.
    public init(index: UInt32, op: Operator, value: UInt64, valueTwo: UInt64 = 0) {
        self.index = index
        self.op = op
        self.value = value
        self.valueTwo = valueTwo
    }
}
