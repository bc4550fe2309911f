/*
 * netlink_notify.c — scenario netlink's notification sections: what a subscribed socket
 * receives for route and address changes (whoever made them, with the writer's port id and
 * sequence number), membership before bind (no autobind, no notifications while the port is
 * 0), classic BPF socket filters (SO_ATTACH_FILTER's checks, a filter that drops and one that
 * cuts, SO_GET_FILTER, SO_DETACH_FILTER, SO_LOCK_FILTER), and ENOBUFS when its receive buffer overflows (NETLINK_NO_ENOBUFS off
 * and on).
 */
#include "probe.h"
#include "netlink_probe.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <string.h>
#include <unistd.h>

#ifndef NETLINK_NO_ENOBUFS
#define NETLINK_NO_ENOBUFS 5
#endif

static void describe_note(char *b, size_t room, struct nlmsghdr *h)
{
    if (h->nlmsg_type == RTM_NEWROUTE || h->nlmsg_type == RTM_DELROUTE) {
        struct rtmsg *rt = NLMSG_DATA(h);
        snprintf(b, room, "route hdr=%s attrs:", hex(rt, sizeof *rt));
        print_attrs(b, room, RTM_NEWROUTE, RTM_RTA(rt), RTM_PAYLOAD(h));
    } else if (h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR) {
        struct ifaddrmsg *ifa = NLMSG_DATA(h);
        snprintf(b, room, "addr hdr=%s attrs:", hex(ifa, sizeof *ifa));
        print_attrs(b, room, RTM_NEWADDR, IFA_RTA(ifa), IFA_PAYLOAD(h));
    } else if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) {
        struct ifinfomsg *ifi = NLMSG_DATA(h);
        snprintf(b, room, "link index=%d flags=0x%x change=0x%x", ifi->ifi_index, ifi->ifi_flags, ifi->ifi_change);
    } else {
        snprintf(b, room, "other");
    }
}

void notifications(void)
{
    int l = nl_socket(), w = nl_socket();
    struct sockaddr_nl sa;
    struct req r;
    char buf[8192];
    rep("bind-listener", bind(l, (struct sockaddr *)&sa,
                              nladdr(&sa, 0, RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_IFADDR | RTMGRP_LINK)));
    route_req(&r, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 50, AF_INET, "10.99.2.0", 24, NULL);
    quiet("w.add4", w, &r);
    unsigned pw = port_of(w);
    route_req(&r, RTM_DELROUTE, NLM_F_ACK, 51, AF_INET, "10.99.2.0", 24, NULL);
    quiet("w.del4", w, &r);
    route_req(&r, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 52, AF_INET6, "fd99:2::", 64, NULL);
    quiet("w.add6", w, &r);
    route_req(&r, RTM_DELROUTE, NLM_F_ACK, 53, AF_INET6, "fd99:2::", 64, NULL);
    quiet("w.del6", w, &r);
    addr_req(&r, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 54, "10.99.3.1", 32);
    quiet("w.addaddr", w, &r);
    addr_req(&r, RTM_DELADDR, NLM_F_ACK, 55, "10.99.3.1", 32);
    quiet("w.deladdr", w, &r);
    /* A route added with a request that sets no sequence number and a native write. */
    route_req(&r, RTM_NEWROUTE, NLM_F_CREATE, 0, AF_INET, "10.99.2.0", 25, NULL);
    send_req(w, &r);
    sleep_ms(100);
    route_req(&r, RTM_DELROUTE, 0, 0, AF_INET, "10.99.2.0", 25, NULL);
    send_req(w, &r);
    for (int i = 0; i < 40; i++) {
        char k[64];
        long n = recv_dgram(l, buf, sizeof buf, 0, i == 0 ? 1000 : 300);
        if (n < 0) {
            snprintf(k, sizeof k, "note.%d", i);
            rep(k, n);
            break;
        }
        int j = 0;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n), j++) {
            char d[2000];
            describe_note(d, sizeof d, h);
            snprintf(k, sizeof k, "note.%d.%d", i, j);
            out(k, "type=%u flags=0x%x seq=%u pid=%s groups=0x%x namelen=%u from=%u %s", h->nlmsg_type, h->nlmsg_flags,
                h->nlmsg_seq, h->nlmsg_pid == pw ? "writer" : h->nlmsg_pid == 0 ? "0" : "other", last_from.nl_groups,
                (unsigned)last_namelen, last_from.nl_pid, d);
        }
    }
    drain(w);
    close(l), close(w);
}

