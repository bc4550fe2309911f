import Glibc

/// What srouter enforces whatever the policy file says (DESIGN §6).
///
/// - Network system calls are always served by srouter: no AF_INET, AF_INET6, AF_PACKET or
///   AF_NETLINK socket of the guest reaches the host kernel's network stack. Only the parts a
///   BPF argument check proves harmless run natively: `socket`/`socketpair` of AF_UNIX,
///   `sendto`/`recvfrom` without an address (that is `send`/`recv`), and ioctls outside the
///   socket range 0x89xx other than FIONREAD.
/// - Calls that could escape the sandbox or reach srouter are refused: io_uring (its
///   `IORING_OP_SOCKET` makes sockets without `socket()`), ptrace, process_vm_readv/writev,
///   pidfd_getfd, bpf, perf_event_open, kexec, kernel modules, the keyring, userfaultfd (and
///   /dev/userfaultfd's USERFAULTFD_IOC_NEW), the mount family, setns, and unshare/clone with
///   namespace flags. clone3 gets ENOSYS, so glibc falls back to clone, whose flags the filter
///   can read. These live in a filter of their own, stacked under the policy's.
/// - Other ABIs (i386 through `int 0x80`, x32 numbers) get ENOSYS: the filter admits only the
///   native architecture.
public enum SandboxInvariants {
    /// Calls srouter always serves through seccomp user notification, whatever their arguments.
    public static let servedSyscalls: [String] = [
        "bind", "connect", "listen", "accept", "accept4", "getsockname", "getpeername",
        "setsockopt", "getsockopt", "shutdown", "sendmsg", "sendmmsg", "recvmsg", "recvmmsg",
    ]

    /// Calls served by srouter only for some arguments; the rest follow the policy.
    public static let partlyServedSyscalls: [String] = [
        "socket", "socketpair", "sendto", "recvfrom", "ioctl",
    ]

    /// Calls refused with EPERM, whatever the policy says.
    public static let refusedSyscalls: [String] = [
        "io_uring_setup", "io_uring_enter", "io_uring_register",
        "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
        "bpf", "perf_event_open",
        "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
        "keyctl", "add_key", "request_key", "userfaultfd",
        "mount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen", "fsconfig",
        "fsmount", "fspick", "mount_setattr", "setns",
    ]

    /// ioctls refused whatever the policy says: `USERFAULTFD_IOC_NEW` (0xAA00) makes through
    /// /dev/userfaultfd what the refused `userfaultfd` call would.
    public static let refusedIoctls: [UInt64] = [0xAA00]

    /// The calls the launcher makes after its filter is installed (launcher.c): a policy
    /// must let them run natively.
    public static let launcherSyscalls: [String] = ["read", "write", "close", "execve",
                                                    "exit_group"]

    /// Every name whose rules in the policy filter srouter writes itself.
    public static var enforcedSyscalls: Set<String> {
        Set(servedSyscalls + partlyServedSyscalls + refusedSyscalls + ["clone3"])
    }

    /// The namespace flags clone(2) may not carry: CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC,
    /// NEWUSER, NEWPID, NEWNET. (CLONE_NEWTIME shares its bit with clone's exit signal.)
    public static let cloneNamespaceFlags: UInt64 = 0x0002_0000 | 0x0200_0000 | 0x0400_0000
        | 0x0800_0000 | 0x1000_0000 | 0x2000_0000 | 0x4000_0000

    /// The namespace flags unshare(2) may not carry: clone's plus CLONE_NEWTIME (0x80).
    public static let unshareNamespaceFlags: UInt64 = cloneNamespaceFlags | 0x80

    /// ioctls outside the socket range that srouter serves: FIONREAD (= SIOCINQ, 0x541B),
    /// whose native answer on a datagram socket's SOCK_SEQPACKET pair would count every
    /// queued datagram instead of the next one. This puts a trap on every FIONREAD the guest
    /// makes, on any descriptor (SocketService answers it for its datagram sockets and lets
    /// it run natively elsewhere). Like the socket range, it is matched on the low 32 bits,
    /// the kernel's `unsigned int cmd`.
    public static let servedIoctls: [UInt64] = [0x541B]

    /// Socket ioctls (`SIOC…`, `<linux/sockios.h>`) are 0x8900–0x89ff; srouter serves them.
    public static let socketIoctlMask: UInt64 = 0xffff_ff00
    /// See `socketIoctlMask`.
    public static let socketIoctlValue: UInt64 = 0x8900
}
