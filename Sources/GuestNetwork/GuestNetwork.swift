import CSRouterLinux
/// GuestNetwork serves a guest's AF_INET and AF_INET6 sockets from srouter's `NetworkStack`.
///
/// Each guest socket is a real descriptor in the guest — one end of an AF_UNIX pair (or an
/// AF_UNIX listener) injected with `SECCOMP_IOCTL_NOTIF_ADDFD` — so reads, writes, poll and
/// close stay native; only the control calls trap (DESIGN §3). `ABI/` holds the Linux layouts
/// (sockaddr, msghdr, cmsg, option values) and their checks, in Linux's order.
public enum GuestNetwork {}
