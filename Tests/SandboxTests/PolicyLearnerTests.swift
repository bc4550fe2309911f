import Foundation
import Glibc
import LinuxABI
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
        let names = PolicyLearner.allowedCalls(observed: ["openat", "mmap", "openat", "connect", "syscall 99999"])
        #expect(names == names.sorted())
        #expect(Set(names) == Set(["openat", "mmap", "connect", "restart_syscall"]
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
}
