/*
 * options.c — scenario options: getsockopt/setsockopt at SOL_SOCKET, IPPROTO_IP,
 * IPPROTO_IPV6 and IPPROTO_TCP on fresh TCP and UDP sockets of both families and on a
 * TCP listener: defaults, values after setting, invalid values, short lengths, unknown
 * options.
 */
#include "probe.h"

#include <linux/tcp.h> /* struct tcp_md5sig, TCP_CONGESTION (glibc's netinet/tcp.h lacks some) */
#include <net/if.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif

static char key[200];
static const char *KK(const char *p, const char *opt, const char *what)
{
    snprintf(key, sizeof key, "%s.%s.%s", p, opt, what);
    return key;
}

/* getsockopt with LEN bytes of room: "r len=L value" (value as int if 4 bytes, else bytes). */
static void get_len(const char *k, int fd, int level, int name, socklen_t len)
{
    unsigned char buf[256];
    memset(buf, 0xee, sizeof buf);
    socklen_t l = len;
    long r = getsockopt(fd, level, name, buf, &l);
    int e = errno;
    if (r < 0) {
        out(k, "%s len=%u", rstr(r, e), (unsigned)l);
        return;
    }
    char hex[100] = "";
    for (socklen_t i = 0; i < l && i < 8; i++)
        snprintf(hex + strlen(hex), 4, "%02x", buf[i]);
    out(k, "%ld len=%u bytes=%s", r, (unsigned)l, hex);
}

/* An int option: default, each VALUE set then read back, short lengths. */
static void opt_int(const char *p, int fd, int level, int name, const char *lname, int n, ...)
{
    va_list ap;
    out(KK(p, lname, "default"), "%s", optint(fd, level, name));
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        int v = va_arg(ap, int);
        char w[40];
        snprintf(w, sizeof w, "set-%d", v);
        rep(KK(p, lname, w), setsockopt(fd, level, name, &v, sizeof v));
        snprintf(w, sizeof w, "after-%d", v);
        out(KK(p, lname, w), "%s", optint(fd, level, name));
    }
    va_end(ap);
    get_len(KK(p, lname, "get-len1"), fd, level, name, 1);
    get_len(KK(p, lname, "get-len0"), fd, level, name, 0);
    get_len(KK(p, lname, "get-len8"), fd, level, name, 8);
    rep(KK(p, lname, "get-len-negative"), getsockopt(fd, level, name, &(int){0}, &(socklen_t){(socklen_t)-1}));
    rep(KK(p, lname, "set-optlen0"), setsockopt(fd, level, name, &(int){1}, 0));
    rep(KK(p, lname, "set-optlen1"), setsockopt(fd, level, name, &(char){1}, 1));
    out(KK(p, lname, "after-optlen1"), "%s", optint(fd, level, name));
    rep(KK(p, lname, "set-NULL"), setsockopt(fd, level, name, NULL, sizeof(int)));
}

/* A read-only int option. */
static void opt_ro(const char *p, int fd, int level, int name, const char *lname)
{
    out(KK(p, lname, "get"), "%s", optint(fd, level, name));
    rep(KK(p, lname, "set"), setsockopt(fd, level, name, &(int){1}, sizeof(int)));
    get_len(KK(p, lname, "get-len2"), fd, level, name, 2);
}

static void opt_linger(const char *p, int fd)
{
    struct linger lg;
    socklen_t l = sizeof lg;
    memset(&lg, 0, sizeof lg);
    long r = getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &l);
    out(KK(p, "SO_LINGER", "default"), "%s onoff=%d linger=%d len=%u", rstr(r, errno), lg.l_onoff, lg.l_linger,
        (unsigned)l);
    lg.l_onoff = 1;
    lg.l_linger = 5;
    rep(KK(p, "SO_LINGER", "set-1-5"), setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    l = sizeof lg;
    memset(&lg, 0, sizeof lg);
    r = getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &l);
    out(KK(p, "SO_LINGER", "after"), "%s onoff=%d linger=%d len=%u", rstr(r, errno), lg.l_onoff, lg.l_linger,
        (unsigned)l);
    lg.l_onoff = 7;
    lg.l_linger = -1;
    rep(KK(p, "SO_LINGER", "set-7--1"), setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    l = sizeof lg;
    r = getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &l);
    out(KK(p, "SO_LINGER", "after-7--1"), "%s onoff=%d linger=%d", rstr(r, errno), lg.l_onoff, lg.l_linger);
    rep(KK(p, "SO_LINGER", "set-short"), setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, 4));
    get_len(KK(p, "SO_LINGER", "get-len4"), fd, SOL_SOCKET, SO_LINGER, 4);
    get_len(KK(p, "SO_LINGER", "get-len12"), fd, SOL_SOCKET, SO_LINGER, 12);
}

