/*
 * probe-notify-floor — the bare seccomp user-notification round trip, the floor under every
 * trapped call (a benchmark, not a test; it runs natively, never under srouter).
 *
 * For each variant, a child process installs a filter (raw BPF, PR_SET_NO_NEW_PRIVS first,
 * SECCOMP_FILTER_FLAG_NEW_LISTENER) that returns SECCOMP_RET_USER_NOTIF for getsockname and
 * allows everything else, and hands the listener to this process over a socketpair
 * (SCM_RIGHTS). This process is the whole supervisor: SECCOMP_IOCTL_NOTIF_RECV, then
 * SECCOMP_IOCTL_NOTIF_SEND answering value 0, nothing else. The child calls getsockname(-1)
 * in a loop, timed with CLOCK_MONOTONIC after a warm-up of ITER/10 (at least 10) calls, and
 * sends its figure back over the socketpair. getsockname on fd -1 never succeeds natively, so
 * `ok` means every call was served by the supervisor. Variants:
 *   floor-blocking           the supervisor blocks in NOTIF_RECV
 *   floor-epoll              it waits in epoll_wait on the listener, then RECV (as srouter's
 *                            NotificationLoop does)
 *   floor-sync-wakeup        blocking, with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP set on the
 *                            listener (SECCOMP_IOCTL_NOTIF_SET_FLAGS, Linux 6.6+)
 *   floor-epoll-sync-wakeup  epoll with SYNC_WAKE_UP: what srouter's NotificationLoop sets up
 * Compare figures only as ratios taken in the same run (see DESIGN.md §8).
 *
 * Usage: probe-notify-floor [-n ITER] [--json]   (default 2000 iterations)
 *
 * Output, one line per variant:  NAME ITER NS_PER_CALL RESULT
 *   e.g. "floor-epoll 2000 5234.1 ok"
 * RESULT is `ok`, `unsupported` (the kernel refused SYNC_WAKE_UP; NS_PER_CALL is 0.0), or the
 * errno name of the first failure (a call not served as expected, or a failed step of the
 * set-up; `ETIME` if a variant took longer than 30 s). With --json, a single JSON object on
 * one line instead:
 *   {"floor-blocking": {"iterations": 2000, "ns_per_call": 4870.2, "result": "ok"}, ...}
 * Exit status: 0, or 2 for a usage error. The child is always reaped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchmark.h"
#include "errname.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/// Seconds a variant may take before the supervisor gives up on it (SIGALRM interrupts it).
enum { variant_timeout_seconds = 30 };

/// What the child sends back once its loop is done.
struct child_report {
    double ns_per_call;
    int first_error;             /* errno of the first call that did not return 0, or 0 */
};

/// One measured variant.
struct measurement {
    const char *name;
    int use_epoll;
    int sync_wake_up;
    double ns_per_call;
    char result[24];             /* "ok", "unsupported" or an errno name */
};

/// Reads exactly `length` bytes; 0, or -1 with errno set (EPIPE if the peer closed early).
static int read_all(int fd, void *buffer, size_t length)
{
    char *p = buffer;
    while (length > 0) {
        ssize_t n = read(fd, p, length);
        if (n < 0)
            return -1;           /* EINTR too: the variant's alarm, give up */
        if (n == 0) {
            errno = EPIPE;
            return -1;
        }
        p += n;
        length -= (size_t)n;
    }
    return 0;
}

// MARK: - The child (the notifying side)

/// Installs the filter: getsockname → SECCOMP_RET_USER_NOTIF, everything else allowed (and
/// every call of a foreign architecture). Returns the listener fd, or -1 with errno set.
static int install_filter(void)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getsockname, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = { .len = sizeof code / sizeof code[0], .filter = code };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
                        SECCOMP_FILTER_FLAG_NEW_LISTENER, &program);
}

/// Sends `fd` over the unix socket `channel` (SCM_RIGHTS). 0, or -1 with errno set.
static int send_fd(int channel, int fd)
{
    char byte = 'l';
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.space, .msg_controllen = sizeof control.space,
    };
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&message);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
    return sendmsg(channel, &message, 0) == 1 ? 0 : -1;
}

/// The child: installs the filter, hands over the listener, waits for the supervisor's go
/// ('g'; anything else ends it), runs the warm-up and the timed loop and reports. Never returns.
static void run_child(int channel, int iterations)
{
    int listener = install_filter();
    if (listener < 0 || send_fd(channel, listener) < 0)
        _exit(1);                /* the supervisor sees the channel close */
    close(listener);
    char go;
    if (read_all(channel, &go, 1) < 0 || go != 'g')
        _exit(0);

    struct child_report report = { 0 };
    int warm_up = warm_up_count(iterations);
    for (int i = 0; i < warm_up; i++)
        if (syscall(__NR_getsockname, -1, NULL, NULL) != 0 && report.first_error == 0)
            report.first_error = errno;
    double start = now_ns();
    for (int i = 0; i < iterations; i++)
        if (syscall(__NR_getsockname, -1, NULL, NULL) != 0 && report.first_error == 0)
            report.first_error = errno;
    report.ns_per_call = (now_ns() - start) / iterations;
    _exit(write(channel, &report, sizeof report) == (ssize_t)sizeof report ? 0 : 1);
}

