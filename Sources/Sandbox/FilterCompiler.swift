import CSeccomp
import CSRouterLinux
import Glibc
import LinuxABI

/// The two seccomp BPF programs the launcher installs, and what the compiler had to say about
/// the policy they came from.
///
/// The kernel runs every stacked filter and applies the most restrictive verdict (KILL over
/// TRAP over ERRNO over USER_NOTIF over ALLOW), so the refusals hold whatever the policy
/// filter allows, and neither needs the other's complement spelled out.
public struct CompiledFilter: Sendable {
    /// The policy, plus the network calls srouter serves (`SCMP_ACT_NOTIFY`). Installed last,
    /// with the user-notification listener.
    public var instructions: [sock_filter]
    /// What srouter refuses whatever the policy says (`SandboxInvariants`); allows the rest.
    public var refusals: [sock_filter]
    /// Notes for the operator: policy entries that srouter overrides, and why.
    public var warnings: [String]
    /// With `FilterCompiler.notifiesDenials`: what the policy's errno denials answer, for
    /// the `DenialLogger` that answers them now that they trap (empty otherwise).
    public var denials = DenialTable()
}

/// The errno each denied call gets, when denials trap to srouter so that it can log them:
/// the policy's unconditional `SCMP_ACT_ERRNO` rules by call, and its default action's.
public struct DenialTable: Sendable, Equatable {
    /// Errno by native call number, for unconditional errno rules.
    public var errnoByCall: [Int32: Int32] = [:]
    /// The default action's errno; nil when the default is not an errno (nothing traps).
    public var defaultErrno: Int32?

    /// An empty table: no denial traps.
    public init() {}
}

/// Turns a `SeccompProfile` into BPF programs with libseccomp, adding the rules of
/// `SandboxInvariants` so that the policy cannot weaken them.
///
/// libseccomp lets an unconditional rule override conditional ones for the same call, so
/// where only some arguments are served, the complement is spelled out as rules of its own
/// (one `MASKED_EQ` per bit that differs), never as a fallback.
public struct FilterCompiler {
    /// The profile being compiled.
    public let profile: SeccompProfile

    /// Whether this is `learning()`'s filter, whose default action is SCMP_ACT_NOTIFY.
    private var learning = false
    /// Whether the policy's errno denials (its default action, and unconditional errno rules
    /// on calls srouter does not serve; errno 0 is a success, not a denial) trap to srouter instead, which answers them with the
    /// same errno and logs each (`DenialLogger`): the operator sees which call was denied and
    /// to whom. Argument-conditional rules and srouter's own refusals stay in the kernel.
    public var notifiesDenials = false

    /// Prepares to compile `profile`.
    public init(profile: SeccompProfile) { self.profile = profile }

    /// sizeof(struct sockaddr_nl): a sendto with a name this long runs natively (see
    /// `addServedCalls`).
    public static let netlinkNameLength: UInt64 = 12

    /// The filter of `srouter run --learn`: every call the guest makes traps (the default
    /// action is SCMP_ACT_NOTIFY) so a `PolicyLearner` can record it and let it run, except
    /// the launcher's own calls after its filter is in, which must run before srouter holds
    /// the listener. The refusal filter and the served network calls are as always.
    public static func learning() -> FilterCompiler {
        var compiler = FilterCompiler(profile: SeccompProfile(
            defaultAction: .notify, architectures: [],
            rules: [SeccompRule(names: SandboxInvariants.launcherSyscalls, action: .allow, path: "learning")]))
        compiler.learning = true
        return compiler
    }

    /// Checks the profile against what srouter needs; returns the warnings.
    public func validate() throws -> [String] {
        try compile().warnings
    }