static void opt_timeo(const char *p, int fd, int name, const char *lname)
{
    struct timeval tv;
    socklen_t l = sizeof tv;
    long r = getsockopt(fd, SOL_SOCKET, name, &tv, &l);
    out(KK(p, lname, "default"), "%s %ld.%06ld len=%u", rstr(r, errno), (long)tv.tv_sec, (long)tv.tv_usec,
        (unsigned)l);
    tv = (struct timeval){1, 500000};
    rep(KK(p, lname, "set-1.5"), setsockopt(fd, SOL_SOCKET, name, &tv, sizeof tv));
    l = sizeof tv;
    r = getsockopt(fd, SOL_SOCKET, name, &tv, &l);
    out(KK(p, lname, "after-1.5"), "%s %ld.%06ld", rstr(r, errno), (long)tv.tv_sec, (long)tv.tv_usec);
    tv = (struct timeval){0, 1000000};
    rep(KK(p, lname, "set-usec-1000000"), setsockopt(fd, SOL_SOCKET, name, &tv, sizeof tv));
    tv = (struct timeval){-1, 0};
    rep(KK(p, lname, "set-negative"), setsockopt(fd, SOL_SOCKET, name, &tv, sizeof tv));
    l = sizeof tv;
    r = getsockopt(fd, SOL_SOCKET, name, &tv, &l);
    out(KK(p, lname, "after-negative"), "%s %ld.%06ld", rstr(r, errno), (long)tv.tv_sec, (long)tv.tv_usec);
    rep(KK(p, lname, "set-short"), setsockopt(fd, SOL_SOCKET, name, &tv, 8));
    get_len(KK(p, lname, "get-len8"), fd, SOL_SOCKET, name, 8);
}

static void get_str(const char *k, int fd, int level, int name, socklen_t len)
{
    char buf[64];
    memset(buf, 0, sizeof buf);
    socklen_t l = len;
    long r = getsockopt(fd, level, name, buf, &l);
    int e = errno;
    if (r < 0)
        out(k, "%s", rstr(r, e));
    else
        out(k, "%ld len=%u value=%s", r, (unsigned)l, datastr(buf, l));
}

static void opt_bindtodevice(const char *p, int fd)
{
    get_str(KK(p, "SO_BINDTODEVICE", "default"), fd, SOL_SOCKET, SO_BINDTODEVICE, IF_NAMESIZE);
    rep(KK(p, "SO_BINDTODEVICE", "set-nosuchdev0"), setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "nosuchdev0", 11));
    /* BIRD passes a 40-byte struct ifreq-sized buffer. */
    char ifr[40];
    memset(ifr, 0, sizeof ifr);
    strncpy(ifr, cfg.ifname, IF_NAMESIZE - 1);
    rep(KK(p, "SO_BINDTODEVICE", "set-if-optlen40"), setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifr, sizeof ifr));
    get_str(KK(p, "SO_BINDTODEVICE", "after"), fd, SOL_SOCKET, SO_BINDTODEVICE, IF_NAMESIZE);
    get_str(KK(p, "SO_BINDTODEVICE", "get-len4"), fd, SOL_SOCKET, SO_BINDTODEVICE, 4);
    out(KK(p, "SO_BINDTOIFINDEX", "after-BINDTODEVICE"), "%s", optint(fd, SOL_SOCKET, SO_BINDTOIFINDEX));
    rep(KK(p, "SO_BINDTODEVICE", "set-lo"), setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3));
    rep(KK(p, "SO_BINDTODEVICE", "set-empty"), setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "", 0));
    get_str(KK(p, "SO_BINDTODEVICE", "after-empty"), fd, SOL_SOCKET, SO_BINDTODEVICE, IF_NAMESIZE);
    rep(KK(p, "SO_BINDTODEVICE", "set-name-no-nul"), setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2));
    get_str(KK(p, "SO_BINDTODEVICE", "after-no-nul"), fd, SOL_SOCKET, SO_BINDTODEVICE, IF_NAMESIZE);
    rep(KK(p, "SO_BINDTOIFINDEX", "set-99"), setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &(int){99}, sizeof(int)));
    rep(KK(p, "SO_BINDTOIFINDEX", "set-0"), setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &(int){0}, sizeof(int)));
    rep(KK(p, "SO_BINDTOIFINDEX", "set-if"),
        setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &cfg.ifindex, sizeof cfg.ifindex));
    out(KK(p, "SO_BINDTOIFINDEX", "after-if-is-if"), "%d",
        atoi(optint(fd, SOL_SOCKET, SO_BINDTOIFINDEX)) == cfg.ifindex);
    get_str(KK(p, "SO_BINDTODEVICE", "after-BINDTOIFINDEX"), fd, SOL_SOCKET, SO_BINDTODEVICE, IF_NAMESIZE);
}

