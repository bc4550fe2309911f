/*
 * probe.h — shared helpers of probe-sockets (see Guest/probes/README.md).
 *
 * Every observation is one line "KEY: VALUE" on stdout. KEY is unique within a scenario
 * (the harness compares outputs key by key), VALUE is deterministic: results are "0", a
 * count, "fd", or "-1 ENAME"; ports in the ephemeral range print as EPHEMERAL.
 */
#ifndef PROBE_SOCKETS_H
#define PROBE_SOCKETS_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "errname.h"

/* Not every file uses errname(); this keeps -Wunused-function quiet. */
static const char *(*const probe_errname)(int) __attribute__((unused)) = errname;

/* The far side (the harness's peer in p1) and our own addresses, from the command line. */
struct probe_config {
    const char *peer4, *peer6, *peer_ll, *local4, *local6, *local_ll, *ifname;
    int ifindex;                 /* if_nametoindex(ifname), 0 if unknown */
    int echo_port;               /* TCP and UDP echo */
    int reflect_port;            /* UDP: answers with what it saw (ttl, tos, dst) */
    int control_port;            /* TCP: "connect HOST PORT" makes the peer connect in */
    int closed_port;             /* nothing listens (TCP RST, ICMP port unreachable) */
};
extern struct probe_config cfg;

/* Output. */
void out(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "N" for r >= 0, "-1 ENAME" otherwise (errno read on entry); prints KEY: that; returns r. */
long rep(const char *key, long r);
/* As rep, but a result >= 0 prints as "fd". */
int repfd(const char *key, int fd);
/* The text rep would print, for composing (static buffer, rotated among 8). */
const char *rstr(long r, int err);

/* Addresses. */
const char *sa_str(const void *sa, socklen_t len); /* rotating static buffers */
const char *port_str(unsigned port);
socklen_t mk4(struct sockaddr_in *sin, const char *addr, int port);
socklen_t mk6(struct sockaddr_in6 *sin6, const char *addr, int port, int scope);
socklen_t mkaddr(struct sockaddr_storage *ss, int family, const char *addr, int port, int scope);
void rep_names(const char *key, int fd);  /* KEY.getsockname / KEY.getpeername */

/* Waits. bound_ms(ms) is the timeout to use for a wait of ms: once a wait of a second or
 * more has timed out in a section (something is broken: a native run never gets there),
 * such waits are cut to 500 ms, so a broken run still ends soon. wait_timed_out(ms) records
 * a timeout. */
int bound_ms(int ms);
void wait_timed_out(int ms);

/* Readiness. */
const char *pollstr(short revents);
const char *epollstr(unsigned events);
/* poll(fd, events, ms): prints "N revents=…". */
int rep_poll(const char *key, int fd, short events, int ms);
/* Waits (≤ ms) until FIONREAD/SIOCINQ on fd reaches want; returns what it saw. */
int wait_inq(int fd, int want, int ms);
/* Waits (≤ ms) until getsockopt SO_ERROR is nonzero or POLLOUT; no output. */
void wait_out(int fd, int ms);
/* recv with a poll first (≤ ms); prints "N data=…" or the error. */
long rep_recv(const char *key, int fd, size_t len, int flags, int ms);
const char *datastr(const void *buf, long n);

/* getsockopt(int) → "N" or "-1 ENAME". */
const char *optint(int fd, int level, int name);
void sleep_ms(int ms);
void ignore_sigpipe(void);

/* Asks the peer's control port to connect to HOST:PORT; returns the control fd (read
 * "ok"/"err …" from it later with control_reply), -1 on failure (printed under KEY). */
int peer_connect_in(const char *key, int family, const char *host, int port);
void control_reply(const char *key, int ctl);

/* Sections of a scenario, each in a forked child under a 6 s alarm (see main.c):
 *   SECTION("nb4") { …observations… }
 * prints "nb4.TIMEOUT: …" if the body gets stuck, "nb4.ENDED: …" if it dies. Do not
 * `return` or `break` out of the body. */
int section_begin(const char *name);
int section_end(void);
#define SECTION(name) for (int section_ = section_begin(name); section_; section_ = section_end())

/* Scenarios. */
int scenario_tcp_connect(void);
int scenario_tcp_listen(void);
int scenario_udp(void);
int scenario_ping(void);
int scenario_raw(void);
int scenario_options(void);
int scenario_errors(void);
int scenario_ioctl(void);
int scenario_fork(void);

#endif
