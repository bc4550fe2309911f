// The guest launcher and its guard.
//
// srouter is a multi-threaded Swift process, so everything between fork and execve must be
// async-signal-safe: raw system calls on memory prepared before the fork, no malloc, no locks.
//
//   srouter ──fork──► guard ──fork──► guest launcher ──execve──► CMD
//
// The guard is a child subreaper (PR_SET_CHILD_SUBREAPER): the guest's orphans — a daemon that
// double-forks, as BIRD does without -f — become its children, not init's. It reaps them and
// reports each exit to srouter. When its control pipe from srouter reaches EOF (srouter exited,
// or was killed with SIGKILL and the kernel closed the pipe) it SIGKILLs every remaining guest
// process, so no guest outlives srouter.
//
// The guest launcher (in order): PR_SET_PDEATHSIG(SIGKILL) → own process group (and the
// terminal's foreground, when srouter had it) → default signal dispositions and an empty mask →
// capabilities dropped (bounding set, securebits, ambient, capset) → PR_SET_NO_NEW_PRIVS →
// the refusal filter → the policy filter with SECCOMP_FILTER_FLAG_NEW_LISTENER → reports the
// listener fd number → waits for srouter to take the listener with pidfd_getfd (DESIGN §3:
// sendmsg would itself be trapped and deadlock) → closes its copy → execve.
//
// After the filter is installed the launcher calls only write, read, close, execve and
// exit_group; the policy compiler refuses a policy that denies them.
#define _GNU_SOURCE
#include "CSRouterLinux.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

// MARK: - Small async-signal-safe helpers

static void write_record(int fd, int32_t kind, int32_t stage, int32_t pid, int32_t value) {
    struct srouter_launch_record record = {kind, stage, pid, value};
    ssize_t n;
    do {
        n = write(fd, &record, sizeof record);
    } while (n < 0 && errno == EINTR);
}

static _Noreturn void fail(const struct srouter_launch_spec *spec, int stage, int error) {
    write_record(spec->status_fd, SROUTER_LAUNCH_FAILED, stage, (int32_t)getpid(), error);
    _exit(127);
}

/// Drops every capability so that not even uid 0 regains any at execve.
static int drop_capabilities(const struct srouter_launch_spec *spec) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) return -errno;
    int have_setpcap = (data[0].effective & (1u << CAP_SETPCAP)) != 0;
    if (have_setpcap) {
        // Root regains the bounding set at execve unless the bounding set is empty and
        // SECBIT_NOROOT is locked; both need CAP_SETPCAP, so do them before capset below.
        for (int cap = 0; cap <= spec->last_cap; cap++) {
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return -errno;
        }
        // SECBIT_KEEP_CAPS stays unlocked: with every set empty it keeps nothing, and
        // programs that shed privilege as uid 0 (iputils ping's PR_SET_KEEPCAPS) set it.
        unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                             SECBIT_NO_SETUID_FIXUP_LOCKED;
        if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) != 0) return -errno;
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return -errno;
    __builtin_memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &header, data) != 0) return -errno;
    return 0;
}

// MARK: - Guest launcher

static _Noreturn void run_launcher(const struct srouter_launch_spec *spec, pid_t guard) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail(spec, SROUTER_STAGE_PDEATHSIG, errno);
    if (getppid() != guard) _exit(127);  // the guard died before PDEATHSIG was armed

    if (setpgid(0, 0) != 0) fail(spec, SROUTER_STAGE_SETPGID, errno);
    if (spec->give_terminal) {
        // We are a background group now: tcsetpgrp would stop us with SIGTTOU unless blocked
        // (the mask srouter handed down already blocks it or not; block it explicitly).
        sigset_t ttou;
        sigemptyset(&ttou);
        sigaddset(&ttou, SIGTTOU);
        sigprocmask(SIG_BLOCK, &ttou, NULL);
        (void)tcsetpgrp(spec->terminal_fd, getpgrp());
    }
    // Default dispositions (srouter's runtime ignores SIGPIPE, which execve would keep) and an
    // empty signal mask (srouter blocks the signals it reads through a signalfd).
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        signal(sig, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    // `srouter exec`: the client's working directory (its descriptors are 0-2 already, from
    // the guard).
    if (spec->directory && chdir(spec->directory) != 0) fail(spec, SROUTER_STAGE_STDIO, errno);

    int rc = drop_capabilities(spec);
    if (rc != 0) fail(spec, SROUTER_STAGE_CAPS, -rc);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(spec, SROUTER_STAGE_NO_NEW_PRIVS, errno);
    // srouter and the guard are not dumpable (no guest may ptrace them); this process
    // inherited that, but srouter must take the listener from it with pidfd_getfd.
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) fail(spec, SROUTER_STAGE_CAPS, errno);

    pid_t self = getpid();  // before the filters: getpid is not a launcher call
    // Two stacked filters: the kernel applies the most restrictive verdict of the two
    // (ERRNO over USER_NOTIF over ALLOW), so the refusals hold whatever the policy allows.
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &spec->refusals) != 0)
        fail(spec, SROUTER_STAGE_SECCOMP, errno);
    long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                            SECCOMP_FILTER_FLAG_NEW_LISTENER, &spec->filter);
    if (listener < 0) fail(spec, SROUTER_STAGE_SECCOMP, errno);

    // From here on every call passes through the filter (see the header comment).
    write_record(spec->status_fd, SROUTER_LAUNCH_READY, 0, (int32_t)self, (int32_t)listener);
    char ack = 0;
    ssize_t n;
    do {
        n = read(spec->ack_fd, &ack, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1 || ack != 1) _exit(127);  // srouter could not take the listener; it reports why
    close((int)listener);

    execve(spec->path, spec->argv, spec->envp);
    fail(spec, SROUTER_STAGE_EXEC, errno);
}

