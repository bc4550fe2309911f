/*
 * probe-unix — AF_UNIX round trips between two guest processes.
 *
 * The sandbox traps socket calls and must leave AF_UNIX sockets (which are not srouter's)
 * working exactly as on Linux: it answers SECCOMP_USER_NOTIF_FLAG_CONTINUE for them, or
 * lets them through in the BPF filter. The integration tests run this probe inside the
 * sandbox (and natively, as a reference) and expect exit status 0.
 *
 * Usage: probe-unix [DIR]
 *   DIR  where the filesystem socket is created (default: a fresh mkdtemp directory under
 *        /tmp, removed at the end). The socket file itself is always removed.
 *
 * Checks, each between this process and a forked child:
 *   stream-path        SOCK_STREAM on a filesystem path: bind/listen/accept, connect,
 *                      "ping" → "pong", getsockname/getpeername on both ends
 *   dgram-abstract     SOCK_DGRAM on abstract addresses (names include the pid):
 *                      sendto/recvfrom both ways, the sender's address checked
 *   scm-rights         sendmsg/recvmsg with SCM_RIGHTS passing a pipe's read end from the
 *                      child to the parent, which reads the pipe's contents through it
 *   seqpacket-shutdown SOCK_SEQPACKET socketpair: message boundaries, shutdown(SHUT_WR),
 *                      recv returning 0 afterwards, send after SHUT_WR failing with EPIPE
 *
 * Output: `ok NAME` or `FAILED NAME: <why>` per check, then `unix: N checks, F failed`.
 * Exit status: F. Everything is bounded by alarm(10) (in the parent and each child); if
 * it fires, the probe prints `FAILED NAME: no progress within 10 s` for the check in
 * progress, the final line (counting that check as failed), and exits with 124.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"
#include "signal_safe.h"

#define TIMEOUT_SECONDS 10
#define POLL_MS 5000

// MARK: - Failure reporting

/// The socket path and the directory we created (empty if DIR was given), used by
/// stream-path and cleaned up at the end (also by the alarm handler).
static char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 64];
static char made_dir[64];

/// Why the current check (or child) failed; set by fail()/fail_errno().
static char why[512];

/// Records a printf-formatted failure reason and returns -1.
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return -1;
}

/// Records "WHAT: strerror (ENAME)" for the current errno and returns -1.
static int fail_errno(const char *what)
{
    int e = errno;
    return fail("%s: %s (%s)", what, strerror(e), errname(e));
}

// MARK: - Children

/// In the parent, the report pipe of the child currently running (-1 if none): await()
/// stops waiting when the child has exited.
static int running_child_report = -1;

/// A forked child and the pipe on which it reports why it failed.
struct child {
    pid_t pid;
    int report;   /* read end; the child writes `why` here before exiting with 1 */
};

/// Forks a child that runs `body(arg)` under its own alarm and exits 0 if it returned 0,
/// else writes `why` to the report pipe and exits 1. Returns 0, or -1 with `why` set.
static int start_child(struct child *c, int (*body)(void *), void *arg)
{
    int p[2];
    if (pipe(p) < 0)
        return fail_errno("pipe");
    fflush(stdout);
    c->pid = fork();
    if (c->pid < 0) {
        close(p[0]);
        close(p[1]);
        return fail_errno("fork");
    }
    if (c->pid == 0) {
        close(p[0]);
        running_child_report = -1;
        alarm(TIMEOUT_SECONDS);
        int rc = body(arg);
        if (rc != 0 && write(p[1], why, strlen(why)) < 0)
            rc = 1;
        _exit(rc != 0);
    }
    close(p[1]);
    c->report = p[0];
    running_child_report = p[0];
    return 0;
}

