/*
 * ioctl.c — scenario ioctl: the interface ioctls on an AF_INET, an AF_INET6 and an
 * AF_UNIX socket; if_nametoindex, if_indextoname, if_nameindex, getifaddrs.
 */
#include "probe.h"

#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const char *ifflags(unsigned f)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {IFF_UP, "UP"}, {IFF_BROADCAST, "BROADCAST"}, {IFF_DEBUG, "DEBUG"}, {IFF_LOOPBACK, "LOOPBACK"},
        {IFF_POINTOPOINT, "POINTOPOINT"}, {IFF_NOTRAILERS, "NOTRAILERS"}, {IFF_RUNNING, "RUNNING"},
        {IFF_NOARP, "NOARP"}, {IFF_PROMISC, "PROMISC"}, {IFF_ALLMULTI, "ALLMULTI"}, {IFF_MASTER, "MASTER"},
        {IFF_SLAVE, "SLAVE"}, {IFF_MULTICAST, "MULTICAST"}, {IFF_PORTSEL, "PORTSEL"},
        {IFF_AUTOMEDIA, "AUTOMEDIA"}, {IFF_DYNAMIC, "DYNAMIC"}, {1u << 16, "LOWER_UP"}, {1u << 17, "DORMANT"},
        {1u << 18, "ECHO"},
    };
    static char b[256];
    b[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (f & names[i].bit) {
            if (b[0])
                strcat(b, "|");
            strcat(b, names[i].name);
            f &= ~names[i].bit;
        }
    if (f)
        snprintf(b + strlen(b), 32, "%s0x%x", b[0] ? "|" : "", f);
    if (!b[0])
        strcpy(b, "0");
    return b;
}

static const char *sockaddr_raw(const struct sockaddr *sa)
{
    static char b[128];
    if (sa->sa_family == AF_INET) {
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, a, sizeof a);
        snprintf(b, sizeof b, "AF_INET %s port=%u", a, ntohs(((const struct sockaddr_in *)sa)->sin_port));
    } else {
        snprintf(b, sizeof b, "family=%u data=", sa->sa_family);
        for (int i = 0; i < 8; i++)
            snprintf(b + strlen(b), 4, "%02x", (unsigned char)sa->sa_data[i]);
    }
    return b;
}

static void by_name(const char *p, int fd, const char *name)
{
    static const struct { unsigned long req; const char *name; } reqs[] = {
        {SIOCGIFINDEX, "SIOCGIFINDEX"}, {SIOCGIFFLAGS, "SIOCGIFFLAGS"}, {SIOCGIFMTU, "SIOCGIFMTU"},
        {SIOCGIFADDR, "SIOCGIFADDR"}, {SIOCGIFNETMASK, "SIOCGIFNETMASK"}, {SIOCGIFDSTADDR, "SIOCGIFDSTADDR"},
        {SIOCGIFBRDADDR, "SIOCGIFBRDADDR"}, {SIOCGIFHWADDR, "SIOCGIFHWADDR"}, {SIOCGIFTXQLEN, "SIOCGIFTXQLEN"},
        {SIOCGIFMETRIC, "SIOCGIFMETRIC"}, {SIOCGIFMAP, "SIOCGIFMAP"},
    };
    const char *shown = name;
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        struct ifreq ifr;
        char k[200];
        memset(&ifr, 0, sizeof ifr);
        strncpy(ifr.ifr_name, name, IF_NAMESIZE - 1);
        snprintf(k, sizeof k, "%s.%s.%s", p, shown, reqs[i].name);
        long r = ioctl(fd, reqs[i].req, &ifr);
        int e = errno;
        if (r < 0) {
            out(k, "%s", rstr(r, e));
            continue;
        }
        switch (reqs[i].req) {
        case SIOCGIFINDEX: out(k, "%d", ifr.ifr_ifindex); break;
        case SIOCGIFFLAGS: out(k, "%s", ifflags((unsigned short)ifr.ifr_flags)); break;
        case SIOCGIFMTU: out(k, "%d", ifr.ifr_mtu); break;
        case SIOCGIFTXQLEN: out(k, "%d", ifr.ifr_qlen); break;
        case SIOCGIFMETRIC: out(k, "%d", ifr.ifr_metric); break;
        case SIOCGIFMAP: out(k, "mem_start=%lu base_addr=%u irq=%u", ifr.ifr_map.mem_start, ifr.ifr_map.base_addr,
                             ifr.ifr_map.irq); break;
        default: out(k, "%s", sockaddr_raw(&ifr.ifr_addr));
        }
    }
}

