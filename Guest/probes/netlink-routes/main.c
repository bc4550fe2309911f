/*
 * probe-netlink-routes: loads N blackhole routes through NETLINK_ROUTE and deletes them again,
 * in two patterns, and prints routes per second for each (Tests/Benchmarks/netlink-routes.sh
 * runs it natively in a network namespace and under srouter, in the same run):
 *
 *   bird     one RTM_NEWROUTE (CREATE|EXCL|ACK) per sendto({AF_NETLINK, pid 0}, 12), then a
 *            blocking recvmsg of its ACK — as BIRD 2's `protocol kernel` writes routes
 *            (nl_send, nl_get_reply; strace shows exactly these two calls per route);
 *   batched  up to 64 requests per datagram, their ACKs read afterwards, one recvmsg each
 *            (each ACK is a datagram of its own, on Linux as under srouter);
 *   mmsg     as batched, the ACKs read by recvmmsg (MSG_WAITFORONE), up to 64 per call.
 *
 *   probe-netlink-routes [-n ROUTES] [-6] [-p bird|batched|mmsg]   (default: all three)
 *
 * Output, one line per pattern: "PATTERN ROUTES routes ADD_SECONDS s DEL_SECONDS s RATE/s".
 * Exit status 1 if a request fails (the errno is printed), or with EPROTO if an ACK does not
 * come from the kernel's address (sockaddr_nl pid 0) or out of the requests' order.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { BATCH = 64, MESSAGE = 64 };

static int family = AF_INET;
static uint32_t sequence = 1;
/* The sequence number the next ACK must carry: ACKs come in the order of the requests. */
static uint32_t next_acknowledged = 1;

/* Whether an ACK came from the kernel (`sockaddr_nl` pid 0, as netlink_recvmsg names it) and
 * in order; EPROTO otherwise. */
static int check_ack(const struct sockaddr_nl *from, socklen_t length, const struct nlmsgerr *e)
{
    if (length != sizeof *from || from->nl_family != AF_NETLINK || from->nl_pid != 0) return EPROTO;
    if (e->msg.nlmsg_seq != next_acknowledged) return EPROTO;
    next_acknowledged++;
    return 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Route i: the i-th /24 from 10.0.0.0 (10.0.0.0/24, 10.0.1.0/24, … on into 11.0.0.0 and past
 * for more than 65536) in table 200, or fd00:(i>>16):(i&0xffff)::/48. */
static size_t route_message(char *buffer, int type, uint16_t flags, unsigned i)
{
    memset(buffer, 0, MESSAGE);
    struct nlmsghdr *h = (struct nlmsghdr *)buffer;
    h->nlmsg_type = (uint16_t)type;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    h->nlmsg_seq = sequence++;
    struct rtmsg *r = NLMSG_DATA(h);
    r->rtm_family = (unsigned char)family;
    r->rtm_table = 200;
    r->rtm_protocol = 12; /* RTPROT_BIRD */
    r->rtm_scope = RT_SCOPE_UNIVERSE;
    r->rtm_type = RTN_BLACKHOLE;
    struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(sizeof *r));
    a->rta_type = RTA_DST;
    if (family == AF_INET) {
        r->rtm_dst_len = 24;
        uint32_t address = htonl(0x0a000000u + ((i & 0xffffffu) << 8));
        a->rta_len = RTA_LENGTH(4);
        memcpy(RTA_DATA(a), &address, 4);
    } else {
        r->rtm_dst_len = 48;
        uint8_t address[16] = {0xfd, 0x00, (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        a->rta_len = RTA_LENGTH(16);
        memcpy(RTA_DATA(a), address, 16);
    }
    h->nlmsg_len = NLMSG_ALIGN(NLMSG_LENGTH(sizeof *r)) + RTA_ALIGN(a->rta_len);
    return h->nlmsg_len;
}

/* Reads ACKs until `expected` have come; 0, or the first error's errno. */
static int read_acks(int fd, unsigned expected)
{
    char buffer[16384];
    int first_error = 0;
    while (expected > 0) {
        struct sockaddr_nl from;
        struct iovec v = {buffer, sizeof buffer};
        struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &v, .msg_iovlen = 1};
        ssize_t received = recvmsg(fd, &m, 0);
        if (received < 0) return errno;
        int n = (int)received;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buffer; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type != NLMSG_ERROR) continue;
            const struct nlmsgerr *e = NLMSG_DATA(h);
            if (e->error && !first_error) first_error = -e->error;
            int order = check_ack(&from, m.msg_namelen, e);
            if (order && !first_error) first_error = order;
            expected--;
        }
    }
    return first_error;
}

