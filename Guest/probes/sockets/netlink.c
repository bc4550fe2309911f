/*
 * netlink.c — scenario netlink: NETLINK_ROUTE sockets as Linux's af_netlink.c and
 * rtnetlink.c define them: bind/getsockname (autobind, taken ports, rebinding, groups,
 * memberships), options, recvmsg (sockaddr_nl, MSG_PEEK|MSG_TRUNC, a short buffer), ACKs and
 * errors byte for byte (NLM_F_CAPPED, NETLINK_CAP_ACK, NETLINK_EXT_ACK), bad input (unknown
 * types, truncated messages, bad attributes, no NLM_F_REQUEST, several requests in one
 * datagram), dump layouts with strict checking off and on, notifications and ENOBUFS.
 * Runs as root natively (route and address writes need CAP_NET_ADMIN); everything it adds
 * it removes. Sequence numbers are the probe's own; port ids print as comparisons.
 */
#include "probe.h"
#include "netlink_probe.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netconf.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif
#ifndef NLM_F_DUMP_FILTERED
#define NLM_F_DUMP_FILTERED 0x20
#endif

/* MARK: - Building requests */


static struct nlmsghdr *begin(struct req *r, int type, int flags, int seq, const void *fixed, int fixedlen)
{
    memset(r, 0, sizeof *r);
    r->h.nlmsg_len = NLMSG_LENGTH(fixedlen);
    r->h.nlmsg_type = type;
    r->h.nlmsg_flags = flags;
    r->h.nlmsg_seq = seq;
    if (fixedlen)
        memcpy(NLMSG_DATA(&r->h), fixed, fixedlen);
    return &r->h;
}

static void attr(struct req *r, int type, const void *data, int len)
{
    struct rtattr *a = (struct rtattr *)(r->b + NLMSG_ALIGN(r->h.nlmsg_len));
    a->rta_type = type;
    a->rta_len = RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
    r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static void attr32(struct req *r, int type, uint32_t v) { attr(r, type, &v, 4); }

static void attr_addr(struct req *r, int type, int family, const char *text)
{
    unsigned char a[16];
    inet_pton(family, text, a);
    attr(r, type, a, family == AF_INET ? 4 : 16);
}

/* RTM_NEWROUTE/RTM_DELROUTE of DST/LEN in the main table, on the interface or via GW. */
void route_req(struct req *r, int type, int flags, int seq, int family, const char *dst, int len,
                      const char *gw)
{
    struct rtmsg rt = {.rtm_family = family, .rtm_dst_len = len, .rtm_table = RT_TABLE_MAIN,
                       .rtm_protocol = RTPROT_STATIC, .rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
                       .rtm_type = RTN_UNICAST};
    if (type == RTM_DELROUTE)
        rt.rtm_scope = RT_SCOPE_NOWHERE, rt.rtm_protocol = 0;
    begin(r, type, NLM_F_REQUEST | flags, seq, &rt, sizeof rt);
    attr_addr(r, RTA_DST, family, dst);
    if (gw)
        attr_addr(r, RTA_GATEWAY, family, gw);
    else
        attr32(r, RTA_OIF, cfg.ifindex);
}

void addr_req(struct req *r, int type, int flags, int seq, const char *addr, int len)
{
    struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = len, .ifa_index = cfg.ifindex};
    begin(r, type, NLM_F_REQUEST | flags, seq, &ifa, sizeof ifa);
    attr_addr(r, IFA_LOCAL, AF_INET, addr);
    attr_addr(r, IFA_ADDRESS, AF_INET, addr);
}

/* MARK: - Sockets */

int nl_socket(void)
{
    return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
}

socklen_t nladdr(struct sockaddr_nl *sa, unsigned pid, unsigned groups)
{
    memset(sa, 0, sizeof *sa);
    sa->nl_family = AF_NETLINK;
    sa->nl_pid = pid;
    sa->nl_groups = groups;
    return sizeof *sa;
}

unsigned port_of(int fd)
{
    struct sockaddr_nl sa;
    socklen_t len = sizeof sa;
    memset(&sa, 0, sizeof sa);
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return 0;
    return sa.nl_pid;
}

void rep_name(const char *key, int fd)
{
    struct sockaddr_nl sa;
    socklen_t len = sizeof sa + 4;
    memset(&sa, 0xaa, sizeof sa);
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        rep(key, -1);
        return;
    }
    out(key, "len=%u family=%u pad=%u pid-nonzero=%d groups=0x%x", (unsigned)len, sa.nl_family, sa.nl_pad,
        sa.nl_pid != 0, sa.nl_groups);
}

