/*
 * hostile.h — what the checks of probe-hostile share: the options, a check's verdict and
 * detail line, and the checks that live outside main.c.
 */
#ifndef PROBE_HOSTILE_H
#define PROBE_HOSTILE_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/types.h>

/// Command-line options; -1 means "not given".
struct options {
    int host_tcp;
    int host_udp;
    pid_t srouter_pid;
};
extern struct options opt;

enum verdict { V_OK = 0, V_ESCAPED = 1 };

/// The text after "NAME: " on a check's line, built by appending steps separated by "; ".
struct detail {
    char text[768];
};

/// Appends a printf-formatted step to `d`.
void add(struct detail *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/// Appends "WHAT: strerror (ENAME)" to `d`.
void add_errno(struct detail *d, const char *what, int e);

/// The loopback address 127.0.0.1:port.
static inline struct sockaddr_in loopback(int port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sin;
}

/* host_network.c: the host's network stack, reached past srouter. */
enum verdict check_tcp_host(struct detail *d);
enum verdict check_udp_host(struct detail *d);
enum verdict check_af_packet(struct detail *d);
enum verdict check_netlink_route_write(struct detail *d);
enum verdict check_socketpair_inet(struct detail *d);

#endif
