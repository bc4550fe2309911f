/*
 * probe-sockets: socket conformance scenarios, run natively and under srouter and diffed
 * by Tests/Integration/sockets.sh (see Guest/probes/README.md, probe-sockets).
 *
 *   probe-sockets SCENARIO [--if NAME] [--peer4 A] [--peer6 A] [--peer-ll A] [--local4 A]
 *                 [--local6 A] [--local-ll A]
 *
 * This file: options, dispatch and the output helpers shared by the scenario files.
 */
#include "probe.h"

#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

struct probe_config cfg = {
    .peer4 = "10.77.0.1", .peer6 = "fd77::1", .peer_ll = "fe80::1",
    .local4 = "10.77.0.2", .local6 = "fd77::2", .local_ll = "fe80::2",
    .ifname = NULL, .ifindex = 0,
    .echo_port = 7, .reflect_port = 8, .control_port = 7100, .closed_port = 7999,
};

void out(const char *key, const char *fmt, ...)
{
    va_list ap;
    int saved = errno;
    printf("%s: ", key);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    errno = saved;
}

static char *rotating(void)
{
    static char bufs[8][512];
    static int next;
    next = (next + 1) % 8;
    return bufs[next];
}

const char *rstr(long r, int err)
{
    char *b = rotating();
    if (r >= 0)
        snprintf(b, 512, "%ld", r);
    else
        snprintf(b, 512, "%ld %s", r, errname(err));
    return b;
}

long rep(const char *key, long r)
{
    int e = errno;
    out(key, "%s", rstr(r, e));
    errno = e;
    return r;
}

int repfd(const char *key, int fd)
{
    int e = errno;
    if (fd >= 0)
        out(key, "fd");
    else
        out(key, "%s", rstr(fd, e));
    errno = e;
    return fd;
}

const char *port_str(unsigned port)
{
    char *b = rotating();
    if (port >= 32768)
        snprintf(b, 512, "EPHEMERAL");
    else
        snprintf(b, 512, "%u", port);
    return b;
}

const char *sa_str(const void *sa_, socklen_t len)
{
    const struct sockaddr *sa = sa_;
    char *b = rotating();
    char a[INET6_ADDRSTRLEN];
    if (len == 0)
        return "(none)";
    if (len < sizeof(sa_family_t)) {
        snprintf(b, 512, "(len %u)", (unsigned)len);
        return b;
    }
    switch (sa->sa_family) {
    case AF_INET: {
        const struct sockaddr_in *sin = sa_;
        inet_ntop(AF_INET, &sin->sin_addr, a, sizeof a);
        char port[16];
        snprintf(port, sizeof port, "%s", port_str(ntohs(sin->sin_port)));
        snprintf(b, 512, "len=%u %s:%s", (unsigned)len, a, port);
        break;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *sin6 = sa_;
        inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof a);
        char port[16];
        snprintf(port, sizeof port, "%s", port_str(ntohs(sin6->sin6_port)));
        snprintf(b, 512, "len=%u [%s%%%u]:%s flow=%u", (unsigned)len, a, sin6->sin6_scope_id, port,
                 ntohl(sin6->sin6_flowinfo));
        break;
    }
    case AF_UNSPEC:
        snprintf(b, 512, "len=%u AF_UNSPEC", (unsigned)len);
        break;
    default:
        snprintf(b, 512, "len=%u family=%u", (unsigned)len, sa->sa_family);
    }
    return b;
}

socklen_t mk4(struct sockaddr_in *sin, const char *addr, int port)
{
    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
        fprintf(stderr, "probe-sockets: bad IPv4 address %s\n", addr);
        exit(2);
    }
    return sizeof *sin;
}

socklen_t mk6(struct sockaddr_in6 *sin6, const char *addr, int port, int scope)
{
    memset(sin6, 0, sizeof *sin6);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_scope_id = scope;
    if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1) {
        fprintf(stderr, "probe-sockets: bad IPv6 address %s\n", addr);
        exit(2);
    }
    return sizeof *sin6;
}

