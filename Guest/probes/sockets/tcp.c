/*
 * tcp.c — scenarios tcp-connect and tcp-listen.
 */
#include "probe.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

static char *K(const char *a, const char *b)
{
    static char bufs[4][160];
    static int n;
    n = (n + 1) % 4;
    snprintf(bufs[n], sizeof bufs[n], "%s.%s", a, b);
    return bufs[n];
}

static const char *tcp_state_name(int s)
{
    static const char *names[] = {"0", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
                                  "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"};
    return s >= 0 && s < 12 ? names[s] : "?";
}

/* TCP_INFO: the state and fields that do not depend on timing. */
void rep_tcp_info(const char *key, int fd, int full)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) {
        rep(key, -1);
        return;
    }
    if (!full) {
        out(key, "state=%s", tcp_state_name(ti.tcpi_state));
        return;
    }
    out(key, "state=%s options=%s%s%s snd_wscale=%s rcv_wscale=%s snd_mss=%u pmtu=%u", tcp_state_name(ti.tcpi_state),
        ti.tcpi_options & TCPI_OPT_TIMESTAMPS ? "TS," : "", ti.tcpi_options & TCPI_OPT_SACK ? "SACK," : "",
        ti.tcpi_options & TCPI_OPT_WSCALE ? "WSCALE" : "",
        ti.tcpi_options & TCPI_OPT_WSCALE ? "set" : "none", ti.tcpi_options & TCPI_OPT_WSCALE ? "set" : "none",
        ti.tcpi_snd_mss, ti.tcpi_pmtu);
}

static void rep_soerror(const char *key, int fd)
{
    int v = 0;
    socklen_t l = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l) < 0)
        rep(key, -1);
    else
        out(key, "%s", v ? errname(v) : "0");
}

static void rep_epoll(const char *key, int ep, int ms)
{
    struct epoll_event ev[4];
    int n = epoll_wait(ep, ev, 4, bound_ms(ms));
    if (n == 0)
        wait_timed_out(ms);
    if (n <= 0)
        rep(key, n);
    else
        out(key, "%d events=%s", n, epollstr(ev[0].events));
}

static void rep_queues(const char *key, int fd)
{
    int inq = -1, outq = -1;
    long r1 = ioctl(fd, SIOCINQ, &inq);
    int e1 = errno;
    long r2 = ioctl(fd, SIOCOUTQ, &outq);
    int e2 = errno;
    out(key, "SIOCINQ %s=%d SIOCOUTQ %s=%d", rstr(r1, e1), inq, rstr(r2, e2), outq);
}

static socklen_t peer_addr(struct sockaddr_storage *ss, int family, const char *addr, int port)
{
    int scope = strncmp(addr, "fe80", 4) == 0 ? cfg.ifindex : 0;
    return mkaddr(ss, family, addr, port, scope);
}

/* A non-blocking connect that stays pending: the address is on the tunnel's subnet but no
 * peer has it, so the SYN is dropped. Nothing may look ready. */
static void pending_flow(const char *p, int family, const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t len = peer_addr(&ss, family, addr, cfg.echo_port);
    int fd = repfd(K(p, "socket"), socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0));
    if (fd < 0)
        return;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = fd};
    rep(K(p, "connect"), connect(fd, (struct sockaddr *)&ss, len));
    rep(K(p, "connect-again"), connect(fd, (struct sockaddr *)&ss, len));
    rep_poll(K(p, "poll-at-once"), fd, POLLIN | POLLOUT | POLLRDHUP, 0);
    rep(K(p, "epoll_ctl"), epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
    rep_epoll(K(p, "epoll-at-once"), ep, 0);
    rep_soerror(K(p, "SO_ERROR"), fd);
    rep_tcp_info(K(p, "TCP_INFO"), fd, 0);
    rep_names(p, fd);
    rep(K(p, "send"), send(fd, "x", 1, 0));
    rep(K(p, "recv"), recv(fd, (char[8]){0}, 8, 0));
    rep_poll(K(p, "poll-300ms"), fd, POLLIN | POLLOUT | POLLRDHUP, 300);
    rep_epoll(K(p, "epoll-300ms"), ep, 300);
    rep(K(p, "connect-elsewhere"), connect(fd, (struct sockaddr *)&(struct sockaddr_in6){.sin6_family = family}, len));
    close(ep);
    rep(K(p, "close"), close(fd));
}

