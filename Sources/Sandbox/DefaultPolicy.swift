/// The built-in policy: an allow-list in the OCI/Docker seccomp profile format, fit for
/// routing daemons (BIRD, FRR, GoBGP) and the tools an operator runs beside them (ip, ping,
/// traceroute, iperf3, birdc, a shell).
///
/// It allows the file, memory, process, signal, time and IPC calls a Unix program makes;
/// marks the network calls `SCMP_ACT_NOTIFY` (srouter serves them); and lists the calls
/// srouter refuses whatever a policy says (`SandboxInvariants`). Everything else fails with
/// EPERM, as under Docker's default profile. `srouter policy default` prints it.
public enum DefaultPolicy {
    /// The profile's JSON text.
    public static let json: String = #"""
{
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 1,
  "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [
    {
      "comment": "Files, directories and descriptors",
      "names": [
        "access", "chdir", "chmod", "chown", "close", "close_range", "copy_file_range", "creat",
        "dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir",
        "fchmod", "fchmodat", "fchown", "fchownat", "fcntl", "fdatasync", "fgetxattr",
        "flistxattr", "flock", "fremovexattr", "fsetxattr", "fstat", "fstatfs", "fsync",
        "ftruncate", "getcwd", "getdents", "getdents64", "getxattr", "inotify_add_watch",
        "inotify_init", "inotify_init1", "inotify_rm_watch", "lchown", "lgetxattr", "link",
        "linkat", "listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat",
        "mkdir", "mkdirat", "mknod", "mknodat", "newfstatat", "open", "openat", "openat2", "pipe",
        "pipe2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read",
        "readahead", "readlink", "readlinkat", "readv", "removexattr", "rename", "renameat",
        "renameat2", "rmdir", "sendfile", "setxattr", "splice", "stat", "statfs", "statx",
        "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate", "umask",
        "unlink", "unlinkat", "utime", "utimensat", "utimes", "futimesat", "vmsplice", "write",
        "writev", "memfd_create", "name_to_handle_at"
      ],
      "action": "SCMP_ACT_ALLOW"
    },
    {
      "comment": "Polling, events and timers",
      "names": [
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
        "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "poll", "ppoll",
        "pselect6", "select", "signalfd", "signalfd4", "timerfd_create", "timerfd_gettime",
        "timerfd_settime", "io_setup", "io_destroy", "io_getevents", "io_pgetevents", "io_submit",
        "io_cancel"
      ],
      "action": "SCMP_ACT_ALLOW"
    },
    {
      "comment": "Memory",
      "names": [
        "brk", "madvise", "membarrier", "mincore", "mlock", "mlock2", "mlockall", "mmap",
        "mprotect", "mremap", "msync", "munlock", "munlockall", "munmap", "pkey_alloc",
        "pkey_free", "pkey_mprotect", "remap_file_pages", "get_mempolicy", "set_mempolicy",
        "mbind"
      ],
      "action": "SCMP_ACT_ALLOW"
    },
    {
      "comment": "Processes, threads and identity",
      "names": [
        "arch_prctl", "capget", "execve", "execveat", "exit", "exit_group", "fork",
        "vfork", "futex", "futex_waitv", "get_robust_list", "set_robust_list", "get_thread_area",
        "set_thread_area", "set_tid_address", "getcpu", "getegid", "geteuid", "getgid",
        "getgroups", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getresgid",
        "getresuid", "getrlimit", "getrusage", "getsid", "gettid", "getuid", "ioprio_get",
        "ioprio_set", "prctl", "prlimit64", "rseq", "sched_getaffinity", "sched_getattr",
        "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
        "sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity", "sched_setattr",
        "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "setfsgid", "setfsuid",
        "setgid", "setgroups", "setpgid", "setpriority", "setregid", "setresgid", "setresuid",
        "setreuid", "setrlimit", "setsid", "setuid", "sysinfo", "uname", "getrandom", "wait4",
        "waitid", "pidfd_open", "pidfd_send_signal", "landlock_create_ruleset",
        "landlock_add_rule", "landlock_restrict_self"
      ],
      "action": "SCMP_ACT_ALLOW"
    },
    {
      "comment": "Signals",
      "names": [
        "kill", "pause", "restart_syscall", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
        "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
        "rt_tgsigqueueinfo", "sigaltstack", "tgkill", "tkill"
      ],
      "action": "SCMP_ACT_ALLOW"
    },
    {
      "comment": "Time",
      "names": [
        "alarm", "clock_getres", "clock_gettime", "clock_nanosleep", "getitimer", "gettimeofday",
        "nanosleep", "setitimer", "time", "times", "timer_create", "timer_delete",
        "timer_getoverrun", "timer_gettime", "timer_settime"
      ],
      "action": "SCMP_ACT_ALLOW"
    },
    {
      "comment": "System V and POSIX IPC",
      "names": [
        "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop", "semtimedop",
        "shmat", "shmctl", "shmdt", "shmget", "mq_getsetattr", "mq_notify", "mq_open",
        "mq_timedreceive", "mq_timedsend", "mq_unlink"
      ],
      "action": "SCMP_ACT_ALLOW"
    },
    {
      "comment": "Network calls: served by srouter's network stack (always, whatever a policy says). socket/socketpair of AF_UNIX, send/recv without an address and non-socket ioctls run natively.",
      "names": [
        "socket", "socketpair", "bind", "connect", "listen", "accept", "accept4", "getsockname",
        "getpeername", "setsockopt", "getsockopt", "shutdown", "sendto", "sendmsg", "sendmmsg",
        "recvfrom", "recvmsg", "recvmmsg", "ioctl"
      ],
      "action": "SCMP_ACT_NOTIFY"
    },
    {
      "comment": "Processes and threads; srouter refuses namespace flags (clone, unshare) whatever a policy says",
      "names": [
        "clone", "unshare"
      ],
      "action": "SCMP_ACT_ALLOW"
    },
    {
      "comment": "clone3 passes its flags in memory the filter cannot read: ENOSYS makes glibc fall back to clone",
      "names": [
        "clone3"
      ],
      "action": "SCMP_ACT_ERRNO",
      "errnoRet": 38
    },
    {
      "comment": "capset: the guest holds no capabilities and cannot gain any; a daemon that raises the network ones (FRR's zebra and bgpd, around every netlink write) is told it succeeded, as srouter serves its network calls as if it held them, and nothing changes (capget still shows none)",
      "names": [
        "capset"
      ],
      "action": "SCMP_ACT_ERRNO",
      "errnoRet": 0
    },
    {
      "comment": "personality: the harmless queries and settings Docker allows",
      "names": [
        "personality"
      ],
      "action": "SCMP_ACT_ALLOW",
      "args": [
        {
          "index": 0,
          "value": 0,
          "op": "SCMP_CMP_EQ"
        }
      ]
    },
    {
      "comment": "personality: the harmless queries and settings Docker allows",
      "names": [
        "personality"
      ],
      "action": "SCMP_ACT_ALLOW",
      "args": [
        {
          "index": 0,
          "value": 8,
          "op": "SCMP_CMP_EQ"
        }
      ]
    },
    {
      "comment": "personality: the harmless queries and settings Docker allows",
      "names": [
        "personality"
      ],
      "action": "SCMP_ACT_ALLOW",
      "args": [
        {
          "index": 0,
          "value": 131072,
          "op": "SCMP_CMP_EQ"
        }
      ]
    },
    {
      "comment": "personality: the harmless queries and settings Docker allows",
      "names": [
        "personality"
      ],
      "action": "SCMP_ACT_ALLOW",
      "args": [
        {
          "index": 0,
          "value": 131080,
          "op": "SCMP_CMP_EQ"
        }
      ]
    },
    {
      "comment": "personality: the harmless queries and settings Docker allows",
      "names": [
        "personality"
      ],
      "action": "SCMP_ACT_ALLOW",
      "args": [
        {
          "index": 0,
          "value": 4294967295,
          "op": "SCMP_CMP_EQ"
        }
      ]
    },
    {
      "comment": "Refused by srouter whatever a policy says (DESIGN §6): ways out of the sandbox or into srouter",
      "names": [
        "io_uring_setup", "io_uring_enter", "io_uring_register", "ptrace", "process_vm_readv",
        "process_vm_writev", "pidfd_getfd", "bpf", "perf_event_open", "kexec_load",
        "kexec_file_load", "init_module", "finit_module", "delete_module", "keyctl", "add_key",
        "request_key", "userfaultfd", "mount", "umount2", "pivot_root", "move_mount", "open_tree",
        "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "setns"
      ],
      "action": "SCMP_ACT_ERRNO",
      "errnoRet": 1
    }
  ]
}
"""#
}