socklen_t mkaddr(struct sockaddr_storage *ss, int family, const char *addr, int port, int scope)
{
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET)
        return mk4((struct sockaddr_in *)ss, addr, port);
    return mk6((struct sockaddr_in6 *)ss, addr, port, scope);
}

void rep_names(const char *key, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char k[160];
    int r;
    snprintf(k, sizeof k, "%s.getsockname", key);
    memset(&ss, 0, sizeof ss);
    r = getsockname(fd, (struct sockaddr *)&ss, &len);
    if (r < 0)
        rep(k, r);
    else
        out(k, "%s", sa_str(&ss, len));
    snprintf(k, sizeof k, "%s.getpeername", key);
    len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    r = getpeername(fd, (struct sockaddr *)&ss, &len);
    if (r < 0)
        rep(k, r);
    else
        out(k, "%s", sa_str(&ss, len));
}

const char *pollstr(short ev)
{
    static const struct { short bit; const char *name; } names[] = {
        {POLLIN, "IN"}, {POLLPRI, "PRI"}, {POLLOUT, "OUT"}, {POLLERR, "ERR"}, {POLLHUP, "HUP"},
        {POLLNVAL, "NVAL"}, {POLLRDNORM, "RDNORM"}, {POLLRDBAND, "RDBAND"}, {POLLWRNORM, "WRNORM"},
        {POLLWRBAND, "WRBAND"}, {POLLRDHUP, "RDHUP"},
    };
    char *b = rotating();
    b[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (ev & names[i].bit) {
            if (b[0])
                strcat(b, "|");
            strcat(b, names[i].name);
            ev &= ~names[i].bit;
        }
    if (ev)
        snprintf(b + strlen(b), 64, "%s0x%x", b[0] ? "|" : "", (unsigned)(unsigned short)ev);
    if (!b[0])
        strcpy(b, "0");
    return b;
}

const char *epollstr(unsigned ev)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {EPOLLIN, "IN"}, {EPOLLPRI, "PRI"}, {EPOLLOUT, "OUT"}, {EPOLLERR, "ERR"}, {EPOLLHUP, "HUP"},
        {EPOLLRDNORM, "RDNORM"}, {EPOLLRDBAND, "RDBAND"}, {EPOLLWRNORM, "WRNORM"},
        {EPOLLWRBAND, "WRBAND"}, {EPOLLRDHUP, "RDHUP"},
    };
    char *b = rotating();
    b[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (ev & names[i].bit) {
            if (b[0])
                strcat(b, "|");
            strcat(b, names[i].name);
            ev &= ~names[i].bit;
        }
    if (ev)
        snprintf(b + strlen(b), 64, "%s0x%x", b[0] ? "|" : "", ev);
    if (!b[0])
        strcpy(b, "0");
    return b;
}

static int long_timeouts;

int bound_ms(int ms)
{
    return ms >= 1000 && long_timeouts >= 1 ? 500 : ms;
}

void wait_timed_out(int ms)
{
    if (ms >= 1000)
        long_timeouts++;
}

/* poll for one fd with a bounded timeout; returns poll's result. */
static int poll1(struct pollfd *p, int ms)
{
    int r = poll(p, 1, bound_ms(ms));
    if (r == 0)
        wait_timed_out(ms);
    return r;
}

