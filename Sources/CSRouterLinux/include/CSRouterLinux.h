// CSRouterLinux: the parts of the Linux ABI that Swift cannot import directly.
//
// - seccomp user-notification ioctls (SECCOMP_IOCTL_NOTIF_*) as functions, because the ioctl
//   request macros are not importable;
// - constants newer than Debian 12's kernel headers (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP,
//   SECCOMP_IOCTL_NOTIF_SET_FLAGS, PIDFD_THREAD);
// - pidfd system calls by number (glibc 2.36 wraps only some of them);
// - cmsg(3) macros as functions;
// - the guest launcher (launcher.c): the fork/exec path that must only make
//   async-signal-safe calls.
//
// Every symbol is prefixed `srouter_` (or `SROUTER_` for constants).
#ifndef CSROUTERLINUX_H
#define CSROUTERLINUX_H

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

// MARK: - Constants Debian 12's headers lack

/// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (Linux 6.6): wake the supervisor on the same CPU.
#define SROUTER_SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1ULL
/// `PIDFD_THREAD` (Linux 6.9): `pidfd_open` on a thread id rather than a thread-group leader.
#define SROUTER_PIDFD_THREAD 0200 /* O_EXCL */
/// The native audit architecture this build serves (`AUDIT_ARCH_X86_64` on x86_64).
#if defined(__x86_64__)
#define SROUTER_AUDIT_ARCH_NATIVE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SROUTER_AUDIT_ARCH_NATIVE AUDIT_ARCH_AARCH64
#else
#error "srouter supports x86_64 and aarch64"
#endif

static const uint32_t srouter_audit_arch_native = SROUTER_AUDIT_ARCH_NATIVE;
static const uint32_t srouter_seccomp_user_notif_flag_continue = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
static const uint32_t srouter_seccomp_addfd_flag_send = SECCOMP_ADDFD_FLAG_SEND;
static const uint32_t srouter_seccomp_addfd_flag_setfd = SECCOMP_ADDFD_FLAG_SETFD;

// MARK: - seccomp user notification

/// Receives one notification (`SECCOMP_IOCTL_NOTIF_RECV`). Returns 0 or -errno.
/// `ENOENT` means the guest thread went away (signal or death) between poll and receive.
int srouter_notif_recv(int listener, struct seccomp_notif *req);
/// Answers a notification (`SECCOMP_IOCTL_NOTIF_SEND`). Returns 0 or -errno (`ENOENT`: the
/// notification is no longer pending; the guest was interrupted or died).
int srouter_notif_send(int listener, const struct seccomp_notif_resp *resp);
/// `SECCOMP_IOCTL_NOTIF_ID_VALID`: 0 while the notification is still pending, -ENOENT after.
int srouter_notif_id_valid(int listener, uint64_t id);
/// `SECCOMP_IOCTL_NOTIF_ADDFD`: installs `srcfd` into the guest. Returns the guest's fd number
/// (or, with `SECCOMP_ADDFD_FLAG_SEND`, answers the notification with it) or -errno.
int srouter_notif_addfd(int listener, const struct seccomp_notif_addfd *addfd);
/// `SECCOMP_IOCTL_NOTIF_SET_FLAGS` (Linux 6.6). Returns 0 or -errno (-EINVAL/-ENOTTY before 6.6).
int srouter_notif_set_flags(int listener, uint64_t flags);
/// `SECCOMP_GET_NOTIF_SIZES`: the kernel's sizes of the notification structures.
int srouter_notif_sizes(struct seccomp_notif_sizes *sizes);

// MARK: - pidfd

/// `pidfd_open(2)`; pass `SROUTER_PIDFD_THREAD` for a thread id. Returns an fd or -errno.
int srouter_pidfd_open(pid_t pid, unsigned int flags);
/// `pidfd_getfd(2)`: a copy of another process's fd. Returns an fd or -errno.
int srouter_pidfd_getfd(int pidfd, int targetfd);
/// `pidfd_send_signal(2)`. Returns 0 or -errno.
int srouter_pidfd_send_signal(int pidfd, int sig);