    /// Builds both filters. Throws `PolicyError` for a policy srouter cannot run a guest under.
    public func compile() throws -> CompiledFilter {
        var warnings: [String] = []
        try checkLauncherCalls()
        if !learning { try checkNotifyTargets() }

        var denials = DenialTable()
        var policyDefault = profile.defaultAction
        if notifiesDenials, case .errno(let e) = profile.defaultAction {
            denials.defaultErrno = e
            policyDefault = .notify
        }
        let policyProgram = try withContext(defaultAction: policyDefault) { ctx in
            let foreign = profile.architectures.filter { $0 != nativeArchitectureName }
            if !foreign.isEmpty {
                warnings.append("architectures: only \(nativeArchitectureName) is served; calls "
                    + "through \(foreign.joined(separator: ", ")) get ENOSYS")
            }
            let enforced = SandboxInvariants.enforcedSyscalls
            for rule in profile.rules {
                for name in rule.names where !enforced.contains(name) {
                    guard let nr = SyscallTable.number(of: name) else { continue }
                    var action = rule.action
                    // errno 0 is a success, not a denial: answered in the kernel, never logged.
                    if notifiesDenials, denials.defaultErrno != nil, rule.arguments.isEmpty, case .errno(let e) = action,
                       e != 0 {
                        denials.errnoByCall[nr] = e
                        action = .notify
                    }
                    try add(ctx, action, nr, rule.arguments, at: rule.path, name: name,
                            defaultAction: policyDefault)
                }
                for name in rule.names where enforced.contains(name) {
                    if let note = overrideNote(for: name, rule: rule) { warnings.append(note) }
                }
            }
            try addServedCalls(ctx, defaultAction: policyDefault)
        }
        let refusalProgram = try withContext(defaultAction: .allow) { ctx in
            try addRefusals(ctx)
        }
        return CompiledFilter(instructions: policyProgram, refusals: refusalProgram,
                              warnings: warnings, denials: denials)
    }

    // MARK: - The invariants

    /// The policy filter's own share: network calls served, refused calls refused (so the
    /// guest sees EPERM rather than the policy's default errno), clone3 ENOSYS.
    private func addServedCalls(_ ctx: scmp_filter_ctx, defaultAction: SeccompAction) throws {
        let deny = SeccompAction.errno(LinuxErrno.EPERM.rawValue)
        for name in SandboxInvariants.servedSyscalls {
            try add(ctx, .notify, nr(name), [], name: name, defaultAction: defaultAction)
        }
        for name in SandboxInvariants.refusedSyscalls {
            try add(ctx, deny, nr(name), [], name: name, defaultAction: defaultAction)
        }
        // clone3 passes its flags in memory; ENOSYS (not the policy's errno) makes glibc fall
        // back to clone, whose flags the refusal filter reads.
        try add(ctx, .errno(LinuxErrno.ENOSYS.rawValue), nr("clone3"), [], name: "clone3", defaultAction: defaultAction)
        let unix = UInt64(AF_UNIX)
        // socket / socketpair: AF_UNIX follows the policy; every other family is served.
        for name in ["socket", "socketpair"] {
            try add(ctx, policyAction(for: name), nr(name),
                    [.init(index: 0, op: .equal, value: unix)], name: name, defaultAction: defaultAction)
            try add(ctx, .notify, nr(name), [.init(index: 0, op: .notEqual, value: unix)],
                    name: name, defaultAction: defaultAction)
        }
        // sendto / recvfrom without an address are send / recv: native. With one: served.
        try add(ctx, policyAction(for: "recvfrom"), nr("recvfrom"),
                [.init(index: 4, op: .equal, value: 0)], name: "recvfrom", defaultAction: defaultAction)
        try add(ctx, .notify, nr("recvfrom"), [.init(index: 4, op: .notEqual, value: 0)],
                name: "recvfrom", defaultAction: defaultAction)
        // sendto with a `sockaddr_nl`-sized name runs natively too: BIRD writes each route
        // with sendto({AF_NETLINK, pid 0}, 12), and the guest's netlink socket is a
        // SOCK_SEQPACKET pair end, whose sendmsg ignores a name (`unix_seqpacket_sendmsg`):
        // the request reaches srouter as a send would, and the recvmsg of its ACK is the
        // route's only trapped call. No inet address is 12 bytes long (Linux refuses shorter
        // than sockaddr_in with EINVAL); what that costs is in known-differences.txt.
        try add(ctx, policyAction(for: "sendto"), nr("sendto"),
                [.init(index: 4, op: .equal, value: 0)], name: "sendto", defaultAction: defaultAction)
        try add(ctx, policyAction(for: "sendto"), nr("sendto"),
                [.init(index: 4, op: .notEqual, value: 0),
                 .init(index: 5, op: .equal, value: Self.netlinkNameLength)],
                name: "sendto", defaultAction: defaultAction)
        try add(ctx, .notify, nr("sendto"),
                [.init(index: 4, op: .notEqual, value: 0),
                 .init(index: 5, op: .notEqual, value: Self.netlinkNameLength)],
                name: "sendto", defaultAction: defaultAction)
        // ioctl: socket ioctls and `servedIoctls` are served; all others follow the policy.
        let servedIoctls = [(SandboxInvariants.socketIoctlMask, SandboxInvariants.socketIoctlValue)]
            + SandboxInvariants.servedIoctls.map { (UInt64(0xffff_ffff), $0) }
        try addSplit(ctx, name: "ioctl", argument: 1, insidePrefixes: servedIoctls, inside: .notify,
                     outside: policyAction(for: "ioctl"), defaultAction: defaultAction)
    }