/* NETLINK_ADD_MEMBERSHIP on a fresh socket does not bind it (netlink_setsockopt), so a bind
 * with pid 0 still autobinds it (zebra's order); until then the kernel's notifications skip
 * it (netlink_broadcast excludes port 0, the requester's when not echoing). */
void unbound_member(void)
{
    int m = nl_socket(), w = nl_socket();
    struct sockaddr_nl sa;
    struct req r;
    char buf[8192];
    int grp = RTNLGRP_IPV4_ROUTE;
    rep("member.add", setsockopt(m, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof grp));
    rep_name("member.name-after-add", m);
    route_req(&r, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 70, AF_INET, "10.99.4.0", 24, NULL);
    quiet("member.w.add", w, &r);
    long n = recv_dgram(m, buf, sizeof buf, 0, 300);
    out("member.unbound-note", "%s", n > 0 ? "a message" : rstr(n, errno));
    rep("member.bind", bind(m, (struct sockaddr *)&sa, nladdr(&sa, 0, RTMGRP_LINK | RTMGRP_IPV4_ROUTE)));
    rep_name("member.name-bound", m);
    route_req(&r, RTM_DELROUTE, NLM_F_ACK, 71, AF_INET, "10.99.4.0", 24, NULL);
    quiet("member.w.del", w, &r);
    n = recv_dgram(m, buf, sizeof buf, 0, 1000);
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    out("member.bound-note", "%s", n > 0 ? (h->nlmsg_type == RTM_DELROUTE ? "DELROUTE" : "another") : rstr(n, errno));
    close(m), close(w);
}

/* One route change by w; then what l hears: each datagram's type and length, until quiet. */
static void hear(const char *key, int l, int w, int type, int seq, const char *net)
{
    struct req r;
    char buf[8192], k[64];
    route_req(&r, type, NLM_F_ACK | (type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0), seq, AF_INET, net, 24, NULL);
    snprintf(k, sizeof k, "%s.w", key);
    quiet(k, w, &r);
    for (int i = 0; i < 4; i++) {
        long n = recv_dgram(l, buf, sizeof buf, 0, 300);
        snprintf(k, sizeof k, "%s.%d", key, i);
        if (n < 0) {
            rep(k, n);
            break;
        }
        struct nlmsghdr *h = (struct nlmsghdr *)buf;
        out(k, "len=%ld type=%s", n, n >= 6 ? (h->nlmsg_type == RTM_NEWROUTE ? "NEWROUTE" : h->nlmsg_type == RTM_DELROUTE ? "DELROUTE" : "other") : "short");
    }
}

static int attach(int fd, struct sock_filter *code, unsigned short len)
{
    struct sock_fprog prog = {.len = len, .filter = code};
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
}

/* Classic BPF on a netlink socket: every datagram it would queue is run through the filter
 * (sk_filter); 0 drops it, a smaller length cuts it. */
