/*
 * host_network.c — probe-hostile's checks that try to reach the host's network stack from
 * the guest: TCP and UDP to the host's loopback, AF_PACKET, a route written through
 * rtnetlink, and socketpair(AF_INET).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostile.h"

/// tcp-host: socket(AF_INET, SOCK_STREAM) and a non-blocking connect to the host's
/// 127.0.0.1:PORT, waiting at most 2 s. ESCAPED only if the connection completes. (Once
/// the sandbox serves AF_INET itself, socket() succeeds but the connect must not reach
/// the host; the harness separately checks that the host listener saw nothing.)
enum verdict check_tcp_host(struct detail *d)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        add_errno(d, "socket", errno);
        return V_OK;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        add_errno(d, "fcntl(O_NONBLOCK)", errno);
        close(fd);
        return V_OK;
    }
    struct sockaddr_in to = loopback(opt.host_tcp);
    enum verdict v = V_OK;
    if (connect(fd, (struct sockaddr *)&to, sizeof to) == 0) {
        add(d, "connect to 127.0.0.1:%d succeeded at once", opt.host_tcp);
        v = V_ESCAPED;
    } else if (errno != EINPROGRESS) {
        add_errno(d, "connect", errno);
    } else {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int n = poll(&p, 1, 2000);
        int err = 0;
        socklen_t len = sizeof err;
        if (n < 0) {
            add_errno(d, "poll", errno);
        } else if (n == 0) {
            add(d, "connect: EINPROGRESS, not connected after 2 s");
        } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
            add_errno(d, "getsockopt(SO_ERROR)", errno);
        } else if (err != 0) {
            add_errno(d, "connect (SO_ERROR)", err);
        } else if ((p.revents & POLLOUT) && !(p.revents & (POLLERR | POLLHUP))) {
            add(d, "connected to 127.0.0.1:%d (non-blocking connect completed)", opt.host_tcp);
            v = V_ESCAPED;
        } else {
            add(d, "connect: poll revents 0x%x with SO_ERROR 0", (unsigned)p.revents);
        }
    }
    close(fd);
    return v;
}

/// udp-host: socket(AF_INET, SOCK_DGRAM) and sendto the host's 127.0.0.1:PORT the
/// datagram "hostile-udp". Always ok: if sendto succeeds, the harness decides by looking
/// at what its host listener received.
enum verdict check_udp_host(struct detail *d)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        add_errno(d, "socket", errno);
        return V_OK;
    }
    static const char payload[] = "hostile-udp";
    struct sockaddr_in to = loopback(opt.host_udp);
    ssize_t n = sendto(fd, payload, sizeof payload - 1, 0, (struct sockaddr *)&to, sizeof to);
    if (n < 0)
        add_errno(d, "sendto", errno);
    else
        add(d, "sendto returned %zd (harness checks the host listener)", n);
    close(fd);
    return V_OK;
}

/// af-packet: socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) must fail.
enum verdict check_af_packet(struct detail *d)
{
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd < 0) {
        add_errno(d, "socket", errno);
        return V_OK;
    }
    add(d, "socket(AF_PACKET, SOCK_RAW, ETH_P_ALL) returned fd %d", fd);
    close(fd);
    return V_ESCAPED;
}

/// Appends a netlink attribute to the message `h` (whose buffer is large enough).
static void add_rtattr(struct nlmsghdr *h, unsigned short type, const void *data, size_t len)
{
    struct rtattr *rta = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
    rta->rta_type = type;
    rta->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(rta), data, len);
    h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/// netlink-route-write: on a NETLINK_ROUTE socket, send RTM_NEWROUTE
/// (REQUEST|ACK|CREATE|EXCL) for a blackhole route 203.0.113.0/24 in table main and read
/// the ack. ok if the socket cannot be opened; an ack with error 0 prints "acked (harness
/// checks the host table)": the sandbox's own rtnetlink may accept it, and only the host's
/// table tells whether it escaped.
enum verdict check_netlink_route_write(struct detail *d)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) {
        add_errno(d, "socket", errno);
        return V_OK;
    }
    union {
        struct nlmsghdr h;
        char bytes[256];
    } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
    req.h.nlmsg_type = RTM_NEWROUTE;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    req.h.nlmsg_seq = 1;
    struct rtmsg *rt = NLMSG_DATA(&req.h);
    rt->rtm_family = AF_INET;
    rt->rtm_dst_len = 24;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = RTPROT_STATIC;
    rt->rtm_scope = RT_SCOPE_UNIVERSE;
    rt->rtm_type = RTN_BLACKHOLE;
    struct in_addr dst;
    inet_pton(AF_INET, "203.0.113.0", &dst);
    add_rtattr(&req.h, RTA_DST, &dst, sizeof dst);

    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
        add_errno(d, "sendto", errno);
        close(fd);
        return V_OK;
    }
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int n = poll(&p, 1, 2000);
    if (n <= 0) {
        if (n == 0)
            add(d, "no ack within 2 s");
        else
            add_errno(d, "poll", errno);
        close(fd);
        return V_OK;
    }
    union {
        struct nlmsghdr h;
        char bytes[8192];
    } ack;
    ssize_t len = recv(fd, &ack, sizeof ack, 0);
    if (len < 0) {
        add_errno(d, "recv", errno);
        close(fd);
        return V_OK;
    }
    int found = 0;
    for (struct nlmsghdr *h = &ack.h; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_type != NLMSG_ERROR)
            continue;
        found = 1;
        int error = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
        if (error == 0)
            add(d, "acked (harness checks the host table)");
        else
            add_errno(d, "ack", -error);
        break;
    }
    if (!found)
        add(d, "reply of %zd bytes without NLMSG_ERROR", len);
    close(fd);
    return V_OK;
}

/// socketpair-inet: socketpair(AF_INET, SOCK_STREAM) must fail (Linux has no such thing;
/// a sandbox that emulated it would be handing out connected AF_INET sockets).
enum verdict check_socketpair_inet(struct detail *d)
{
    int sv[2];
    if (socketpair(AF_INET, SOCK_STREAM, 0, sv) < 0) {
        add_errno(d, "socketpair", errno);
        return V_OK;
    }
    add(d, "socketpair(AF_INET, SOCK_STREAM) returned fds %d, %d", sv[0], sv[1]);
    close(sv[0]);
    close(sv[1]);
    return V_ESCAPED;
}

