import Foundation
import Glibc
import LinuxABI
import Testing
@testable import Sandbox

/// What the compiled filter decides, checked by running its BPF on synthetic calls.
@Suite struct FilterCompilerTests {
    static let allow: UInt32 = 0x7fff_0000
    static let notify: UInt32 = 0x7fc0_0000
    static func errno(_ e: LinuxErrno) -> UInt32 { 0x0005_0000 | UInt32(e.rawValue) }

    func defaultFilter() throws -> StackedSeccompFilters {
        try filter(DefaultPolicy.json)
    }

    /// Both programs, stacked as the launcher installs them (refusals first, policy last).
    func filter(_ json: String) throws -> StackedSeccompFilters {
        let profile = try SeccompProfile.parse(Data(json.utf8), isKnownSyscall: SyscallTable.isKnown)
        let compiled = try FilterCompiler(profile: profile).compile()
        return StackedSeccompFilters(filters: [SeccompBPFInterpreter(program: compiled.instructions),
                                               SeccompBPFInterpreter(program: compiled.refusals)])
    }

    func call(_ name: String, _ arguments: UInt64...) -> SeccompBPFInterpreter.Call {
        .init(number: SyscallTable.number(of: name)!, arguments: arguments)
    }

    @Test func socketsOtherThanUnixAreServed() throws {
        let bpf = try defaultFilter()
        #expect(bpf.run(call("socket", UInt64(AF_UNIX), 1, 0)) == Self.allow)
        #expect(bpf.run(call("socket", UInt64(AF_INET), 1, 0)) == Self.notify)
        #expect(bpf.run(call("socket", UInt64(AF_INET6), 2, 0)) == Self.notify)
        #expect(bpf.run(call("socket", UInt64(AF_NETLINK), 3, 0)) == Self.notify)
        #expect(bpf.run(call("socket", UInt64(AF_PACKET), 3, 0)) == Self.notify)
        // High bits the kernel ignores must not smuggle another family past the check.
        #expect(bpf.run(call("socket", (1 << 32) | UInt64(AF_UNIX), 1, 0)) == Self.notify)
        #expect(bpf.run(call("socketpair", UInt64(AF_UNIX), 1, 0)) == Self.allow)
        #expect(bpf.run(call("socketpair", UInt64(AF_INET), 1, 0)) == Self.notify)
    }

    @Test func addressedSendAndReceiveAreServed() throws {
        let bpf = try defaultFilter()
        #expect(bpf.run(call("sendto", 3, 0x1000, 10, 0, 0, 0)) == Self.allow)
        #expect(bpf.run(call("sendto", 3, 0x1000, 10, 0, 0x2000, 16)) == Self.notify)
        #expect(bpf.run(call("sendto", 3, 0x1000, 10, 0, 0x2000, 28)) == Self.notify)
        // A sockaddr_nl-sized name: BIRD's route writes, served from the pair natively.
        #expect(bpf.run(call("sendto", 3, 0x1000, 10, 0, 0x2000, 12)) == Self.allow)
        #expect(bpf.run(call("sendto", 3, 0x1000, 10, 0, 0x2000, 11)) == Self.notify)
        #expect(bpf.run(call("sendto", 3, 0x1000, 10, 0, 0x2000, (1 << 32) | 12)) == Self.notify)
        #expect(bpf.run(call("recvfrom", 3, 0x1000, 10, 0, 0x2000, 12)) == Self.notify)
        #expect(bpf.run(call("recvfrom", 3, 0x1000, 10, 0, 0, 0)) == Self.allow)
        #expect(bpf.run(call("recvfrom", 3, 0x1000, 10, 0, 0x2000, 0x3000)) == Self.notify)
        for name in SandboxInvariants.servedSyscalls {
            #expect(bpf.run(call(name, 3)) == Self.notify, "\(name)")
        }
    }