/// Waits for a child started by start_child. Returns 0 if it succeeded, else -1 with
/// `why` set to the child's reason ("child: ...").
static int finish_child(struct child *c)
{
    char message[sizeof why];
    size_t used = 0;
    ssize_t n;
    while (used < sizeof message - 1 &&
           (n = read(c->report, message + used, sizeof message - 1 - used)) > 0)
        used += (size_t)n;
    message[used] = '\0';
    close(c->report);
    running_child_report = -1;
    int status;
    while (waitpid(c->pid, &status, 0) < 0) {
        if (errno != EINTR)
            return fail_errno("waitpid");
    }
    if (WIFSIGNALED(status))
        return fail("child killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    if (WEXITSTATUS(status) != 0)
        return fail("child: %s", used > 0 ? message : "failed without a reason");
    return 0;
}

/// Reaps a child after the parent's side of a check failed. Keeps the parent's reason in
/// `why` and appends the child's, if it failed too (often the actual cause). Returns -1.
static int reap_after_failure(struct child *c)
{
    char mine[sizeof why];
    strcpy(mine, why);
    if (finish_child(c) < 0) {
        char theirs[sizeof why];
        strcpy(theirs, why);
        fail("%.200s (and %.250s)", mine, theirs);
    } else {
        strcpy(why, mine);
    }
    return -1;
}

/// Waits up to POLL_MS for `events` on `fd`. In the parent, while a child runs, it also
/// watches the child's report pipe and gives up as soon as the child has exited (the
/// child's reason then follows from reap_after_failure). Returns 0, or -1 with `why` set.
static int await(int fd, short events, const char *what)
{
    struct pollfd p[2] = {
        { .fd = fd, .events = events },
        { .fd = running_child_report, .events = POLLIN },
    };
    int n = poll(p, running_child_report >= 0 ? 2 : 1, POLL_MS);
    if (n < 0)
        return fail_errno("poll");
    if (n == 0)
        return fail("%s: nothing within %d ms", what, POLL_MS);
    if (p[0].revents == 0)
        return fail("%s: the child exited first", what);
    return 0;
}

// MARK: - I/O and address helpers

/// Sends all of `text` on `fd`. Returns 0, or -1 with `why` set.
static int send_text(int fd, const char *text, const char *what)
{
    size_t len = strlen(text);
    ssize_t n = send(fd, text, len, MSG_NOSIGNAL);
    if (n < 0)
        return fail_errno(what);
    if ((size_t)n != len)
        return fail("%s: sent %zd of %zu bytes", what, n, len);
    return 0;
}

/// Reads exactly strlen(expected) bytes from the stream `fd` and compares them.
static int expect_stream(int fd, const char *expected, const char *what)
{
    char buf[64];
    size_t want = strlen(expected), got = 0;
    while (got < want) {
        if (await(fd, POLLIN, what) < 0)
            return -1;
        ssize_t n = recv(fd, buf + got, want - got, 0);
        if (n < 0)
            return fail_errno(what);
        if (n == 0)
            return fail("%s: end of stream after %zu bytes", what, got);
        got += (size_t)n;
    }
    if (memcmp(buf, expected, want) != 0)
        return fail("%s: got '%.*s', expected '%s'", what, (int)want, buf, expected);
    return 0;
}

/// Receives one message from `fd` and checks it is exactly `expected` (length included).
static int expect_message(int fd, const char *expected, const char *what)
{
    char buf[64];
    if (await(fd, POLLIN, what) < 0)
        return -1;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0)
        return fail_errno(what);
    if ((size_t)n != strlen(expected) || memcmp(buf, expected, (size_t)n) != 0)
        return fail("%s: got %zd bytes '%.*s', expected '%s'", what, n, (int)(n > 0 ? n : 0), buf,
                    expected);
    return 0;
}

/// A filesystem-path address and its length as Linux reports it (path + NUL).
static socklen_t path_address(struct sockaddr_un *sun, const char *path)
{
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len > sizeof sun->sun_path - 1)
        len = sizeof sun->sun_path - 1;   /* callers reject such paths first */
    memcpy(sun->sun_path, path, len);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

