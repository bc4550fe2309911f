/*
 * netlink_dump.c — scenario netlink-dump: how Linux cuts an rtnetlink dump into datagrams
 * (net/netlink/af_netlink.c). netlink_dump sizes each skb by nlk->max_recvmsg_len, the
 * largest length the socket's reader has offered to recvmsg (capped at
 * SKB_WITH_OVERHEAD(32768)), at least NLMSG_GOODSIZE; the first skb is made when the request
 * is sent, each later one by a recvmsg (MSG_PEEK too) while the receive queue is at most
 * half of SO_RCVBUF. So the datagram lengths depend on the reader: a 4096-byte buffer, an
 * 8192-byte one, a 32 KiB one, iproute2's MSG_PEEK|MSG_TRUNC sizing (rtnl_recvmsg), recvmmsg,
 * and a second dump on a socket that has already read large.
 * The routes: ROUTES blackhole routes in table TABLE (44 bytes each in a dump), added and
 * removed in batches; the dumps are strict and filtered to that table. Each datagram prints
 * its length, its message count and the type of its last message. Runs as root natively.
 */
#include "probe.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

#define ROUTES 1000
#define TABLE 100
#define BATCH 50

/* One datagram of requests (BATCH route messages of 36 bytes each fit). */
static char batch[8192];
static int batch_len;

static void batch_route(int type, int index, int flags)
{
    struct nlmsghdr *h = (struct nlmsghdr *)(batch + batch_len);
    struct rtmsg *rt = NLMSG_DATA(h);
    memset(h, 0, NLMSG_SPACE(sizeof *rt) + 8);
    h->nlmsg_len = NLMSG_LENGTH(sizeof *rt) + 8;
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_REQUEST | flags;
    h->nlmsg_seq = 1000 + index;
    rt->rtm_family = AF_INET;
    rt->rtm_dst_len = 24;
    rt->rtm_table = TABLE;
    rt->rtm_protocol = type == RTM_NEWROUTE ? RTPROT_STATIC : 0;
    rt->rtm_scope = type == RTM_NEWROUTE ? RT_SCOPE_UNIVERSE : RT_SCOPE_NOWHERE;
    rt->rtm_type = RTN_BLACKHOLE;
    struct rtattr *a = RTM_RTA(rt);
    a->rta_type = RTA_DST;
    a->rta_len = RTA_LENGTH(4);
    unsigned char dst[4] = {10, 200 + index / 256, index % 256, 0};
    memcpy(RTA_DATA(a), dst, 4);
    batch_len += NLMSG_ALIGN(h->nlmsg_len);
}

/* Adds (RTM_NEWROUTE) or removes (RTM_DELROUTE) the routes, BATCH to a datagram; only the
 * last message of each datagram asks for an ACK, which is awaited. */
static void routes(const char *key, int fd, int type)
{
    char buf[8192];
    char k[200];
    int failed = 0;
    for (int i = 0; i < ROUTES; i += BATCH) {
        batch_len = 0;
        for (int j = i; j < i + BATCH && j < ROUTES; j++)
            batch_route(type, j, (type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0) |
                                     (j == i + BATCH - 1 || j == ROUTES - 1 ? NLM_F_ACK : 0));
        if (send(fd, batch, batch_len, 0) != batch_len)
            failed++;
        /* Errors come one per failed message; the ACK of the batch's last comes last. */
        for (;;) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, bound_ms(2000)) <= 0) {
                failed++;
                break;
            }
            long n = recv(fd, buf, sizeof buf, 0);
            struct nlmsghdr *h = (struct nlmsghdr *)buf;
            if (n < (long)NLMSG_LENGTH(sizeof(struct nlmsgerr)) || h->nlmsg_type != NLMSG_ERROR) {
                failed++;
                break;
            }
            struct nlmsgerr *e = NLMSG_DATA(h);
            if (e->error)
                failed++;
            if (e->msg.nlmsg_seq == (unsigned)(1000 + (i + BATCH < ROUTES ? i + BATCH : ROUTES) - 1))
                break;
        }
    }
    snprintf(k, sizeof k, "%s.failed", key);
    out(k, "%d", failed);
}

/* How a reader takes each datagram. */
enum reader { PLAIN, PEEK_SIZED, MULTI };

/* Sends the strict dump request of table TABLE. */
static void request(int fd, int seq)
{
    struct {
        struct nlmsghdr h;
        struct rtmsg rt;
    } r = {.h = {.nlmsg_len = sizeof r, .nlmsg_type = RTM_GETROUTE, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
                 .nlmsg_seq = seq},
           .rt = {.rtm_family = AF_INET, .rtm_table = TABLE}};
    send(fd, &r, sizeof r, 0);
}

/* Prints one datagram: its length, how many messages it holds, the last one's type, and
 * MSG_TRUNC. Returns 1 once NLMSG_DONE or NLMSG_ERROR is seen. */
