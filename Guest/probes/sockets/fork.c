/*
 * fork.c — scenario fork: a socket dup'ed, used by a forked child, passed over
 * SCM_RIGHTS keeps working; once every holder has closed it, its port is free again.
 */
#include "probe.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int echo_once(int fd, const char *msg, char *reply, size_t room)
{
    size_t n = strlen(msg);
    if (send(fd, msg, n, 0) != (ssize_t)n)
        return -1;
    size_t have = 0;
    while (have < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, bound_ms(3000)) <= 0) {
            wait_timed_out(3000);
            return -2;
        }
        ssize_t r = recv(fd, reply + have, room - 1 - have, 0);
        if (r <= 0)
            return -3;
        have += r;
    }
    reply[have] = 0;
    return (int)have;
}

static void rep_echo(const char *key, int fd, const char *msg)
{
    char reply[256];
    int r = echo_once(fd, msg, reply, sizeof reply);
    if (r < 0)
        out(key, "failed (%d) %s", r, errname(errno));
    else
        out(key, "%d data=%s", r, datastr(reply, r));
}

static int tcp_connected(const char *key)
{
    struct sockaddr_in sin;
    socklen_t l = mk4(&sin, cfg.peer4, cfg.echo_port);
    int fd = repfd(key, socket(AF_INET, SOCK_STREAM, 0));
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, l) < 0) {
        rep(key, -1);
        close(fd);
        return -1;
    }
    return fd;
}

/* Waits for a child (≤ 5 s) and prints how it ended. */
static void rep_child(const char *key, pid_t pid)
{
    int st = 0;
    for (int i = 0; i < 500; i++) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(st))
                out(key, "exit %d", WEXITSTATUS(st));
            else
                out(key, "signal %d", WTERMSIG(st));
            return;
        }
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    out(key, "no exit within 5 s (killed)");
}

static int send_fd(int via, int fd)
{
    union {
        struct cmsghdr align;
        char b[CMSG_SPACE(sizeof(int))];
    } control;
    struct iovec iov = {"F", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.b,
                       .msg_controllen = sizeof control.b};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return sendmsg(via, &m, 0);
}