/// An abstract address ("\0name") and its exact length (no trailing NUL).
static socklen_t abstract_address(struct sockaddr_un *sun, const char *name)
{
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    size_t len = strlen(name);
    if (len > sizeof sun->sun_path - 1)
        len = sizeof sun->sun_path - 1;
    memcpy(sun->sun_path + 1, name, len);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
}

/// Checks that an address returned by the kernel equals `want` (`want_len` bytes; a
/// length of sizeof(sa_family_t) means an unnamed socket).
static int same_address(const char *what, const struct sockaddr_un *got, socklen_t got_len,
                        const struct sockaddr_un *want, socklen_t want_len)
{
    if (got_len != want_len)
        return fail("%s: address length %u, expected %u", what, (unsigned)got_len, (unsigned)want_len);
    if (got->sun_family != AF_UNIX)
        return fail("%s: family %d, expected AF_UNIX", what, got->sun_family);
    if (memcmp(got, want, want_len) != 0)
        return fail("%s: address differs (got '%s%.*s')", what, got->sun_path[0] ? "" : "@",
                    (int)(got_len - offsetof(struct sockaddr_un, sun_path) - 1),
                    got->sun_path[0] ? got->sun_path : got->sun_path + 1);
    return 0;
}

/// Checks getsockname (or getpeername if `peer`) of `fd` against `want`.
static int check_name(int fd, int peer, const char *what, const struct sockaddr_un *want,
                      socklen_t want_len)
{
    struct sockaddr_un got;
    memset(&got, 0, sizeof got);
    socklen_t len = sizeof got;
    int rc = peer ? getpeername(fd, (struct sockaddr *)&got, &len)
                  : getsockname(fd, (struct sockaddr *)&got, &len);
    if (rc < 0)
        return fail_errno(what);
    return same_address(what, &got, len, want, want_len);
}

/// The address of an unnamed AF_UNIX socket, as getsockname/getpeername report it.
static const struct sockaddr_un unnamed = { .sun_family = AF_UNIX };
#define UNNAMED_LEN ((socklen_t)sizeof(sa_family_t))

// MARK: - stream-path

