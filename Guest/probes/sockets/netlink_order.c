/*
 * netlink_order.c — scenario netlink-order: the order in which a NETLINK_ROUTE socket's
 * receive queue hands out answers, dumps and notifications (net/netlink/af_netlink.c).
 * The queue is one FIFO: a request's answers join its tail when the request is sent; a dump
 * joins it one datagram at a time — the first when the request is sent (netlink_dump_start
 * runs netlink_dump once), each later one (NLMSG_DONE too) when a recvmsg has taken a
 * datagram — so answers and notifications that arrive while a dump runs come out between its
 * datagrams. A second dump while one runs fails with EBUSY. A request after a dump in the same
 * datagram is served at once (netlink_rcv_skb goes on after the dump's -EINTR, without an
 * ACK for the dump). Native read(2) and trapped recvmsg/recvmmsg, MSG_PEEK and MSG_TRUNC
 * share the one queue. Runs as root natively (the notification comes from a route write).
 * Each datagram prints its message count and its first and last messages (type/seq, an
 * error's errno); lengths print only as comparisons (srouter's link messages are its own).
 */
#include "probe.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define TABLE 101

/* The running section's name, which prefixes its keys. */
static const char *prefix = "";

/* "prefix.name" (static buffers, rotated among 8). */
static const char *K(const char *name)
{
    static char keys[8][200];
    static int next;
    char *k = keys[next++ % 8];
    snprintf(k, sizeof keys[0], "%s.%s", prefix, name);
    return k;
}

/* One request: a header and its fixed part (and RTA_DST for a route). */
struct order_req {
    struct nlmsghdr h;
    union {
        struct ifinfomsg ifi;
        struct ifaddrmsg ifa;
        struct {
            struct rtmsg rt;
            struct rtattr dst;
            unsigned char addr[4];
        } route;
    };
};

/* RTM_GETLINK of ifindex (0: a dump) or RTM_GETADDR dump, with extra nlmsg_flags. */
static int get_req(struct order_req *r, int type, int index, int flags, int seq)
{
    memset(r, 0, sizeof *r);
    int fixed = type == RTM_GETADDR ? (int)sizeof r->ifa : (int)sizeof r->ifi;
    r->h.nlmsg_len = NLMSG_LENGTH(fixed);
    r->h.nlmsg_type = type;
    r->h.nlmsg_flags = NLM_F_REQUEST | flags | (index == 0 ? NLM_F_DUMP : 0);
    r->h.nlmsg_seq = seq;
    if (type == RTM_GETADDR)
        r->ifa.ifa_family = AF_INET;
    else
        r->ifi.ifi_index = index;
    return (int)r->h.nlmsg_len;
}

/* RTM_NEWROUTE/RTM_DELROUTE of the blackhole 10.201.0.0/24 in table TABLE, with an ACK. */
static int route_req(struct order_req *r, int type, int seq)
{
    memset(r, 0, sizeof *r);
    r->h.nlmsg_len = NLMSG_LENGTH(sizeof r->route);
    r->h.nlmsg_type = type;
    r->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0);
    r->h.nlmsg_seq = seq;
    r->route.rt.rtm_family = AF_INET;
    r->route.rt.rtm_dst_len = 24;
    r->route.rt.rtm_table = TABLE;
    r->route.rt.rtm_protocol = type == RTM_NEWROUTE ? RTPROT_STATIC : 0;
    r->route.rt.rtm_scope = type == RTM_NEWROUTE ? RT_SCOPE_UNIVERSE : RT_SCOPE_NOWHERE;
    r->route.rt.rtm_type = RTN_BLACKHOLE;
    r->route.dst.rta_type = RTA_DST;
    r->route.dst.rta_len = RTA_LENGTH(4);
    memcpy(r->route.addr, (unsigned char[]){10, 201, 0, 0}, 4);
    return (int)r->h.nlmsg_len;
}

static void send_one(const char *key, int fd, struct order_req *r, int len)
{
    if (send(fd, r, len, 0) != len)
        rep(key, -1);
}

static const char *type_name(int type)
{
    switch (type) {
    case NLMSG_ERROR: return "ERROR";
    case NLMSG_DONE: return "DONE";
    case RTM_NEWLINK: return "NEWLINK";
    case RTM_NEWADDR: return "NEWADDR";
    case RTM_NEWROUTE: return "NEWROUTE";
    case RTM_DELROUTE: return "DELROUTE";
    default: return "other";
    }
}