// MARK: - GNU extensions (declared only under _GNU_SOURCE, which Swift's Glibc lacks)

/// `memfd_create(2)` with MFD_CLOEXEC. Returns an fd or -errno.
int srouter_memfd_create(const char *name);
/// `pipe2(2)` with O_CLOEXEC. Returns 0 or -errno.
int srouter_pipe_cloexec(int fds[2]);
/// `process_vm_readv(2)` of one local and one remote buffer. Bytes read, or -errno.
long srouter_process_vm_read(pid_t pid, void *local, size_t count, uint64_t remote);
/// `process_vm_writev(2)` of one local and one remote buffer. Bytes written, or -errno.
long srouter_process_vm_write(pid_t pid, const void *local, size_t count, uint64_t remote);
/// The most remote ranges one `srouter_process_vm_*_segments` call takes (UIO_MAXIOV).
#define SROUTER_VM_SEGMENTS_MAX 1024
/// One process_vm_writev of `local` (the segments' bytes back to back) to `count` (≤
/// SROUTER_VM_SEGMENTS_MAX) remote ranges of `lengths[i]` bytes at `remote[i]`, in order, a
/// range that continues the one before joined to it: the bytes written (fewer when a range is
/// bad) or -errno (-E2BIG for too many segments).
long srouter_process_vm_write_segments(pid_t pid, const void *local, const uint64_t *remote,
                                       const size_t *lengths, size_t count);
/// One process_vm_readv of `count` (≤ SROUTER_VM_SEGMENTS_MAX) remote ranges of
/// `lengths[i]` bytes at `remote[i]` into `local`, back to back, ranges joined as the write
/// joins them: the bytes read (fewer when a range is bad) or -errno (-E2BIG for too many segments).
long srouter_process_vm_read_segments(pid_t pid, void *local, const uint64_t *remote,
                                      const size_t *lengths, size_t count);

/// `prctl(PR_SET_DUMPABLE, 0)`: no process of the same uid may ptrace srouter, open its
/// /proc/PID/mem, or read its environment — the guest included.
int srouter_make_undumpable(void);
/// `prctl(PR_SET_CHILD_SUBREAPER, 1)`: orphans of descendants are reparented to the caller.
int srouter_become_subreaper(void);

/// `accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)`. Returns an fd or -errno.
int srouter_accept_nonblocking(int fd);

// MARK: - Batched UDP (recvmmsg/sendmmsg)

/// One datagram of a batch: a caller-owned buffer and its peer address.
struct srouter_datagram {
    uint8_t *data;                    ///< the buffer
    uint32_t capacity;                ///< its size
    uint32_t length;                  ///< bytes received, or to send
    struct sockaddr_storage address;  ///< source (receive) or destination (send)
    socklen_t address_length;
    int truncated;                    ///< received with MSG_TRUNC: longer than capacity
    uint32_t segment_size;            ///< UDP GRO: received datagrams of this size each, coalesced (0: one)
};

/// The most datagrams one batch call handles.
#define SROUTER_BATCH_MAX 64

/// recvmmsg(2) without blocking into up to `count` (≤ SROUTER_BATCH_MAX) datagrams. Returns
/// how many arrived (0 if none was waiting) or -errno.
int srouter_receive_batch(int fd, struct srouter_datagram *batch, int count);
/// sendmmsg(2) of `count` (≤ SROUTER_BATCH_MAX) datagrams. Returns how many were sent or -errno.
int srouter_send_batch(int fd, struct srouter_datagram *batch, int count);
/// As `srouter_receive_batch` on a socket with UDP_GRO on: a received buffer may hold several
/// datagrams of one sender coalesced, each `segment_size` bytes (the last may be shorter).
int srouter_receive_batch_coalesced(int fd, struct srouter_datagram *batch, int count);
/// UDP_GRO on (1) for `fd`: 0 or -errno (a kernel without it: -ENOPROTOOPT).
int srouter_enable_udp_gro(int fd);
/// As `srouter_send_batch`, with each run of datagrams to one destination that share a size
/// (a shorter last one too; at most 64, under 65,000 bytes) sent as one UDP_SEGMENT (GSO)
/// message. Returns how many datagrams were sent, or -errno when the first run failed, with
/// its length in `*failed_run` and whether it was segmented in `*failed_segmented`.
int srouter_send_batch_segmented(int fd, struct srouter_datagram *batch, int count,
                                 int *failed_run, int *failed_segmented);