/* As read_acks, with recvmmsg: up to BATCH datagrams per call, waiting for the first only. */
static int read_acks_mmsg(int fd, unsigned expected)
{
    static char buffers[BATCH][256];
    int first_error = 0;
    while (expected > 0) {
        struct mmsghdr m[BATCH];
        struct iovec v[BATCH];
        struct sockaddr_nl from[BATCH];
        unsigned want = expected < BATCH ? expected : BATCH;
        memset(m, 0, sizeof m);
        for (unsigned k = 0; k < want; k++) {
            v[k] = (struct iovec){buffers[k], sizeof buffers[k]};
            m[k].msg_hdr = (struct msghdr){.msg_name = &from[k], .msg_namelen = sizeof from[k], .msg_iov = &v[k], .msg_iovlen = 1};
        }
        int got = recvmmsg(fd, m, want, MSG_WAITFORONE, NULL);
        if (got < 0) return errno;
        for (int k = 0; k < got; k++) {
            int n = (int)m[k].msg_len;
            for (struct nlmsghdr *h = (struct nlmsghdr *)buffers[k]; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
                if (h->nlmsg_type != NLMSG_ERROR) continue;
                const struct nlmsgerr *e = NLMSG_DATA(h);
                if (e->error && !first_error) first_error = -e->error;
                int order = check_ack(&from[k], m[k].msg_hdr.msg_namelen, e);
                if (order && !first_error) first_error = order;
                if (expected > 0) expected--;
            }
        }
    }
    return first_error;
}

static int send_to_kernel(int fd, const char *buffer, size_t length)
{
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    return sendto(fd, buffer, length, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0 ? errno : 0;
}

/* One pattern over `routes` routes of type `type`; 0 or the errno. */
static int run(int fd, int type, uint16_t flags, unsigned routes, int pattern)
{
    char buffer[BATCH * MESSAGE];
    for (unsigned i = 0; i < routes;) {
        unsigned count = pattern > 0 ? (routes - i < BATCH ? routes - i : BATCH) : 1;
        size_t length = 0;
        for (unsigned k = 0; k < count; k++) length += route_message(buffer + length, type, flags, i + k);
        int error = send_to_kernel(fd, buffer, length);
        if (!error) error = pattern == 2 ? read_acks_mmsg(fd, count) : read_acks(fd, count);
        if (error) return error;
        i += count;
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned routes = 1000;
    const char *names[] = {"bird", "batched", "mmsg"};
    int opt, first = 0, last = 2;
    while ((opt = getopt(argc, argv, "n:6p:")) != -1) {
        int chosen = -1;
        for (int k = 0; opt == 'p' && k < 3; k++)
            if (strcmp(optarg, names[k]) == 0) chosen = k;
        if (opt == 'n') routes = (unsigned)strtoul(optarg, NULL, 10);
        else if (opt == '6') family = AF_INET6;
        else if (chosen >= 0) first = last = chosen;
        else {
            fprintf(stderr, "usage: %s [-n ROUTES] [-6] [-p bird|batched|mmsg]\n", argv[0]);
            return 2;
        }
    }
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    int size = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    for (int pattern = first; pattern <= last; pattern++) {
        double t0 = now();
        int error = run(fd, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, routes, pattern);
        double t1 = now();
        if (!error) error = run(fd, RTM_DELROUTE, 0, routes, pattern);
        double t2 = now();
        if (error) {
            printf("%s failed: %s\n", names[pattern], strerror(error));
            return 1;
        }
        printf("%s %u routes %.3f s %.3f s %.0f/s\n", names[pattern], routes, t1 - t0, t2 - t1,
               (double)routes / (t1 - t0));
    }
    return 0;
}
