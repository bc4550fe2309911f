import Foundation

/// `srouter run --learn FILE`: records the system calls a guest makes and writes the minimal
/// OCI/Docker seccomp profile that lets the same workload run when given back as `--policy`.
///
/// Under `FilterCompiler.learning()` every call traps; the learner, installed as the
/// notification loop's fallback, notes each call's name and lets the kernel run it
/// (`SECCOMP_USER_NOTIF_FLAG_CONTINUE` — safe here because the refusal filter, stacked
/// beneath, has already refused what srouter never allows). The profile allows:
/// - every call seen (the network calls srouter serves included, for the reader: whatever a
///   profile says of them, srouter serves them);
/// - the launcher's calls (`SandboxInvariants.launcherSyscalls`), which run before srouter
///   holds the listener and so are never seen;
/// - the partly served calls (socket, socketpair, sendto, recvfrom, ioctl), whose native
///   part (AF_UNIX sockets, send/recv on a connected socket, non-socket ioctls) the policy
///   decides but the learning filter cannot observe;
/// - `restart_syscall`, which the kernel itself issues after a signal interrupts a sleep;
/// - the whole family of a call seen (`families`): a program reaches the same service
///   through `vfork` in one run and `clone` in the next, `poll` or `ppoll`, `stat` or `statx`,
///   as its libc and timing choose, so a profile that allowed only the variant seen would
///   refuse the same workload at random.
/// Everything else gets EPERM (`SCMP_ACT_ERRNO`, as Docker's default profile answers).
///
/// The calls the default policy answers as a success without running them
/// (`answeredCalls`: capset, which the guest, holding no capabilities, could only fail) are
/// answered the same way while learning, so the learning run behaves as a run under the
/// default policy would, and the learned profile answers them so too (an errno-0 rule)
/// instead of letting them run and fail.
public final class PolicyLearner: SyscallHandler {
    /// The calls `DefaultPolicy` answers with success (`SCMP_ACT_ERRNO` with `errnoRet` 0)
    /// and that are not otherwise allowed: capset (FRR's zebra and bgpd raise their network
    /// capabilities around every netlink write, and exit if told EPERM).
    public static let answeredCalls: Set<String> = ["capset"]

    /// The names of the calls seen, with their counts.
    public private(set) var seen: [String: Int] = [:]

    /// A learner that has seen nothing.
    public init() {}

    /// Records the call and lets it run natively, or answers it with success if it is one
    /// of `answeredCalls`.
    public func handle(_ notification: SyscallNotification, loop: NotificationLoop) -> SyscallAnswer {
        let name = SyscallTable.name(of: notification.number)
        seen[name, default: 0] += 1
        return Self.answeredCalls.contains(name) ? .value(0) : .continueNatively
    }

    /// Calls that do the same thing for a program: seeing one allows them all.
    public static let families: [[String]] = [
        ["clone", "fork", "vfork"], ["wait4", "waitid"], ["poll", "ppoll"], ["select", "pselect6"],
        ["epoll_wait", "epoll_pwait", "epoll_pwait2"], ["stat", "fstat", "lstat", "newfstatat", "statx"],
        ["open", "openat"], ["dup", "dup2", "dup3"], ["pipe", "pipe2"], ["nanosleep", "clock_nanosleep"],
        ["getdents", "getdents64"], ["accept", "accept4"], ["signalfd", "signalfd4"], ["eventfd", "eventfd2"],
    ]

    /// The calls the learned profile allows: `observed` (every trapped call's name, served
    /// ones included), their families, and those the learner cannot observe, sorted.
    public static func allowedCalls(observed: some Sequence<String>) -> [String] {
        let always = SandboxInvariants.launcherSyscalls + SandboxInvariants.partlyServedSyscalls
            + ["restart_syscall"]
        var names = Set(observed).union(always)
        for family in families where !names.isDisjoint(with: family) { names.formUnion(family) }
        return names.filter { SyscallTable.number(of: $0) != nil }.sorted()
    }

    /// The profile's JSON text: default EPERM, the native architecture, one allow rule, and
    /// for those of `names` in `answeredCalls` an errno-0 rule instead (as `DefaultPolicy`).
    public static func profileJSON(allowing names: [String]) -> String {
        #if arch(x86_64)
        let architecture = "SCMP_ARCH_X86_64"
        #else
        let architecture = "SCMP_ARCH_AARCH64"
        #endif
        var rules: [[String: Any]] = [["names": names.filter { !answeredCalls.contains($0) }, "action": "SCMP_ACT_ALLOW"]]
        let answered = names.filter { answeredCalls.contains($0) }
        if !answered.isEmpty { rules.append(["names": answered, "action": "SCMP_ACT_ERRNO", "errnoRet": 0]) }
        let profile: [String: Any] = [
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 1,
            "architectures": [architecture],
            "syscalls": rules,
        ]
        let data = try! JSONSerialization.data(withJSONObject: profile, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