long send_req(int fd, struct req *r)
{
    return send(fd, r->b, r->h.nlmsg_len, 0);
}

/* The last recvmsg's name and flags. */
struct sockaddr_nl last_from;
socklen_t last_namelen;
static int last_flags;

/* recvmsg after a poll of up to ms; -1 with errno as recvmsg left it. */
long recv_dgram(int fd, void *buf, size_t len, int flags, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (ms > 0 && poll(&p, 1, bound_ms(ms)) == 0) {
        wait_timed_out(ms);
        flags |= MSG_DONTWAIT;
    }
    struct iovec iov = {buf, len};
    memset(&last_from, 0xaa, sizeof last_from);
    struct msghdr m = {.msg_name = &last_from, .msg_namelen = sizeof last_from, .msg_iov = &iov, .msg_iovlen = 1};
    long n = recvmsg(fd, &m, flags | (ms == 0 ? MSG_DONTWAIT : 0));
    last_namelen = m.msg_namelen;
    last_flags = m.msg_flags;
    return n;
}

const char *hex(const void *p_, int n)
{
    static char bufs[4][4200];
    static int next;
    const unsigned char *p = p_;
    char *b = bufs[next = (next + 1) % 4];
    int o = 0;
    for (int i = 0; i < n && o < 4190; i++)
        o += snprintf(b + o, 4200 - o, "%02x", p[i]);
    b[o] = 0;
    return n ? b : "-";
}

/* A reply datagram with the sequence numbers and port ids zeroed (the outer header's and,
 * in an NLMSG_ERROR, the echoed request's). */
static void rep_reply(const char *key, char *buf, long n)
{
    if (n < 0) {
        rep(key, n);
        return;
    }
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    char k[200];
    int i = 0;
    for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n), i++) {
        h->nlmsg_seq = 0;
        h->nlmsg_pid = 0;
        snprintf(k, sizeof k, "%s.%d", key, i);
        if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
            struct nlmsgerr *e = NLMSG_DATA(h);
            e->msg.nlmsg_seq = 0;
            e->msg.nlmsg_pid = 0;
            /* The extended ack's text, readable. */
            const char *text = "";
            if (h->nlmsg_flags & NLM_F_ACK_TLVS) {
                int off = NLMSG_HDRLEN + sizeof *e;
                if (!(h->nlmsg_flags & NLM_F_CAPPED))
                    off += e->msg.nlmsg_len - NLMSG_HDRLEN;
                for (struct rtattr *a = (struct rtattr *)((char *)h + off); off + 4 <= (int)h->nlmsg_len &&
                     a->rta_len >= 4 && off + a->rta_len <= h->nlmsg_len;
                     off += RTA_ALIGN(a->rta_len), a = (struct rtattr *)((char *)h + off))
                    if (a->rta_type == 1)
                        text = (const char *)RTA_DATA(a);
            }
            out(k, "len=%u error=%s flags=0x%x msg=\"%s\" bytes=%s", h->nlmsg_len,
                e->error ? errname(-e->error) : "0", h->nlmsg_flags, text, hex(h, h->nlmsg_len));
        } else {
            out(k, "len=%u type=%u flags=0x%x", h->nlmsg_len, h->nlmsg_type, h->nlmsg_flags);
        }
    }
    if (n > 0) {
        snprintf(k, sizeof k, "%s.rest", key);
        out(k, "%ld", n);
    }
    if (i == 0) {
        snprintf(k, sizeof k, "%s.count", key);
        out(k, "0");
    }
}

void drain(int fd)
{
    char buf[8192];
    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0)
        ;
}

/* Sends R, prints the reply datagram (or its absence, within 300 ms). */
static void exchange(const char *key, int fd, struct req *r)
{
    char buf[8192];
    char k[200];
    drain(fd); /* what an earlier request left (the ACK after a GET's answer) */
    snprintf(k, sizeof k, "%s.send", key);
    if (send_req(fd, r) < 0) {
        rep(k, -1);
        return;
    }
    long n = recv_dgram(fd, buf, sizeof buf, 0, 300);
    rep_reply(key, buf, n);
}

/* Waits for the ACK of a request; no output unless it fails. */
void quiet(const char *key, int fd, struct req *r)
{
    char buf[8192];
    char k[200];
    send_req(fd, r);
    long n = recv_dgram(fd, buf, sizeof buf, 0, 1000);
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    if (n < 16 || h->nlmsg_type != NLMSG_ERROR || ((struct nlmsgerr *)NLMSG_DATA(h))->error) {
        snprintf(k, sizeof k, "%s.failed", key);
        rep_reply(k, buf, n);
    }
}