// MARK: - The supervisor (this process)

/// Receives the fd the child sent over `channel`; the fd, or -1 with errno set.
static int receive_fd(int channel)
{
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr message = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.space, .msg_controllen = sizeof control.space,
    };
    ssize_t n = recvmsg(channel, &message, MSG_CMSG_CLOEXEC);
    if (n <= 0) {
        if (n == 0)
            errno = EPIPE;       /* the child failed before sending the listener */
        return -1;
    }
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&message);
    if ((message.msg_flags & MSG_CTRUNC) || cmsg == NULL || cmsg->cmsg_level != SOL_SOCKET ||
        cmsg->cmsg_type != SCM_RIGHTS) {
        errno = EPROTO;
        return -1;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
    return fd;
}

/// Serves `count` notifications on `listener`, each answered with value 0: the tightest loop
/// there is (after epoll_wait on `epoll` when it is not -1). 0, or an errno.
static int serve(int listener, int epoll, int count)
{
    struct seccomp_notif request;
    struct seccomp_notif_resp response;
    struct epoll_event event;
    for (int served = 0; served < count; served++) {
        if (epoll >= 0) {
            int ready = epoll_wait(epoll, &event, 1, -1);
            if (ready < 0)
                return errno;
            if (!(event.events & EPOLLIN))
                return EPIPE;    /* EPOLLHUP alone: the child has gone */
        }
        memset(&request, 0, sizeof request);   /* NOTIF_RECV wants a zeroed buffer */
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &request) < 0)
            return errno;
        response = (struct seccomp_notif_resp){ .id = request.id, .val = 0 };
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &response) < 0)
            return errno;
    }
    return 0;
}

/// SIGALRM only interrupts the blocked call of a variant that overran (no SA_RESTART).
static void on_alarm(int signal)
{
    (void)signal;
}

/// The supervisor's side of one variant, given the child's end of the channel; returns the
/// result text's errno (0 for ok, -1 for unsupported) and fills in `m->ns_per_call`.
static int supervise(struct measurement *m, int channel, int iterations)
{
    int listener = receive_fd(channel);
    if (listener < 0)
        return errno;
    int error = 0, epoll = -1;
    if (m->sync_wake_up &&
        ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0)
        error = -1;
    if (error == 0 && m->use_epoll) {
        struct epoll_event event = { .events = EPOLLIN };
        epoll = epoll_create1(EPOLL_CLOEXEC);
        if (epoll < 0 || epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event) < 0)
            error = errno;
    }
    char go = error == 0 ? 'g' : 'q';
    if (write(channel, &go, 1) != 1 && error == 0)
        error = errno;
    if (error == 0)
        error = serve(listener, epoll, warm_up_count(iterations) + iterations);
    struct child_report report;
    if (error == 0 && read_all(channel, &report, sizeof report) < 0)
        error = errno;
    if (error == 0) {
        m->ns_per_call = report.ns_per_call;
        error = report.first_error;
    }
    if (epoll >= 0)
        close(epoll);
    close(listener);             /* a child still waiting in a trapped call gets ENOSYS */
    return error;
}

/// Runs variant `m`: forks the child, supervises it, reaps it, and fills in the figure and
/// the result. A variant that overruns its alarm is ETIME and its child is killed.
static void measure(struct measurement *m, int iterations)
{
    int sv[2];
    m->ns_per_call = 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(m->result, sizeof m->result, "%s", errname(errno));
        return;
    }
    pid_t child = fork();
    if (child < 0) {
        snprintf(m->result, sizeof m->result, "%s", errname(errno));
        close(sv[0]);
        close(sv[1]);
        return;
    }
    if (child == 0) {
        close(sv[0]);
        run_child(sv[1], iterations);
    }
    close(sv[1]);
    alarm(variant_timeout_seconds);
    int error = supervise(m, sv[0], iterations);
    int overran = alarm(0) == 0 && error == EINTR;
    if (error != 0)
        kill(child, SIGKILL);    /* it may be blocked in a call nobody answers */
    close(sv[0]);
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
        continue;
    if (error != 0)
        m->ns_per_call = 0;
    const char *result = error == 0 ? "ok" : error == -1 ? "unsupported"
                       : overran ? "ETIME" : errname(error);
    snprintf(m->result, sizeof m->result, "%s", result);
}

int main(int argc, char **argv)
{
    int iterations = 2000, json = 0;
    if (parse_benchmark_arguments(argc, argv, "probe-notify-floor", &iterations, &json) != 0)
        return 2;
    struct sigaction alarm_action = { .sa_handler = on_alarm };
    sigaction(SIGALRM, &alarm_action, NULL);

    struct measurement m[] = {
        { .name = "floor-blocking" },
        { .name = "floor-epoll", .use_epoll = 1 },
        { .name = "floor-sync-wakeup", .sync_wake_up = 1 },
        { .name = "floor-epoll-sync-wakeup", .use_epoll = 1, .sync_wake_up = 1 },
    };
    size_t count = sizeof m / sizeof m[0];
    for (size_t i = 0; i < count; i++)
        measure(&m[i], iterations);

    for (size_t i = 0; i < count; i++)
        print_benchmark_row(json, i, count, m[i].name, iterations, m[i].ns_per_call, m[i].result);
    return 0;
}
