/*
 * icmp.c — scenarios ping (ICMP/ICMPv6 datagram sockets, unprivileged) and raw (raw ICMP,
 * ICMPv6 and IP_HDRINCL sockets; the harness runs it natively with CAP_NET_RAW).
 */
#include "probe.h"

#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

long rep_recvmsg(const char *key, int fd, size_t len, int flags, size_t controllen, int ms);

static char *K(const char *a, const char *b)
{
    static char bufs[4][160];
    static int n;
    n = (n + 1) % 4;
    snprintf(bufs[n], sizeof bufs[n], "%s.%s", a, b);
    return bufs[n];
}

static uint16_t csum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (p[i] << 8) | p[i + 1];
    if (len & 1)
        sum += p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return htons(~sum & 0xffff);
}

static size_t echo_request(uint8_t *buf, int type, uint16_t id, uint16_t seq, const char *payload, int checksum)
{
    size_t n = 8 + strlen(payload);
    memset(buf, 0, 8);
    buf[0] = type;
    memcpy(buf + 4, &(uint16_t){htons(id)}, 2);
    memcpy(buf + 6, &(uint16_t){htons(seq)}, 2);
    memcpy(buf + 8, payload, strlen(payload));
    if (checksum) {
        uint16_t c = csum(buf, n);
        memcpy(buf + 2, &c, 2);
    }
    return n;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* The ICMP message at p (n bytes) as text; ids equal to OURS print as "ours". */
static const char *icmp_str(const uint8_t *p, long n, int ours)
{
    static char b[400];
    if (n < 8) {
        snprintf(b, sizeof b, "short (%ld bytes)", n);
        return b;
    }
    uint16_t id = (p[4] << 8) | p[5], seq = (p[6] << 8) | p[7];
    char idtxt[32];
    if (ours >= 0 && id == ours)
        snprintf(idtxt, sizeof idtxt, "ours");
    else
        snprintf(idtxt, sizeof idtxt, "%u", id);
    snprintf(b, sizeof b, "type=%u code=%u id=%s seq=%u payload=%s", p[0], p[1], idtxt, seq, datastr(p + 8, n - 8));
    return b;
}

/* The local port (= ICMP echo id) of a ping socket, and its name with the id hidden. */
static int ping_id(const char *key, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char a[INET6_ADDRSTRLEN];
    memset(&ss, 0, sizeof ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        rep(key, -1);
        return -1;
    }
    int port;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)&ss;
        port = ntohs(s->sin_port);
        inet_ntop(AF_INET, &s->sin_addr, a, sizeof a);
    } else {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
        port = ntohs(s->sin6_port);
        inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof a);
    }
    out(key, "len=%u family=%s addr=%s id=%s", (unsigned)len, ss.ss_family == AF_INET ? "AF_INET" : "AF_INET6", a,
        port ? "nonzero" : "0");
    return port;
}

/* Receives until an ICMP message of TYPE with our id arrives (≤ 3 s); prints it. */
static void recv_icmp(const char *key, int fd, int type, int id, int raw_ipv4)
{
    uint8_t buf[2048];
    long deadline = now_ms() + bound_ms(3000);
    for (;;) {
        long left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) <= 0) {
            wait_timed_out(3000);
            out(key, "nothing within 3 s");
            return;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        long n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
        if (n < 0) {
            rep(key, n);
            return;
        }
        const uint8_t *icmp = buf;
        long ilen = n;
        char ip[200] = "";
        if (raw_ipv4) {
            if (n < 20)
                continue;
            int ihl = (buf[0] & 15) * 4;
            char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, buf + 12, s, sizeof s);
            inet_ntop(AF_INET, buf + 16, d, sizeof d);
            snprintf(ip, sizeof ip, "ip: v=%u ihl=%d tos=%u totlen=%u df=%d ttl=%u proto=%u src=%s dst=%s; ",
                     buf[0] >> 4, ihl, buf[1], (buf[2] << 8) | buf[3], !!(buf[6] & 0x40), buf[8], buf[9], s, d);
            icmp = buf + ihl;
            ilen = n - ihl;
        }
        if (ilen < 8 || icmp[0] != type || ((icmp[4] << 8) | icmp[5]) != id)
            continue;
        out(key, "%ld from=%s %s%s", n, sa_str(&ss, sl), ip, icmp_str(icmp, ilen, id));
        return;
    }
}