/* MARK: - Sections */

static void sockets(void)
{
    char k[64];
    int fd;
    int st = socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE);
    rep("socket.stream", st);
    fd = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
    repfd("socket.dgram", fd);
    out("socket.dgram.SO_TYPE", "%s", optint(fd, SOL_SOCKET, SO_TYPE));
    close(fd);
    fd = socket(AF_NETLINK, SOCK_SEQPACKET, NETLINK_ROUTE);
    rep("socket.seqpacket", fd);

    int a = nl_socket();
    rep_name("a.unbound", a);
    struct sockaddr_nl sa;
    socklen_t len = sizeof sa;
    memset(&sa, 0xaa, sizeof sa);
    rep("a.getpeername", getpeername(a, (struct sockaddr *)&sa, &len));
    out("a.getpeername.name", "len=%u family=%u pid=%u groups=%u", (unsigned)len, sa.nl_family, sa.nl_pid, sa.nl_groups);
    rep("a.bind-autobind", bind(a, (struct sockaddr *)&sa, nladdr(&sa, 0, 0)));
    unsigned pa = port_of(a);
    out("a.port", "nonzero=%d getpid=%d", pa != 0, pa == (unsigned)getpid());
    rep_name("a.bound", a);

    int b = nl_socket();
    rep("b.bind-taken", bind(b, (struct sockaddr *)&sa, nladdr(&sa, pa, 0)));
    rep("b.bind-short", bind(b, (struct sockaddr *)&sa, 8));
    struct sockaddr_in sin = {.sin_family = AF_INET};
    rep("b.bind-inet", bind(b, (struct sockaddr *)&sin, sizeof sin));
    unsigned chosen = 0x7e571234;
    rep("b.bind-explicit", bind(b, (struct sockaddr *)&sa, nladdr(&sa, chosen, 0)));
    out("b.port", "chosen=%d", port_of(b) == chosen);
    rep("b.rebind-other", bind(b, (struct sockaddr *)&sa, nladdr(&sa, chosen + 1, 0)));
    rep("b.rebind-zero", bind(b, (struct sockaddr *)&sa, nladdr(&sa, 0, 0)));
    rep("b.rebind-same-groups", bind(b, (struct sockaddr *)&sa, nladdr(&sa, chosen, RTMGRP_LINK)));
    rep_name("b.after-rebind", b);
    out("b.port-after", "chosen=%d", port_of(b) == chosen);

    int c = nl_socket();
    struct req r;
    begin(&r, RTM_GETLINK, NLM_F_REQUEST, 1, &(struct ifinfomsg){.ifi_index = 1}, sizeof(struct ifinfomsg));
    send_req(c, &r);
    unsigned pc = port_of(c);
    out("c.autobind-on-send", "nonzero=%d getpid=%d high=%d", pc != 0, pc == (unsigned)getpid(), (pc & 0x80000000u) != 0);
    drain(c);

    int g = nl_socket();
    rep("g.bind-groups", bind(g, (struct sockaddr *)&sa, nladdr(&sa, 0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR)));
    rep_name("g.name", g);
    int grp = RTNLGRP_IPV4_ROUTE;
    rep("g.add-membership", setsockopt(g, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof grp));
    rep_name("g.name-added", g);
    grp = RTNLGRP_IPV6_RULE; /* 19 */
    rep("g.add-membership-19", setsockopt(g, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof grp));
    grp = 0;
    rep("g.add-membership-0", setsockopt(g, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof grp));
    grp = 1000;
    rep("g.add-membership-1000", setsockopt(g, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof grp));
    short sh = 1;
    rep("g.add-membership-short", setsockopt(g, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &sh, sizeof sh));
    uint32_t words[4] = {0xaaaaaaaa, 0xaaaaaaaa, 0xaaaaaaaa, 0xaaaaaaaa};
    len = sizeof words;
    rep("g.list", getsockopt(g, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, words, &len));
    out("g.list.value", "len=%u 0x%x 0x%x", (unsigned)len, words[0], words[1]);
    len = 0;
    rep("g.list-zero", getsockopt(g, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, words, &len));
    out("g.list-zero.len", "%u", (unsigned)len);
    grp = RTNLGRP_LINK;
    rep("g.drop-membership", setsockopt(g, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &grp, sizeof grp));
    grp = 30;
    rep("g.drop-not-member", setsockopt(g, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &grp, sizeof grp));
    len = sizeof words;
    words[0] = words[1] = 0;
    getsockopt(g, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, words, &len);
    out("g.list-dropped", "len=%u 0x%x 0x%x", (unsigned)len, words[0], words[1]);
    rep_name("g.name-dropped", g);

    static const struct { const char *name; int opt; } opts[] = {
        {"EXT_ACK", NETLINK_EXT_ACK}, {"CAP_ACK", NETLINK_CAP_ACK}, {"GET_STRICT_CHK", NETLINK_GET_STRICT_CHK},
        {"NO_ENOBUFS", NETLINK_NO_ENOBUFS}, {"PKTINFO", NETLINK_PKTINFO}, {"BROADCAST_ERROR", NETLINK_BROADCAST_ERROR},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        int one = 1;
        snprintf(k, sizeof k, "opt.%s.default", opts[i].name);
        out(k, "%s", optint(a, SOL_NETLINK, opts[i].opt));
        snprintf(k, sizeof k, "opt.%s.set", opts[i].name);
        rep(k, setsockopt(a, SOL_NETLINK, opts[i].opt, &one, sizeof one));
        snprintf(k, sizeof k, "opt.%s.after", opts[i].name);
        out(k, "%s", optint(a, SOL_NETLINK, opts[i].opt));
        one = 0;
        setsockopt(a, SOL_NETLINK, opts[i].opt, &one, sizeof one);
    }
    int v = 0;
    len = 2;
    rep("opt.getsockopt-short", getsockopt(a, SOL_NETLINK, NETLINK_EXT_ACK, &v, &len));
    rep("opt.unknown", getsockopt(a, SOL_NETLINK, 99, &v, &(socklen_t){4}));
    out("opt.SO_TYPE", "%s", optint(a, SOL_SOCKET, SO_TYPE));
    out("opt.SO_PROTOCOL", "%s", optint(a, SOL_SOCKET, SO_PROTOCOL));
    out("opt.SO_DOMAIN", "%s", optint(a, SOL_SOCKET, SO_DOMAIN));
    out("opt.SO_RCVBUF.default", "%s", optint(a, SOL_SOCKET, SO_RCVBUF));
    v = 65536;
    rep("opt.SO_RCVBUF.set", setsockopt(a, SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
    out("opt.SO_RCVBUF.after", "%s", optint(a, SOL_SOCKET, SO_RCVBUF));
    out("opt.SO_ERROR", "%s", optint(a, SOL_SOCKET, SO_ERROR));
    out("opt.SO_ACCEPTCONN", "%s", optint(a, SOL_SOCKET, SO_ACCEPTCONN));
    rep("a.listen", listen(a, 1));
    rep("a.connect-kernel", connect(a, (struct sockaddr *)&sa, nladdr(&sa, 0, 0)));
    rep("a.connect-other", connect(a, (struct sockaddr *)&sa, nladdr(&sa, chosen, 0)));
    close(a), close(b), close(c), close(g);
}

static void receiving(void)
{
    int fd = nl_socket();
    struct req r;
    char buf[8192];
    /* RTM_GETLINK of lo (ifindex 1). */
    begin(&r, RTM_GETLINK, NLM_F_REQUEST, 7, &(struct ifinfomsg){.ifi_index = 1}, sizeof(struct ifinfomsg));
    send_req(fd, &r);
    long peek = recv_dgram(fd, buf, 16, MSG_PEEK | MSG_TRUNC, 1000);
    out("peek-trunc", "%s flags=0x%x", peek > 16 ? "full length" : rstr(peek, errno), last_flags);
    long peek2 = recv_dgram(fd, buf, 16, MSG_PEEK, 0);
    out("peek-short", "%ld flags=0x%x", peek2, last_flags);
    long n = recv_dgram(fd, buf, sizeof buf, 0, 0);
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    out("full", "same-as-peek=%d nlmsg_len-matches=%d type=%u flags=0x%x seq=%u pid-is-mine=%d msg_flags=0x%x",
        n == peek, n >= 16 && h->nlmsg_len == n, h->nlmsg_type, h->nlmsg_flags, h->nlmsg_seq,
        h->nlmsg_pid == port_of(fd), last_flags);
    out("full.name", "namelen=%u family=%u pid=%u groups=%u", (unsigned)last_namelen, last_from.nl_family,
        last_from.nl_pid, last_from.nl_groups);
    rep("after-full", recv_dgram(fd, buf, sizeof buf, 0, 0));

    send_req(fd, &r);
    n = recv_dgram(fd, buf, 20, 0, 1000);
    out("short", "%s msg_flags=0x%x", rstr(n, errno), last_flags);
    rep("short.next", recv_dgram(fd, buf, sizeof buf, 0, 0));

    send_req(fd, &r);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    poll(&p, 1, 1000);
    rep("zero-length", recv(fd, buf, 0, MSG_DONTWAIT));
    rep("zero-length.next", recv(fd, buf, sizeof buf, MSG_DONTWAIT));

    send_req(fd, &r);
    poll(&p, 1, 1000);
    n = recv(fd, NULL, 0, MSG_DONTWAIT | MSG_TRUNC);
    out("zero-length-trunc", "%s", n > 100 ? "full length" : rstr(n, errno));

    struct sockaddr_nl sa;
    send_req(fd, &r);
    poll(&p, 1, 1000);
    socklen_t len = 4;
    memset(&sa, 0xaa, sizeof sa);
    n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&sa, &len);
    out("recvfrom-short-name", "ok=%d len=%u family=%u pid=0x%x", n > 0, (unsigned)len, sa.nl_family, sa.nl_pid);
    rep("nothing-left", recv_dgram(fd, buf, sizeof buf, 0, 0));

    /* sendto the kernel by name, and to a port that is not the kernel. */
    len = nladdr(&sa, 0, 0);
    r.h.nlmsg_seq = 8;
    rep("sendto-kernel", sendto(fd, r.b, r.h.nlmsg_len, 0, (struct sockaddr *)&sa, len) > 0);
    drain(fd);
    rep("sendto-short-name", sendto(fd, r.b, r.h.nlmsg_len, 0, (struct sockaddr *)&sa, 8));
    rep("sendto-inet-name", sendto(fd, r.b, r.h.nlmsg_len, 0, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET},
                                   sizeof(struct sockaddr_in)));
    /* A name as long as sockaddr_nl but of another family (known difference: runs natively). */
    rep("sendto-inet-name-12", sendto(fd, r.b, r.h.nlmsg_len, 0, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET},
                                      sizeof(struct sockaddr_nl)));
    close(fd);
}

