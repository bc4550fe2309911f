/*
 * probe-hostile — tries to escape the srouter sandbox, one attempt per check.
 *
 * The integration tests run this probe as the guest under `srouter run`. Each check is
 * something an attacker inside the guest would try in order to reach the host's network
 * stack or the supervisor (srouter) itself: host sockets, raw/packet sockets, netlink
 * writes, io_uring, ptrace and memory access into srouter, foreign syscall ABIs, namespace
 * games, bpf, and so on. Run natively (outside any sandbox, as root) most checks ESCAPE,
 * which shows that they test something.
 *
 * Usage: probe-hostile [--host-tcp PORT] [--host-udp PORT] [--srouter-pid PID]
 *   --host-tcp PORT    a TCP listener the test runs on the host's 127.0.0.1
 *   --host-udp PORT    a UDP listener the test runs on the host's 127.0.0.1
 *   --srouter-pid PID  the sandbox supervisor's pid
 * A check whose argument is missing is skipped.
 *
 * Output, one line per check on stdout:
 *   ok NAME: <what happened>      the attempt failed (or, for udp-host and
 *                                 netlink-route-write, the harness must decide)
 *   ESCAPED NAME: <what happened> the attempt succeeded
 *   skip NAME: <missing argument>
 *   ok still-served | FAILED still-served: <error>   (always last)
 *   hostile: N checks, E escaped                     (N counts checks that ran)
 * Exit status: E, plus 1 if still-served failed, capped at 100.
 *
 * Every check except still-served runs in a forked child with a 10 s alarm, so that a
 * filter that kills the process (SECCOMP_RET_KILL_*) or a call that never returns ends
 * only that check; the parent then reports "ok NAME: check process killed by signal ...".
 * A check that acts on the whole process (unshare, clone) thus changes nothing for the
 * checks after it.
 *
 * Running it natively as root changes the host: netlink-route-write adds a blackhole
 * route for 203.0.113.0/24 (left in place on purpose: under the sandbox it is the harness
 * that checks whether it reached the host table). Do that only in a throwaway netns.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <linux/rtnetlink.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"
#include "hostile.h"
#include "signal_safe.h"

/* Syscall numbers the brief pins (x86_64), in case the libc headers are older. */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#define I386_NR_socket 359                  /* arch/x86/entry/syscalls/syscall_32.tbl */
#define X32_SYSCALL_BIT 0x40000000L          /* __X32_SYSCALL_BIT */
#define CHECK_TIMEOUT_SECONDS 10

// MARK: - Options and reporting

struct options opt = { -1, -1, -1 };

void add(struct detail *d, const char *fmt, ...)
{
    size_t len = strlen(d->text);
    if (len > 0 && len + 2 < sizeof d->text) {
        strcpy(d->text + len, "; ");
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->text + len, sizeof d->text - len, fmt, ap);
    va_end(ap);
}

void add_errno(struct detail *d, const char *what, int e)
{
    add(d, "%s: %s (%s)", what, strerror(e), errname(e));
}

// MARK: - Ways around the filter

/// io-uring: io_uring_setup(8, &params) must fail: IORING_OP_SOCKET creates sockets
/// without any socket() call, so a ring alone is an escape.
static enum verdict check_io_uring(struct detail *d)
{
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    long fd = syscall(SYS_io_uring_setup, 8, &params);
    if (fd < 0) {
        add_errno(d, "io_uring_setup", errno);
        return V_OK;
    }
    add(d, "io_uring_setup returned fd %ld", fd);
    close((int)fd);
    return V_ESCAPED;
}

/// int80-socket: the i386 socket syscall (eax=359, ebx=AF_INET, ecx=SOCK_STREAM, edx=0)
/// through `int $0x80` from this 64-bit process. Natively it creates an AF_INET socket
/// (the filter sees AUDIT_ARCH_I386 and different numbers); it must return an error.
static enum verdict check_int80_socket(struct detail *d)
{
    int ret;
    /* In 64-bit mode, int $0x80 may clobber r8-r11 (older kernels zero them); r12-r15
     * are listed too, to be safe across kernel versions. */
    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "a"(I386_NR_socket), "b"(AF_INET), "c"(SOCK_STREAM), "d"(0)
                     : "memory", "cc", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15");
    if (ret < 0) {
        add_errno(d, "int $0x80 socket(AF_INET, SOCK_STREAM)", -ret);
        return V_OK;
    }
    add(d, "int $0x80 socket(AF_INET, SOCK_STREAM) returned fd %d", ret);
    close(ret);
    return V_ESCAPED;
}