void filters(void)
{
    int l = nl_socket(), w = nl_socket();
    struct sockaddr_nl sa;
    bind(l, (struct sockaddr *)&sa, nladdr(&sa, 0, RTMGRP_IPV4_ROUTE));
    /* Drop RTM_NEWROUTE (its type, loaded big-endian, is 0x1800), keep the rest. */
    struct sock_filter drop_new[] = {
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RTM_NEWROUTE << 8, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0),
        BPF_STMT(BPF_RET | BPF_K, 0xffff),
    };
    struct sock_filter bad[] = {BPF_STMT(0xff, 0), BPF_STMT(BPF_RET | BPF_K, 0)};
    struct sock_filter no_ret[] = {BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0)};
    struct sock_filter cut[] = {BPF_STMT(BPF_RET | BPF_K, 20)};
    struct sock_fprog prog = {.len = 4, .filter = drop_new};
    rep("filter.short-optlen", setsockopt(l, SOL_SOCKET, SO_ATTACH_FILTER, &prog, 8));
    rep("filter.empty", attach(l, drop_new, 0));
    rep("filter.null", attach(l, NULL, 1));
    rep("filter.unmapped", attach(l, (struct sock_filter *)8, 1));
    rep("filter.bad-opcode", attach(l, bad, 2));
    rep("filter.no-return", attach(l, no_ret, 1));
    rep("filter.detach-none", setsockopt(l, SOL_SOCKET, SO_DETACH_FILTER, &(int){0}, sizeof(int)));
    rep("filter.attach", attach(l, drop_new, 4));
    socklen_t len = 0;
    rep("filter.get-count", getsockopt(l, SOL_SOCKET, SO_GET_FILTER, NULL, &len));
    out("filter.get-count.len", "%u", (unsigned)len);
    struct sock_filter back[8];
    len = 8;
    rep("filter.get", getsockopt(l, SOL_SOCKET, SO_GET_FILTER, back, &len));
    out("filter.get.same", "len=%u %s", (unsigned)len, len == 4 && !memcmp(back, drop_new, sizeof drop_new) ? "same" : "other");
    hear("filter.add", l, w, RTM_NEWROUTE, 80, "10.99.5.0");
    hear("filter.del", l, w, RTM_DELROUTE, 81, "10.99.5.0");
    rep("filter.replace", attach(l, cut, 1));
    hear("filter.cut", l, w, RTM_NEWROUTE, 82, "10.99.5.0");
    rep("filter.detach", setsockopt(l, SOL_SOCKET, SO_DETACH_FILTER, &(int){0}, sizeof(int)));
    hear("filter.none", l, w, RTM_DELROUTE, 83, "10.99.5.0");
    rep("filter.lock", setsockopt(l, SOL_SOCKET, SO_LOCK_FILTER, &(int){1}, sizeof(int)));
    out("filter.lock.value", "%s", optint(l, SOL_SOCKET, SO_LOCK_FILTER));
    rep("filter.attach-locked", attach(l, drop_new, 4));
    rep("filter.unlock", setsockopt(l, SOL_SOCKET, SO_LOCK_FILTER, &(int){0}, sizeof(int)));
    close(l), close(w);
}

void overruns(void)
{
    int w = nl_socket();
    struct req r;
    char buf[8192];
    char net[32];
    for (int pass = 0; pass < 2; pass++) {
        const char *p = pass ? "no-enobufs" : "enobufs";
        char k[64];
        int l = nl_socket();
        struct sockaddr_nl sa;
        int small = 1;
        setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        if (pass) {
            int one = 1;
            snprintf(k, sizeof k, "%s.set", p);
            rep(k, setsockopt(l, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one));
        }
        bind(l, (struct sockaddr *)&sa, nladdr(&sa, 0, RTMGRP_IPV4_ROUTE));
        for (int i = 0; i < 40; i++) {
            snprintf(net, sizeof net, "10.98.%d.0", i);
            route_req(&r, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 60 + i, AF_INET, net, 24, NULL);
            quiet("w.add", w, &r);
        }
        long n = recv_dgram(l, buf, sizeof buf, 0, 300);
        snprintf(k, sizeof k, "%s.first", p);
        out(k, "%s", n > 0 ? "a message" : rstr(n, errno));
        int got = n > 0;
        while ((n = recv_dgram(l, buf, sizeof buf, 0, 0)) > 0)
            got++;
        snprintf(k, sizeof k, "%s.then", p);
        out(k, "some=%d fewer-than-sent=%d end=%s", got > 0, got < 40, rstr(n, errno));
        for (int i = 0; i < 40; i++) {
            snprintf(net, sizeof net, "10.98.%d.0", i);
            route_req(&r, RTM_DELROUTE, NLM_F_ACK, 200 + i, AF_INET, net, 24, NULL);
            quiet("w.del", w, &r);
        }
        n = recv_dgram(l, buf, sizeof buf, 0, 300);
        snprintf(k, sizeof k, "%s.after-deletes", p);
        out(k, "%s", n > 0 ? "a message" : rstr(n, errno));
        close(l);
    }
    close(w);
}