/// Client side of stream-path: connect to the path, check both names, "ping" → "pong".
static int stream_client(void *arg)
{
    const char *path = arg;
    struct sockaddr_un server;
    socklen_t server_len = path_address(&server, path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return fail_errno("client socket");
    if (connect(fd, (struct sockaddr *)&server, server_len) < 0)
        return fail_errno("client connect");
    if (check_name(fd, 0, "client getsockname", &unnamed, UNNAMED_LEN) < 0 ||
        check_name(fd, 1, "client getpeername", &server, server_len) < 0 ||
        send_text(fd, "ping", "client send") < 0 ||
        expect_stream(fd, "pong", "client recv") < 0)
        return -1;
    close(fd);
    return 0;
}

/// Server side of stream-path, once the listener is up: accept, check names, reply.
static int stream_serve(int listener, const struct sockaddr_un *server, socklen_t server_len)
{
    if (await(listener, POLLIN, "accept") < 0)
        return -1;
    int fd = accept(listener, NULL, NULL);
    if (fd < 0)
        return fail_errno("accept");
    int rc = 0;
    if (check_name(fd, 0, "server getsockname", server, server_len) < 0 ||
        check_name(fd, 1, "server getpeername", &unnamed, UNNAMED_LEN) < 0 ||
        expect_stream(fd, "ping", "server recv") < 0 ||
        send_text(fd, "pong", "server send") < 0)
        rc = -1;
    close(fd);
    return rc;
}

/// stream-path: SOCK_STREAM on a filesystem path in `path`'s directory: the parent binds,
/// listens and accepts, a child connects, sends "ping" and gets "pong";
/// getsockname/getpeername on the listener and on both connected ends name the path (or
/// report the client as unnamed).
static int check_stream_path(void)
{
    const char *path = socket_path;
    struct sockaddr_un server;
    if (strlen(path) >= sizeof server.sun_path)
        return fail("path too long for sun_path: %s", path);
    socklen_t server_len = path_address(&server, path);
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    if (listener < 0)
        return fail_errno("socket");
    int rc = -1;
    struct child c;
    if (bind(listener, (struct sockaddr *)&server, server_len) < 0)
        fail_errno("bind");
    else if (listen(listener, 4) < 0)
        fail_errno("listen");
    else if (check_name(listener, 0, "listener getsockname", &server, server_len) < 0)
        ;
    else if (start_child(&c, stream_client, (void *)path) == 0) {
        if (stream_serve(listener, &server, server_len) < 0)
            reap_after_failure(&c);
        else
            rc = finish_child(&c);
    }
    close(listener);
    unlink(path);
    return rc;
}

// MARK: - dgram-abstract

/// The abstract names used by dgram-abstract; both include the parent's pid.
struct dgram_names {
    char server[64];
    char client[64];
};

/// Client side of dgram-abstract: bind its own abstract name, send "hello" to the server,
/// expect "olleh" back from the server's address.
static int dgram_client(void *arg)
{
    const struct dgram_names *names = arg;
    struct sockaddr_un server, client, from;
    socklen_t server_len = abstract_address(&server, names->server);
    socklen_t client_len = abstract_address(&client, names->client);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0)
        return fail_errno("client socket");
    if (bind(fd, (struct sockaddr *)&client, client_len) < 0)
        return fail_errno("client bind");
    if (sendto(fd, "hello", 5, 0, (struct sockaddr *)&server, server_len) != 5)
        return fail_errno("client sendto");
    if (await(fd, POLLIN, "client recvfrom") < 0)
        return -1;
    char buf[64];
    socklen_t from_len = sizeof from;
    memset(&from, 0, sizeof from);
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len);
    if (n < 0)
        return fail_errno("client recvfrom");
    if (n != 5 || memcmp(buf, "olleh", 5) != 0)
        return fail("client recvfrom: got %zd bytes, expected 'olleh'", n);
    if (same_address("client recvfrom source", &from, from_len, &server, server_len) < 0)
        return -1;
    close(fd);
    return 0;
}

/// dgram-abstract: SOCK_DGRAM between abstract addresses whose names include the pid: the
/// child sends "hello", the parent checks the data and that recvfrom names the child's
/// address, and answers "olleh" to that address; the child checks it came from the parent.
static int check_dgram_abstract(void)
{
    struct dgram_names names;
    snprintf(names.server, sizeof names.server, "srouter-probe-unix-%d-server", (int)getpid());
    snprintf(names.client, sizeof names.client, "srouter-probe-unix-%d-client", (int)getpid());
    struct sockaddr_un server, client, from;
    socklen_t server_len = abstract_address(&server, names.server);
    socklen_t client_len = abstract_address(&client, names.client);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0)
        return fail_errno("socket");
    if (bind(fd, (struct sockaddr *)&server, server_len) < 0) {
        close(fd);
        return fail_errno("bind");
    }
    struct child c;
    if (start_child(&c, dgram_client, &names) < 0) {
        close(fd);
        return -1;
    }
    int rc = -1;
    char buf[64];
    socklen_t from_len = sizeof from;
    memset(&from, 0, sizeof from);
    ssize_t n;
    if (await(fd, POLLIN, "recvfrom") < 0)
        ;
    else if ((n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len)) < 0)
        fail_errno("recvfrom");
    else if (n != 5 || memcmp(buf, "hello", 5) != 0)
        fail("recvfrom: got %zd bytes, expected 'hello'", n);
    else if (same_address("recvfrom source", &from, from_len, &client, client_len) < 0)
        ;
    else if (sendto(fd, "olleh", 5, 0, (struct sockaddr *)&from, from_len) != 5)
        fail_errno("sendto");
    else
        rc = 0;
    close(fd);
    return rc < 0 ? reap_after_failure(&c) : finish_child(&c);
}