/* Non-blocking connect to the echo port, registered with EPOLLET before connecting (Go's
 * way): one edge when the handshake completes, then SO_ERROR, connect again (0), EISCONN. */
static void nonblocking_flow(const char *p, int family, const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t len = peer_addr(&ss, family, addr, cfg.echo_port);
    int fd = repfd(K(p, "socket"), socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0));
    if (fd < 0)
        return;
    rep_poll(K(p, "poll-fresh"), fd, POLLIN | POLLOUT | POLLRDHUP, 0);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = fd};
    rep(K(p, "epoll_ctl"), epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
    rep_epoll(K(p, "epoll-fresh"), ep, 0);
    rep(K(p, "connect"), connect(fd, (struct sockaddr *)&ss, len));
    rep_epoll(K(p, "epoll-edge"), ep, 3000);
    rep_epoll(K(p, "epoll-no-second-edge"), ep, 200);
    rep_poll(K(p, "poll-done"), fd, POLLIN | POLLOUT | POLLRDHUP, 0);
    rep_soerror(K(p, "SO_ERROR-done"), fd);
    rep(K(p, "connect-after-done"), connect(fd, (struct sockaddr *)&ss, len));
    rep(K(p, "connect-third"), connect(fd, (struct sockaddr *)&ss, len));
    rep_names(p, fd);
    rep_tcp_info(K(p, "TCP_INFO"), fd, 1);
    rep(K(p, "recv-nothing"), recv(fd, (char[8]){0}, 8, 0));
    rep(K(p, "send"), send(fd, "ping", 4, 0));
    rep_epoll(K(p, "epoll-data-edge"), ep, 3000);
    rep_epoll(K(p, "epoll-no-edge-after-data"), ep, 200);
    wait_inq(fd, 4, 3000);
    rep_queues(K(p, "queues"), fd);
    rep_recv(K(p, "recv"), fd, 100, 0, 0);
    rep_epoll(K(p, "epoll-drained"), ep, 0);
    close(ep);
    rep(K(p, "close"), close(fd));
}