static void sol_socket(const char *p, int fd, int stream)
{
    opt_int(p, fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 2, 1, 0);
    opt_int(p, fd, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", 2, 1, 0);
    opt_int(p, fd, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 2, 1, 5);
    opt_int(p, fd, SOL_SOCKET, SO_DONTROUTE, "SO_DONTROUTE", 2, 1, 0);
    opt_int(p, fd, SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST", 1, 1);
    opt_int(p, fd, SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY", 4, 6, 7, -1, 0);
    /* Values above net.core.rmem_max/wmem_max (host-wide sysctls) would make the native
     * answer depend on the host: stay below them. */
    opt_int(p, fd, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", 2, 65536, 1);
    opt_int(p, fd, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", 2, 65536, 1);
    opt_int(p, fd, SOL_SOCKET, SO_RCVLOWAT, "SO_RCVLOWAT", 2, 10, 0);
    opt_int(p, fd, SOL_SOCKET, SO_OOBINLINE, "SO_OOBINLINE", 1, 1);
    opt_linger(p, fd);
    opt_timeo(p, fd, SO_RCVTIMEO, "SO_RCVTIMEO");
    opt_timeo(p, fd, SO_SNDTIMEO, "SO_SNDTIMEO");
    opt_bindtodevice(p, fd);
    opt_ro(p, fd, SOL_SOCKET, SO_ERROR, "SO_ERROR");
    opt_ro(p, fd, SOL_SOCKET, SO_TYPE, "SO_TYPE");
    opt_ro(p, fd, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN");
    opt_ro(p, fd, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL");
    opt_ro(p, fd, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN");
    rep(KK(p, "SOL_SOCKET-9999", "get"), getsockopt(fd, SOL_SOCKET, 9999, &(int){0}, &(socklen_t){4}));
    rep(KK(p, "SOL_SOCKET-9999", "set"), setsockopt(fd, SOL_SOCKET, 9999, &(int){0}, 4));
    (void)stream;
}

static void mreq(const char *p, int fd)
{
    struct ip_mreqn m;
    memset(&m, 0, sizeof m);
    inet_pton(AF_INET, "224.0.0.9", &m.imr_multiaddr);
    m.imr_ifindex = cfg.ifindex;
    rep(KK(p, "IP_ADD_MEMBERSHIP", "join-224.0.0.9"), setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m));
    rep(KK(p, "IP_ADD_MEMBERSHIP", "join-again"), setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m));
    rep(KK(p, "IP_ADD_MEMBERSHIP", "get"), getsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, &(socklen_t){sizeof m}));
    rep(KK(p, "IP_DROP_MEMBERSHIP", "leave"), setsockopt(fd, IPPROTO_IP, IP_DROP_MEMBERSHIP, &m, sizeof m));
    rep(KK(p, "IP_DROP_MEMBERSHIP", "leave-again"), setsockopt(fd, IPPROTO_IP, IP_DROP_MEMBERSHIP, &m, sizeof m));
    struct ip_mreq old;
    memset(&old, 0, sizeof old);
    inet_pton(AF_INET, "224.0.0.10", &old.imr_multiaddr);
    inet_pton(AF_INET, cfg.local4, &old.imr_interface);
    rep(KK(p, "IP_ADD_MEMBERSHIP", "join-ip_mreq-by-address"),
        setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &old, sizeof old));
    rep(KK(p, "IP_DROP_MEMBERSHIP", "leave-ip_mreq"), setsockopt(fd, IPPROTO_IP, IP_DROP_MEMBERSHIP, &old, sizeof old));
    inet_pton(AF_INET, "10.1.2.3", &m.imr_multiaddr);
    rep(KK(p, "IP_ADD_MEMBERSHIP", "join-unicast"), setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m));
    rep(KK(p, "IP_ADD_MEMBERSHIP", "short"), setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, 4));
    inet_pton(AF_INET, "224.0.0.9", &m.imr_multiaddr);
    m.imr_ifindex = 99;
    rep(KK(p, "IP_ADD_MEMBERSHIP", "join-bad-ifindex"), setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m));

    struct in_addr ia;
    socklen_t l = sizeof ia;
    char a[INET_ADDRSTRLEN];
    long r = getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ia, &l);
    out(KK(p, "IP_MULTICAST_IF", "default"), "%s %s len=%u", rstr(r, errno), inet_ntop(AF_INET, &ia, a, sizeof a),
        (unsigned)l);
    inet_pton(AF_INET, cfg.local4, &ia);
    rep(KK(p, "IP_MULTICAST_IF", "set-local"), setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ia, sizeof ia));
    l = sizeof ia;
    r = getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ia, &l);
    out(KK(p, "IP_MULTICAST_IF", "after"), "%s %s len=%u", rstr(r, errno), inet_ntop(AF_INET, &ia, a, sizeof a),
        (unsigned)l);
    inet_pton(AF_INET, "203.0.113.1", &ia);
    rep(KK(p, "IP_MULTICAST_IF", "set-foreign"), setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ia, sizeof ia));
    memset(&m, 0, sizeof m);
    m.imr_ifindex = cfg.ifindex;
    rep(KK(p, "IP_MULTICAST_IF", "set-mreqn"), setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m));
}

