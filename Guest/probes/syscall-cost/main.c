/*
 * probe-syscall-cost — what a syscall costs under the sandbox (a benchmark, not a test).
 *
 * Measures the average wall-clock time per call (CLOCK_MONOTONIC around a loop, after a
 * short warm-up) of calls that take the sandbox's different paths:
 *   getppid           never trapped (native cost)
 *   socket-unix       socket(AF_UNIX, SOCK_DGRAM) + close: the BPF filter's argument
 *                     test lets it run natively
 *   getsockname-unix  getsockname on an AF_UNIX socketpair end: trapped, then the sandbox
 *                     answers SECCOMP_USER_NOTIF_FLAG_CONTINUE
 *   socket-inet       socket(AF_INET, SOCK_DGRAM, 0) (+ close if it succeeded): trapped
 *                     and answered by the sandbox
 * Comparing the lines of one run gives the cost of a trap relative to a native call;
 * compare figures only as ratios taken in the same run (see DESIGN.md §8).
 *
 * Usage: probe-syscall-cost [-n ITER] [--json]   (default 2000 iterations)
 *
 * Output, one line per call:  NAME ITER NS_PER_CALL RESULT
 *   e.g. "getppid 2000 61.3 ok", "socket-inet 2000 152034.7 EAFNOSUPPORT"
 * RESULT is `ok` or the errno name of the first failure (failures are fine: they are
 * timed like successes). With --json, a single JSON object on one line instead:
 *   {"getppid": {"iterations": 2000, "ns_per_call": 61.3, "result": "ok"}, ...}
 * Exit status: 0, or 1 if the set-up (the socketpair) failed, 2 for a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "benchmark.h"
#include "errname.h"

/// The errno of a call's first failure (0 while none failed), shared by the measured
/// functions and reset before each measurement.
static int first_error;

/// Records errno as the first failure, if there was none yet.
static void note_failure(void)
{
    if (first_error == 0)
        first_error = errno;
}

/// getppid: a call the sandbox never traps.
static void call_getppid(void)
{
    (void)getppid();
}

/// socket-unix: socket(AF_UNIX, SOCK_DGRAM) + close, allowed by the filter's argument test.
static void call_socket_unix(void)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0)
        note_failure();
    else
        close(fd);
}

/// The AF_UNIX socket that getsockname-unix asks about (one end of a socketpair).
static int unix_end = -1;

/// getsockname-unix: trapped; the sandbox sees the fd is not its own and lets it continue.
static void call_getsockname_unix(void)
{
    struct sockaddr_un name;
    socklen_t len = sizeof name;
    if (getsockname(unix_end, (struct sockaddr *)&name, &len) < 0)
        note_failure();
}

/// socket-inet: socket(AF_INET, SOCK_DGRAM, 0), trapped and answered by the sandbox;
/// closed again if it succeeded.
static void call_socket_inet(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        note_failure();
    else
        close(fd);
}

/// The AF_INET TCP socket that setsockopt-inet sets an option on.
static int inet_socket = -1;

/// setsockopt-inet: SO_REUSEADDR on a served TCP socket, trapped and answered.
static void call_setsockopt_inet(void)
{
    int one = 1;
    if (setsockopt(inet_socket, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        note_failure();
}

/// The TCP listener on 127.0.0.1 that tcp-connect-accept connects to, and its address.
static int listener = -1;
static struct sockaddr_in listener_address;

/// tcp-connect-accept: socket + blocking connect to 127.0.0.1 + accept + both closes: a whole
/// loopback TCP handshake, whose socket, connect and accept are trapped under srouter.
static void call_tcp_connect_accept(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        note_failure();
        return;
    }
    if (connect(fd, (struct sockaddr *)&listener_address, sizeof listener_address) < 0) {
        note_failure();
        close(fd);
        return;
    }
    int accepted = accept(listener, NULL, NULL);
    if (accepted < 0)
        note_failure();
    else
        close(accepted);
    close(fd);
}

/// One measured call.
struct measurement {
    const char *name;
    void (*call)(void);
    double ns_per_call;
    char result[24];             /* "ok" or the errno name of the first failure */
};

/// Runs `m->call` iterations/10 times (at least 10) to warm up, then `iterations` times
/// on the clock, and fills in the average and the result.
static void measure(struct measurement *m, int iterations)
{
    int warm_up = warm_up_count(iterations);
    first_error = 0;
    for (int i = 0; i < warm_up; i++)
        m->call();
    double start = now_ns();
    for (int i = 0; i < iterations; i++)
        m->call();
    double elapsed = now_ns() - start;
    m->ns_per_call = elapsed / iterations;
    snprintf(m->result, sizeof m->result, "%s", first_error == 0 ? "ok" : errname(first_error));
}

int main(int argc, char **argv)
{
    int iterations = 2000, json = 0;
    if (parse_benchmark_arguments(argc, argv, "probe-syscall-cost", &iterations, &json) != 0)
        return 2;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        fprintf(stderr, "probe-syscall-cost: socketpair(AF_UNIX): %s\n", errname(errno));
        return 1;
    }
    unix_end = sv[0];
    inet_socket = socket(AF_INET, SOCK_STREAM, 0);
    listener = socket(AF_INET, SOCK_STREAM, 0);
    listener_address = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t address_length = sizeof listener_address;
    if (inet_socket < 0 || listener < 0 ||
        bind(listener, (struct sockaddr *)&listener_address, sizeof listener_address) < 0 ||
        listen(listener, 64) < 0 ||
        getsockname(listener, (struct sockaddr *)&listener_address, &address_length) < 0) {
        fprintf(stderr, "probe-syscall-cost: a TCP listener on 127.0.0.1: %s\n", errname(errno));
        return 1;
    }

    struct measurement m[] = {
        { .name = "getppid", .call = call_getppid },
        { .name = "socket-unix", .call = call_socket_unix },
        { .name = "getsockname-unix", .call = call_getsockname_unix },
        { .name = "socket-inet", .call = call_socket_inet },
        { .name = "setsockopt-inet", .call = call_setsockopt_inet },
        { .name = "tcp-connect-accept", .call = call_tcp_connect_accept },
    };
    size_t count = sizeof m / sizeof m[0];
    for (size_t i = 0; i < count; i++)
        measure(&m[i], iterations);

    for (size_t i = 0; i < count; i++)
        print_benchmark_row(json, i, count, m[i].name, iterations, m[i].ns_per_call, m[i].result);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