static void conf(const char *p, int fd)
{
    char buf[40 * 8];
    struct ifconf ic = {.ifc_len = sizeof buf, .ifc_buf = buf};
    char k[200];
    memset(buf, 0, sizeof buf);
    snprintf(k, sizeof k, "%s.SIOCGIFCONF", p);
    long r = ioctl(fd, SIOCGIFCONF, &ic);
    if (r < 0) {
        rep(k, r);
    } else {
        out(k, "%ld ifc_len=%d entries=%d", r, ic.ifc_len, ic.ifc_len / (int)sizeof(struct ifreq));
        for (int i = 0; i < ic.ifc_len / (int)sizeof(struct ifreq); i++) {
            snprintf(k, sizeof k, "%s.SIOCGIFCONF.%d", p, i);
            out(k, "%.16s %s", ic.ifc_req[i].ifr_name, sockaddr_raw(&ic.ifc_req[i].ifr_addr));
        }
    }
    ic.ifc_len = 0;
    ic.ifc_buf = NULL;
    snprintf(k, sizeof k, "%s.SIOCGIFCONF-NULL", p);
    r = ioctl(fd, SIOCGIFCONF, &ic);
    out(k, "%s ifc_len=%d", rstr(r, errno), ic.ifc_len);
    ic.ifc_len = 50;
    ic.ifc_buf = buf;
    snprintf(k, sizeof k, "%s.SIOCGIFCONF-room-for-one", p);
    r = ioctl(fd, SIOCGIFCONF, &ic);
    out(k, "%s ifc_len=%d", rstr(r, errno), ic.ifc_len);
    ic.ifc_len = 10;
    snprintf(k, sizeof k, "%s.SIOCGIFCONF-room-for-none", p);
    r = ioctl(fd, SIOCGIFCONF, &ic);
    out(k, "%s ifc_len=%d", rstr(r, errno), ic.ifc_len);
    snprintf(k, sizeof k, "%s.SIOCGIFCONF-bad-pointer", p);
    rep(k, ioctl(fd, SIOCGIFCONF, (void *)8));
}

static void per_socket(const char *p, int fd)
{
    conf(p, fd);
    for (int i = 0; i <= 3; i++) {
        struct ifreq ifr;
        char k[200];
        memset(&ifr, 0, sizeof ifr);
        ifr.ifr_ifindex = i;
        snprintf(k, sizeof k, "%s.SIOCGIFNAME-%d", p, i);
        long r = ioctl(fd, SIOCGIFNAME, &ifr);
        if (r < 0)
            rep(k, r);
        else
            out(k, "%.16s", ifr.ifr_name);
    }
    by_name(p, fd, "lo");
    by_name(p, fd, cfg.ifname);
    by_name(p, fd, "nosuchdev0");
    char k[200];
    snprintf(k, sizeof k, "%s.SIOCGIFINDEX-bad-pointer", p);
    rep(k, ioctl(fd, SIOCGIFINDEX, (void *)8));
    snprintf(k, sizeof k, "%s.SIOCSIFMTU", p);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    ifr.ifr_mtu = 1500;
    rep(k, ioctl(fd, SIOCSIFMTU, &ifr));
    snprintf(k, sizeof k, "%s.SIOCSIFFLAGS", p);
    ifr.ifr_flags = IFF_UP;
    rep(k, ioctl(fd, SIOCSIFFLAGS, &ifr));
    snprintf(k, sizeof k, "%s.SIOCGIFNAME-bad-pointer", p);
    rep(k, ioctl(fd, SIOCGIFNAME, (void *)8));
    snprintf(k, sizeof k, "%s.ioctl-0x89ff", p);
    rep(k, ioctl(fd, 0x89ff, &ifr));
}