static void acks(void)
{
    int fd = nl_socket();
    struct req r;
    int one = 1, zero = 0;
    const char *net = "10.99.1.0";

    route_req(&r, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 10, AF_INET, net, 24, NULL);
    exchange("ack.add", fd, &r);
    exchange("ack.duplicate", fd, &r);
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    exchange("ack.duplicate-capped", fd, &r);
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &zero, sizeof zero);
    route_req(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, 11, AF_INET, net, 24, NULL);
    exchange("ack.duplicate-no-ack-flag", fd, &r);
    route_req(&r, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE, 11, AF_INET, "10.99.9.0", 24, "10.99.99.1");
    exchange("ack.unreachable-gw", fd, &r);
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    exchange("ack.unreachable-gw-extack", fd, &r);
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    exchange("ack.unreachable-gw-extack-capped", fd, &r);
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &zero, sizeof zero);
    route_req(&r, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE, 12, AF_INET6, "fd99:9::", 64, "fd99:99::1");
    exchange("ack.unreachable-gw6-extack", fd, &r);
    route_req(&r, RTM_DELROUTE, NLM_F_ACK, 13, AF_INET, net, 24, NULL);
    exchange("ack.delete", fd, &r);
    exchange("ack.delete-again", fd, &r);
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &zero, sizeof zero);
    close(fd);
}