    @Test func onlySocketIoctlsAreServed() throws {
        let bpf = try defaultFilter()
        #expect(bpf.run(call("ioctl", 3, 0x8933, 0x1000)) == Self.notify)  // SIOCGIFINDEX
        #expect(bpf.run(call("ioctl", 3, 0x8912, 0x1000)) == Self.notify)  // SIOCGIFCONF
        #expect(bpf.run(call("ioctl", 3, (7 << 32) | 0x8933, 0)) == Self.notify)
        #expect(bpf.run(call("ioctl", 0, 0x5401, 0x1000)) == Self.allow)  // TCGETS
        #expect(bpf.run(call("ioctl", 0, 0x541B, 0x1000)) == Self.notify)  // FIONREAD
        #expect(bpf.run(call("ioctl", 0, (1 << 32) | 0x541B, 0x1000)) == Self.notify)  // truncated
        #expect(bpf.run(call("ioctl", 0, 0x5411, 0x1000)) == Self.allow)  // TIOCOUTQ
        #expect(bpf.run(call("ioctl", 0, 0x8A00, 0)) == Self.allow)
        #expect(bpf.run(call("ioctl", 0, 0x88FF, 0)) == Self.allow)
        #expect(bpf.run(call("ioctl", 0, 0xC0108933, 0)) == Self.allow)  // not 0x89xx
    }

