/*
 * probe-threads — trapped socket calls from many threads at once.
 *
 * A multi-threaded guest (BIRD runs BFD in a thread) sends the supervisor notifications
 * from several thread ids concurrently. This probe checks that every one gets an answer,
 * that the answers are consistent, and that calls the sandbox lets continue still work.
 * The integration tests run it inside the sandbox and expect exit status 0; the common
 * socket(AF_INET) result tells them whether AF_INET is served (`fd`) or refused (an errno
 * name such as EAFNOSUPPORT).
 *
 * Usage: probe-threads [-t THREADS] [-n ITER]   (defaults: 8 threads, 50 iterations)
 *
 * Each thread, after all threads have started (a barrier), does ITER times:
 *   - socket(AF_INET, SOCK_STREAM, 0), recording the result ("fd" or the errno name) and
 *     closing the fd on success;
 *   - socketpair(AF_UNIX, SOCK_STREAM) + getsockname + a 1-byte write/read round trip,
 *     which must succeed.
 *
 * Output:
 *   thread I: socket(AF_INET)=RESULT unix=ok
 *   thread I: socket(AF_INET)=RESULT unix=FAILED (<first failure>)
 *   threads: T threads, results consistent: yes|no, socket(AF_INET)=RESULT
 * RESULT is `fd`, an errno name, or `mixed` if the results differed. Exit status 0 only if
 * every thread finished, every unix round trip succeeded and all socket(AF_INET) results
 * were identical; 1 otherwise. A 30 s alarm bounds the whole run: if it fires, the probe
 * prints `threads: timed out after 30 s, F of T threads finished` and exits with 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "errname.h"
#include "signal_safe.h"

#define TIMEOUT_SECONDS 30

/// What one thread saw.
struct thread_result {
    pthread_t thread;
    char inet[24];               /* "fd", an errno name, or "mixed" */
    int unix_ok;
    char unix_failure[128];      /* the first unix failure */
};

static int iterations = 50;
static pthread_barrier_t start_line;
static atomic_int finished;
static int thread_count = 8;

/// The result of one socket(AF_INET, SOCK_STREAM, 0) call: "fd" (closed again) or the
/// errno name.
static const char *inet_socket_result(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return errname(errno);
    close(fd);
    return "fd";
}

/// One AF_UNIX round trip: socketpair, getsockname (trapped and continued by the
/// sandbox), write one byte on one end and read it from the other. Returns 0, or -1 with
/// the failure written to `why`.
static int unix_round_trip(char *why, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        snprintf(why, size, "socketpair: %s", errname(errno));
        return -1;
    }
    int rc = -1;
    struct sockaddr_un name;
    socklen_t len = sizeof name;
    char out = 'x', in = 0;
    if (getsockname(sv[0], (struct sockaddr *)&name, &len) < 0)
        snprintf(why, size, "getsockname: %s", errname(errno));
    else if (name.sun_family != AF_UNIX)
        snprintf(why, size, "getsockname: family %d", name.sun_family);
    else if (write(sv[0], &out, 1) != 1)
        snprintf(why, size, "write: %s", errname(errno));
    else if (read(sv[1], &in, 1) != 1)
        snprintf(why, size, "read: %s", errname(errno));
    else if (in != out)
        snprintf(why, size, "read back 0x%02x", (unsigned char)in);
    else
        rc = 0;
    close(sv[0]);
    close(sv[1]);
    return rc;
}

/// A thread's body: waits at the barrier, then runs the iterations and fills in its
/// struct thread_result.
static void *thread_main(void *arg)
{
    struct thread_result *r = arg;
    r->unix_ok = 1;
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < iterations; i++) {
        const char *inet = inet_socket_result();
        if (i == 0)
            snprintf(r->inet, sizeof r->inet, "%s", inet);
        else if (strcmp(r->inet, inet) != 0)
            snprintf(r->inet, sizeof r->inet, "mixed");

        char why[96];
        if (unix_round_trip(why, sizeof why) < 0 && r->unix_ok) {
            r->unix_ok = 0;
            snprintf(r->unix_failure, sizeof r->unix_failure, "iteration %d: %s", i, why);
        }
    }
    atomic_fetch_add(&finished, 1);
    return NULL;
}

/// SIGALRM: some thread did not finish within TIMEOUT_SECONDS (a notification nobody
/// answered). Reports how many finished, with async-signal-safe calls only, and exits 1.
static void timed_out(int sig)
{
    (void)sig;
    char line[96];
    size_t at = 0;
    append_text(line, sizeof line, &at, "threads: timed out after 30 s, ");
    append_number(line, sizeof line, &at, atomic_load(&finished));
    append_text(line, sizeof line, &at, " of ");
    append_number(line, sizeof line, &at, thread_count);
    append_text(line, sizeof line, &at, " threads finished\n");
    if (write(STDOUT_FILENO, line, at) < 0) {
        /* nothing more to do */
    }
    _exit(1);
}

/// Parses a positive count option or exits with a usage error.
static int parse_count(const char *text, int max)
{
    char *end;
    long value = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || value < 1 || value > max) {
        fprintf(stderr, "probe-threads: bad count '%s' (1..%d)\n", text, max);
        exit(2);
    }
    return (int)value;
}

int main(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "t:n:")) != -1) {
        switch (c) {
        case 't': thread_count = parse_count(optarg, 1024); break;
        case 'n': iterations = parse_count(optarg, 1000000); break;
        default:
            fprintf(stderr, "usage: probe-threads [-t THREADS] [-n ITER]\n");
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, timed_out);
    alarm(TIMEOUT_SECONDS);

    struct thread_result *results = calloc((size_t)thread_count, sizeof *results);
    if (results == NULL) {
        printf("threads: calloc failed\n");
        return 1;
    }
    /* The barrier releases the threads together once all have been created. */
    int created = 0;
    pthread_barrier_init(&start_line, NULL, (unsigned)thread_count);
    for (int i = 0; i < thread_count; i++) {
        int err = pthread_create(&results[i].thread, NULL, thread_main, &results[i]);
        if (err != 0) {
            printf("threads: pthread_create %d: %s\n", i, errname(err));
            break;
        }
        created++;
    }
    if (created < thread_count) {
        /* Too few threads to fill the barrier: report and leave without waiting. */
        printf("threads: %d threads, results consistent: no, socket(AF_INET)=none\n", thread_count);
        _exit(1);
    }

    int all_ok = 1;
    const char *common = NULL;
    int consistent = 1;
    for (int i = 0; i < thread_count; i++) {
        pthread_join(results[i].thread, NULL);
        struct thread_result *r = &results[i];
        if (r->unix_ok)
            printf("thread %d: socket(AF_INET)=%s unix=ok\n", i, r->inet);
        else
            printf("thread %d: socket(AF_INET)=%s unix=FAILED (%s)\n", i, r->inet, r->unix_failure);
        all_ok &= r->unix_ok;
        if (strcmp(r->inet, "mixed") == 0 || (common != NULL && strcmp(common, r->inet) != 0))
            consistent = 0;
        if (common == NULL)
            common = r->inet;
    }
    alarm(0);
    printf("threads: %d threads, results consistent: %s, socket(AF_INET)=%s\n", thread_count,
           consistent ? "yes" : "no", consistent ? common : "mixed");
    pthread_barrier_destroy(&start_line);
    free(results);
    return all_ok && consistent ? 0 : 1;
}