/// x32-socket: socket(AF_INET, SOCK_STREAM) with the x32 ABI bit set (41 | 0x40000000)
/// must fail.
static enum verdict check_x32_socket(struct detail *d)
{
    long fd = syscall(SYS_socket | X32_SYSCALL_BIT, AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        add_errno(d, "x32 socket(AF_INET, SOCK_STREAM)", errno);
        return V_OK;
    }
    add(d, "x32 socket(AF_INET, SOCK_STREAM) returned fd %ld", fd);
    close((int)fd);
    return V_ESCAPED;
}

/// unshare-netns: unshare(CLONE_NEWUSER|CLONE_NEWNET) must fail: a private network
/// namespace is a real host network stack outside srouter's control.
static enum verdict check_unshare_netns(struct detail *d)
{
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
        add_errno(d, "unshare(CLONE_NEWUSER|CLONE_NEWNET)", errno);
        return V_OK;
    }
    add(d, "unshare(CLONE_NEWUSER|CLONE_NEWNET) succeeded");
    return V_ESCAPED;
}

/// clone-netns: the raw clone syscall with CLONE_NEWUSER|CLONE_NEWNET|SIGCHLD must fail
/// (the same escape as unshare-netns through another door; the child exits at once).
static enum verdict check_clone_netns(struct detail *d)
{
    long pid = syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0)
        _exit(0);
    if (pid < 0) {
        add_errno(d, "clone(CLONE_NEWUSER|CLONE_NEWNET)", errno);
        return V_OK;
    }
    waitpid((pid_t)pid, NULL, 0);
    add(d, "clone(CLONE_NEWUSER|CLONE_NEWNET) created child %ld", pid);
    return V_ESCAPED;
}

/// bpf: BPF_PROG_LOAD of a trivial socket filter ("return 0") and BPF_MAP_CREATE of a
/// one-entry array must both fail. ESCAPED if either succeeds.
static enum verdict check_bpf(struct detail *d)
{
    enum verdict v = V_OK;
    struct bpf_insn insns[] = {
        { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
        { .code = BPF_JMP | BPF_EXIT },
    };
    static const char license[] = "GPL";
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insn_cnt = sizeof insns / sizeof insns[0];
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.license = (uint64_t)(uintptr_t)license;
    long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    if (fd < 0) {
        add_errno(d, "BPF_PROG_LOAD", errno);
    } else {
        add(d, "BPF_PROG_LOAD returned fd %ld", fd);
        close((int)fd);
        v = V_ESCAPED;
    }

    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
    if (fd < 0) {
        add_errno(d, "BPF_MAP_CREATE", errno);
    } else {
        add(d, "BPF_MAP_CREATE returned fd %ld", fd);
        close((int)fd);
        v = V_ESCAPED;
    }
    return v;
}

/// perf-event-open: perf_event_open of a software CPU-clock counter on this process,
/// user space only (the most permissive request: allowed natively with paranoid <= 2),
/// must fail.
static enum verdict check_perf_event_open(struct detail *d)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.size = sizeof attr;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.disabled = 1;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
    if (fd < 0) {
        add_errno(d, "perf_event_open", errno);
        return V_OK;
    }
    add(d, "perf_event_open returned fd %ld", fd);
    close((int)fd);
    return V_ESCAPED;
}

/// userfaultfd: the userfaultfd syscall with UFFD_USER_MODE_ONLY (allowed natively even
/// to unprivileged users) and /dev/userfaultfd + USERFAULTFD_IOC_NEW (a way around a
/// syscall filter; its file mode normally keeps non-root out) must both fail.
static enum verdict check_userfaultfd(struct detail *d)
{
    enum verdict v = V_OK;
    long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    if (fd < 0) {
        add_errno(d, "userfaultfd", errno);
    } else {
        add(d, "userfaultfd returned fd %ld", fd);
        close((int)fd);
        v = V_ESCAPED;
    }

    int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (dev < 0) {
        add_errno(d, "open /dev/userfaultfd", errno);
        return v;
    }
    int ufd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
    if (ufd < 0) {
        add_errno(d, "/dev/userfaultfd USERFAULTFD_IOC_NEW", errno);
    } else {
        add(d, "/dev/userfaultfd USERFAULTFD_IOC_NEW returned fd %d", ufd);
        close(ufd);
        v = V_ESCAPED;
    }
    close(dev);
    return v;
}

