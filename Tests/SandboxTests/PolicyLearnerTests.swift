import Foundation
import Glibc
import LinuxABI
import Logging
import Testing
@testable import Sandbox

/// `srouter run --learn`: the learning filter traps what a policy would decide, keeps
/// srouter's refusals, and the learned profile parses back and allows just what was seen.
@Suite struct PolicyLearnerTests {
    func call(_ name: String, _ arguments: UInt64...) -> SeccompBPFInterpreter.Call {
        .init(number: SyscallTable.number(of: name)!, arguments: arguments)
    }

    @Test func theLearningFilterTrapsEverythingButTheLauncherAndTheRefusals() throws {
        let compiled = try FilterCompiler.learning().compile()
        let bpf = StackedSeccompFilters(filters: [SeccompBPFInterpreter(program: compiled.instructions),
                                                  SeccompBPFInterpreter(program: compiled.refusals)])
        for name in ["openat", "mmap", "mkdirat", "clone", "getpid", "bind", "connect"] {
            #expect(bpf.run(call(name, 0, 0, 0)) == FilterCompilerTests.notify, "\(name)")
        }
        // The launcher's calls run before srouter holds the listener: they must not trap.
        for name in SandboxInvariants.launcherSyscalls {
            #expect(bpf.run(call(name, 0, 0, 0)) == FilterCompilerTests.allow, "\(name)")
        }
        for name in ["ptrace", "io_uring_setup", "mount", "bpf"] {
            #expect(bpf.run(call(name, 0, 0, 0)) == FilterCompilerTests.errno(.EPERM), "\(name)")
        }
        #expect(bpf.run(call("socket", UInt64(AF_UNIX), 1, 0)) == FilterCompilerTests.allow)
        #expect(bpf.run(call("socket", UInt64(AF_INET), 1, 0)) == FilterCompilerTests.notify)
    }

    @Test func theLearnedProfileAllowsWhatWasSeenAndWhatCannotBe() throws {
        let names = PolicyLearner.allowedCalls(observed: ["openat", "mmap", "openat", "connect", "vfork", "syscall 99999"])
        #expect(names == names.sorted())
        // openat brings open, vfork brings clone and fork: the same service by another door.
        #expect(Set(names) == Set(["openat", "open", "mmap", "connect", "vfork", "clone", "fork",
                                   "restart_syscall"]
            + SandboxInvariants.launcherSyscalls + SandboxInvariants.partlyServedSyscalls))
        let profile = try SeccompProfile.parse(Data(PolicyLearner.profileJSON(allowing: names).utf8),
                                               isKnownSyscall: SyscallTable.isKnown)
        #expect(profile.defaultAction == .errno(LinuxErrno.EPERM.rawValue))
        #expect(profile.rules.count == 1)
        #expect(profile.rules[0].names == names)
        #expect(profile.rules[0].action == .allow)
        let compiled = try FilterCompiler(profile: profile).compile()
        let bpf = StackedSeccompFilters(filters: [SeccompBPFInterpreter(program: compiled.instructions),
                                                  SeccompBPFInterpreter(program: compiled.refusals)])
        #expect(bpf.run(call("openat", 0, 0, 0)) == FilterCompilerTests.allow)
        #expect(bpf.run(call("mkdirat", 0, 0, 0)) == FilterCompilerTests.errno(.EPERM))
        #expect(bpf.run(call("connect", 3, 0, 0)) == FilterCompilerTests.notify)
    }

    @Test func callsTheDefaultPolicyAnswersAreAnsweredSoInTheLearnedProfile() throws {
        // The learner's set is the default policy's unconditional errno-0 rules, no more, no less.
        let defaults = try SeccompProfile.parse(Data(DefaultPolicy.json.utf8), isKnownSyscall: SyscallTable.isKnown)
        let answeredByDefault = defaults.rules.filter { $0.action == .errno(0) && $0.arguments.isEmpty }.flatMap(\.names)
        #expect(Set(answeredByDefault) == PolicyLearner.answeredCalls)

        let names = PolicyLearner.allowedCalls(observed: ["openat", "capset"])
        let profile = try SeccompProfile.parse(Data(PolicyLearner.profileJSON(allowing: names).utf8),
                                               isKnownSyscall: SyscallTable.isKnown)
        #expect(profile.rules.count == 2)
        #expect(!profile.rules[0].names.contains("capset"))
        #expect(profile.rules[1].names == ["capset"])
        #expect(profile.rules[1].action == .errno(0))
        let compiled = try FilterCompiler(profile: profile).compile()
        let bpf = StackedSeccompFilters(filters: [SeccompBPFInterpreter(program: compiled.instructions),
                                                  SeccompBPFInterpreter(program: compiled.refusals)])
        #expect(bpf.run(call("capset", 0, 0, 0)) == 0x0005_0000)  // SECCOMP_RET_ERRNO | 0: success
        #expect(bpf.run(call("openat", 0, 0, 0)) == FilterCompilerTests.allow)
    }
}

