import CSeccomp
import Glibc

/// System call names and numbers of the native architecture, from libseccomp's tables.
public enum SyscallTable {
    /// The native number of `name`, or `nil` if the native architecture has no such call.
    public static func number(of name: String) -> Int32? {
        let nr = seccomp_syscall_resolve_name(name)
        return nr >= 0 ? nr : nil
    }

    /// Whether libseccomp knows `name` on any architecture (a profile may list calls that
    /// exist only elsewhere, such as `arm_fadvise64_64`; those are skipped, not errors).
    public static func isKnown(_ name: String) -> Bool {
        seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR
    }

    /// The name of native system call `number` (`"socket"`), or `"syscall N"`.
    public static func name(of number: Int32) -> String {
        guard let cName = seccomp_syscall_resolve_num_arch(UInt32(SCMP_ARCH_NATIVE), number) else {
            return "syscall \(number)"
        }
        defer { free(cName) }
        return String(cString: cName)
    }
}