int rep_poll(const char *key, int fd, short events, int ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll1(&p, ms);
    int e = errno;
    if (r < 0)
        out(key, "%s", rstr(r, e));
    else
        out(key, "%d revents=%s", r, pollstr(p.revents));
    return r < 0 ? r : p.revents;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int wait_inq(int fd, int want, int ms)
{
    long deadline = now_ms() + bound_ms(ms);
    int n = -1;
    for (;;) {
        if (ioctl(fd, FIONREAD, &n) < 0)
            return -1;
        if (n >= want)
            return n;
        if (now_ms() >= deadline) {
            wait_timed_out(ms);
            return n;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, 1, 10);
        sleep_ms(5);
    }
}

void wait_out(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    poll1(&p, ms);
}

const char *datastr(const void *buf_, long n)
{
    const unsigned char *buf = buf_;
    char *b = rotating();
    size_t o = 0;
    b[o++] = '"';
    for (long i = 0; i < n && o < 480; i++) {
        unsigned char c = buf[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            b[o++] = c;
        else
            o += snprintf(b + o, 512 - o, "\\x%02x", c);
    }
    b[o++] = '"';
    b[o] = 0;
    return b;
}

long rep_recv(const char *key, int fd, size_t len, int flags, int ms)
{
    char buf[4096];
    if (len > sizeof buf)
        len = sizeof buf;
    if (ms > 0) {
        /* Nothing came: ask without blocking, rather than hang. */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll1(&p, ms) == 0)
            flags |= MSG_DONTWAIT;
    }
    long r = recv(fd, buf, len, flags);
    int e = errno;
    if (r < 0)
        out(key, "%s", rstr(r, e));
    else
        out(key, "%ld data=%s", r, datastr(buf, r));
    errno = e;
    return r;
}

const char *optint(int fd, int level, int name)
{
    int v = 0;
    socklen_t l = sizeof v;
    char *b = rotating();
    if (getsockopt(fd, level, name, &v, &l) < 0)
        snprintf(b, 512, "-1 %s", errname(errno));
    else if (l != sizeof v)
        snprintf(b, 512, "%d (len %u)", v, (unsigned)l);
    else
        snprintf(b, 512, "%d", v);
    return b;
}

void ignore_sigpipe(void)
{
    signal(SIGPIPE, SIG_IGN);
}

int peer_connect_in(const char *key, int family, const char *host, int port)
{
    struct sockaddr_storage ss;
    socklen_t len = family == AF_INET ? mkaddr(&ss, AF_INET, cfg.peer4, cfg.control_port, 0)
                                      : mkaddr(&ss, AF_INET6, cfg.peer6, cfg.control_port, 0);
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    char k[160];
    snprintf(k, sizeof k, "%s.control", key);
    if (fd < 0) {
        rep(k, fd);
        return -1;
    }
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
        rep(k, -1);
        close(fd);
        return -1;
    }
    char line[200];
    int n = snprintf(line, sizeof line, "connect %s %d\n", host, port);
    if (write(fd, line, n) != n) {
        rep(k, -1);
        close(fd);
        return -1;
    }
    return fd;
}

void control_reply(const char *key, int ctl)
{
    char buf[200];
    size_t have = 0;
    char k[160];
    snprintf(k, sizeof k, "%s.peer", key);
    if (ctl < 0) {
        out(k, "no control connection");
        return;
    }
    while (have < sizeof buf - 1) {
        ssize_t r = read(ctl, buf + have, sizeof buf - 1 - have);
        if (r <= 0)
            break;
        have += r;
        if (memchr(buf, '\n', have))
            break;
    }
    buf[have] = 0;
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = 0;
    out(k, "%s", have ? buf : "(no answer)");
    close(ctl);
}

/* Sections: each part of a scenario runs in a forked child under its own alarm, so that a
 * call that never returns costs that part only. A scenario has a time budget; once it is
 * spent, the remaining sections are skipped (a native run never comes near it). */
#define SECTION_SECONDS 6
#define SCENARIO_BUDGET_SECONDS 15

static const char *section_name;
static long budget_end_ms;
static int sections_failed;

static void on_section_alarm(int sig)
{
    char msg[200];
    (void)sig;
    int n = snprintf(msg, sizeof msg, "%s.TIMEOUT: the section did not finish within %d s (a call never returned)\n",
                     section_name, SECTION_SECONDS);
    /* Not async-signal-safe in general; the section is stuck in a system call, so stdout
     * is idle. */
    fflush(stdout);
    if (write(STDOUT_FILENO, msg, n) < 0)
        _exit(125);
    _exit(124);
}

