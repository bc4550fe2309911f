/*
 * errors.c — scenario errors: socket() with bad arguments (as an unprivileged process),
 * bad addresses and lengths, bad pointers (EFAULT), calls in the wrong socket state.
 */
#include "probe.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef SIN6_LEN_RFC2133
#define SIN6_LEN_RFC2133 24 /* sockaddr_in6 without sin6_scope_id */
#endif
#ifndef AF_PACKET
#define AF_PACKET 17
#endif

/* An address that faults: an unmapped page. */
static void *bad_pointer(void)
{
    static void *p;
    if (!p) {
        p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        munmap(p, 4096);
    }
    return p;
}

static void sock_flags(const char *key, int fd)
{
    if (fd < 0)
        return;
    out(key, "O_NONBLOCK=%d FD_CLOEXEC=%d", !!(fcntl(fd, F_GETFL) & O_NONBLOCK), !!(fcntl(fd, F_GETFD) & FD_CLOEXEC));
}

static void try_socket(const char *key, int domain, int type, int proto)
{
    int fd = repfd(key, socket(domain, type, proto));
    if (fd >= 0)
        close(fd);
}

static void sockets(void)
{
    int fd;
    fd = repfd("socket.inet-stream-nonblock-cloexec", socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sock_flags("socket.inet-stream-nonblock-cloexec.flags", fd);
    close(fd);
    fd = repfd("socket.inet6-dgram-cloexec", socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sock_flags("socket.inet6-dgram-cloexec.flags", fd);
    close(fd);
    fd = repfd("socket.inet-dgram", socket(AF_INET, SOCK_DGRAM, 0));
    sock_flags("socket.inet-dgram.flags", fd);
    close(fd);
    try_socket("socket.inet-stream-tcp", AF_INET, SOCK_STREAM, IPPROTO_TCP);
    try_socket("socket.inet-dgram-udp", AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    try_socket("socket.inet6-stream-tcp", AF_INET6, SOCK_STREAM, IPPROTO_TCP);
    try_socket("socket.inet-stream-udp", AF_INET, SOCK_STREAM, IPPROTO_UDP);
    try_socket("socket.inet-dgram-tcp", AF_INET, SOCK_DGRAM, IPPROTO_TCP);
    try_socket("socket.inet-stream-sctp", AF_INET, SOCK_STREAM, IPPROTO_SCTP);
    try_socket("socket.inet-dgram-udplite", AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    try_socket("socket.inet-seqpacket", AF_INET, SOCK_SEQPACKET, 0);
    try_socket("socket.inet-rdm", AF_INET, SOCK_RDM, 0);
    try_socket("socket.inet-dccp", AF_INET, SOCK_DCCP, 0);
    try_socket("socket.inet-type-99", AF_INET, 99, 0);
    try_socket("socket.inet-type-0", AF_INET, 0, 0);
    try_socket("socket.inet-unknown-flag", AF_INET, SOCK_STREAM | 0x100000, 0);
    try_socket("socket.inet-proto-253", AF_INET, SOCK_DGRAM, 253);
    try_socket("socket.inet-proto-negative", AF_INET, SOCK_STREAM, -1);
    try_socket("socket.inet-proto-256", AF_INET, SOCK_STREAM, 256);
    try_socket("socket.inet-raw-icmp", AF_INET, SOCK_RAW, IPPROTO_ICMP);
    try_socket("socket.inet-raw-raw", AF_INET, SOCK_RAW, IPPROTO_RAW);
    try_socket("socket.inet-raw-0", AF_INET, SOCK_RAW, 0);
    try_socket("socket.inet6-raw-icmpv6", AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
    try_socket("socket.packet", AF_PACKET, SOCK_RAW, htons(3));
    try_socket("socket.inet-packet-type", AF_INET, SOCK_PACKET, 0);
    try_socket("socket.family-9999", 9999, SOCK_STREAM, 0);
    try_socket("socket.family-negative", -1, SOCK_STREAM, 0);
    try_socket("socket.family-AF_MAX", 46, SOCK_STREAM, 0);
    try_socket("socket.unix-stream", AF_UNIX, SOCK_STREAM, 0);
    try_socket("socket.unix-proto-1", AF_UNIX, SOCK_STREAM, 1);
    try_socket("socket.netlink-route", AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    try_socket("socket.netlink-route-dgram", AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
    try_socket("socket.netlink-route-stream", AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE);
    try_socket("socket.netlink-generic", AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
    try_socket("socket.netlink-sock-diag", AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG);
    try_socket("socket.netlink-audit", AF_NETLINK, SOCK_RAW, NETLINK_AUDIT);
    try_socket("socket.ax25", 3, SOCK_DGRAM, 0);
    try_socket("socket.ipx", 4, SOCK_DGRAM, 0);
    try_socket("socket.appletalk", 5, SOCK_DGRAM, 0);
    try_socket("socket.bluetooth", 31, SOCK_STREAM, 0);
    try_socket("socket.can", 29, SOCK_RAW, 1);
    try_socket("socket.vsock", 40, SOCK_STREAM, 0);
    try_socket("socket.alg", 38, SOCK_SEQPACKET, 0);
    try_socket("socket.xdp", 44, SOCK_RAW, 0);
    try_socket("socket.mptcp", AF_INET, SOCK_STREAM, 262);
    int sv[2];
    rep("socketpair.inet-stream", socketpair(AF_INET, SOCK_STREAM, 0, sv));
    rep("socketpair.inet6-dgram", socketpair(AF_INET6, SOCK_DGRAM, 0, sv));
}

static void addresses(void)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 s6;
    socklen_t l4 = mk4(&sin, "0.0.0.0", 0);
    socklen_t l6 = mk6(&s6, "::", 0, 0);
    int fd = repfd("bind4.socket", socket(AF_INET, SOCK_STREAM, 0));
    rep("bind4.addrlen-15", bind(fd, (struct sockaddr *)&sin, l4 - 1));
    rep("bind4.addrlen-0", bind(fd, (struct sockaddr *)&sin, 0));
    rep("bind4.addrlen-2", bind(fd, (struct sockaddr *)&sin, 2));
    rep("bind4.addrlen-129", bind(fd, (struct sockaddr *)&sin, 129));
    rep("bind4.addrlen-negative", bind(fd, (struct sockaddr *)&sin, (socklen_t)-1));
    rep("bind4.NULL", bind(fd, NULL, l4));
    rep("bind4.NULL-len-0", bind(fd, NULL, 0));
    rep("bind4.bad-pointer", bind(fd, bad_pointer(), l4));
    rep("bind4.inet6-address", bind(fd, (struct sockaddr *)&s6, l6));
    rep("bind4.family-unix", bind(fd, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_UNIX}, l4));
    struct sockaddr_in un = {.sin_family = AF_UNSPEC};
    rep("bind4.AF_UNSPEC-any", bind(fd, (struct sockaddr *)&un, l4));
    rep_names("bind4.after-AF_UNSPEC", fd);
    close(fd);
    fd = repfd("bind4u.socket", socket(AF_INET, SOCK_DGRAM, 0));
    inet_pton(AF_INET, "10.77.0.2", &un.sin_addr);
    rep("bind4u.AF_UNSPEC-specific", bind(fd, (struct sockaddr *)&un, l4));
    rep("bind4u.addrlen-32", bind(fd, (struct sockaddr *)&(struct sockaddr_storage){.ss_family = AF_INET}, 32));
    rep_names("bind4u.after", fd);
    rep("bind4u.bind-twice", bind(fd, (struct sockaddr *)&sin, l4));
    close(fd);

    fd = repfd("bind6.socket", socket(AF_INET6, SOCK_STREAM, 0));
    rep("bind6.addrlen-23", bind(fd, (struct sockaddr *)&s6, SIN6_LEN_RFC2133 - 1));
    rep("bind6.addrlen-rfc2133", bind(fd, (struct sockaddr *)&s6, SIN6_LEN_RFC2133));
    rep_names("bind6.after-rfc2133", fd);
    close(fd);
    fd = repfd("bind6b.socket", socket(AF_INET6, SOCK_STREAM, 0));
    rep("bind6b.inet-address", bind(fd, (struct sockaddr *)&sin, l4));
    rep("bind6b.AF_UNSPEC", bind(fd, (struct sockaddr *)&(struct sockaddr_in6){.sin6_family = AF_UNSPEC}, l6));
    rep("bind6b.bad-pointer", bind(fd, bad_pointer(), l6));
    mk6(&s6, "ff02::1", 0, 0);
    rep("bind6b.multicast", bind(fd, (struct sockaddr *)&s6, l6));
    mk6(&s6, "::", 0, 0);
    close(fd);

    fd = repfd("connect4.socket", socket(AF_INET, SOCK_STREAM, 0));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &(struct timeval){2, 0}, sizeof(struct timeval));
    mk4(&sin, cfg.peer4, cfg.echo_port);
    rep("connect4.addrlen-15", connect(fd, (struct sockaddr *)&sin, l4 - 1));
    rep("connect4.addrlen-0", connect(fd, (struct sockaddr *)&sin, 0));
    rep("connect4.NULL", connect(fd, NULL, l4));
    rep("connect4.bad-pointer", connect(fd, bad_pointer(), l4));
    rep("connect4.inet6-address", connect(fd, (struct sockaddr *)&s6, l6));
    rep("connect4.AF_UNSPEC", connect(fd, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_UNSPEC}, l4));
    rep("connect4.port-0", connect(fd, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET,
                                                                                 .sin_addr = sin.sin_addr},
                                  l4));
    close(fd);
    /* Connects that Linux refuses at once: non-blocking, so that a wrong answer
     * (EINPROGRESS) does not stall the probe. */
    fd = repfd("connect4m.socket", socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    mk4(&sin, "224.0.0.9", cfg.echo_port);
    rep("connect4m.multicast", connect(fd, (struct sockaddr *)&sin, l4));
    close(fd);
    fd = repfd("connect4b.socket", socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    mk4(&sin, "10.77.0.255", cfg.echo_port);
    rep("connect4b.broadcast", connect(fd, (struct sockaddr *)&sin, l4));
    close(fd);
    fd = repfd("connect6.socket", socket(AF_INET6, SOCK_STREAM, 0));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &(struct timeval){2, 0}, sizeof(struct timeval));
    mk6(&s6, cfg.peer6, cfg.echo_port, 0);
    rep("connect6.addrlen-23", connect(fd, (struct sockaddr *)&s6, SIN6_LEN_RFC2133 - 1));
    rep("connect6.inet-address", connect(fd, (struct sockaddr *)&sin, l4));
    rep("connect6.bad-pointer", connect(fd, bad_pointer(), l6));
    close(fd);
    fd = repfd("connect6v6only.socket", socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0));
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){1}, sizeof(int));
    char mapped[64];
    snprintf(mapped, sizeof mapped, "::ffff:%s", cfg.peer4);
    mk6(&s6, mapped, cfg.echo_port, 0);
    rep("connect6v6only.mapped", connect(fd, (struct sockaddr *)&s6, l6));
    close(fd);

    /* getsockname / getpeername lengths and pointers. */
    fd = repfd("names.socket", socket(AF_INET, SOCK_DGRAM, 0));
    struct sockaddr_storage ss;
    socklen_t len = 4;
    memset(&ss, 0xee, sizeof ss);
    long r = getsockname(fd, (struct sockaddr *)&ss, &len);
    out("names.getsockname-len4", "%s len=%u family=%u byte4=0x%02x", rstr(r, errno), (unsigned)len,
        ((struct sockaddr *)&ss)->sa_family, ((unsigned char *)&ss)[4]);
    len = 0;
    r = getsockname(fd, (struct sockaddr *)&ss, &len);
    out("names.getsockname-len0", "%s len=%u", rstr(r, errno), (unsigned)len);
    len = 200;
    r = getsockname(fd, (struct sockaddr *)&ss, &len);
    out("names.getsockname-len200", "%s len=%u", rstr(r, errno), (unsigned)len);
    len = (socklen_t)-1;
    r = getsockname(fd, (struct sockaddr *)&ss, &len);
    out("names.getsockname-len-negative", "%s len=%u", rstr(r, errno), (unsigned)len);
    rep("names.getsockname-NULL-len", getsockname(fd, (struct sockaddr *)&ss, NULL));
    len = sizeof ss;
    rep("names.getsockname-NULL-addr", getsockname(fd, NULL, &len));
    rep("names.getsockname-bad-len-pointer", getsockname(fd, (struct sockaddr *)&ss, bad_pointer()));
    len = sizeof ss;
    rep("names.getsockname-bad-addr", getsockname(fd, bad_pointer(), &len));
    len = sizeof ss;
    rep("names.getpeername-unconnected", getpeername(fd, (struct sockaddr *)&ss, &len));
    rep("names.getpeername-bad-len-pointer", getpeername(fd, (struct sockaddr *)&ss, bad_pointer()));
    close(fd);
}

static void states(void)
{
    char buf[16];
    struct sockaddr_in sin;
    socklen_t l4 = mk4(&sin, cfg.peer4, cfg.echo_port);
    int u = repfd("state.udp-socket", socket(AF_INET, SOCK_DGRAM, 0));
    rep("state.listen-udp", listen(u, 1));
    rep("state.accept-udp", accept(u, NULL, NULL));
    rep("state.send-unconnected-udp", send(u, "x", 1, 0));
    rep("state.recv-udp-dontwait", recv(u, buf, sizeof buf, MSG_DONTWAIT));
    rep("state.sendto-udp-port-0", sendto(u, "x", 1, 0, (struct sockaddr *)&(struct sockaddr_in){
                                                              .sin_family = AF_INET, .sin_addr = sin.sin_addr},
                                          l4));
    rep("state.sendto-udp-addrlen-short", sendto(u, "x", 1, 0, (struct sockaddr *)&sin, l4 - 1));
    rep("state.sendto-udp-addrlen-12", sendto(u, "x", 1, 0, (struct sockaddr *)&sin, 12));
    rep("state.sendto-udp-bad-pointer", sendto(u, "x", 1, 0, bad_pointer(), l4));
    rep("state.sendto-udp-bad-buffer", sendto(u, bad_pointer(), 1, 0, (struct sockaddr *)&sin, l4));
    rep("state.sendto-udp-too-big", sendto(u, (char[70000]){0}, 70000, 0, (struct sockaddr *)&sin, l4));
    rep("state.sendto-udp-MSG_OOB", sendto(u, "x", 1, MSG_OOB, (struct sockaddr *)&sin, l4));
    rep("state.shutdown-udp-unconnected", shutdown(u, SHUT_RDWR));
    rep("state.setsockopt-NULL", setsockopt(u, SOL_SOCKET, SO_REUSEADDR, NULL, 4));
    rep("state.setsockopt-bad-pointer", setsockopt(u, SOL_SOCKET, SO_REUSEADDR, bad_pointer(), 4));
    rep("state.getsockopt-NULL-len", getsockopt(u, SOL_SOCKET, SO_TYPE, buf, NULL));
    rep("state.getsockopt-bad-len-pointer", getsockopt(u, SOL_SOCKET, SO_TYPE, buf, bad_pointer()));
    rep("state.getsockopt-bad-value", getsockopt(u, SOL_SOCKET, SO_TYPE, bad_pointer(), &(socklen_t){4}));
    rep("state.getsockopt-negative-len", getsockopt(u, SOL_SOCKET, SO_TYPE, buf, &(socklen_t){(socklen_t)-1}));
    close(u);

    int t = repfd("state.tcp-socket", socket(AF_INET, SOCK_STREAM, 0));
    struct timeval tv2 = {2, 0}; /* blocking calls give up after 2 s rather than hang */
    setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv2, sizeof tv2);
    setsockopt(t, SOL_SOCKET, SO_SNDTIMEO, &tv2, sizeof tv2);
    rep("state.accept-not-listening", accept(t, NULL, NULL));
    rep("state.accept4-bad-flags", accept4(t, NULL, NULL, 0x4000));
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    rep("state.getpeername-unconnected-tcp", getpeername(t, (struct sockaddr *)&ss, &len));
    rep("state.send-unconnected-tcp", send(t, "x", 1, 0));
    rep("state.send-unconnected-tcp-nosignal", send(t, "x", 1, MSG_NOSIGNAL));
    rep("state.sendto-unconnected-tcp", sendto(t, "x", 1, 0, (struct sockaddr *)&sin, l4));
    rep("state.recv-unconnected-tcp", recv(t, buf, sizeof buf, 0));
    rep("state.recv-unconnected-tcp-dontwait", recv(t, buf, sizeof buf, MSG_DONTWAIT));
    rep("state.shutdown-unconnected-tcp", shutdown(t, SHUT_WR));
    rep("state.shutdown-bad-how", shutdown(t, 7));
    rep("state.listen", listen(t, 1));
    rep("state.connect-on-listener", connect(t, (struct sockaddr *)&sin, l4));
    rep("state.send-on-listener", send(t, "x", 1, 0));
    rep("state.recv-on-listener", recv(t, buf, sizeof buf, MSG_DONTWAIT));
    rep("state.getpeername-listener", getpeername(t, (struct sockaddr *)&ss, &len));
    rep("state.bind-after-listen", bind(t, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET}, l4));
    close(t);

    t = repfd("state.tcp-connected", socket(AF_INET, SOCK_STREAM, 0));
    setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv2, sizeof tv2);
    setsockopt(t, SOL_SOCKET, SO_SNDTIMEO, &tv2, sizeof tv2);
    if (rep("state.connect", connect(t, (struct sockaddr *)&sin, l4)) == 0) {
        rep("state.listen-connected", listen(t, 1));
        rep("state.accept-connected", accept(t, NULL, NULL));
        rep("state.bind-connected", bind(t, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET}, l4));
        rep("state.connect-AF_UNSPEC-tcp", connect(t, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_UNSPEC},
                                                   l4));
        rep("state.send-after-disconnect", send(t, "x", 1, 0));
        rep("state.connect-after-disconnect", connect(t, (struct sockaddr *)&sin, l4));
        rep("state.send-after-reconnect", send(t, "x", 1, 0));
    }
    close(t);

    /* Calls on things that are not sockets, or not fds. */
    int pfd[2];
    if (pipe(pfd) == 0) {
        rep("notsock.bind-pipe", bind(pfd[0], (struct sockaddr *)&sin, l4));
        rep("notsock.getsockopt-pipe", getsockopt(pfd[0], SOL_SOCKET, SO_TYPE, buf, &(socklen_t){4}));
        rep("notsock.connect-pipe", connect(pfd[0], (struct sockaddr *)&sin, l4));
        rep("notsock.sendto-pipe", sendto(pfd[1], "x", 1, 0, (struct sockaddr *)&sin, l4));
        rep("notsock.shutdown-pipe", shutdown(pfd[0], SHUT_RDWR));
        close(pfd[0]);
        close(pfd[1]);
    }
    rep("notsock.bind-bad-fd", bind(999, (struct sockaddr *)&sin, l4));
    rep("notsock.getsockname-bad-fd", getsockname(999, (struct sockaddr *)&ss, &len));
    rep("notsock.setsockopt-bad-fd", setsockopt(999, SOL_SOCKET, SO_REUSEADDR, &(int){1}, 4));
    rep("notsock.connect-negative-fd", connect(-1, (struct sockaddr *)&sin, l4));
}

int scenario_errors(void)
{
    out("uid", "%u", (unsigned)getuid());
    SECTION("socket") sockets();
    SECTION("addresses") addresses();
    SECTION("states") states();
    return 0;
}