// MARK: - scm-rights

/// Child side of scm-rights: make a pipe, fill it with "through-pipe", close the write
/// end and send the read end over the socket in an SCM_RIGHTS message.
static int rights_sender(void *arg)
{
    int sock = *(int *)arg;
    int p[2];
    if (pipe(p) < 0)
        return fail_errno("child pipe");
    if (write(p[1], "through-pipe", 12) != 12)
        return fail_errno("child write to pipe");
    close(p[1]);

    char byte = 'F';
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof control.buf,
    };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &p[0], sizeof(int));
    if (sendmsg(sock, &msg, MSG_NOSIGNAL) != 1)
        return fail_errno("child sendmsg");
    close(p[0]);
    return 0;
}

/// Receives one SCM_RIGHTS message on `sock` and returns the fd it carries, or -1 with
/// `why` set.
static int receive_fd(int sock)
{
    if (await(sock, POLLIN, "recvmsg") < 0)
        return -1;
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof control.buf,
    };
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0)
        return fail_errno("recvmsg");
    if (n != 1 || byte != 'F')
        return fail("recvmsg: got %zd bytes, expected the 1-byte 'F'", n);
    if (msg.msg_flags & MSG_CTRUNC)
        return fail("recvmsg: MSG_CTRUNC");
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (cm == NULL)
        return fail("recvmsg: no control message");
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
        cm->cmsg_len != CMSG_LEN(sizeof(int)))
        return fail("recvmsg: control message level %d type %d len %zu, expected one SCM_RIGHTS fd",
                    cm->cmsg_level, cm->cmsg_type, (size_t)cm->cmsg_len);
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