static void bad_input(void)
{
    int fd = nl_socket();
    struct req r;
    char buf[8192];
    int one = 1;
    unsigned char zeros[64] = {0};

    begin(&r, 100, NLM_F_REQUEST | NLM_F_ACK, 20, NULL, 0);
    exchange("bad.type-100-empty", fd, &r);
    begin(&r, 100, NLM_F_REQUEST | NLM_F_ACK, 20, zeros, 20);
    exchange("bad.type-100", fd, &r);
    begin(&r, 0x7ff0, NLM_F_REQUEST | NLM_F_ACK, 21, zeros, 16);
    exchange("bad.type-0x7ff0", fd, &r);
    begin(&r, 15, NLM_F_REQUEST | NLM_F_ACK, 21, zeros, 16);
    exchange("bad.type-15", fd, &r);
    begin(&r, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 22, NULL, 0);
    exchange("bad.noop", fd, &r);
    begin(&r, NLMSG_DONE, NLM_F_REQUEST | NLM_F_ACK, 22, NULL, 0);
    exchange("bad.done", fd, &r);
    struct netconfmsg ncm = {.ncm_family = AF_INET};
    begin(&r, RTM_GETNETCONF, NLM_F_REQUEST | NLM_F_ACK, 23, &ncm, sizeof ncm);
    attr32(&r, NETCONFA_IFINDEX, (uint32_t)NETCONFA_IFINDEX_ALL);
    exchange("bad.getnetconf", fd, &r);
    begin(&r, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 24, &(struct ifinfomsg){.ifi_index = 1}, sizeof(struct ifinfomsg));
    r.h.nlmsg_flags = NLM_F_ACK;
    exchange("bad.no-request-flag", fd, &r);
    r.h.nlmsg_flags = 0;
    exchange("bad.no-request-no-ack", fd, &r);

    /* Lengths. */
    route_req(&r, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE, 25, AF_INET, "10.99.4.0", 24, NULL);
    int full = r.h.nlmsg_len;
    r.h.nlmsg_len = 10;
    send(fd, r.b, full, 0);
    rep_reply("bad.nlmsg-len-10", buf, recv_dgram(fd, buf, sizeof buf, 0, 300));
    r.h.nlmsg_len = full + 16;
    send(fd, r.b, full, 0);
    rep_reply("bad.nlmsg-len-too-big", buf, recv_dgram(fd, buf, sizeof buf, 0, 300));
    r.h.nlmsg_len = full;
    send(fd, r.b, 10, 0);
    rep_reply("bad.datagram-10", buf, recv_dgram(fd, buf, sizeof buf, 0, 300));
    begin(&r, RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE, 26, zeros, 4);
    r.b[16] = AF_INET;
    exchange("bad.short-rtmsg", fd, &r);
    begin(&r, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK, 26, zeros, 4);
    r.b[16] = AF_INET;
    exchange("bad.short-rtmsg-get", fd, &r);
    begin(&r, RTM_GETADDR, NLM_F_REQUEST | NLM_F_ACK, 26, zeros, 4);
    exchange("bad.getaddr-not-dump", fd, &r);

    /* Attributes with bad lengths. */
    route_req(&r, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE, 27, AF_INET, "10.99.4.0", 24, NULL);
    struct rtattr *first = (struct rtattr *)(r.b + NLMSG_LENGTH(sizeof(struct rtmsg)));
    first->rta_len = 3;
    exchange("bad.attr-len-3", fd, &r);
    first->rta_len = 200;
    exchange("bad.attr-len-past-end", fd, &r);
    first->rta_len = 6; /* RTA_DST of 2 bytes */
    exchange("bad.attr-dst-short", fd, &r);
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    first->rta_len = 3;
    exchange("bad.attr-len-3-extack", fd, &r);
    first->rta_len = 6;
    exchange("bad.attr-dst-short-extack", fd, &r);
    route_req(&r, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE, 28, AF_INET, "10.99.4.0", 24, NULL);
    attr32(&r, 0x7f, 1);
    exchange("bad.attr-unknown-type", fd, &r);
    route_req(&r, RTM_DELROUTE, NLM_F_ACK, 29, AF_INET, "10.99.4.0", 24, NULL);
    exchange("bad.attr-unknown-type.cleanup", fd, &r);
    int zero = 0;
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &zero, sizeof zero);

    /* Several requests in one datagram: a duplicate-free delete error, a link get, an
     * unknown type; the answers come in order, each its own datagram or not. */
    struct req m;
    memset(&m, 0, sizeof m);
    int at = 0;
    route_req(&r, RTM_DELROUTE, NLM_F_ACK, 30, AF_INET, "10.99.5.0", 24, NULL);
    memcpy(m.b + at, r.b, r.h.nlmsg_len), at += NLMSG_ALIGN(r.h.nlmsg_len);
    begin(&r, RTM_GETLINK, NLM_F_REQUEST, 31, &(struct ifinfomsg){.ifi_index = 1}, sizeof(struct ifinfomsg));
    memcpy(m.b + at, r.b, r.h.nlmsg_len), at += NLMSG_ALIGN(r.h.nlmsg_len);
    begin(&r, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 32, NULL, 0);
    memcpy(m.b + at, r.b, r.h.nlmsg_len), at += NLMSG_ALIGN(r.h.nlmsg_len);
    begin(&r, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 33, &(struct ifinfomsg){.ifi_index = 999}, sizeof(struct ifinfomsg));
    memcpy(m.b + at, r.b, r.h.nlmsg_len), at += NLMSG_ALIGN(r.h.nlmsg_len);
    rep("batch.send", send(fd, m.b, at, 0));
    for (int i = 0; i < 6; i++) {
        char k[64];
        long n = recv_dgram(fd, buf, sizeof buf, 0, 300);
        snprintf(k, sizeof k, "batch.%d", i);
        if (n < 0) {
            rep(k, n);
            break;
        }
        struct nlmsghdr *h = (struct nlmsghdr *)buf;
        int count = 0;
        char desc[400] = "";
        for (long left = n; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left), count++) {
            int err = h->nlmsg_type == NLMSG_ERROR ? ((struct nlmsgerr *)NLMSG_DATA(h))->error : 0;
            snprintf(desc + strlen(desc), sizeof desc - strlen(desc), " [type=%u seq=%u flags=0x%x%s%s]",
                     h->nlmsg_type, h->nlmsg_seq, h->nlmsg_flags, err ? " error=" : "", err ? errname(-err) : "");
        }
        out(k, "%d messages%s", count, desc);
    }
    close(fd);
}