/* Blocking connect, then data: MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, SIOCINQ/SIOCOUTQ, FIN. */
static void blocking_flow(const char *p, int family, const char *addr, int full)
{
    struct sockaddr_storage ss;
    socklen_t len = peer_addr(&ss, family, addr, cfg.echo_port);
    int fd = repfd(K(p, "socket"), socket(family, SOCK_STREAM, 0));
    if (fd < 0)
        return;
    /* Blocking calls give up after 3 s (EAGAIN/EINPROGRESS) instead of hanging the probe. */
    struct timeval tv = {3, 0};
    rep(K(p, "SO_RCVTIMEO-3s"), setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    rep(K(p, "SO_SNDTIMEO-3s"), setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
    if (rep(K(p, "connect"), connect(fd, (struct sockaddr *)&ss, len)) < 0) {
        close(fd);
        return;
    }
    rep(K(p, "connect-again"), connect(fd, (struct sockaddr *)&ss, len));
    rep_names(p, fd);
    rep_poll(K(p, "poll-connected"), fd, POLLIN | POLLOUT | POLLRDHUP, 0);
    rep(K(p, "send"), send(fd, "hello world", 11, 0));
    out(K(p, "inq-reached"), "%d", wait_inq(fd, 11, 3000));
    rep_queues(K(p, "queues"), fd);
    rep_poll(K(p, "poll-data"), fd, POLLIN | POLLOUT | POLLRDHUP, 0);
    rep_recv(K(p, "recv-peek"), fd, 5, MSG_PEEK, 0);
    rep_recv(K(p, "recv-5"), fd, 5, 0, 0);
    rep_recv(K(p, "recv-dontwait"), fd, 100, MSG_DONTWAIT, 0);
    rep_recv(K(p, "recv-dontwait-empty"), fd, 100, MSG_DONTWAIT, 0);
    if (full) {
        rep(K(p, "send-abc"), send(fd, "abc", 3, 0));
        sleep_ms(100);
        rep(K(p, "send-def"), send(fd, "def", 3, MSG_DONTWAIT));
        rep_recv(K(p, "recv-waitall"), fd, 6, MSG_WAITALL, 0);
        rep(K(p, "sendto-with-address"), sendto(fd, "xy", 2, 0, (struct sockaddr *)&ss, len));
        rep_recv(K(p, "recv-xy"), fd, 2, MSG_WAITALL, 3000);
        char big[3000];
        memset(big, 'b', sizeof big);
        rep(K(p, "send-3000"), send(fd, big, sizeof big, 0));
        out(K(p, "inq-3000"), "%d", wait_inq(fd, 3000, 3000));
        rep(K(p, "recv-3000"), recv(fd, big, sizeof big, MSG_WAITALL));
        rep_tcp_info(K(p, "TCP_INFO"), fd, 1);
    }
    rep(K(p, "send-bye"), send(fd, "bye", 3, 0));
    rep(K(p, "shutdown-wr"), shutdown(fd, SHUT_WR));
    rep(K(p, "send-after-shutdown"), send(fd, "x", 1, 0));
    rep_recv(K(p, "recv-bye"), fd, 3, MSG_WAITALL, 3000);
    rep_poll(K(p, "poll-fin"), fd, POLLIN | POLLRDHUP, 3000);
    rep_recv(K(p, "recv-eof"), fd, 100, 0, 0);
    if (full) {
        rep_queues(K(p, "queues-eof"), fd);
        sleep_ms(100);
        rep_tcp_info(K(p, "TCP_INFO-eof"), fd, 0);
        rep(K(p, "shutdown-rd"), shutdown(fd, SHUT_RD));
        rep(K(p, "shutdown-rdwr"), shutdown(fd, SHUT_RDWR));
    }
    rep(K(p, "close"), close(fd));
}

/* Connects to the closed port: the RST seen through SO_ERROR, a repeated connect, and a
 * blocking connect. */
static void refused_flow(const char *p, int family, const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t len = peer_addr(&ss, family, addr, cfg.closed_port);
    int fd = repfd(K(p, "socket"), socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0));
    if (fd < 0)
        return;
    rep(K(p, "connect"), connect(fd, (struct sockaddr *)&ss, len));
    rep_poll(K(p, "poll-3s"), fd, POLLOUT, 3000);
    rep_soerror(K(p, "SO_ERROR"), fd);
    rep_soerror(K(p, "SO_ERROR-again"), fd);
    rep(K(p, "connect-after-SO_ERROR"), connect(fd, (struct sockaddr *)&ss, len));
    rep(K(p, "connect-retry"), connect(fd, (struct sockaddr *)&ss, len));
    rep_poll(K(p, "retry-poll-3s"), fd, POLLOUT, 3000);
    rep(K(p, "connect-reports"), connect(fd, (struct sockaddr *)&ss, len));
    rep_soerror(K(p, "SO_ERROR-after-connect-reports"), fd);
    rep_names(K(p, "after"), fd);
    close(fd);
    fd = repfd(K(p, "blocking-socket"), socket(family, SOCK_STREAM, 0));
    if (fd < 0)
        return;
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    rep(K(p, "blocking-connect"), connect(fd, (struct sockaddr *)&ss, len));
    rep_soerror(K(p, "blocking-SO_ERROR"), fd);
    rep(K(p, "send-after-refused"), send(fd, "x", 1, 0));
    close(fd);
}

/* Blocking calls that time out: connect to an address nobody answers (the tunnel has no
 * peer for it: the SYN is dropped) with SO_SNDTIMEO, recv with SO_RCVTIMEO; a pending
 * connect closed. */
static void timeout_flow(void)
{
    struct sockaddr_in sin;
    socklen_t l = mk4(&sin, "10.77.0.3", cfg.echo_port);
    SECTION("silent") {
            int fd = repfd("silent.socket", socket(AF_INET, SOCK_STREAM, 0));
            struct timeval tv = {0, 300000};
            rep("silent.SO_SNDTIMEO-300ms", setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
            rep("silent.connect", connect(fd, (struct sockaddr *)&sin, l));
            rep_tcp_info("silent.TCP_INFO", fd, 0);
            rep("silent.connect-again", connect(fd, (struct sockaddr *)&sin, l));
            rep_poll("silent.poll", fd, POLLOUT, 200);
            rep_soerror("silent.SO_ERROR", fd);
            rep("silent.close-pending", close(fd));
    }
    SECTION("silent-nb") {
            int fd = repfd("silent-nb.socket", socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
            rep("silent-nb.connect", connect(fd, (struct sockaddr *)&sin, l));
            rep("silent-nb.shutdown-pending", shutdown(fd, SHUT_RDWR));
            rep_poll("silent-nb.poll-after-shutdown", fd, POLLIN | POLLOUT, 200);
            rep_soerror("silent-nb.SO_ERROR", fd);
            rep("silent-nb.connect-after-shutdown", connect(fd, (struct sockaddr *)&sin, l));
            close(fd);
    }
    SECTION("rcvtimeo") {
            struct sockaddr_in peer;
            socklen_t pl = mk4(&peer, cfg.peer4, cfg.echo_port);
            int fd = repfd("rcvtimeo.socket", socket(AF_INET, SOCK_STREAM, 0));
            struct timeval tv = {3, 0};
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
            if (rep("rcvtimeo.connect", connect(fd, (struct sockaddr *)&peer, pl)) == 0) {
                tv = (struct timeval){0, 300000};
                rep("rcvtimeo.SO_RCVTIMEO-300ms", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
                rep("rcvtimeo.recv", recv(fd, (char[16]){0}, 16, 0));
                rep("rcvtimeo.recv-waitall", recv(fd, (char[16]){0}, 16, MSG_WAITALL));
            }
            close(fd);
    }
}

int scenario_tcp_connect(void)
{
    char mapped[64];
    snprintf(mapped, sizeof mapped, "::ffff:%s", cfg.peer4);
    SECTION("pending4") pending_flow("pending4", AF_INET, "10.77.0.3");
    SECTION("pending6") pending_flow("pending6", AF_INET6, "fd77::3");
    SECTION("nb4") nonblocking_flow("nb4", AF_INET, cfg.peer4);
    SECTION("nb6") nonblocking_flow("nb6", AF_INET6, cfg.peer6);
    SECTION("nbll") nonblocking_flow("nbll", AF_INET6, cfg.peer_ll);
    SECTION("b4") blocking_flow("b4", AF_INET, cfg.peer4, 1);
    SECTION("b6") blocking_flow("b6", AF_INET6, cfg.peer6, 1);
    SECTION("bll") blocking_flow("bll", AF_INET6, cfg.peer_ll, 0);
    /* An IPv4 peer through an IPv6 socket (v4-mapped). */
    SECTION("bmapped") blocking_flow("bmapped", AF_INET6, mapped, 0);
    SECTION("refused4") refused_flow("refused4", AF_INET, cfg.peer4);
    SECTION("refused6") refused_flow("refused6", AF_INET6, cfg.peer6);
    timeout_flow();
    return 0;
}

/* MARK: - tcp-listen */

static int tcp_socket(const char *key, int family, int reuseaddr, int reuseport, int v6only)
{
    int fd = repfd(key, socket(family, SOCK_STREAM, 0));
    int one = 1;
    if (fd < 0)
        return fd;
    if (reuseaddr)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (v6only >= 0)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    return fd;
}

static long bind_to(const char *key, int fd, int family, const char *addr, int port)
{
    struct sockaddr_storage ss;
    socklen_t len = mkaddr(&ss, family, addr, port, 0);
    return rep(key, bind(fd, (struct sockaddr *)&ss, len));
}

static void rep_sockname(const char *key, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        rep(key, -1);
    else
        out(key, "%s", sa_str(&ss, len));
}

/* Listener on PORT (bound to ADDR); the peer connects in; readiness and accept4. */
static void accept_flow(const char *p, int family, const char *addr, const char *peer_target, int port)
{
    int lfd = tcp_socket(K(p, "socket"), family, 1, 0, -1);
    if (lfd < 0)
        return;
    bind_to(K(p, "bind"), lfd, family, addr, port);
    rep_poll(K(p, "poll-before-listen"), lfd, POLLIN | POLLOUT, 0);
    rep(K(p, "listen"), listen(lfd, 8));
    rep_sockname(K(p, "listener-name"), lfd);
    rep_poll(K(p, "poll-listening"), lfd, POLLIN | POLLOUT, 0);
    int fl = fcntl(lfd, F_GETFL);
    fcntl(lfd, F_SETFL, fl | O_NONBLOCK);
    rep(K(p, "accept-nothing-pending"), accept(lfd, NULL, NULL));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    rep_epoll(K(p, "epoll-idle"), ep, 0);
    int ctl = peer_connect_in(p, AF_INET, peer_target, port);
    rep_poll(K(p, "poll-3s"), lfd, POLLIN, 3000);
    rep_epoll(K(p, "epoll-edge"), ep, 3000);
    rep_epoll(K(p, "epoll-no-second-edge"), ep, 100);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int cfd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (repfd(K(p, "accept4"), cfd) >= 0) {
        out(K(p, "accept4-address"), "%s", sa_str(&ss, len));
        out(K(p, "accepted-O_NONBLOCK"), "%d", !!(fcntl(cfd, F_GETFL) & O_NONBLOCK));
        out(K(p, "accepted-FD_CLOEXEC"), "%d", !!(fcntl(cfd, F_GETFD) & FD_CLOEXEC));
        rep_names(K(p, "accepted"), cfd);
        out(K(p, "accepted-SO_ACCEPTCONN"), "%s", optint(cfd, SOL_SOCKET, SO_ACCEPTCONN));
        out(K(p, "accepted-SO_REUSEADDR"), "%s", optint(cfd, SOL_SOCKET, SO_REUSEADDR));
        rep_tcp_info(K(p, "accepted-TCP_INFO"), cfd, 1);
        rep_recv(K(p, "recv-hello"), cfd, 100, 0, 3000);
        rep(K(p, "send"), send(cfd, "welcome\n", 8, 0));
        rep_poll(K(p, "poll-after-accept"), lfd, POLLIN, 0);
        rep(K(p, "accept-again"), accept(lfd, NULL, NULL));
        control_reply(p, ctl);
        rep(K(p, "close-accepted"), close(cfd));
    } else {
        control_reply(p, ctl);
    }
    close(ep);
    rep(K(p, "close-listener"), close(lfd));
    /* The accepted connection is closing (we closed first): the port is held; with
     * SO_REUSEADDR a new listener takes it at once. */
    int fd = tcp_socket(K(p, "rebind-socket"), family, 0, 0, -1);
    bind_to(K(p, "rebind-without-reuseaddr"), fd, family, addr, port);
    close(fd);
    fd = tcp_socket(K(p, "rebind-socket-reuseaddr"), family, 1, 0, -1);
    bind_to(K(p, "rebind-with-reuseaddr"), fd, family, addr, port);
    rep(K(p, "relisten"), listen(fd, 8));
    close(fd);
}

int scenario_tcp_listen(void)
{
    int a, b, c;
    char mapped[64];
    snprintf(mapped, sizeof mapped, "::ffff:%s", cfg.local4);

    SECTION("binds") {
        a = tcp_socket("port0.socket", AF_INET, 0, 0, -1);
        bind_to("port0.bind", a, AF_INET, "0.0.0.0", 0);
        rep_sockname("port0.getsockname", a);
        bind_to("port0.bind-again", a, AF_INET, "0.0.0.0", 0);
        rep(K("port0", "listen"), listen(a, 1));
        rep_sockname("port0.getsockname-listening", a);
        close(a);
        a = tcp_socket("autobind.socket", AF_INET, 0, 0, -1);
        rep("autobind.listen-unbound", listen(a, 1));
        rep_sockname("autobind.getsockname", a);
        close(a);

        a = tcp_socket("specific.socket", AF_INET, 0, 0, -1);
        bind_to("specific.bind", a, AF_INET, cfg.local4, 5001);
        rep_sockname("specific.getsockname", a);
        close(a);
        a = tcp_socket("foreign.socket", AF_INET, 0, 0, -1);
        bind_to("foreign.bind-203.0.113.1", a, AF_INET, "203.0.113.1", 5001);
        bind_to("foreign.bind-peer", a, AF_INET, cfg.peer4, 5001);
        bind_to("foreign.bind-127.0.0.1", a, AF_INET, "127.0.0.1", 5001);
        rep_sockname("foreign.getsockname", a);
        close(a);
        a = tcp_socket("loopback.socket", AF_INET, 0, 0, -1);
        bind_to("loopback.bind-127.1.2.3", a, AF_INET, "127.1.2.3", 5001);
        close(a);
        a = tcp_socket("broadcast.socket", AF_INET, 0, 0, -1);
        bind_to("broadcast.bind-10.77.0.255", a, AF_INET, "10.77.0.255", 5001);
        close(a);

        a = tcp_socket("v6specific.socket", AF_INET6, 0, 0, -1);
        bind_to("v6specific.bind", a, AF_INET6, cfg.local6, 5001);
        rep_sockname("v6specific.getsockname", a);
        close(a);
        a = tcp_socket("v6ll.socket", AF_INET6, 0, 0, -1);
        bind_to("v6ll.bind-no-scope", a, AF_INET6, cfg.local_ll, 5001);
        {
            struct sockaddr_in6 s6;
            socklen_t l = mk6(&s6, cfg.local_ll, 5001, cfg.ifindex);
            rep("v6ll.bind-scope", bind(a, (struct sockaddr *)&s6, l));
            rep_sockname("v6ll.getsockname", a);
            rep("v6ll.SO_BINDTOIFINDEX", getsockopt(a, SOL_SOCKET, SO_BINDTOIFINDEX, &(int){0}, &(socklen_t){4}));
            out("v6ll.SO_BINDTOIFINDEX-value", "%s", optint(a, SOL_SOCKET, SO_BINDTOIFINDEX) );
        }
        close(a);
        a = tcp_socket("v6ll-badscope.socket", AF_INET6, 0, 0, -1);
        {
            struct sockaddr_in6 s6;
            socklen_t l = mk6(&s6, cfg.local_ll, 5001, 99);
            rep("v6ll-badscope.bind", bind(a, (struct sockaddr *)&s6, l));
        }
        close(a);

        a = tcp_socket("mapped.socket", AF_INET6, 0, 0, 0);
        bind_to("mapped.bind", a, AF_INET6, mapped, 5002);
        rep_sockname("mapped.getsockname", a);
        close(a);
        a = tcp_socket("mapped-v6only.socket", AF_INET6, 0, 0, 1);
        bind_to("mapped-v6only.bind", a, AF_INET6, mapped, 5002);
        close(a);
        a = tcp_socket("mapped-any.socket", AF_INET6, 0, 0, 0);
        bind_to("mapped-any.bind", a, AF_INET6, "::ffff:0.0.0.0", 5002);
        rep_sockname("mapped-any.getsockname", a);
        close(a);

    }
    SECTION("dual") {
        /* Dual stack: [::]:5003 without V6ONLY takes the IPv4 port too. */
        a = tcp_socket("dual.v6-socket", AF_INET6, 0, 0, 0);
        bind_to("dual.v6-bind", a, AF_INET6, "::", 5003);
        rep("dual.v6-listen", listen(a, 1));
        b = tcp_socket("dual.v4-socket", AF_INET, 0, 0, -1);
        bind_to("dual.v4-bind-any", b, AF_INET, "0.0.0.0", 5003);
        bind_to("dual.v4-bind-specific", b, AF_INET, cfg.local4, 5003);
        close(b);
        close(a);
        a = tcp_socket("v6only.v6-socket", AF_INET6, 0, 0, 1);
        bind_to("v6only.v6-bind", a, AF_INET6, "::", 5004);
        rep("v6only.v6-listen", listen(a, 1));
        b = tcp_socket("v6only.v4-socket", AF_INET, 0, 0, -1);
        bind_to("v6only.v4-bind-any", b, AF_INET, "0.0.0.0", 5004);
        rep("v6only.v4-listen", listen(b, 1));
        rep("v6only.set-V6ONLY-after-bind", setsockopt(a, IPPROTO_IPV6, IPV6_V6ONLY, &(int){0}, sizeof(int)));
        close(b);
        close(a);
        /* The other order: IPv4 first, then a dual-stack IPv6 socket. */
        a = tcp_socket("v4first.v4-socket", AF_INET, 0, 0, -1);
        bind_to("v4first.v4-bind", a, AF_INET, "0.0.0.0", 5005);
        b = tcp_socket("v4first.v6-socket", AF_INET6, 0, 0, 0);
        bind_to("v4first.v6-bind-dual", b, AF_INET6, "::", 5005);
        close(b);
        b = tcp_socket("v4first.v6only-socket", AF_INET6, 0, 0, 1);
        bind_to("v4first.v6-bind-v6only", b, AF_INET6, "::", 5005);
        close(b);
        close(a);

    }
    SECTION("ports") {
        /* Privileged ports: allowed (the native run sets ip_unprivileged_port_start=0). */
        a = tcp_socket("port179.socket", AF_INET, 1, 0, -1);
        bind_to("port179.bind", a, AF_INET, cfg.local4, 179);
        rep("port179.listen", listen(a, 8));
        close(a);
        a = tcp_socket("port1.socket", AF_INET6, 0, 0, -1);
        bind_to("port1.bind", a, AF_INET6, "::", 1);
        close(a);

    }
    SECTION("reuse") {
        /* EADDRINUSE without and with SO_REUSEADDR, and SO_REUSEPORT. */
        a = tcp_socket("inuse.first", AF_INET, 0, 0, -1);
        bind_to("inuse.first-bind", a, AF_INET, cfg.local4, 5006);
        b = tcp_socket("inuse.second", AF_INET, 0, 0, -1);
        bind_to("inuse.second-bind-same", b, AF_INET, cfg.local4, 5006);
        bind_to("inuse.second-bind-any", b, AF_INET, "0.0.0.0", 5006);
        close(b);
        close(a);
        a = tcp_socket("reuseaddr.first", AF_INET, 1, 0, -1);
        bind_to("reuseaddr.first-bind", a, AF_INET, cfg.local4, 5007);
        b = tcp_socket("reuseaddr.second", AF_INET, 1, 0, -1);
        bind_to("reuseaddr.second-bind-unlistened", b, AF_INET, cfg.local4, 5007);
        rep("reuseaddr.first-listen", listen(a, 1));
        rep("reuseaddr.second-listen", listen(b, 1));
        c = tcp_socket("reuseaddr.third", AF_INET, 1, 0, -1);
        bind_to("reuseaddr.third-bind-while-listening", c, AF_INET, cfg.local4, 5007);
        bind_to("reuseaddr.third-bind-any-while-listening", c, AF_INET, "0.0.0.0", 5007);
        close(c);
        close(b);
        close(a);
        a = tcp_socket("reuseaddr-one.first", AF_INET, 0, 0, -1);
        bind_to("reuseaddr-one.first-bind", a, AF_INET, cfg.local4, 5008);
        b = tcp_socket("reuseaddr-one.second", AF_INET, 1, 0, -1);
        bind_to("reuseaddr-one.second-bind", b, AF_INET, cfg.local4, 5008);
        close(b);
        close(a);
        a = tcp_socket("reuseport.first", AF_INET, 0, 1, -1);
        bind_to("reuseport.first-bind", a, AF_INET, cfg.local4, 5009);
        rep("reuseport.first-listen", listen(a, 1));
        b = tcp_socket("reuseport.second", AF_INET, 0, 1, -1);
        bind_to("reuseport.second-bind", b, AF_INET, cfg.local4, 5009);
        rep("reuseport.second-listen", listen(b, 1));
        c = tcp_socket("reuseport.without", AF_INET, 0, 0, -1);
        bind_to("reuseport.without-bind", c, AF_INET, cfg.local4, 5009);
        close(c);
        close(b);
        close(a);

    }
    SECTION("rebind") {
        /* Close a listener that never accepted and re-bind its port at once (no SO_REUSEADDR). */
        a = tcp_socket("rebind.socket", AF_INET, 0, 0, -1);
        bind_to("rebind.bind", a, AF_INET, "0.0.0.0", 5010);
        rep("rebind.listen", listen(a, 8));
        rep("rebind.close", close(a));
        a = tcp_socket("rebind.socket-again", AF_INET, 0, 0, -1);
        bind_to("rebind.bind-again", a, AF_INET, "0.0.0.0", 5010);
        rep("rebind.listen-again", listen(a, 8));
        close(a);

    }
    /* The peer connects in. */
    SECTION("in4") accept_flow("in4", AF_INET, cfg.local4, cfg.local4, 5011);
    SECTION("in6") accept_flow("in6", AF_INET6, "::", cfg.local6, 5012);
    SECTION("in-mapped") accept_flow("in-mapped", AF_INET6, "::", cfg.local4, 5013);

    SECTION("accept-timeout") {
        /* A blocking accept with SO_RCVTIMEO and nothing pending. */
        a = tcp_socket("accept-timeout.socket", AF_INET, 0, 0, -1);
        bind_to("accept-timeout.bind", a, AF_INET, cfg.local4, 5015);
        rep("accept-timeout.listen", listen(a, 1));
        {
            struct timeval t3 = {0, 300000};
            rep("accept-timeout.SO_RCVTIMEO-300ms", setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &t3, sizeof t3));
            rep("accept-timeout.accept", accept(a, NULL, NULL));
        }
        close(a);

    }
    SECTION("backlog") {
        /* listen(backlog) variants and listen again. */
        a = tcp_socket("backlog.socket", AF_INET, 0, 0, -1);
        bind_to("backlog.bind", a, AF_INET, cfg.local4, 5014);
        rep("backlog.listen-0", listen(a, 0));
        rep("backlog.listen-again-negative", listen(a, -1));
        rep("backlog.listen-again-huge", listen(a, 1 << 30));
        struct timeval tv = {2, 0};
        setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv); /* accept gives up after 2 s */
        rep("backlog.shutdown-listener", shutdown(a, SHUT_RDWR));
        rep_poll("backlog.poll-after-shutdown", a, POLLIN | POLLOUT, 0);
        rep("backlog.accept-after-shutdown", accept(a, NULL, NULL));
        close(a);
    }
    return 0;
}