/// scm-rights: the child passes the read end of a pipe it filled with "through-pipe" to
/// the parent with sendmsg/SCM_RIGHTS; the parent receives it with recvmsg and reads
/// "through-pipe" and then end of file through it.
static int check_scm_rights(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return fail_errno("socketpair");
    struct child c;
    if (start_child(&c, rights_sender, &sv[1]) < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    close(sv[1]);
    int rc = -1;
    int fd = receive_fd(sv[0]);
    if (fd >= 0) {
        char buf[64];
        size_t got = 0;
        ssize_t n;
        while (got < sizeof buf && await(fd, POLLIN, "read from passed fd") == 0 &&
               (n = read(fd, buf + got, sizeof buf - got)) > 0)
            got += (size_t)n;
        if (got != 12 || memcmp(buf, "through-pipe", 12) != 0)
            fail("read from passed fd: got %zu bytes '%.*s', expected 'through-pipe'", got,
                 (int)got, buf);
        else
            rc = 0;
        close(fd);
    }
    close(sv[0]);
    return rc < 0 ? reap_after_failure(&c) : finish_child(&c);
}

// MARK: - seqpacket-shutdown

/// Child side of seqpacket-shutdown: send "one" and "two", shutdown(SHUT_WR), check that
/// a further send fails with EPIPE, then receive "ack" (the other direction stays open).
static int seqpacket_child(void *arg)
{
    int sock = *(int *)arg;
    if (send_text(sock, "one", "child send one") < 0 || send_text(sock, "two", "child send two") < 0)
        return -1;
    if (shutdown(sock, SHUT_WR) < 0)
        return fail_errno("child shutdown(SHUT_WR)");
    if (send(sock, "x", 1, MSG_NOSIGNAL) >= 0)
        return fail("child send after SHUT_WR succeeded");
    if (errno != EPIPE)
        return fail_errno("child send after SHUT_WR (expected EPIPE)");
    return expect_message(sock, "ack", "child recv ack");
}

/// seqpacket-shutdown: on a SOCK_SEQPACKET socketpair the child sends "one", "two" and
/// shuts down writing; the parent receives exactly "one" and "two" (boundaries kept,
/// with a larger buffer), then recv returns 0; the parent's "ack" still reaches the child.
static int check_seqpacket_shutdown(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
        return fail_errno("socketpair(SOCK_SEQPACKET)");
    struct child c;
    if (start_child(&c, seqpacket_child, &sv[1]) < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    close(sv[1]);
    int rc = -1;
    char buf[64];
    ssize_t n;
    if (expect_message(sv[0], "one", "recv one") < 0 || expect_message(sv[0], "two", "recv two") < 0)
        ;
    else if (await(sv[0], POLLIN, "recv after shutdown") < 0)
        ;
    else if ((n = recv(sv[0], buf, sizeof buf, 0)) != 0)
        n < 0 ? fail_errno("recv after shutdown") : fail("recv after shutdown returned %zd, expected 0", n);
    else if (send_text(sv[0], "ack", "send ack") < 0)
        ;
    else
        rc = 0;
    close(sv[0]);
    return rc < 0 ? reap_after_failure(&c) : finish_child(&c);
}

// MARK: - main

/// Progress, for the final line (also written by the alarm handler).
static const char *volatile current_check = "setup";
static volatile sig_atomic_t checks_done, checks_failed;

/// SIGALRM: the probe took longer than TIMEOUT_SECONDS. Reports the check in progress as
/// failed and prints the final line, cleans up (async-signal-safe calls only) and exits
/// with 124.
static void timed_out(int sig)
{
    (void)sig;
    char line[200];
    size_t at = 0;
    append_text(line, sizeof line, &at, "FAILED ");
    append_text(line, sizeof line, &at, current_check);
    append_text(line, sizeof line, &at, ": no progress within 10 s\nunix: ");
    append_number(line, sizeof line, &at, checks_done + 1);
    append_text(line, sizeof line, &at, " checks, ");
    append_number(line, sizeof line, &at, checks_failed + 1);
    append_text(line, sizeof line, &at, " failed\n");
    if (write(STDOUT_FILENO, line, at) < 0) {
        /* nothing more to do */
    }
    unlink(socket_path);
    if (made_dir[0] != '\0')
        rmdir(made_dir);
    _exit(124);
}

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: probe-unix [DIR]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, timed_out);
    alarm(TIMEOUT_SECONDS);

    const char *dir = argv[1];
    if (dir == NULL) {
        strcpy(made_dir, "/tmp/probe-unix-XXXXXX");
        if (mkdtemp(made_dir) == NULL) {
            printf("FAILED setup: mkdtemp: %s (%s)\n", strerror(errno), errname(errno));
            printf("unix: 1 checks, 1 failed\n");
            return 1;
        }
        dir = made_dir;
    }
    snprintf(socket_path, sizeof socket_path, "%s/probe-unix-%d.sock", dir, (int)getpid());

    static const struct {
        const char *name;
        int (*run)(void);
    } checks[] = {
        { "stream-path", check_stream_path },
        { "dgram-abstract", check_dgram_abstract },
        { "scm-rights", check_scm_rights },
        { "seqpacket-shutdown", check_seqpacket_shutdown },
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        why[0] = '\0';
        current_check = checks[i].name;
        int rc = checks[i].run();
        if (rc == 0) {
            printf("ok %s\n", checks[i].name);
        } else {
            checks_failed++;
            printf("FAILED %s: %s\n", checks[i].name, why);
        }
        checks_done++;
    }
    unlink(socket_path);
    if (made_dir[0] != '\0' && rmdir(made_dir) < 0)
        fprintf(stderr, "probe-unix: warning: rmdir %s: %s (%s)\n", made_dir, strerror(errno), errname(errno));
    printf("unix: %d checks, %d failed\n", (int)checks_done, (int)checks_failed);
    return checks_failed;
}