/* MARK: - Dumps */

void print_attrs(char *b, size_t room, int type, const struct rtattr *a, int len)
{
    size_t o = strlen(b);
    for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        int t = a->rta_type & ~NLA_F_NESTED;
        int show = 0;
        int plen = RTA_PAYLOAD(a);
        if (type == RTM_NEWLINK)
            show = t == IFLA_IFNAME || t == IFLA_MTU || t == IFLA_TXQLEN || t == IFLA_OPERSTATE ||
                   t == IFLA_LINKMODE || t == IFLA_GROUP || t == IFLA_ADDRESS || t == IFLA_BROADCAST ||
                   t == IFLA_MIN_MTU || t == IFLA_MAX_MTU || t == IFLA_NUM_TX_QUEUES || t == IFLA_NUM_RX_QUEUES ||
                   t == IFLA_PROMISCUITY || t == IFLA_CARRIER || t == IFLA_GSO_MAX_SEGS || t == IFLA_GSO_MAX_SIZE;
        else if (type == RTM_NEWADDR)
            show = t != IFA_CACHEINFO;
        else if (type == RTM_NEWROUTE)
            show = t != RTA_CACHEINFO && t != RTA_EXPIRES;
        o += snprintf(b + o, room - o, " %d:%d", t, plen);
        if (show && o < room)
            o += snprintf(b + o, room - o, "=%s", hex(RTA_DATA(a), plen > 32 ? 32 : plen));
        if (o >= room)
            break;
    }
}