static int report(const char *key, int index, char *buf, long n, int flags, int *entries)
{
    char k[200];
    int count = 0, last = 0, finished = 0;
    long left = n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        count++;
        last = h->nlmsg_type;
        if (last == RTM_NEWROUTE)
            (*entries)++;
        if (last == NLMSG_DONE || last == NLMSG_ERROR)
            finished = 1;
    }
    snprintf(k, sizeof k, "%s.%d", key, index);
    out(k, "len=%ld msgs=%d last=%s%s", n, count,
        last == NLMSG_DONE ? "DONE" : last == NLMSG_ERROR ? "ERROR" : last == RTM_NEWROUTE ? "NEWROUTE" : "other",
        flags & MSG_TRUNC ? " MSG_TRUNC" : "");
    return finished;
}

/* One dump, read with buffers of `size` bytes as `how` says; prints every datagram. */
static void dump(const char *key, int fd, enum reader how, size_t size, int seq)
{
    static char buf[65536];
    char k[200];
    int entries = 0, index = 0, finished = 0;
    request(fd, seq);
    while (!finished && index < 400) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, bound_ms(2000)) <= 0) {
            snprintf(k, sizeof k, "%s.poll", key);
            out(k, "timed out");
            break;
        }
        if (how == MULTI) {
            /* recvmmsg of four: each netlink_recvmsg makes the next skb, so all four fill. */
            static char bufs[4][8192];
            struct iovec iov[4];
            struct mmsghdr m[4];
            memset(m, 0, sizeof m);
            for (int i = 0; i < 4; i++) {
                iov[i] = (struct iovec){bufs[i], size};
                m[i].msg_hdr.msg_iov = &iov[i];
                m[i].msg_hdr.msg_iovlen = 1;
            }
            int got = recvmmsg(fd, m, 4, MSG_DONTWAIT, NULL);
            if (got < 0) {
                snprintf(k, sizeof k, "%s.recvmmsg", key);
                rep(k, -1);
                break;
            }
            snprintf(k, sizeof k, "%s.batch", key);
            out(k, "%d", got);
            for (int i = 0; i < got && !finished; i++)
                finished = report(key, index++, bufs[i], m[i].msg_len, m[i].msg_hdr.msg_flags, &entries);
            continue;
        }
        struct iovec iov = {buf, size};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        if (how == PEEK_SIZED) {
            /* iproute2's rtnl_recvmsg: the length with an empty buffer, then at least 32 KiB. */
            iov = (struct iovec){NULL, 0};
            long len = recvmsg(fd, &m, MSG_PEEK | MSG_TRUNC);
            if (len < 0) {
                snprintf(k, sizeof k, "%s.peek", key);
                rep(k, -1);
                break;
            }
            iov = (struct iovec){buf, len < 32768 ? 32768 : (size_t)len};
        }
        long n = recvmsg(fd, &m, 0);
        if (n < 0) {
            snprintf(k, sizeof k, "%s.recv", key);
            rep(k, -1);
            break;
        }
        finished = report(key, index++, buf, n, m.msg_flags, &entries);
    }
    snprintf(k, sizeof k, "%s.entries", key);
    out(k, "%d in %d datagrams", entries, index);
}

/* A fresh strict socket. */
static int dump_socket(void)
{
    int one = 1;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
    return fd;
}

/* The readers, each on a fresh socket; a case with a second key reads a second dump on the
 * same socket. */
static const struct {
    const char *key, *again;
    enum reader how;
    size_t size, again_size;
} cases[] = {
    {"r4096", NULL, PLAIN, 4096, 0},
    {"r8192", NULL, PLAIN, 8192, 0},
    /* The first datagram is NLMSG_GOODSIZE; the rest as large as the reader's buffer, up to
     * SKB_WITH_OVERHEAD(32768); a second dump starts large. */
    {"r32768", "r32768.again", PLAIN, 32768, 32768},
    /* A larger buffer records no more than the cap. */
    {"r65536", NULL, PLAIN, 65536, 0},
    /* A smaller buffer later does not shrink what was recorded: the datagrams are cut short. */
    {"shrink.r8192", "shrink.r4096", PLAIN, 8192, 4096},
    /* The peek makes a datagram too, at the length recorded so far. */
    {"peek", "peek.again", PEEK_SIZED, 0, 0},
    {"mmsg8192", NULL, MULTI, 8192, 0},
};

static void sizes(void)
{
    int w = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    routes("add", w, RTM_NEWROUTE);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int fd = dump_socket();
        dump(cases[i].key, fd, cases[i].how, cases[i].size, (int)(2 * i + 1));
        if (cases[i].again)
            dump(cases[i].again, fd, cases[i].how, cases[i].again_size, (int)(2 * i + 2));
        close(fd);
    }
    routes("del", w, RTM_DELROUTE);
    close(w);
}

int scenario_netlink_dump(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    SECTION("sizes") { sizes(); }
    return 0;
}