static void ip_level(const char *p, int fd, int stream)
{
    opt_int(p, fd, IPPROTO_IP, IP_TTL, "IP_TTL", 5, 255, 0, 256, -1, 1);
    opt_int(p, fd, IPPROTO_IP, IP_TOS, "IP_TOS", 4, 0xb8, 0xc3, 256, 0);
    opt_int(p, fd, IPPROTO_IP, IP_MINTTL, "IP_MINTTL", 3, 255, 256, 0);
    opt_int(p, fd, IPPROTO_IP, IP_PKTINFO, "IP_PKTINFO", 1, 1);
    opt_int(p, fd, IPPROTO_IP, IP_RECVTTL, "IP_RECVTTL", 1, 1);
    opt_int(p, fd, IPPROTO_IP, IP_MTU_DISCOVER, "IP_MTU_DISCOVER", 4, IP_PMTUDISC_DO, IP_PMTUDISC_OMIT, 6, 0);
    opt_int(p, fd, IPPROTO_IP, IP_HDRINCL, "IP_HDRINCL", 1, 1);
    opt_int(p, fd, IPPROTO_IP, IP_MULTICAST_TTL, "IP_MULTICAST_TTL", 4, 5, 256, -1, 0);
    opt_int(p, fd, IPPROTO_IP, IP_MULTICAST_LOOP, "IP_MULTICAST_LOOP", 2, 0, 7);
    opt_int(p, fd, IPPROTO_IP, IP_RECVERR, "IP_RECVERR", 1, 1);
    opt_int(p, fd, IPPROTO_IP, IP_FREEBIND, "IP_FREEBIND", 1, 1);
    opt_ro(p, fd, IPPROTO_IP, IP_MTU, "IP_MTU");
    mreq(p, fd);
    rep(KK(p, "IPPROTO_IP-9999", "get"), getsockopt(fd, IPPROTO_IP, 9999, &(int){0}, &(socklen_t){4}));
    rep(KK(p, "IPPROTO_IP-9999", "set"), setsockopt(fd, IPPROTO_IP, 9999, &(int){0}, 4));
    (void)stream;
}