static void dump(const char *key, int fd, int type, const void *fixed, int fixedlen, const void *extra, int extralen)
{
    struct req r;
    static char buf[65536];
    char k[200];
    unsigned port = port_of(fd);
    begin(&r, type, NLM_F_REQUEST | NLM_F_DUMP, 40, fixed, fixedlen);
    if (extralen) {
        r.h.nlmsg_len = NLMSG_ALIGN(r.h.nlmsg_len);
        memcpy(r.b + r.h.nlmsg_len, extra, extralen);
        r.h.nlmsg_len += extralen;
    }
    send_req(fd, &r);
    int i = 0, done = 0;
    while (!done && i < 200) {
        long n = recv_dgram(fd, buf, sizeof buf, 0, 1000);
        if (n < 0) {
            snprintf(k, sizeof k, "%s.recv", key);
            rep(k, n);
            break;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n), i++) {
            snprintf(k, sizeof k, "%s.%d", key, i);
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
                int pl = h->nlmsg_len - NLMSG_HDRLEN;
                h->nlmsg_pid = h->nlmsg_pid == port;
                out(k, "%s len=%u flags=0x%x seq=%u pid-is-mine=%u payload=%s",
                    h->nlmsg_type == NLMSG_DONE ? "DONE" : "ERROR", h->nlmsg_len, h->nlmsg_flags, h->nlmsg_seq,
                    h->nlmsg_pid, hex(NLMSG_DATA(h), pl > 200 ? 200 : pl));
                done = 1;
                break;
            }
            int hl = type == RTM_GETLINK ? sizeof(struct ifinfomsg)
                   : type == RTM_GETADDR ? sizeof(struct ifaddrmsg) : sizeof(struct rtmsg);
            char line[3000];
            snprintf(line, sizeof line, "type=%u flags=0x%x seq=%u pid-is-mine=%d hdr=%s attrs:", h->nlmsg_type,
                     h->nlmsg_flags, h->nlmsg_seq, h->nlmsg_pid == port, hex(NLMSG_DATA(h), hl));
            print_attrs(line, sizeof line, h->nlmsg_type, (struct rtattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(hl)),
                        h->nlmsg_len - NLMSG_LENGTH(hl));
            out(k, "%s", line);
        }
    }
}