static void ping_flow(const char *p, int family, const char *peer, int scope)
{
    int proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
    int req = family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
    int rep_type = family == AF_INET ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
    struct sockaddr_storage dst;
    socklen_t dlen = mkaddr(&dst, family, peer, 0, scope);
    uint8_t pkt[64];
    int fd = repfd(K(p, "socket"), socket(family, SOCK_DGRAM, proto));
    if (fd < 0)
        return;
    ping_id(K(p, "fresh-name"), fd);
    rep_poll(K(p, "poll-fresh"), fd, POLLIN | POLLOUT, 0);
    size_t n = echo_request(pkt, req, 0, 1, "probe-ping-1", 0);
    rep(K(p, "sendto"), sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, dlen));
    int id = ping_id(K(p, "name-after-send"), fd);
    recv_icmp(K(p, "reply"), fd, rep_type, id, 0);
    rep_poll(K(p, "poll-drained"), fd, POLLIN, 0);
    /* The id in the request is replaced by the socket's. */
    n = echo_request(pkt, req, 0x4242, 2, "probe-ping-2", 0);
    rep(K(p, "sendto-own-id"), sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, dlen));
    recv_icmp(K(p, "reply-own-id"), fd, rep_type, id, 0);
    /* Hop limit / TTL of the reply. */
    int one = 1;
    if (family == AF_INET)
        rep(K(p, "IP_RECVTTL"), setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof one));
    else
        rep(K(p, "IPV6_RECVHOPLIMIT"), setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one));
    n = echo_request(pkt, req, 0, 3, "probe-ping-3", 0);
    rep(K(p, "sendto-3"), sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, dlen));
    rep_recvmsg(K(p, "recvmsg-3"), fd, 2, 0, 256, 3000); /* type and code: the id varies */
    /* What a ping socket refuses. */
    n = echo_request(pkt, family == AF_INET ? ICMP_TIMESTAMP : 135, 0, 4, "x", 0);
    rep(K(p, "sendto-not-echo"), sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, dlen));
    rep(K(p, "sendto-short"), sendto(fd, pkt, 4, 0, (struct sockaddr *)&dst, dlen));
    n = echo_request(pkt, req, 0, 5, "x", 0);
    pkt[1] = 1;
    rep(K(p, "sendto-code-1"), sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, dlen));
    rep_recvmsg(K(p, "recv-code-1"), fd, 64, 0, 0, 1000);
    rep(K(p, "send-unconnected"), send(fd, pkt, n, 0));
    /* Connected. */
    rep(K(p, "connect"), connect(fd, (struct sockaddr *)&dst, dlen));
    ping_id(K(p, "connected.getsockname"), fd);
    {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        long r = getpeername(fd, (struct sockaddr *)&ss, &sl);
        if (r < 0)
            rep(K(p, "connected.getpeername"), r);
        else
            out(K(p, "connected.getpeername"), "%s", sa_str(&ss, sl));
    }
    n = echo_request(pkt, req, 0, 6, "probe-ping-6", 0);
    rep(K(p, "send-connected"), send(fd, pkt, n, 0));
    recv_icmp(K(p, "reply-connected"), fd, rep_type, id, 0);
    close(fd);

    /* A ping socket bound to our address. */
    fd = repfd(K(p, "bound-socket"), socket(family, SOCK_DGRAM, proto));
    struct sockaddr_storage src;
    socklen_t slen = family == AF_INET ? mkaddr(&src, AF_INET, cfg.local4, 0, 0)
                                       : mkaddr(&src, AF_INET6, scope ? cfg.local_ll : cfg.local6, 0, scope);
    rep(K(p, "bind"), bind(fd, (struct sockaddr *)&src, slen));
    id = ping_id(K(p, "bound-name"), fd);
    n = echo_request(pkt, req, 0, 7, "probe-ping-7", 0);
    rep(K(p, "bound-sendto"), sendto(fd, pkt, n, 0, (struct sockaddr *)&dst, dlen));
    recv_icmp(K(p, "bound-reply"), fd, rep_type, id, 0);
    close(fd);
}