/// keyctl: add_key("user", ...) to the user keyring must fail (the key is invalidated
/// again if it was added).
static enum verdict check_keyctl(struct detail *d)
{
    static const char payload[] = "x";
    long key = syscall(SYS_add_key, "user", "srouter-probe-hostile", payload, sizeof payload - 1,
                       KEY_SPEC_USER_KEYRING);
    if (key < 0) {
        add_errno(d, "add_key", errno);
        return V_OK;
    }
    add(d, "add_key returned key serial %ld", key);
    syscall(SYS_keyctl, KEYCTL_INVALIDATE, key);
    return V_ESCAPED;
}

/// mount: mount a tmpfs on a fresh directory under /tmp (so that ENOENT cannot be the
/// reason it fails) must fail. Unmounted again if it succeeded.
static enum verdict check_mount(struct detail *d)
{
    char dir[] = "/tmp/probe-hostile-mnt-XXXXXX";
    const char *target = mkdtemp(dir);
    if (target == NULL) {
        add_errno(d, "mkdtemp (mounting on /tmp instead)", errno);
        target = "/tmp";
    }
    enum verdict v = V_OK;
    if (mount("none", target, "tmpfs", 0, "size=16k") < 0) {
        add_errno(d, "mount tmpfs", errno);
    } else {
        add(d, "mounted a tmpfs on %s", target);
        umount2(target, MNT_DETACH);
        v = V_ESCAPED;
    }
    if (target == dir)
        rmdir(dir);
    return v;
}

// MARK: - The supervisor

/// ptrace-srouter: ptrace(PTRACE_ATTACH) and ptrace(PTRACE_SEIZE) on srouter must fail.
/// If one succeeds, the tracee is detached again before reporting ESCAPED.
static enum verdict check_ptrace_srouter(struct detail *d)
{
    pid_t pid = opt.srouter_pid;
    enum verdict v = V_OK;
    if (ptrace(PTRACE_ATTACH, pid, 0, 0) < 0) {
        add_errno(d, "PTRACE_ATTACH", errno);
    } else {
        waitpid(pid, NULL, __WALL);          /* the attach-stop */
        ptrace(PTRACE_DETACH, pid, 0, 0);
        add(d, "PTRACE_ATTACH succeeded");
        v = V_ESCAPED;
    }
    if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0) {
        add_errno(d, "PTRACE_SEIZE", errno);
    } else {
        ptrace(PTRACE_INTERRUPT, pid, 0, 0); /* detaching needs a ptrace-stop */
        waitpid(pid, NULL, __WALL);
        ptrace(PTRACE_DETACH, pid, 0, 0);
        add(d, "PTRACE_SEIZE succeeded");
        v = V_ESCAPED;
    }
    return v;
}

/// The start address of srouter's first mapping, read from /proc/PID/maps, or 0x400000
/// if that cannot be read.
static unsigned long first_mapping(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long start = 0x400000;
    if (f != NULL) {
        if (fscanf(f, "%lx", &start) != 1)
            start = 0x400000;
        fclose(f);
    }
    return start;
}

/// vm-write-srouter: process_vm_writev of 1 byte to srouter's address 0x400000 and
/// process_vm_readv of 1 byte from its first mapping must fail. EFAULT counts as ESCAPED:
/// the kernel checks permission (ESRCH, EPERM) before touching the target's memory, so
/// EFAULT means only the address was wrong. (The write goes to an address that is
/// normally unmapped in a PIE process, so a hole in the sandbox does not corrupt srouter.)
static enum verdict check_vm_write_srouter(struct detail *d)
{
    pid_t pid = opt.srouter_pid;
    enum verdict v = V_OK;
    char byte = 0;
    struct iovec local = { .iov_base = &byte, .iov_len = 1 };

    struct iovec remote = { .iov_base = (void *)0x400000, .iov_len = 1 };
    ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
    if (n >= 0) {
        add(d, "process_vm_writev wrote %zd byte at 0x400000", n);
        v = V_ESCAPED;
    } else if (errno == EFAULT) {
        add(d, "process_vm_writev: EFAULT at 0x400000 (permission check passed)");
        v = V_ESCAPED;
    } else {
        add_errno(d, "process_vm_writev", errno);
    }

    unsigned long address = first_mapping(pid);
    remote.iov_base = (void *)address;
    n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n >= 0) {
        add(d, "process_vm_readv read %zd byte at 0x%lx", n, address);
        v = V_ESCAPED;
    } else if (errno == EFAULT) {
        add(d, "process_vm_readv: EFAULT at 0x%lx (permission check passed)", address);
        v = V_ESCAPED;
    } else {
        add_errno(d, "process_vm_readv", errno);
    }
    return v;
}