static void dumps(void)
{
    int fd = nl_socket();
    int one = 1;
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    struct ifaddrmsg ifa = {.ifa_family = AF_UNSPEC};
    struct rtmsg rtm = {.rtm_family = AF_INET};
    struct rtmsg rtm6 = {.rtm_family = AF_INET6};
    dump("link", fd, RTM_GETLINK, &ifi, sizeof ifi, NULL, 0);
    dump("link-rtgenmsg", fd, RTM_GETLINK, &(struct rtgenmsg){AF_UNSPEC}, 1, NULL, 0);
    dump("addr", fd, RTM_GETADDR, &ifa, sizeof ifa, NULL, 0);
    dump("route4", fd, RTM_GETROUTE, &rtm, sizeof rtm, NULL, 0);
    dump("route6", fd, RTM_GETROUTE, &rtm6, sizeof rtm6, NULL, 0);
    dump("route-unspec", fd, RTM_GETROUTE, &(struct rtmsg){.rtm_family = AF_UNSPEC}, sizeof rtm, NULL, 0);
    /* Not strict: header fields that would filter are ignored. */
    dump("addr-index-lax", fd, RTM_GETADDR, &(struct ifaddrmsg){.ifa_family = AF_INET, .ifa_index = 1},
         sizeof ifa, NULL, 0);

    rep("strict.set", setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one));
    dump("strict.link", fd, RTM_GETLINK, &ifi, sizeof ifi, NULL, 0);
    dump("strict.link-rtgenmsg", fd, RTM_GETLINK, &(struct rtgenmsg){AF_UNSPEC}, 1, NULL, 0);
    dump("strict.link-index", fd, RTM_GETLINK, &(struct ifinfomsg){.ifi_index = 1}, sizeof ifi, NULL, 0);
    dump("strict.addr", fd, RTM_GETADDR, &(struct ifaddrmsg){.ifa_family = AF_INET}, sizeof ifa, NULL, 0);
    dump("strict.addr-index", fd, RTM_GETADDR, &(struct ifaddrmsg){.ifa_family = AF_INET, .ifa_index = 1},
         sizeof ifa, NULL, 0);
    dump("strict.addr6-index", fd, RTM_GETADDR, &(struct ifaddrmsg){.ifa_family = AF_INET6, .ifa_index = cfg.ifindex},
         sizeof ifa, NULL, 0);
    dump("strict.addr-prefixlen", fd, RTM_GETADDR, &(struct ifaddrmsg){.ifa_family = AF_INET, .ifa_prefixlen = 8},
         sizeof ifa, NULL, 0);
    dump("strict.route4", fd, RTM_GETROUTE, &rtm, sizeof rtm, NULL, 0);
    dump("strict.route4-table", fd, RTM_GETROUTE, &(struct rtmsg){.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN},
         sizeof rtm, NULL, 0);
    struct rtattr oif[2] = {{.rta_len = 8, .rta_type = RTA_OIF}};
    memcpy(oif + 1, &cfg.ifindex, 4);
    dump("strict.route6-oif", fd, RTM_GETROUTE, &rtm6, sizeof rtm6, oif, 8);
    dump("strict.route4-dst-len", fd, RTM_GETROUTE, &(struct rtmsg){.rtm_family = AF_INET, .rtm_dst_len = 24},
         sizeof rtm, NULL, 0);
    dump("strict.route4-short", fd, RTM_GETROUTE, &(struct rtgenmsg){AF_INET}, 1, NULL, 0);
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    dump("strict.extack.link-flags", fd, RTM_GETLINK, &(struct ifinfomsg){.ifi_flags = 1}, sizeof ifi, NULL, 0);
    dump("strict.extack.addr-flags", fd, RTM_GETADDR, &(struct ifaddrmsg){.ifa_family = AF_INET, .ifa_flags = 1},
         sizeof ifa, NULL, 0);
    dump("strict.extack.route4-dst-len", fd, RTM_GETROUTE, &(struct rtmsg){.rtm_family = AF_INET, .rtm_dst_len = 24},
         sizeof rtm, NULL, 0);
    dump("strict.extack.route4-short", fd, RTM_GETROUTE, &(struct rtgenmsg){AF_INET}, 1, NULL, 0);
    close(fd);
}

/* netlink_notify.c */
void notifications(void);
void unbound_member(void);
void filters(void);
void overruns(void);

int scenario_netlink(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    SECTION("sockets") { sockets(); }
    SECTION("recv") { receiving(); }
    SECTION("acks") { acks(); }
    SECTION("bad") { bad_input(); }
    SECTION("dumps") { dumps(); }
    SECTION("notify") { notifications(); }
    SECTION("member") { unbound_member(); }
    SECTION("filter") { filters(); }
    SECTION("overrun") { overruns(); }
    return 0;
}