// MARK: - Signals

/// Blocks `signals` in the calling thread (and so in threads it creates later). 0 or -errno.
int srouter_block_signals(const int *signals, int count);
/// A non-blocking, close-on-exec signalfd for `signals`. Returns the fd or -errno.
int srouter_signalfd(const int *signals, int count);
/// Reads one `signalfd_siginfo`: the signal number and the sender's pid. 0, -EAGAIN or -errno.
int srouter_signalfd_read(int fd, int *signo, pid_t *sender, int *code);

// MARK: - cmsg(3) macros

/// `CMSG_FIRSTHDR`.
struct cmsghdr *srouter_cmsg_firsthdr(const struct msghdr *msg);
/// `CMSG_NXTHDR`.
struct cmsghdr *srouter_cmsg_nxthdr(const struct msghdr *msg, const struct cmsghdr *cmsg);
/// `CMSG_DATA`.
unsigned char *srouter_cmsg_data(const struct cmsghdr *cmsg);
/// `CMSG_SPACE`.
size_t srouter_cmsg_space(size_t length);
/// `CMSG_LEN`.
size_t srouter_cmsg_len(size_t length);

// MARK: - Guest sockets (guest_sockets.c)

#include <sys/un.h>

/// A close-on-exec AF_UNIX stream socket autobound to a unique abstract name and listening
/// with `backlog`; its name in `name`. Returns the fd or -errno.
int srouter_unix_listener(int backlog, int nonblocking, struct sockaddr_un *name, socklen_t *name_length);
/// A non-blocking, close-on-exec AF_UNIX stream socket connected to `name`. Returns the fd
/// or -errno (`EAGAIN`: the listener's backlog is full; `ECONNREFUSED`: nobody listens).
int srouter_unix_connect(const struct sockaddr_un *name, socklen_t name_length);
/// A fresh, unconnected, close-on-exec AF_UNIX stream socket: what the guest holds for a TCP
/// socket before connect or listen (it polls OUT|HUP, as an unconnected TCP socket does).
/// Returns the fd or -errno.
int srouter_unix_stream_socket(int nonblocking);
/// Connects the unconnected AF_UNIX stream socket `fd` (a copy of the guest's file) to a
/// private listener and returns the accepted, non-blocking, close-on-exec other end, or -errno.
int srouter_unix_connect_through(int fd);
/// Makes the unconnected AF_UNIX stream socket `fd` a listener in place: autobinds it to a
/// unique abstract name (returned in `name`) and listens with `backlog`. 0 or -errno.
int srouter_unix_listen_in_place(int fd, int backlog, struct sockaddr_un *name, socklen_t *name_length);
/// Reads (and so clears, as sock_error does) `fd`'s pending socket error: the error or -errno.
int srouter_clear_socket_error(int fd);
/// The inode number of `fd`'s file (a socket's `socket:[INODE]`), or -errno.
int64_t srouter_inode_of(int fd);
/// Asks NETLINK_SOCK_DIAG whether an AF_UNIX socket with `inode` still exists: 1, 0, or -errno.
/// Side-effect free, unlike connecting to it.
int srouter_unix_socket_exists(uint64_t inode);
/// The send-buffer memory of the AF_UNIX socket with `inode` (NETLINK_SOCK_DIAG,
/// UDIAG_SHOW_MEMINFO): `allocated` is its sk_wmem_alloc — the truesize of what it wrote
/// that the peer has not read, which `unix_writable` and SIOCOUTQ measure — and `limit` its
/// sk_sndbuf. 0, or -errno.
int srouter_unix_send_memory(uint64_t inode, uint32_t *allocated, uint32_t *limit);
/// Reads (at most `discard_length` bytes into `discard`) and then writes `data` on the
/// non-blocking socket `fd`, both within one io_uring_enter, so nothing of the peer's runs
/// between the wakeups the two cause; two plain calls when io_uring is unavailable. The
/// results (bytes or -errno) go to `read_result` and `write_result`.
void srouter_read_then_write(int fd, void *discard, size_t discard_length, const void *data,
                             size_t data_length, ssize_t *read_result, ssize_t *write_result);