    @Test func fionreadIsServedUnderAPolicyThatDeniesByDefault() throws {
        let strict = try filter(#"""
            {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
             "syscalls": [{"names": ["read", "write", "close", "execve", "exit_group", "ioctl"],
                           "action": "SCMP_ACT_ALLOW"}]}
            """#)
        #expect(strict.run(call("ioctl", 3, 0x541B, 0x1000)) == Self.notify)  // FIONREAD
        #expect(strict.run(call("ioctl", 3, 0x8933, 0x1000)) == Self.notify)
        #expect(strict.run(call("ioctl", 3, 0x5401, 0x1000)) == Self.allow)  // TCGETS
        #expect(strict.run(call("ioctl", 3, 0x541A, 0x1000)) == Self.allow)
        #expect(strict.run(call("ioctl", 3, (1 << 32) | 0x541B, 0)) == Self.notify)
        #expect(strict.run(call("ioctl", 3, 0x89FF, 0)) == Self.notify)
        #expect(strict.run(call("ioctl", 3, 0x8A00, 0)) == Self.allow)
        #expect(strict.run(call("ioctl", 3, 0x541C, 0)) == Self.allow)
        #expect(strict.run(call("ioctl", 3, 0xAA01, 0)) == Self.allow)
    }

    @Test func refusedCallsStayRefusedWhateverThePolicySays() throws {
        let permissive = try filter(#"""
            {"defaultAction": "SCMP_ACT_ALLOW",
             "syscalls": [{"names": ["ptrace", "bpf", "io_uring_setup", "socket", "unshare"],
                           "action": "SCMP_ACT_ALLOW"}]}
            """#)
        for name in SandboxInvariants.refusedSyscalls {
            #expect(permissive.run(call(name)) == Self.errno(.EPERM), "\(name)")
        }
        #expect(permissive.run(call("socket", UInt64(AF_INET), 1)) == Self.notify)
        #expect(permissive.run(call("socket", UInt64(AF_UNIX), 1)) == Self.allow)
        #expect(permissive.run(call("clone3", 0x1000, 88)) == Self.errno(.ENOSYS))
        #expect(permissive.run(call("unshare", 0x4000_0000)) == Self.errno(.EPERM))  // NEWNET
        #expect(permissive.run(call("unshare", 0x1000_0000)) == Self.errno(.EPERM))  // NEWUSER
        #expect(permissive.run(call("unshare", 0x80)) == Self.errno(.EPERM))  // NEWTIME
        #expect(permissive.run(call("unshare", 0x400)) == Self.allow)  // CLONE_FILES
        #expect(permissive.run(call("clone", 0x0120_0011)) == Self.allow)  // fork()
        #expect(permissive.run(call("clone", 0x0120_0011 | 0x2000_0000)) == Self.errno(.EPERM))
        #expect(permissive.run(call("ioctl", 5, 0xAA00, 0)) == Self.errno(.EPERM))  // USERFAULTFD_IOC_NEW
        #expect(permissive.run(call("ioctl", 5, 0xAA01, 0)) == Self.allow)
    }

    @Test func refusalsHoldWhateverThePolicyAllowsOrKills() throws {
        // Even a policy that kills by default cannot turn a refusal into something else but a
        // stronger verdict, and one that notifies cannot serve a refused call.
        let killing = try filter(#"""
            {"defaultAction": "SCMP_ACT_KILL_PROCESS",
             "syscalls": [{"names": ["read", "write", "close", "execve", "exit_group"],
                           "action": "SCMP_ACT_ALLOW"}]}
            """#)
        #expect(killing.run(call("ptrace")) == Self.errno(.EPERM))
        #expect(killing.run(call("openat")) == 0x8000_0000)
        let policyDefaultErrno = try filter(#"""
            {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13,
             "syscalls": [{"names": ["read", "write", "close", "execve", "exit_group"],
                           "action": "SCMP_ACT_ALLOW"}]}
            """#)
        #expect(policyDefaultErrno.run(call("clone3")) == Self.errno(.ENOSYS))
        #expect(policyDefaultErrno.run(call("bpf")) == Self.errno(.EPERM))
        #expect(policyDefaultErrno.run(call("openat")) == Self.errno(.EACCES))
    }

    @Test func foreignArchitecturesAndX32AreDenied() throws {
        let bpf = try defaultFilter()
        var i386 = call("getpid")
        i386.arch = 0x4000_0003  // AUDIT_ARCH_I386
        #expect(bpf.run(i386) == Self.errno(.ENOSYS))
        let x32 = SeccompBPFInterpreter.Call(number: 41 | 0x4000_0000,
                                             arguments: [UInt64(AF_INET), 1, 0])
        let verdict = try #require(bpf.run(x32))
        #expect(verdict != Self.allow && verdict != Self.notify)
    }

    @Test func defaultPolicyAllowsWhatDaemonsNeedAndDeniesTheRest() throws {
        let bpf = try defaultFilter()
        for name in ["read", "write", "openat", "execve", "epoll_wait", "futex", "mmap",
                     "clock_nanosleep", "exit_group", "rt_sigaction", "wait4", "getrandom"]
        where SyscallTable.number(of: name) != nil {
            #expect(bpf.run(call(name)) == Self.allow, "\(name)")
        }
        #expect(bpf.run(call("reboot")) == Self.errno(.EPERM))
        #expect(bpf.run(call("personality", 0)) == Self.allow)
        #expect(bpf.run(call("personality", 0x0040_0000)) == Self.errno(.EPERM))
    }

    @Test func policyErrorsNameTheEntry() throws {
        func compileError(_ json: String) -> PolicyError? {
            do {
                let profile = try SeccompProfile.parse(Data(json.utf8),
                                                       isKnownSyscall: SyscallTable.isKnown)
                _ = try FilterCompiler(profile: profile).compile()
                return nil
            } catch let error as PolicyError { return error } catch { return nil }
        }
        let deniesExecve = compileError(#"""
            {"defaultAction": "SCMP_ACT_ALLOW",
             "syscalls": [{"names": ["execve"], "action": "SCMP_ACT_ERRNO"}]}
            """#)
        #expect(deniesExecve?.path == "syscalls[0]")
        #expect(deniesExecve?.message.contains("execve") == true)
        let notifiesOpen = compileError(#"""
            {"defaultAction": "SCMP_ACT_ALLOW",
             "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                          {"names": ["openat"], "action": "SCMP_ACT_NOTIFY"}]}
            """#)
        #expect(notifiesOpen?.path == "syscalls[1]")
        let denyByDefault = compileError(#"{"defaultAction": "SCMP_ACT_ERRNO"}"#)
        #expect(denyByDefault?.path == "defaultAction")
    }

    @Test func overridesAreReported() throws {
        let profile = try SeccompProfile.parse(Data(#"""
            {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
             "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ALLOW"},
                          {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                           "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]}]}
            """#.utf8), isKnownSyscall: SyscallTable.isKnown)
        let warnings = try FilterCompiler(profile: profile).validate()
        #expect(warnings.contains { $0.hasPrefix("syscalls[0]: ptrace is refused") })
        #expect(warnings.contains { $0.hasPrefix("syscalls[1]: the argument conditions on socket") })
        #expect(warnings.contains { $0.hasPrefix("architectures:") })
    }
}
