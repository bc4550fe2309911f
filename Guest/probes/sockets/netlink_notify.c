/*
 * netlink_notify.c — scenario netlink's notification sections: what a subscribed socket
 * receives for route and address changes (whoever made them, with the writer's port id and
 * sequence number), membership before bind (no autobind, no notifications while the port is
 * 0), and ENOBUFS when its receive buffer overflows (NETLINK_NO_ENOBUFS off
 * and on).
 */
#include "probe.h"
#include "netlink_probe.h"

#include <errno.h>
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