// MARK: - The guest launcher (launcher.c)

/// What the launcher reports on its status pipe (`srouter_launch_record.kind`).
enum srouter_launch_kind {
    /// The guest installed its filter; `value` is its listener fd number, `pid` the guest.
    SROUTER_LAUNCH_READY = 1,
    /// A step failed; `stage` names it and `value` is the errno.
    SROUTER_LAUNCH_FAILED = 2,
    /// Guard: a child was reaped; `pid`, `value` = wait status, `stage` = 1 if others remain.
    SROUTER_LAUNCH_REAPED = 3,
};

/// The step of the launch that a `SROUTER_LAUNCH_FAILED` record names.
enum srouter_launch_stage {
    SROUTER_STAGE_FORK = 1,
    SROUTER_STAGE_PDEATHSIG,
    SROUTER_STAGE_SETPGID,
    SROUTER_STAGE_CAPS,
    SROUTER_STAGE_NO_NEW_PRIVS,
    SROUTER_STAGE_SECCOMP,
    SROUTER_STAGE_HANDOFF,
    SROUTER_STAGE_EXEC,
    SROUTER_STAGE_STDIO,
};

/// One fixed-size record on a launcher or guard pipe (written atomically: < PIPE_BUF).
struct srouter_launch_record {
    int32_t kind;
    int32_t stage;
    int32_t pid;
    int32_t value;
};

/// Everything the launcher needs, prepared by srouter before `fork`, so the child allocates
/// nothing and calls only async-signal-safe functions.
struct srouter_launch_spec {
    const char *path;          ///< the resolved executable
    char *const *argv;         ///< NULL-terminated
    char *const *envp;         ///< NULL-terminated
    struct sock_fprog refusals;  ///< installed first: what srouter refuses (no listener)
    struct sock_fprog filter;    ///< the policy and the served calls (with the listener)
    int give_terminal;         ///< make the guest the terminal's foreground process group
    int terminal_fd;           ///< the terminal (stdin) when give_terminal is set
    int last_cap;              ///< /proc/sys/kernel/cap_last_cap
    int status_fd;             ///< launcher/guard → srouter records (write end)
    int ack_fd;                ///< srouter → launcher: one byte once the listener is taken
    int control_fd;            ///< srouter → guard: commands; EOF means "kill every guest"
    int stdio_fds[3];          ///< the guest's stdin, stdout, stderr (-1: srouter's own)
    const char *directory;     ///< the guest's working directory (NULL: srouter's)
};

/// Forks the guard and, from it, the guest (see launcher.c). Returns the guard's pid or -errno.
/// The guest's pid and its listener fd arrive as a `SROUTER_LAUNCH_READY` record on
/// `spec->status_fd`, and exits as `SROUTER_LAUNCH_REAPED` records.
pid_t srouter_spawn_guest(const struct srouter_launch_spec *spec);

/// Guard control commands (`int32_t` pairs written by srouter on `control_fd`).
enum srouter_guard_command {
    /// Send signal `argument` to every direct child of the guard (the guest and its orphans).
    SROUTER_GUARD_SIGNAL = 1,
};

#endif