    /// The refusal filter (default: allow): refused calls, namespace flags on clone and
    /// unshare, clone3, and the ioctls that make what a refused call would.
    private func addRefusals(_ ctx: scmp_filter_ctx) throws {
        let deny = SeccompAction.errno(LinuxErrno.EPERM.rawValue)
        for name in SandboxInvariants.refusedSyscalls {
            try add(ctx, deny, nr(name), [], name: name, defaultAction: .allow)
        }
        try add(ctx, .errno(LinuxErrno.ENOSYS.rawValue), nr("clone3"), [], name: "clone3",
                defaultAction: .allow)
        for (name, flags) in [("clone", SandboxInvariants.cloneNamespaceFlags),
                              ("unshare", SandboxInvariants.unshareNamespaceFlags)] {
            for bit in bits(of: flags) {
                try add(ctx, deny, nr(name),
                        [.init(index: 0, op: .maskedEqual, value: bit, valueTwo: bit)],
                        name: name, defaultAction: .allow)
            }
        }
        for request in SandboxInvariants.refusedIoctls {
            try add(ctx, deny, nr("ioctl"),
                    [.init(index: 1, op: .maskedEqual, value: 0xffff_ffff, valueTwo: request)],
                    name: "ioctl", defaultAction: .allow)
        }
    }

    /// Adds `inside` for calls whose argument satisfies `(arg & mask) == value` for one of
    /// `insidePrefixes`, and `outside` for all others, as disjoint single-comparison rules
    /// (libseccomp takes one comparison per argument in a rule). Each mask must be a run of
    /// high bits within the low 32 (the kernel truncates an ioctl request to 32 bits): the
    /// complement is then the siblings of the prefixes' paths in a binary trie over bits
    /// 31…0, each a `MASKED_EQ` of its own.
    private func addSplit(_ ctx: scmp_filter_ctx, name: String, argument: UInt32,
                          insidePrefixes: [(mask: UInt64, value: UInt64)], inside: SeccompAction,
                          outside: SeccompAction, defaultAction: SeccompAction) throws {
        let number = try nr(name)
        for prefix in insidePrefixes {
            try add(ctx, inside, number, [.init(index: argument, op: .maskedEqual, value: prefix.mask,
                                                valueTwo: prefix.value & prefix.mask)], name: name,
                    defaultAction: defaultAction)
        }
        for sibling in Self.complement(of: insidePrefixes) {
            try add(ctx, outside, number, [.init(index: argument, op: .maskedEqual, value: sibling.mask,
                                                 valueTwo: sibling.value)], name: name,
                    defaultAction: defaultAction)
        }
    }