int scenario_ping(void)
{
    SECTION("ping4") ping_flow("ping4", AF_INET, cfg.peer4, 0);
    SECTION("ping6") ping_flow("ping6", AF_INET6, cfg.peer6, 0);
    SECTION("pingll") ping_flow("pingll", AF_INET6, cfg.peer_ll, cfg.ifindex);
    SECTION("misc") {
        /* No route. */
        int fd = repfd("noroute.socket", socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP));
        struct sockaddr_in sin;
        uint8_t pkt[64];
        size_t n = echo_request(pkt, ICMP_ECHO, 0, 1, "x", 0);
        socklen_t l = mk4(&sin, "203.0.113.1", 0);
        rep("noroute.sendto", sendto(fd, pkt, n, 0, (struct sockaddr *)&sin, l));
        close(fd);
        fd = repfd("noroute6.socket", socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6));
        struct sockaddr_in6 s6;
        n = echo_request(pkt, ICMP6_ECHO_REQUEST, 0, 1, "x", 0);
        l = mk6(&s6, "2001:db8::1", 0, 0);
        rep("noroute6.sendto", sendto(fd, pkt, n, 0, (struct sockaddr *)&s6, l));
        close(fd);
        /* Families and protocols that do not go together. */
        repfd("mismatch.inet6-icmp", socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMP));
        repfd("mismatch.inet-icmpv6", socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMPV6));
        repfd("mismatch.stream-icmp", socket(AF_INET, SOCK_STREAM, IPPROTO_ICMP));
    }
    return 0;
}

/* MARK: - raw */