/* "TYPE/seq" of one message (an ERROR with its errno, 0 for an ACK). */
static const char *describe(const struct nlmsghdr *h, char *b, size_t room)
{
    if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
        int e = *(const int *)NLMSG_DATA(h);
        snprintf(b, room, "ERROR/%u(%s)", h->nlmsg_seq, e ? errname(-e) : "0");
    } else {
        snprintf(b, room, "%s/%u", type_name(h->nlmsg_type), h->nlmsg_seq);
    }
    return b;
}

/* KEY: "msgs=N first=… last=…" for the n bytes at buf, and " MSG_TRUNC" if flags say so. */
static void report(const char *key, const char *buf, long n, int flags)
{
    char first[64] = "-", last[64] = "-";
    int count = 0;
    long left = n;
    for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (count++ == 0)
            describe(h, first, sizeof first);
        describe(h, last, sizeof last);
    }
    out(key, "msgs=%d first=%s last=%s%s", count, first, last, flags & MSG_TRUNC ? " MSG_TRUNC" : "");
}

/* Reads datagrams (32 KiB buffers, trapped recvmsg) until none comes within 300 ms, at most
 * 12; prints each as KEY.N. */
static void read_all(const char *key, int fd)
{
    static char buf[32768];
    char k[200];
    int index = 0;
    for (; index < 12; index++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 300) <= 0)
            break;
        struct iovec iov = {buf, sizeof buf};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        long n = recvmsg(fd, &m, MSG_DONTWAIT);
        snprintf(k, sizeof k, "%s.%d", key, index);
        if (n < 0) {
            rep(k, -1);
            break;
        }
        report(k, buf, n, m.msg_flags);
    }
    snprintf(k, sizeof k, "%s.count", key);
    out(k, "%d", index);
}

static int order_socket(unsigned groups)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = groups};
    if (groups && bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        rep(K("bind"), -1);
    return fd;
}

/* Two requests sent before any read, each answered by a NEWLINK and an ACK; then one
 * datagram after another by a sizing peek, a short recvmsg, native read(2), recvmsg,
 * recvmmsg and a last recv that finds the queue empty. */