    /// Disjoint prefixes (high-bit masks over bits 31…0) covering every 32-bit value that
    /// matches none of `prefixes`.
    static func complement(of prefixes: [(mask: UInt64, value: UInt64)]) -> [(mask: UInt64, value: UInt64)] {
        var result: [(mask: UInt64, value: UInt64)] = []
        func walk(mask: UInt64, value: UInt64, bit: Int, candidates: [(mask: UInt64, value: UInt64)]) {
            if candidates.contains(where: { $0.mask & ~mask == 0 }) { return }  // wholly inside
            guard bit >= 0 else { return }
            for b: UInt64 in [0, 1] {
                let childMask = mask | (1 << UInt64(bit)), childValue = value | (b << UInt64(bit))
                let consistent = candidates.filter { ($0.value ^ childValue) & $0.mask & childMask == 0 }
                if consistent.isEmpty {
                    result.append((childMask, childValue))
                } else {
                    walk(mask: childMask, value: childValue, bit: bit - 1, candidates: consistent)
                }
            }
        }
        walk(mask: 0, value: 0, bit: 31, candidates: prefixes)
        return result
    }

    /// The policy's action for the natively-run part of an enforced call: its unconditional
    /// rule if any, else its first rule, else the default action.
    func policyAction(for name: String) -> SeccompAction {
        let rules = profile.rules.filter { $0.names.contains(name) }
        let action = (rules.first(where: { $0.arguments.isEmpty }) ?? rules.first)?.action
            ?? profile.defaultAction
        return action == .notify ? .allow : action
    }

    private func overrideNote(for name: String, rule: SeccompRule) -> String? {
        let refused = SandboxInvariants.refusedSyscalls.contains(name)
        if refused && rule.action.runsNatively {
            return "\(rule.path): \(name) is refused by srouter whatever the policy says"
        }
        if !rule.arguments.isEmpty && !refused {
            return "\(rule.path): the argument conditions on \(name) are replaced by srouter's "
                + "own (it filters that call's arguments itself)"
        }
        return nil
    }

    // MARK: - Checks

    /// The launcher needs read, write, close, execve and exit_group after its filter is in.
    private func checkLauncherCalls() throws {
        for name in SandboxInvariants.launcherSyscalls {
            let rules = profile.rules.filter { $0.names.contains(name) }
            let unconditional = rules.first(where: { $0.arguments.isEmpty })
            let action = unconditional?.action ?? profile.defaultAction
            if !action.runsNatively || (unconditional == nil && !rules.isEmpty) {
                throw PolicyError(path: unconditional?.path ?? rules.first?.path ?? "defaultAction",
                                  message: "\(name) must be allowed without conditions: srouter "
                                      + "needs it to start the guest")
            }
        }
    }

    /// SCMP_ACT_NOTIFY means "served by srouter", which only network calls are.
    private func checkNotifyTargets() throws {
        let served = Set(SandboxInvariants.servedSyscalls + SandboxInvariants.partlyServedSyscalls)
        if profile.defaultAction == .notify {
            throw PolicyError(path: "defaultAction", message: "SCMP_ACT_NOTIFY cannot be the "
                + "default: srouter serves only network calls")
        }
        for rule in profile.rules where rule.action == .notify {
            for name in rule.names where !served.contains(name) {
                throw PolicyError(path: rule.path, message: "SCMP_ACT_NOTIFY on \(name): srouter "
                    + "serves only network calls (\(served.sorted().joined(separator: ", ")))")
            }
        }
    }

    // MARK: - libseccomp

    private var nativeArchitectureName: String {
        #if arch(x86_64)
        "SCMP_ARCH_X86_64"
        #else
        "SCMP_ARCH_AARCH64"
        #endif
    }

    private func nr(_ name: String) throws -> Int32 {
        guard let number = SyscallTable.number(of: name) else {
            throw PolicyError(path: "", message: "libseccomp does not know \(name)")
        }
        return number
    }

    private func bits(of mask: UInt64) -> [UInt64] {
        (0..<64).map { UInt64(1) << UInt64($0) }.filter { mask & $0 != 0 }
    }

    private func attr(_ ctx: scmp_filter_ctx, _ attribute: scmp_filter_attr,
                      _ value: UInt32) throws {
        let rc = seccomp_attr_set(ctx, attribute, value)
        if rc != 0 { throw SystemError("seccomp_attr_set", errno: -rc) }
    }