// MARK: - Guard

/// Reads the guard's children from /proc/self/task/<tid>/children into `pids`; returns count.
static int list_children(pid_t *pids, int capacity) {
    char path[64] = "/proc/self/task/";
    // Append our tid (the guard is single-threaded: tid == pid).
    char digits[16];
    int len = 0;
    for (pid_t v = getpid(); v > 0; v /= 10) digits[len++] = (char)('0' + v % 10);
    int p = 16;
    while (len > 0) path[p++] = digits[--len];
    const char *suffix = "/children";
    for (int i = 0; suffix[i]; i++) path[p++] = suffix[i];
    path[p] = 0;

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buffer[4096];
    ssize_t n = read(fd, buffer, sizeof buffer - 1);
    close(fd);
    int count = 0;
    pid_t current = 0;
    for (ssize_t i = 0; i < (n > 0 ? n : 0); i++) {
        char c = buffer[i];
        if (c >= '0' && c <= '9') {
            current = current * 10 + (c - '0');
        } else if (current > 0) {
            if (count < capacity) pids[count++] = current;
            current = 0;
        }
    }
    if (current > 0 && count < capacity) pids[count++] = current;
    return count;
}

/// Whether the guard still has children (live or unreaped) after a round of reaping.
static int has_children(void) {
    siginfo_t info;
    info.si_pid = 0;
    return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

static void reap_and_report(const struct srouter_launch_spec *spec) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        write_record(spec->status_fd, SROUTER_LAUNCH_REAPED, has_children(), pid, status);
    }
}

static _Noreturn void kill_all_and_exit(void) {
    for (int round = 0; round < 1000; round++) {
        pid_t pids[256];
        int count = list_children(pids, 256);
        for (int i = 0; i < count; i++) kill(pids[i], SIGKILL);
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0 && errno == ECHILD) break;
    }
    _exit(0);
}

/// Closes every fd above stderr except the launch pipes: the guard never execs, so close-on-exec
/// would not protect srouter's sockets, and a copy kept here would hide their hangups.
static void close_inherited_fds(const struct srouter_launch_spec *spec) {
    int keep[4] = {spec->status_fd, spec->ack_fd, spec->control_fd,
                   spec->give_terminal ? spec->terminal_fd : -1};
    // Sort the four (insertion sort) and close the gaps between them.
    for (int i = 1; i < 4; i++) {
        for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
            int t = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = t;
        }
    }
    unsigned int next = 3;
    for (int i = 0; i < 4; i++) {
        if (keep[i] < (int)next) continue;
        if ((unsigned int)keep[i] > next) syscall(SYS_close_range, next, keep[i] - 1, 0);
        next = (unsigned int)keep[i] + 1;
    }
    syscall(SYS_close_range, next, ~0U, 0);
}

static _Noreturn void run_guard(const struct srouter_launch_spec *spec) {
    // `srouter exec`: the client's standard descriptors become 0-2 before everything else
    // above stderr is closed (they are srouter's descriptors 3 and up).
    for (int fd = 0; fd < 3; fd++) {
        if (spec->stdio_fds[fd] >= 3 && dup2(spec->stdio_fds[fd], fd) < 0) fail(spec, SROUTER_STAGE_STDIO, errno);
    }
    close_inherited_fds(spec);
    prctl(PR_SET_NAME, "srouter-guard", 0, 0, 0);
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    // Signals meant for the guest reach it from srouter; the guard ignores them all and
    // reads SIGCHLD through a signalfd.
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    sigset_t child;
    sigemptyset(&child);
    sigaddset(&child, SIGCHLD);
    int sfd = signalfd(-1, &child, SFD_NONBLOCK | SFD_CLOEXEC);

    pid_t guard = getpid();
    pid_t guest = _Fork();
    if (guest < 0) fail(spec, SROUTER_STAGE_FORK, errno);
    if (guest == 0) run_launcher(spec, guard);
    close(spec->ack_fd);

    struct pollfd fds[2] = {{spec->control_fd, POLLIN, 0}, {sfd, POLLIN, 0}};
    for (;;) {
        int ready = poll(fds, sfd >= 0 ? 2 : 1, sfd >= 0 ? -1 : 200);
        if (ready < 0 && errno != EINTR) kill_all_and_exit();
        if (sfd >= 0 && (fds[1].revents & POLLIN)) {
            struct signalfd_siginfo info;
            while (read(sfd, &info, sizeof info) > 0) {
            }
        }
        reap_and_report(spec);
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            int32_t command[2];
            ssize_t n = read(spec->control_fd, command, sizeof command);
            if (n <= 0 && !(n < 0 && errno == EINTR)) kill_all_and_exit();
            if (n == (ssize_t)sizeof command && command[0] == SROUTER_GUARD_SIGNAL) {
                pid_t pids[256];
                int count = list_children(pids, 256);
                for (int i = 0; i < count; i++) kill(pids[i], command[1]);
            }
        }
    }
}

pid_t srouter_spawn_guest(const struct srouter_launch_spec *spec) {
    pid_t guard = _Fork();
    if (guard < 0) return -errno;
    if (guard == 0) run_guard(spec);
    return guard;
}