static void readers(void)
{
    static char buf[32768], full[32768];
    struct order_req r;
    int fd = order_socket(0);
    send_one(K("send1"), fd, &r, get_req(&r, RTM_GETLINK, 1, NLM_F_ACK, 1));
    send_one(K("send2"), fd, &r, get_req(&r, RTM_GETLINK, 1, NLM_F_ACK, 2));
    struct pollfd p = {.fd = fd, .events = POLLIN};
    rep(K("poll"), poll(&p, 1, bound_ms(2000)));

    struct iovec iov = {NULL, 0};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    long sized = recvmsg(fd, &m, MSG_PEEK | MSG_TRUNC);
    iov = (struct iovec){buf, 16};
    m = (struct msghdr){.msg_iov = &iov, .msg_iovlen = 1};
    long peeked = recvmsg(fd, &m, MSG_PEEK);
    out(K("peek-short"), "%ld%s", peeked, m.msg_flags & MSG_TRUNC ? " MSG_TRUNC" : "");
    iov = (struct iovec){full, sizeof full};
    m = (struct msghdr){.msg_iov = &iov, .msg_iovlen = 1};
    long n = recvmsg(fd, &m, 0);
    report(K("recvmsg1"), full, n, m.msg_flags);
    out(K("peek-trunc"), "%s", sized == n ? "the datagram's length" : sized < 0 ? "failed" : "another length");
    out(K("peek-short.bytes"), "%s", peeked == 16 && !memcmp(buf, full, 16) ? "its first 16" : "others");

    n = read(fd, buf, sizeof buf);
    report(K("read"), buf, n, 0);
    iov = (struct iovec){buf, sizeof buf};
    m = (struct msghdr){.msg_iov = &iov, .msg_iovlen = 1};
    n = recvmsg(fd, &m, 0);
    report(K("recvmsg2"), buf, n, m.msg_flags);

    static char bufs[4][8192];
    struct iovec iovs[4];
    struct mmsghdr mm[4];
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 4; i++) {
        iovs[i] = (struct iovec){bufs[i], sizeof bufs[i]};
        mm[i].msg_hdr.msg_iov = &iovs[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    int got = recvmmsg(fd, mm, 4, MSG_DONTWAIT, NULL);
    rep(K("recvmmsg"), got);
    for (int i = 0; i < got; i++) {
        char k[64];
        snprintf(k, sizeof k, "%s.recvmmsg.%d", prefix, i);
        report(k, bufs[i], mm[i].msg_len, mm[i].msg_hdr.msg_flags);
    }
    rep(K("empty"), recv(fd, buf, sizeof buf, MSG_DONTWAIT));
    close(fd);
}

/* A request sent while a dump runs: its answers come after the dump's first datagram and
 * before its NLMSG_DONE, which the first read makes. */
static void request_during_dump(void)
{
    struct order_req r;
    int fd = order_socket(0);
    send_one(K("send-dump"), fd, &r, get_req(&r, RTM_GETLINK, 0, 0, 10));
    send_one(K("send-get"), fd, &r, get_req(&r, RTM_GETLINK, 1, NLM_F_ACK, 11));
    read_all(K("read"), fd);
    close(fd);
}

/* A dump and a request in one datagram: the dump's first datagram, then the request's
 * answers, then NLMSG_DONE; no ACK for the dump (netlink_rcv_skb skips it on -EINTR). */
static void request_after_dump_in_datagram(void)
{
    struct order_req r[2];
    int fd = order_socket(0);
    int first = get_req(&r[0], RTM_GETLINK, 0, NLM_F_ACK, 20);
    int second = get_req(&r[1], RTM_GETLINK, 1, NLM_F_ACK, 21);
    char datagram[2 * sizeof r[0]];
    memcpy(datagram, &r[0], first);
    memcpy(datagram + NLMSG_ALIGN(first), &r[1], second);
    int len = NLMSG_ALIGN(first) + second;
    if (send(fd, datagram, len, 0) != len)
        rep(K("send"), -1);
    read_all(K("read"), fd);
    close(fd);
}

/* A second dump while the first runs: EBUSY (__netlink_dump_start), between the first
 * dump's datagrams; the first dump ends as usual. */
static void second_dump(void)
{
    struct order_req r;
    int fd = order_socket(0);
    send_one(K("send-links"), fd, &r, get_req(&r, RTM_GETLINK, 0, 0, 30));
    send_one(K("send-addrs"), fd, &r, get_req(&r, RTM_GETADDR, 0, 0, 31));
    read_all(K("read"), fd);
    /* Once it has ended, a dump starts again. */
    send_one(K("send-again"), fd, &r, get_req(&r, RTM_GETADDR, 0, 0, 32));
    read_all(K("again"), fd);
    close(fd);
}

/* A notification made while a dump runs on a subscribed socket comes out between the
 * dump's datagrams. */
static void notification_during_dump(void)
{
    struct order_req r;
    int fd = order_socket(1u << (RTNLGRP_IPV4_ROUTE - 1));
    int writer = order_socket(0);
    send_one(K("send-dump"), fd, &r, get_req(&r, RTM_GETLINK, 0, 0, 40));
    struct pollfd p = {.fd = fd, .events = POLLIN};
    rep(K("poll"), poll(&p, 1, bound_ms(2000)));
    send_one(K("add"), writer, &r, route_req(&r, RTM_NEWROUTE, 41));
    read_all(K("add.ack"), writer);
    read_all(K("read"), fd);
    send_one(K("del"), writer, &r, route_req(&r, RTM_DELROUTE, 42));
    read_all(K("del.ack"), writer);
    close(writer);
    close(fd);
}

int scenario_netlink_order(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    SECTION("readers") { prefix = "readers"; readers(); }
    SECTION("request-during-dump") { prefix = "request-during-dump"; request_during_dump(); }
    SECTION("request-after-dump-in-datagram") { prefix = "request-after-dump-in-datagram"; request_after_dump_in_datagram(); }
    SECTION("second-dump") { prefix = "second-dump"; second_dump(); }
    SECTION("notification-during-dump") { prefix = "notification-during-dump"; notification_during_dump(); }
    return 0;
}
