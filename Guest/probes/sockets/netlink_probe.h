/*
 * netlink_probe.h — the request builders and receive helpers of scenario netlink
 * (netlink.c), shared with its notification sections (netlink_notify.c).
 */
#ifndef PROBE_NETLINK_H
#define PROBE_NETLINK_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

/* One request being built. */
struct req {
    union {
        struct nlmsghdr h;
        char b[2048];
    };
};

/* The name of the last datagram recv_dgram took, and its length. */
extern struct sockaddr_nl last_from;
extern socklen_t last_namelen;

int nl_socket(void);
socklen_t nladdr(struct sockaddr_nl *sa, unsigned pid, unsigned groups);
unsigned port_of(int fd);
/* KEY: getsockname's length, family, pad, whether the port is set, and the groups. */
void rep_name(const char *key, int fd);
long send_req(int fd, struct req *r);
long recv_dgram(int fd, void *buf, size_t len, int flags, int ms);
const char *hex(const void *p_, int n);
void print_attrs(char *b, size_t room, int type, const struct rtattr *a, int len);
void drain(int fd);
void quiet(const char *key, int fd, struct req *r);
void route_req(struct req *r, int type, int flags, int seq, int family, const char *dst, int len,
               const char *gw);
void addr_req(struct req *r, int type, int flags, int seq, const char *addr, int len);

#endif