/// `FilterCompiler.notifiesDenials`: the policy's errno denials trap to srouter, which
/// answers them with the same errno (`DenialLogger`); what the policy allows, srouter's own
/// refusals and the served calls are as without it.
@Suite struct DenialNotificationTests {
    func call(_ name: String, _ arguments: UInt64...) -> SeccompBPFInterpreter.Call {
        .init(number: SyscallTable.number(of: name)!, arguments: arguments)
    }

    @Test func deniedCallsTrapAndKeepTheirErrno() throws {
        let json = """
            {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
             "syscalls": [
               {"names": ["read", "write", "close", "execve", "exit_group", "socket", "ioctl"], "action": "SCMP_ACT_ALLOW"},
               {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
               {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
                "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}
            """
        let profile = try SeccompProfile.parse(Data(json.utf8), isKnownSyscall: SyscallTable.isKnown)
        var compiler = FilterCompiler(profile: profile)
        compiler.notifiesDenials = true
        let compiled = try compiler.compile()
        let bpf = StackedSeccompFilters(filters: [SeccompBPFInterpreter(program: compiled.instructions),
                                                  SeccompBPFInterpreter(program: compiled.refusals)])
        #expect(bpf.run(call("read", 0, 0, 0)) == FilterCompilerTests.allow)
        #expect(bpf.run(call("openat", 0, 0, 0)) == FilterCompilerTests.notify)
        #expect(bpf.run(call("mkdirat", 0, 0, 0)) == FilterCompilerTests.notify)
        #expect(bpf.run(call("ptrace", 0, 0, 0)) == FilterCompilerTests.errno(.EPERM))
        #expect(bpf.run(call("personality", 8)) == FilterCompilerTests.errno(.EINVAL))  // conditional: kernel
        #expect(bpf.run(call("socket", UInt64(AF_UNIX), 1, 0)) == FilterCompilerTests.allow)
        #expect(bpf.run(call("socket", UInt64(AF_INET), 1, 0)) == FilterCompilerTests.notify)
        #expect(compiled.denials.defaultErrno == 1)
        #expect(compiled.denials.errnoByCall[SyscallTable.number(of: "mkdirat")!] == 13)
        let logger = DenialLogger(table: compiled.denials, logger: Logger(label: "test"))
        let loop = NotificationLoop(listener: -1, logger: Logger(label: "test"))
        let mkdirat = SyscallNotification(id: 1, tid: 1, number: SyscallTable.number(of: "mkdirat")!, arguments: [])
        let openat = SyscallNotification(id: 2, tid: 1, number: SyscallTable.number(of: "openat")!, arguments: [])
        #expect(logger.handle(mkdirat, loop: loop) == .error(LinuxErrno(rawValue: 13)))
        #expect(logger.handle(openat, loop: loop) == .error(.EPERM))
        #expect(logger.counts == ["mkdirat": 1, "openat": 1])
    }

    @Test func withoutItDenialsStayInTheKernel() throws {
        let compiled = try FilterCompiler(profile: try SeccompProfile.parse(Data(DefaultPolicy.json.utf8),
                                                                            isKnownSyscall: SyscallTable.isKnown)).compile()
        #expect(compiled.denials == DenialTable())
    }
}