static int recv_fd(int via)
{
    union {
        struct cmsghdr align;
        char b[CMSG_SPACE(sizeof(int))];
    } control;
    char one;
    struct iovec iov = {&one, 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.b,
                       .msg_controllen = sizeof control.b};
    struct pollfd p = {.fd = via, .events = POLLIN};
    if (poll(&p, 1, 3000) <= 0 || recvmsg(via, &m, 0) < 0)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (!c || c->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

static long bind_port(int fd, int family, int port)
{
    struct sockaddr_storage ss;
    socklen_t l = mkaddr(&ss, family, family == AF_INET ? cfg.local4 : cfg.local6, port, 0);
    return bind(fd, (struct sockaddr *)&ss, l);
}

int scenario_fork(void)
{
    int fd;
    /* dup: both fds are the same socket. */
    SECTION("dup") {
        fd = tcp_connected("dup.socket");
        if (fd >= 0) {
            int d = dup(fd);
            out("dup.dup", "%s", d >= 0 ? "fd" : errname(errno));
            rep_echo("dup.echo-through-dup", d, "through-dup");
            rep_names("dup.dup", d);
            rep("dup.close-original", close(fd));
            rep_echo("dup.echo-after-closing-original", d, "still-here");
            int d3 = fcntl(d, F_DUPFD_CLOEXEC, 100);
            out("dup.F_DUPFD_CLOEXEC", "%s", d3 >= 100 ? "fd>=100" : errname(errno));
            rep("dup.close-dup", close(d));
            rep_echo("dup.echo-through-F_DUPFD", d3, "fdup");
            int d2 = dup2(d3, 200);
            out("dup.dup2", "%d", d2);
            close(d3);
            rep_echo("dup.echo-through-dup2", 200, "dup2");
            close(200);
        }

    }
    /* fork: the child uses the inherited socket, then the parent. */
    SECTION("fork") {
        fd = tcp_connected("fork.socket");
        if (fd >= 0) {
            fflush(stdout);
            pid_t pid = fork();
            if (pid == 0) {
                char reply[64];
                int r = echo_once(fd, "from-child", reply, sizeof reply);
                _exit(r == 10 && !memcmp(reply, "from-child", 10) ? 0 : 1);
            }
            rep_child("fork.child-echo", pid);
            rep_echo("fork.parent-echo-after-child", fd, "from-parent");
            rep_names("fork.parent", fd);
            close(fd);
        }

    }
    /* fork with the socket in both, the parent closes first: the child still works. */
    SECTION("fork2") {
        fd = tcp_connected("fork2.socket");
        if (fd >= 0) {
            int go[2];
            if (pipe(go) < 0)
                section_end();
            fflush(stdout);
            pid_t pid = fork();
            if (pid == 0) {
                char c;
                close(go[1]);
                struct pollfd p = {.fd = go[0], .events = POLLIN};
                poll(&p, 1, 3000);
                if (read(go[0], &c, 1) != 1)
                    _exit(3);
                char reply[64];
                int r = echo_once(fd, "child-alone", reply, sizeof reply);
                _exit(r == 11 ? 0 : 1);
            }
            close(go[0]);
            rep("fork2.parent-close", close(fd));
            rep("fork2.go", write(go[1], "g", 1));
            close(go[1]);
            rep_child("fork2.child-echo-after-parent-closed", pid);
        }

    }
    /* SCM_RIGHTS: a socket made after the fork reaches the child over AF_UNIX. */
    int sv[2];
    SECTION("scm") {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
            fflush(stdout);
            pid_t pid = fork();
            if (pid == 0) {
                close(sv[0]);
                int got = recv_fd(sv[1]);
                if (got < 0)
                    _exit(2);
                char reply[64];
                int r = echo_once(got, "via-scm-rights", reply, sizeof reply);
                struct sockaddr_storage ss;
                socklen_t l = sizeof ss;
                int named = getpeername(got, (struct sockaddr *)&ss, &l) == 0;
                _exit(r == 14 && named ? 0 : 1);
            }
            close(sv[1]);
            fd = tcp_connected("scm.socket");
            rep("scm.sendmsg", send_fd(sv[0], fd));
            rep_child("scm.child-echo", pid);
            rep_echo("scm.parent-echo-after", fd, "parent-again");
            close(fd);
            close(sv[0]);
        }

    }
    /* UDP socket passed over SCM_RIGHTS to ourselves (the fd number changes). */
    SECTION("scm-self") {
        if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0) {
            int u = repfd("scm-self.udp", socket(AF_INET, SOCK_DGRAM, 0));
            rep("scm-self.bind", bind_port(u, AF_INET, 5401));
            rep("scm-self.sendmsg", send_fd(sv[0], u));
            int got = recv_fd(sv[1]);
            out("scm-self.received", "%s", got >= 0 ? "fd" : "none");
            rep("scm-self.close-original", close(u));
            rep_names("scm-self.received", got);
            struct sockaddr_in sin;
            socklen_t l = mk4(&sin, cfg.peer4, cfg.echo_port);
            rep("scm-self.sendto", sendto(got, "scm", 3, 0, (struct sockaddr *)&sin, l));
            rep_recv("scm-self.recv", got, 100, 0, 3000);
            int other = socket(AF_INET, SOCK_DGRAM, 0);
            rep("scm-self.bind-while-held", bind_port(other, AF_INET, 5401));
            rep("scm-self.close-received", close(got));
            rep("scm-self.bind-after-close", bind_port(other, AF_INET, 5401));
            close(other);
            close(sv[0]);
            close(sv[1]);
        }

    }
    /* A listener held by a child: the port stays taken until the child closes it. */
    SECTION("held") {
        int l4 = repfd("held.listener", socket(AF_INET, SOCK_STREAM, 0));
        rep("held.bind", bind_port(l4, AF_INET, 5402));
        rep("held.listen", listen(l4, 4));
        int go[2], done[2];
        if (pipe(go) == 0 && pipe(done) == 0) {
            fflush(stdout);
            pid_t pid = fork();
            if (pid == 0) {
                char c;
                close(go[1]);
                close(done[0]);
                struct pollfd p = {.fd = go[0], .events = POLLIN};
                poll(&p, 1, 3000);
                if (read(go[0], &c, 1) != 1)
                    _exit(3);
                close(l4);
                if (write(done[1], "d", 1) != 1)
                    _exit(4);
                _exit(0);
            }
            close(go[0]);
            close(done[1]);
            rep("held.parent-close", close(l4));
            int b = socket(AF_INET, SOCK_STREAM, 0);
            rep("held.bind-while-child-holds", bind_port(b, AF_INET, 5402));
            close(b);
            rep("held.go", write(go[1], "g", 1));
            char c;
            struct pollfd p = {.fd = done[0], .events = POLLIN};
            poll(&p, 1, 3000);
            rep("held.child-closed", read(done[0], &c, 1));
            b = socket(AF_INET, SOCK_STREAM, 0);
            rep("held.bind-after-child-closed", bind_port(b, AF_INET, 5402));
            rep("held.listen-again", listen(b, 4));
            close(b);
            rep_child("held.child", pid);
            close(go[1]);
            close(done[0]);
        }

    }
    /* Every holder closed: ports are free at once (UDP, TCP listener, IPv6). */
    SECTION("free") {
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        rep("free.udp-bind", bind_port(u, AF_INET, 5403));
        int u2 = dup(u);
        close(u);
        int other = socket(AF_INET, SOCK_DGRAM, 0);
        rep("free.udp-bind-while-dup-open", bind_port(other, AF_INET, 5403));
        close(u2);
        rep("free.udp-bind-after-all-closed", bind_port(other, AF_INET, 5403));
        close(other);
        int t6 = socket(AF_INET6, SOCK_STREAM, 0);
        rep("free.tcp6-bind", bind_port(t6, AF_INET6, 5404));
        rep("free.tcp6-listen", listen(t6, 4));
        close(t6);
        t6 = socket(AF_INET6, SOCK_STREAM, 0);
        rep("free.tcp6-bind-after-close", bind_port(t6, AF_INET6, 5404));
        close(t6);
    }
    return 0;
}