/// proc-mem-srouter: open("/proc/PID/mem", O_RDWR) on srouter must fail. Opening it is
/// an ordinary open(): no syscall filter can tell it apart, so only srouter being
/// non-dumpable (or running as another user) stops it. Nothing is written.
static enum verdict check_proc_mem_srouter(struct detail *d)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)opt.srouter_pid);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        add_errno(d, "open /proc/PID/mem O_RDWR", errno);
        return V_OK;
    }
    add(d, "opened %s for writing", path);
    close(fd);
    return V_ESCAPED;
}

/// pidfd-getfd-srouter: pidfd_open(srouter) then pidfd_getfd(pidfd, 0) must fail at some
/// step (pidfd_open itself needs no permission; pidfd_getfd needs ptrace rights).
static enum verdict check_pidfd_getfd_srouter(struct detail *d)
{
    long pidfd = syscall(SYS_pidfd_open, opt.srouter_pid, 0);
    if (pidfd < 0) {
        add_errno(d, "pidfd_open", errno);
        return V_OK;
    }
    add(d, "pidfd_open returned fd %ld", pidfd);
    long fd = syscall(SYS_pidfd_getfd, pidfd, 0, 0);
    enum verdict v = V_OK;
    if (fd < 0) {
        add_errno(d, "pidfd_getfd", errno);
    } else {
        add(d, "pidfd_getfd(fd 0) returned fd %ld", fd);
        close((int)fd);
        v = V_ESCAPED;
    }
    close((int)pidfd);
    return v;
}

// MARK: - Running the checks

enum needs { NEEDS_NOTHING, NEEDS_HOST_TCP, NEEDS_HOST_UDP, NEEDS_SROUTER_PID };

static const struct check {
    const char *name;
    enum verdict (*run)(struct detail *);
    enum needs needs;
} checks[] = {
    { "tcp-host", check_tcp_host, NEEDS_HOST_TCP },
    { "udp-host", check_udp_host, NEEDS_HOST_UDP },
    { "af-packet", check_af_packet, NEEDS_NOTHING },
    { "netlink-route-write", check_netlink_route_write, NEEDS_NOTHING },
    { "socketpair-inet", check_socketpair_inet, NEEDS_NOTHING },
    { "io-uring", check_io_uring, NEEDS_NOTHING },
    { "int80-socket", check_int80_socket, NEEDS_NOTHING },
    { "x32-socket", check_x32_socket, NEEDS_NOTHING },
    { "unshare-netns", check_unshare_netns, NEEDS_NOTHING },
    { "clone-netns", check_clone_netns, NEEDS_NOTHING },
    { "bpf", check_bpf, NEEDS_NOTHING },
    { "perf-event-open", check_perf_event_open, NEEDS_NOTHING },
    { "userfaultfd", check_userfaultfd, NEEDS_NOTHING },
    { "keyctl", check_keyctl, NEEDS_NOTHING },
    { "mount", check_mount, NEEDS_NOTHING },
    { "ptrace-srouter", check_ptrace_srouter, NEEDS_SROUTER_PID },
    { "vm-write-srouter", check_vm_write_srouter, NEEDS_SROUTER_PID },
    { "proc-mem-srouter", check_proc_mem_srouter, NEEDS_SROUTER_PID },
    { "pidfd-getfd-srouter", check_pidfd_getfd_srouter, NEEDS_SROUTER_PID },
};

/// The option a check needs that was not given, or NULL if it can run.
static const char *missing_option(enum needs needs)
{
    switch (needs) {
    case NEEDS_HOST_TCP: return opt.host_tcp < 0 ? "--host-tcp" : NULL;
    case NEEDS_HOST_UDP: return opt.host_udp < 0 ? "--host-udp" : NULL;
    case NEEDS_SROUTER_PID: return opt.srouter_pid < 0 ? "--srouter-pid" : NULL;
    case NEEDS_NOTHING: break;
    }
    return NULL;
}