static const char *famname(int f)
{
    static char b[16];
    switch (f) {
    case AF_INET: return "AF_INET";
    case AF_INET6: return "AF_INET6";
    case AF_PACKET: return "AF_PACKET";
    }
    snprintf(b, sizeof b, "%d", f);
    return b;
}

static const char *ifa_addr_str(const struct sockaddr *sa)
{
    static char bufs[3][128];
    static int n;
    char *b = bufs[n = (n + 1) % 3];
    char a[INET6_ADDRSTRLEN];
    if (!sa)
        return "-";
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, a, sizeof a);
        snprintf(b, 128, "%s", a);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const void *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
        snprintf(b, 128, "%s%%%u", a, s6->sin6_scope_id);
    } else if (sa->sa_family == AF_PACKET) {
        const struct sockaddr_ll *ll = (const void *)sa;
        snprintf(b, 128, "ll ifindex=%d hatype=%u halen=%u addr=", ll->sll_ifindex, ll->sll_hatype, ll->sll_halen);
        for (int i = 0; i < ll->sll_halen && i < 8; i++)
            snprintf(b + strlen(b), 4, "%02x", ll->sll_addr[i]);
    } else {
        snprintf(b, 128, "family=%u", sa->sa_family);
    }
    return b;
}

int scenario_ioctl(void)
{
    SECTION("names") {
        out("if_nametoindex.lo", "%u", if_nametoindex("lo"));
        out("if_nametoindex.if", "%u", if_nametoindex(cfg.ifname));
        errno = 0;
        unsigned x = if_nametoindex("nosuchdev0");
        out("if_nametoindex.nosuchdev0", "%u %s", x, x ? "" : errname(errno));
        for (unsigned i = 0; i <= 3; i++) {
            char name[IF_NAMESIZE], k[64];
            snprintf(k, sizeof k, "if_indextoname.%u", i);
            errno = 0;
            if (if_indextoname(i, name))
                out(k, "%s", name);
            else
                out(k, "NULL %s", errname(errno));
        }
        struct if_nameindex *ni = if_nameindex();
        if (!ni) {
            rep("if_nameindex", -1);
        } else {
            int i;
            for (i = 0; ni[i].if_index; i++) {
                char k[64];
                snprintf(k, sizeof k, "if_nameindex.%d", i);
                out(k, "%u %s", ni[i].if_index, ni[i].if_name);
            }
            out("if_nameindex.count", "%d", i);
            if_freenameindex(ni);
        }
        struct ifaddrs *ifa;
        if (getifaddrs(&ifa) < 0) {
            rep("getifaddrs", -1);
        } else {
            int i = 0;
            for (struct ifaddrs *a = ifa; a; a = a->ifa_next, i++) {
                char k[64];
                snprintf(k, sizeof k, "getifaddrs.%d", i);
                int fam = a->ifa_addr ? a->ifa_addr->sa_family : -1;
                out(k, "%s %s flags=%s addr=%s netmask=%s %s=%s", a->ifa_name, famname(fam), ifflags(a->ifa_flags),
                    ifa_addr_str(a->ifa_addr), fam == AF_PACKET ? "-" : ifa_addr_str(a->ifa_netmask),
                    a->ifa_flags & IFF_POINTOPOINT ? "dstaddr" : "broadaddr",
                    fam == AF_PACKET ? "-" : ifa_addr_str(a->ifa_broadaddr));
            }
            out("getifaddrs.count", "%d", i);
            freeifaddrs(ifa);
        }
    }
    int fd;
    SECTION("inet") {
        fd = repfd("inet.socket", socket(AF_INET, SOCK_DGRAM, 0));
        if (fd >= 0) {
            per_socket("inet", fd);
            close(fd);
        }
    }
    SECTION("inet6") {
        fd = repfd("inet6.socket", socket(AF_INET6, SOCK_DGRAM, 0));
        if (fd >= 0) {
            conf("inet6", fd);
            by_name("inet6", fd, cfg.ifname);
            close(fd);
        }
    }
    SECTION("unix") {
        fd = repfd("unix.socket", socket(AF_UNIX, SOCK_DGRAM, 0));
        if (fd >= 0) {
            per_socket("unix", fd);
            close(fd);
        }
    }
    return 0;
}