static void ipv6_level(const char *p, int fd)
{
    opt_int(p, fd, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", 2, 1, 0);
    opt_int(p, fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, "IPV6_UNICAST_HOPS", 5, 255, -1, -2, 256, 0);
    opt_int(p, fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, "IPV6_MULTICAST_IF", 3, cfg.ifindex, 99, 0);
    opt_int(p, fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, "IPV6_MULTICAST_HOPS", 3, 5, -1, 256);
    opt_int(p, fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, "IPV6_MULTICAST_LOOP", 3, 0, 2, 1);
    opt_int(p, fd, IPPROTO_IPV6, IPV6_TCLASS, "IPV6_TCLASS", 4, 0x20, -1, 256, 0xc3);
    opt_int(p, fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, "IPV6_MINHOPCOUNT", 3, 255, 256, 0);
    opt_int(p, fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, "IPV6_RECVPKTINFO", 1, 1);
    opt_int(p, fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, "IPV6_RECVHOPLIMIT", 1, 1);
    opt_int(p, fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, "IPV6_MTU_DISCOVER", 3, IPV6_PMTUDISC_DO, 6, 0);
    opt_int(p, fd, IPPROTO_IPV6, IPV6_CHECKSUM, "IPV6_CHECKSUM", 2, 2, -1);
    opt_ro(p, fd, IPPROTO_IPV6, IPV6_MTU, "IPV6_MTU");
    rep(KK(p, "ICMP6_FILTER", "get"), getsockopt(fd, IPPROTO_ICMPV6, 1, (char[32]){0}, &(socklen_t){32}));
    rep(KK(p, "ICMP6_FILTER", "set"), setsockopt(fd, IPPROTO_ICMPV6, 1, (char[32]){0}, 32));
    struct ipv6_mreq m;
    memset(&m, 0, sizeof m);
    inet_pton(AF_INET6, "ff02::9", &m.ipv6mr_multiaddr);
    m.ipv6mr_interface = cfg.ifindex;
    rep(KK(p, "IPV6_ADD_MEMBERSHIP", "join-ff02::9"), setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m, sizeof m));
    rep(KK(p, "IPV6_ADD_MEMBERSHIP", "join-again"), setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m, sizeof m));
    rep(KK(p, "IPV6_DROP_MEMBERSHIP", "leave"), setsockopt(fd, IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP, &m, sizeof m));
    rep(KK(p, "IPV6_DROP_MEMBERSHIP", "leave-again"), setsockopt(fd, IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP, &m, sizeof m));
    inet_pton(AF_INET6, "fd77::9", &m.ipv6mr_multiaddr);
    rep(KK(p, "IPV6_ADD_MEMBERSHIP", "join-unicast"), setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m, sizeof m));
    inet_pton(AF_INET6, "ff02::9", &m.ipv6mr_multiaddr);
    m.ipv6mr_interface = 99;
    rep(KK(p, "IPV6_ADD_MEMBERSHIP", "join-bad-ifindex"),
        setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m, sizeof m));
    rep(KK(p, "IPV6_ADD_MEMBERSHIP", "short"), setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m, 8));
    rep(KK(p, "IPPROTO_IPV6-9999", "get"), getsockopt(fd, IPPROTO_IPV6, 9999, &(int){0}, &(socklen_t){4}));
    rep(KK(p, "IPPROTO_IPV6-9999", "set"), setsockopt(fd, IPPROTO_IPV6, 9999, &(int){0}, 4));
    /* IPv4-level options on an IPv6 socket (they apply to v4-mapped traffic). */
    out(KK(p, "IP_TTL-on-v6", "get"), "%s", optint(fd, IPPROTO_IP, IP_TTL));
    rep(KK(p, "IP_TTL-on-v6", "set"), setsockopt(fd, IPPROTO_IP, IP_TTL, &(int){200}, sizeof(int)));
    out(KK(p, "IP_TOS-on-v6", "get"), "%s", optint(fd, IPPROTO_IP, IP_TOS));
    rep(KK(p, "IP_TOS-on-v6", "set"), setsockopt(fd, IPPROTO_IP, IP_TOS, &(int){0x20}, sizeof(int)));
}