/// Runs one check in a forked child (which prints the check's line and exits with its
/// verdict) and returns the verdict. A child killed by a signal (the filter's KILL
/// action, SIGSYS from its TRAP action, or the 10 s alarm) counts as ok.
static enum verdict run_isolated(const struct check *c)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        struct detail d = { "" };
        add_errno(&d, "fork", errno);
        printf("ok %s: check not run: %s\n", c->name, d.text);
        return V_OK;
    }
    if (pid == 0) {
        alarm(CHECK_TIMEOUT_SECONDS);
        struct detail d = { "" };
        enum verdict v = c->run(&d);
        printf("%s %s: %s\n", v == V_ESCAPED ? "ESCAPED" : "ok", c->name, d.text);
        fflush(stdout);
        _exit(v);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            printf("ok %s: waitpid: %s (%s)\n", c->name, strerror(errno), errname(errno));
            return V_OK;
        }
    }
    if (WIFEXITED(status)) {
        if (WEXITSTATUS(status) == V_ESCAPED)
            return V_ESCAPED;
        if (WEXITSTATUS(status) != V_OK)
            printf("ok %s: check process exited with status %d\n", c->name, WEXITSTATUS(status));
        return V_OK;
    }
    int sig = WTERMSIG(status);
    if (sig == SIGALRM)
        printf("ok %s: no answer within %d s (check process killed by SIGALRM)\n", c->name,
               CHECK_TIMEOUT_SECONDS);
    else
        printf("ok %s: check process killed by signal %d (%s)\n", c->name, sig, strsignal(sig));
    return V_OK;
}

/// Counts so far, for the final line (also written by the alarm handler).
static volatile sig_atomic_t escaped_so_far, checks_ran;

/// SIGALRM during still-served: the supervisor never answered. Prints the FAILED line
/// and the final line with async-signal-safe calls only, and exits.
static void still_served_timed_out(int sig)
{
    (void)sig;
    char line[160];
    size_t at = 0;
    append_text(line, sizeof line, &at, "FAILED still-served: no answer within 10 s\nhostile: ");
    append_number(line, sizeof line, &at, checks_ran);
    append_text(line, sizeof line, &at, " checks, ");
    append_number(line, sizeof line, &at, escaped_so_far);
    append_text(line, sizeof line, &at, " escaped\n");
    if (write(STDOUT_FILENO, line, at) < 0) {
        /* nothing more to do */
    }
    int status = escaped_so_far + 1;
    _exit(status > 100 ? 100 : status);
}

/// still-served (always last, in the probe's own process): getsockname() on an AF_UNIX
/// socketpair end — a call the sandbox traps and lets continue — must succeed, which
/// shows the supervisor is still alive and serving. Returns 0 on success.
static int check_still_served(void)
{
    signal(SIGALRM, still_served_timed_out);
    alarm(CHECK_TIMEOUT_SECONDS);
    int sv[2];
    struct detail d = { "" };
    int failed = 0;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        add_errno(&d, "socketpair(AF_UNIX)", errno);
        failed = 1;
    } else {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (getsockname(sv[0], (struct sockaddr *)&ss, &len) < 0) {
            add_errno(&d, "getsockname", errno);
            failed = 1;
        } else if (ss.ss_family != AF_UNIX) {
            add(&d, "getsockname: family %d, not AF_UNIX", ss.ss_family);
            failed = 1;
        }
        close(sv[0]);
        close(sv[1]);
    }
    alarm(0);
    if (failed)
        printf("FAILED still-served: %s\n", d.text);
    else
        printf("ok still-served\n");
    return failed;
}

/// Parses a decimal number in [min, max] or exits with a usage error.
static long parse_number(const char *option, const char *text, long min, long max)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || *text == '\0' || *end != '\0' || value < min || value > max) {
        fprintf(stderr, "probe-hostile: %s: bad value '%s'\n", option, text);
        exit(2);
    }
    return value;
}

static void usage(void)
{
    fprintf(stderr, "usage: probe-hostile [--host-tcp PORT] [--host-udp PORT] [--srouter-pid PID]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--host-tcp") == 0)
            opt.host_tcp = (int)parse_number(argv[i], argv[i + 1], 1, 65535);
        else if (strcmp(argv[i], "--host-udp") == 0)
            opt.host_udp = (int)parse_number(argv[i], argv[i + 1], 1, 65535);
        else if (strcmp(argv[i], "--srouter-pid") == 0)
            opt.srouter_pid = (pid_t)parse_number(argv[i], argv[i + 1], 1, INT_MAX);
        else
            usage();
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        const char *missing = missing_option(checks[i].needs);
        if (missing != NULL) {
            printf("skip %s: no %s given\n", checks[i].name, missing);
            continue;
        }
        checks_ran++;
        if (run_isolated(&checks[i]) == V_ESCAPED)
            escaped_so_far++;
    }
    checks_ran++;
    int status = escaped_so_far + check_still_served();
    printf("hostile: %d checks, %d escaped\n", (int)checks_ran, (int)escaped_so_far);
    return status > 100 ? 100 : status;
}