int section_begin(const char *name)
{
    char k[200];
    long left = budget_end_ms - now_ms();
    if (left <= 0) {
        snprintf(k, sizeof k, "%s.SKIPPED", name);
        out(k, "the scenario's %d s budget is spent", SCENARIO_BUDGET_SECONDS);
        sections_failed++;
        return 0;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(k, sizeof k, "%s.fork", name);
        rep(k, -1);
        sections_failed++;
        return 0;
    }
    if (pid == 0) {
        section_name = name;
        signal(SIGALRM, on_section_alarm);
        alarm(left < SECTION_SECONDS * 1000 ? (left + 999) / 1000 : SECTION_SECONDS);
        return 1;
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        sections_failed++;
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 124)) {
            snprintf(k, sizeof k, "%s.ENDED", name);
            if (WIFEXITED(st))
                out(k, "exit %d", WEXITSTATUS(st));
            else
                out(k, "killed by signal %d", WTERMSIG(st));
        }
    }
    return 0;
}

int section_end(void)
{
    fflush(stdout);
    _exit(0);
}

static void on_alarm(int sig)
{
    static const char msg[] = "TIMEOUT: the scenario did not end (a section could not be stopped)\n";
    (void)sig;
    fflush(stdout);
    if (write(STDOUT_FILENO, msg, sizeof msg - 1) < 0)
        _exit(125);
    _exit(124);
}

int scenario_netlink(void); /* netlink.c */
int scenario_netlink_dump(void); /* netlink_dump.c */
int scenario_netlink_order(void); /* netlink_order.c */

static const struct {
    const char *name;
    int (*run)(void);
} scenarios[] = {
    {"tcp-connect", scenario_tcp_connect}, {"tcp-listen", scenario_tcp_listen},
    {"udp", scenario_udp}, {"ping", scenario_ping}, {"raw", scenario_raw},
    {"options", scenario_options}, {"errors", scenario_errors}, {"ioctl", scenario_ioctl},
    {"fork", scenario_fork}, {"netlink", scenario_netlink},
    {"netlink-dump", scenario_netlink_dump}, {"netlink-order", scenario_netlink_order},
};

static void usage(void)
{
    fprintf(stderr, "usage: probe-sockets SCENARIO [--if NAME] [--peer4 A] [--peer6 A] [--peer-ll A]\n"
                    "                     [--local4 A] [--local6 A] [--local-ll A]\nscenarios:");
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        fprintf(stderr, " %s", scenarios[i].name);
    fputc('\n', stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2)
        usage();
    for (int i = 2; i < argc; i++) {
        const char **slot = NULL;
        if (!strcmp(argv[i], "--if")) slot = &cfg.ifname;
        else if (!strcmp(argv[i], "--peer4")) slot = &cfg.peer4;
        else if (!strcmp(argv[i], "--peer6")) slot = &cfg.peer6;
        else if (!strcmp(argv[i], "--peer-ll")) slot = &cfg.peer_ll;
        else if (!strcmp(argv[i], "--local4")) slot = &cfg.local4;
        else if (!strcmp(argv[i], "--local6")) slot = &cfg.local6;
        else if (!strcmp(argv[i], "--local-ll")) slot = &cfg.local_ll;
        if (!slot || i + 1 >= argc)
            usage();
        *slot = argv[++i];
    }
    if (!cfg.ifname) {
        static char name[IF_NAMESIZE];
        cfg.ifname = if_indextoname(2, name) ? name : "wg0";
    }
    cfg.ifindex = if_nametoindex(cfg.ifname);
    ignore_sigpipe();
    /* Every wait is bounded; a call that never returns is cut by this. */
    budget_end_ms = now_ms() + SCENARIO_BUDGET_SECONDS * 1000L;
    signal(SIGALRM, on_alarm);
    alarm(SCENARIO_BUDGET_SECONDS + SECTION_SECONDS + 5); /* the last resort */
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        if (!strcmp(argv[1], scenarios[i].name)) {
            int rc = scenarios[i].run();
            fflush(stdout);
            return rc ? rc : sections_failed ? 124 : 0;
        }
    usage();
}