static void tcp_level(const char *p, int fd)
{
    opt_int(p, fd, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", 2, 1, 0);
    opt_int(p, fd, IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG", 4, 1000, 10, 65536, 0);
    opt_int(p, fd, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", 3, 60, 0, 32768);
    opt_int(p, fd, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", 3, 10, 0, 32768);
    opt_int(p, fd, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", 3, 3, 0, 128);
    /* The default algorithm and which ones an unprivileged process may choose are host-wide
     * settings (net.ipv4.tcp_congestion_control is inherited from the host's namespace,
     * tcp_allowed_congestion_control is global): only reno, always allowed, is set. */
    {
        char name[16];
        socklen_t nl = sizeof name;
        long r = getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &nl);
        out(KK(p, "TCP_CONGESTION", "default"), "%s len=%u", rstr(r, errno), (unsigned)nl);
    }
    rep(KK(p, "TCP_CONGESTION", "set-reno"), setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4));
    get_str(KK(p, "TCP_CONGESTION", "after-reno"), fd, IPPROTO_TCP, TCP_CONGESTION, 16);
    rep(KK(p, "TCP_CONGESTION", "set-nosuch"), setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "nosuch", 6));
    rep(KK(p, "TCP_CONGESTION", "set-empty"), setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "", 0));
    get_str(KK(p, "TCP_CONGESTION", "get-len3"), fd, IPPROTO_TCP, TCP_CONGESTION, 3);
    struct tcp_info ti;
    socklen_t l = sizeof ti;
    memset(&ti, 0, sizeof ti);
    long r = getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l);
    out(KK(p, "TCP_INFO", "get"), "%s state=%u", rstr(r, errno), ti.tcpi_state);
    get_len(KK(p, "TCP_INFO", "get-len8"), fd, IPPROTO_TCP, TCP_INFO, 8);
    rep(KK(p, "TCP_INFO", "set"), setsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, sizeof ti));
    rep(KK(p, "IPPROTO_TCP-9999", "get"), getsockopt(fd, IPPROTO_TCP, 9999, &(int){0}, &(socklen_t){4}));
    rep(KK(p, "IPPROTO_TCP-9999", "set"), setsockopt(fd, IPPROTO_TCP, 9999, &(int){0}, 4));
}

static void md5sig(const char *p, int fd, int family)
{
    struct tcp_md5sig m;
    memset(&m, 0, sizeof m);
    if (family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)&m.tcpm_addr;
        mk4(s, cfg.peer4, 0);
    } else {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&m.tcpm_addr;
        mk6(s, cfg.peer6, 0, 0);
    }
    m.tcpm_keylen = 10;
    memcpy(m.tcpm_key, "bgp-secret", 10);
    out(KK(p, "TCP_MD5SIG", "sizeof"), "%zu", sizeof m);
    rep(KK(p, "TCP_MD5SIG", "set"), setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &m, sizeof m));
    rep(KK(p, "TCP_MD5SIG", "set-again"), setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &m, sizeof m));
    rep(KK(p, "TCP_MD5SIG", "set-short"), setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &m, 100));
    rep(KK(p, "TCP_MD5SIG", "get"), getsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &m, &(socklen_t){sizeof m}));
    m.tcpm_keylen = 81;
    rep(KK(p, "TCP_MD5SIG", "set-keylen-81"), setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &m, sizeof m));
    m.tcpm_keylen = 0;
    rep(KK(p, "TCP_MD5SIG", "delete"), setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &m, sizeof m));
    rep(KK(p, "TCP_MD5SIG", "delete-again"), setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &m, sizeof m));
    m.tcpm_keylen = 10;
    m.tcpm_addr.ss_family = AF_INET6 + AF_INET - family;
    rep(KK(p, "TCP_MD5SIG", "set-other-family"), setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &m, sizeof m));
}