int scenario_raw(void)
{
    uint8_t pkt[128];
    struct sockaddr_in sin;
    struct sockaddr_in6 s6;
    socklen_t l;
    size_t n;

    int fd;
    SECTION("raw4") {
        fd = repfd("raw4.socket", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
        if (fd >= 0) {
            rep_names("raw4.fresh", fd);
            out("raw4.IP_HDRINCL", "%s", optint(fd, IPPROTO_IP, IP_HDRINCL));
            out("raw4.SO_PROTOCOL", "%s", optint(fd, SOL_SOCKET, SO_PROTOCOL));
            l = mk4(&sin, cfg.peer4, 0);
            n = echo_request(pkt, ICMP_ECHO, 0x1234, 1, "probe-raw-1", 1);
            rep("raw4.sendto", sendto(fd, pkt, n, 0, (struct sockaddr *)&sin, l));
            recv_icmp("raw4.reply", fd, ICMP_ECHOREPLY, 0x1234, 1);
            n = echo_request(pkt, ICMP_ECHO, 0x1234, 2, "probe-raw-bad-csum", 0);
            pkt[2] = 0xde;
            pkt[3] = 0xad;
            rep("raw4.sendto-bad-checksum", sendto(fd, pkt, n, 0, (struct sockaddr *)&sin, l));
            rep_poll("raw4.poll-no-reply", fd, POLLIN, 500);
            rep("raw4.connect", connect(fd, (struct sockaddr *)&sin, l));
            rep_names("raw4.connected", fd);
            n = echo_request(pkt, ICMP_ECHO, 0x1234, 3, "probe-raw-3", 1);
            rep("raw4.send-connected", send(fd, pkt, n, 0));
            recv_icmp("raw4.reply-connected", fd, ICMP_ECHOREPLY, 0x1234, 1);
            int ttl = 3;
            rep("raw4.IP_TTL-3", setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl));
            close(fd);
        }

    }
    /* IP_HDRINCL: a hand-made IPv4/UDP datagram to the reflector, answered to port 5200. */
    SECTION("hdrincl") {
        int u = repfd("hdrincl.udp-socket", socket(AF_INET, SOCK_DGRAM, 0));
        l = mk4(&sin, cfg.local4, 5200);
        rep("hdrincl.udp-bind", bind(u, (struct sockaddr *)&sin, l));
        fd = repfd("hdrincl.socket", socket(AF_INET, SOCK_RAW, IPPROTO_RAW));
        if (fd >= 0) {
            out("hdrincl.IP_HDRINCL", "%s", optint(fd, IPPROTO_IP, IP_HDRINCL));
            const char *payload = "hdrincl";
            size_t plen = strlen(payload);
            memset(pkt, 0, sizeof pkt);
            pkt[0] = 0x45;
            pkt[1] = 0x20;
            pkt[8] = 33;
            pkt[9] = IPPROTO_UDP;
            inet_pton(AF_INET, cfg.local4, pkt + 12);
            inet_pton(AF_INET, cfg.peer4, pkt + 16);
            uint16_t total = htons(20 + 8 + plen);
            memcpy(pkt + 2, &total, 2);
            memcpy(pkt + 20, &(uint16_t){htons(5200)}, 2);
            memcpy(pkt + 22, &(uint16_t){htons(cfg.reflect_port)}, 2);
            memcpy(pkt + 24, &(uint16_t){htons(8 + plen)}, 2);
            memcpy(pkt + 28, payload, plen);
            l = mk4(&sin, cfg.peer4, 0);
            rep("hdrincl.sendto", sendto(fd, pkt, 28 + plen, 0, (struct sockaddr *)&sin, l));
            rep_recvmsg("hdrincl.reflect", u, 200, 0, 0, 3000);
            close(fd);
        }
        close(u);
    }

    SECTION("raw6") {
        fd = repfd("raw6.socket", socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6));
        if (fd >= 0) {
            out("raw6.IPV6_CHECKSUM", "%s", optint(fd, IPPROTO_IPV6, IPV6_CHECKSUM));
            rep("raw6.IPV6_CHECKSUM-set", setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &(int){4}, sizeof(int)));
            struct icmp6_filter filter;
            socklen_t fl = sizeof filter;
            rep("raw6.ICMP6_FILTER-get", getsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, &fl));
            out("raw6.ICMP6_FILTER-default", "len=%u passes-all=%d", (unsigned)fl,
                ICMP6_FILTER_WILLPASS(ICMP6_ECHO_REPLY, &filter) && ICMP6_FILTER_WILLPASS(135, &filter));
            ICMP6_FILTER_SETBLOCKALL(&filter);
            ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
            rep("raw6.ICMP6_FILTER-set", setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter));
            fl = sizeof filter;
            getsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, &fl);
            out("raw6.ICMP6_FILTER-after", "len=%u echo-reply=%d echo-request=%d", (unsigned)fl,
                ICMP6_FILTER_WILLPASS(ICMP6_ECHO_REPLY, &filter), ICMP6_FILTER_WILLPASS(ICMP6_ECHO_REQUEST, &filter));
            rep("raw6.ICMP6_FILTER-short", setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, 4));
            int one = 1;
            rep("raw6.IPV6_RECVHOPLIMIT", setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one));
            l = mk6(&s6, cfg.peer6, 0, 0);
            n = echo_request(pkt, ICMP6_ECHO_REQUEST, 0x1234, 1, "probe-raw6-1", 0);
            rep("raw6.sendto", sendto(fd, pkt, n, 0, (struct sockaddr *)&s6, l));
            rep_recvmsg("raw6.reply", fd, 200, 0, 256, 3000);
            l = mk6(&s6, cfg.peer_ll, 0, cfg.ifindex);
            n = echo_request(pkt, ICMP6_ECHO_REQUEST, 0x1234, 2, "probe-raw6-2", 0);
            rep("raw6.sendto-ll", sendto(fd, pkt, n, 0, (struct sockaddr *)&s6, l));
            rep_recvmsg("raw6.reply-ll", fd, 200, 0, 256, 3000);
            close(fd);
        }
    }
    SECTION("raw6udp") {
        fd = repfd("raw6udp.socket", socket(AF_INET6, SOCK_RAW, IPPROTO_UDP));
        if (fd >= 0) {
            out("raw6udp.IPV6_CHECKSUM", "%s", optint(fd, IPPROTO_IPV6, IPV6_CHECKSUM));
            rep("raw6udp.IPV6_CHECKSUM-odd", setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &(int){3}, sizeof(int)));
            rep("raw6udp.IPV6_CHECKSUM-6", setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &(int){6}, sizeof(int)));
            out("raw6udp.IPV6_CHECKSUM-after", "%s", optint(fd, IPPROTO_IPV6, IPV6_CHECKSUM));
            close(fd);
        }
    }
    return 0;
}