    private func add(_ ctx: scmp_filter_ctx, _ action: SeccompAction, _ nr: Int32,
                     _ conditions: [SeccompArgumentCondition], at path: String = "",
                     name: String, defaultAction: SeccompAction? = nil) throws {
        // libseccomp refuses a rule whose action is the default one; it is implied anyway.
        if raw(action) == raw(defaultAction ?? profile.defaultAction) { return }
        var comparisons = conditions.map { condition in
            scmp_arg_cmp(arg: condition.index, op: compare(condition.op),
                         datum_a: condition.value, datum_b: condition.valueTwo)
        }
        let rc = seccomp_rule_add_array(ctx, raw(action), nr, UInt32(comparisons.count),
                                        &comparisons)
        // EEXIST: the same rule twice (a profile naming a call in two entries); harmless.
        if rc != 0 && rc != -EEXIST {
            throw PolicyError(path: path, message: "libseccomp cannot add the rule for \(name) "
                + "(\(action)): \(String(cString: strerror(-rc)))")
        }
    }

    private func compare(_ op: SeccompArgumentCondition.Operator) -> scmp_compare {
        switch op {
        case .notEqual: SCMP_CMP_NE
        case .lessThan: SCMP_CMP_LT
        case .lessOrEqual: SCMP_CMP_LE
        case .equal: SCMP_CMP_EQ
        case .greaterOrEqual: SCMP_CMP_GE
        case .greaterThan: SCMP_CMP_GT
        case .maskedEqual: SCMP_CMP_MASKED_EQ
        }
    }

    /// The kernel's `SECCOMP_RET_…` value for an action (libseccomp's SCMP_ACT_… macros).
    private func raw(_ action: SeccompAction) -> UInt32 {
        switch action {
        case .allow: 0x7fff_0000
        case .log: 0x7ffc_0000
        case .errno(let e): 0x0005_0000 | (UInt32(e) & 0xffff)
        case .killThread: 0x0000_0000
        case .killProcess: 0x8000_0000
        case .trap: 0x0003_0000
        case .trace(let e): 0x7ff0_0000 | (UInt32(e) & 0xffff)
        case .notify: 0x7fc0_0000
        }
    }

    /// Creates a libseccomp context (foreign ABIs: ENOSYS), lets `body` fill it, exports it.
    private func withContext(defaultAction: SeccompAction,
                             _ body: (scmp_filter_ctx) throws -> Void) throws -> [sock_filter] {
        guard let ctx = seccomp_init(raw(defaultAction)) else {
            throw PolicyError(path: "defaultAction", message: "libseccomp refused the action")
        }
        defer { seccomp_release(ctx) }
        // Foreign ABIs (i386 via int 0x80; x32 numbers) are denied, not killed, so a probing
        // guest sees ENOSYS as on a kernel without that ABI.
        try attr(ctx, SCMP_FLTATR_ACT_BADARCH, raw(.errno(LinuxErrno.ENOSYS.rawValue)))
        try attr(ctx, SCMP_FLTATR_CTL_NNP, 0)  // the launcher sets no_new_privs itself
        try attr(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)  // binary tree: hundreds of rules
        try body(ctx)
        return try export(ctx)
    }

    /// Exports the BPF program through a memfd (libseccomp 2.5 writes only to an fd).
    private func export(_ ctx: scmp_filter_ctx) throws -> [sock_filter] {
        let fd = try checkingNegativeErrno("memfd_create", srouter_memfd_create("srouter-bpf"))
        defer { close(fd) }
        let rc = seccomp_export_bpf(ctx, fd)
        if rc != 0 { throw SystemError("seccomp_export_bpf", errno: -rc) }
        let size = lseek(fd, 0, SEEK_END)
        let stride = MemoryLayout<sock_filter>.stride
        guard size > 0, Int(size) % stride == 0 else {
            throw SystemError("seccomp_export_bpf", errno: EIO)
        }
        var program = [sock_filter](repeating: sock_filter(), count: Int(size) / stride)
        let read = program.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard read == size else { throw SystemError("pread", errno: EIO) }
        return program
    }
}