int scenario_options(void)
{
    int fd;
    SECTION("tcp4") {
        fd = repfd("tcp4.socket", socket(AF_INET, SOCK_STREAM, 0));
        if (fd >= 0) {
            sol_socket("tcp4", fd, 1);
            ip_level("tcp4", fd, 1);
            tcp_level("tcp4", fd);
            rep("tcp4.IPV6_V6ONLY.get", getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){0}, &(socklen_t){4}));
            rep("tcp4.IPV6_V6ONLY.set", setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){1}, 4));
            rep("tcp4.level-9999.get", getsockopt(fd, 9999, 1, &(int){0}, &(socklen_t){4}));
            rep("tcp4.level-9999.set", setsockopt(fd, 9999, 1, &(int){0}, 4));
            rep("tcp4.SOL_UDP.set", setsockopt(fd, IPPROTO_UDP, 1, &(int){1}, 4));
            close(fd);
        }
    }
    SECTION("tcp6") {
        fd = repfd("tcp6.socket", socket(AF_INET6, SOCK_STREAM, 0));
        if (fd >= 0) {
            sol_socket("tcp6", fd, 1);
            ipv6_level("tcp6", fd);
            tcp_level("tcp6", fd);
            close(fd);
        }
    }
    SECTION("udp4") {
        fd = repfd("udp4.socket", socket(AF_INET, SOCK_DGRAM, 0));
        if (fd >= 0) {
            sol_socket("udp4", fd, 0);
            ip_level("udp4", fd, 0);
            rep("udp4.TCP_NODELAY.get", getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){0}, &(socklen_t){4}));
            rep("udp4.TCP_NODELAY.set", setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, 4));
            rep("udp4.TCP_MD5SIG.set", setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, (char[216]){0}, 216));
            rep("udp4.level-9999.get", getsockopt(fd, 9999, 1, &(int){0}, &(socklen_t){4}));
            close(fd);
        }
    }
    SECTION("udp6") {
        fd = repfd("udp6.socket", socket(AF_INET6, SOCK_DGRAM, 0));
        if (fd >= 0) {
            sol_socket("udp6", fd, 0);
            ipv6_level("udp6", fd);
            close(fd);
        }
    }
    /* Connected UDP: IP_MTU / IPV6_MTU read the path. */
    SECTION("udp4c") {
        fd = repfd("udp4c.socket", socket(AF_INET, SOCK_DGRAM, 0));
        if (fd >= 0) {
            struct sockaddr_in sin;
            socklen_t l = mk4(&sin, cfg.peer4, cfg.echo_port);
            rep("udp4c.connect", connect(fd, (struct sockaddr *)&sin, l));
            out("udp4c.IP_MTU", "%s", optint(fd, IPPROTO_IP, IP_MTU));
            close(fd);
        }
    }
    SECTION("udp6c") {
        fd = repfd("udp6c.socket", socket(AF_INET6, SOCK_DGRAM, 0));
        if (fd >= 0) {
            struct sockaddr_in6 s6;
            socklen_t l = mk6(&s6, cfg.peer6, cfg.echo_port, 0);
            rep("udp6c.connect", connect(fd, (struct sockaddr *)&s6, l));
            out("udp6c.IPV6_MTU", "%s", optint(fd, IPPROTO_IPV6, IPV6_MTU));
            close(fd);
        }
    }
    /* A listener: SO_ACCEPTCONN, TCP_INFO in LISTEN, TCP_MD5SIG per peer (BIRD's way). */
    for (int family = AF_INET; family <= AF_INET6; family += AF_INET6 - AF_INET) {
        const char *p = family == AF_INET ? "listen4" : "listen6";
        SECTION(p) {
            char k[80];
            snprintf(k, sizeof k, "%s.socket", p);
            fd = repfd(k, socket(family, SOCK_STREAM, 0));
            struct sockaddr_storage ss;
            socklen_t l = mkaddr(&ss, family, family == AF_INET ? cfg.local4 : cfg.local6, 5301, 0);
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
            snprintf(k, sizeof k, "%s.bind", p);
            rep(k, bind(fd, (struct sockaddr *)&ss, l));
            md5sig(p, fd, family);
            snprintf(k, sizeof k, "%s.listen", p);
            rep(k, listen(fd, 8));
            opt_ro(p, fd, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN-listening");
            struct tcp_info ti;
            socklen_t tl = sizeof ti;
            long r = getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl);
            snprintf(k, sizeof k, "%s.TCP_INFO", p);
            out(k, "%s state=%u", rstr(r, errno), ti.tcpi_state);
            md5sig(family == AF_INET ? "listen4-listening" : "listen6-listening", fd, family);
            snprintf(k, sizeof k, "%s.IP_MINTTL-listening", p);
            rep(k, setsockopt(fd, IPPROTO_IP, IP_MINTTL, &(int){255}, sizeof(int)));
            snprintf(k, sizeof k, "%s.TCP_MAXSEG-listening", p);
            out(k, "%s", optint(fd, IPPROTO_TCP, TCP_MAXSEG));
            close(fd);
        }
    }
    return 0;
}
