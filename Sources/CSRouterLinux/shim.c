// Thin functions over the ioctls, system calls and macros that Swift cannot import.
#define _GNU_SOURCE
#include "CSRouterLinux.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif

static int negative_errno(long result) { return result < 0 ? -errno : (int)result; }

int srouter_notif_recv(int listener, struct seccomp_notif *req) {
    // The kernel insists on a zeroed buffer (EINVAL otherwise).
    __builtin_memset(req, 0, sizeof *req);
    return negative_errno(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req));
}

int srouter_notif_send(int listener, const struct seccomp_notif_resp *resp) {
    return negative_errno(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp));
}

int srouter_notif_id_valid(int listener, uint64_t id) {
    return negative_errno(ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id));
}

int srouter_notif_addfd(int listener, const struct seccomp_notif_addfd *addfd) {
    return negative_errno(ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, addfd));
}

int srouter_notif_set_flags(int listener, uint64_t flags) {
    return negative_errno(ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags));
}

int srouter_notif_sizes(struct seccomp_notif_sizes *sizes) {
    return negative_errno(syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, sizes));
}

int srouter_pidfd_open(pid_t pid, unsigned int flags) {
    return negative_errno(syscall(SYS_pidfd_open, pid, flags));
}

int srouter_pidfd_getfd(int pidfd, int targetfd) {
    return negative_errno(syscall(SYS_pidfd_getfd, pidfd, targetfd, 0));
}

int srouter_pidfd_send_signal(int pidfd, int sig) {
    return negative_errno(syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0));
}

static void fill_set(sigset_t *set, const int *signals, int count) {
    sigemptyset(set);
    for (int i = 0; i < count; i++) sigaddset(set, signals[i]);
}

int srouter_block_signals(const int *signals, int count) {
    sigset_t set;
    fill_set(&set, signals, count);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    return rc == 0 ? 0 : -rc;
}

int srouter_signalfd(const int *signals, int count) {
    sigset_t set;
    fill_set(&set, signals, count);
    return negative_errno(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
}

int srouter_signalfd_read(int fd, int *signo, pid_t *sender, int *code) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n < 0) return -errno;
    if (n != (ssize_t)sizeof info) return -EIO;
    *signo = (int)info.ssi_signo;
    *sender = (pid_t)info.ssi_pid;
    *code = info.ssi_code;
    return 0;
}

struct cmsghdr *srouter_cmsg_firsthdr(const struct msghdr *msg) {
    return CMSG_FIRSTHDR((struct msghdr *)msg);
}

struct cmsghdr *srouter_cmsg_nxthdr(const struct msghdr *msg, const struct cmsghdr *cmsg) {
    return CMSG_NXTHDR((struct msghdr *)msg, (struct cmsghdr *)cmsg);
}

unsigned char *srouter_cmsg_data(const struct cmsghdr *cmsg) {
    return CMSG_DATA((struct cmsghdr *)cmsg);
}

size_t srouter_cmsg_space(size_t length) { return CMSG_SPACE(length); }

size_t srouter_cmsg_len(size_t length) { return CMSG_LEN(length); }

int srouter_memfd_create(const char *name) {
    return negative_errno(memfd_create(name, MFD_CLOEXEC));
}

int srouter_pipe_cloexec(int fds[2]) { return negative_errno(pipe2(fds, O_CLOEXEC)); }

long srouter_process_vm_read(pid_t pid, void *local, size_t count, uint64_t remote) {
    struct iovec l = {local, count};
    struct iovec r = {(void *)(uintptr_t)remote, count};
    ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);
    return n < 0 ? -errno : n;
}

long srouter_process_vm_write(pid_t pid, const void *local, size_t count, uint64_t remote) {
    struct iovec l = {(void *)local, count};
    struct iovec r = {(void *)(uintptr_t)remote, count};
    ssize_t n = process_vm_writev(pid, &l, 1, &r, 1, 0);
    return n < 0 ? -errno : n;
}

/// The remote iovecs of a segmented transfer, each range that continues the one before merged
/// into it (`process_vm_rw_core` pins the pages of every remote iovec on its own, so a msghdr's
/// fields written as one range cost one page walk, not three); sets `*merged` to how many
/// iovecs that leaves and returns the local buffer's total length.
static size_t remote_vectors(struct iovec *r, const uint64_t *remote, const size_t *lengths, size_t count,
                             size_t *merged) {
    size_t total = 0, n = 0;
    for (size_t i = 0; i < count; i++) {
        total += lengths[i];
        if (n > 0 && (uintptr_t)r[n - 1].iov_base + r[n - 1].iov_len == (uintptr_t)remote[i]) {
            r[n - 1].iov_len += lengths[i];
            continue;
        }
        r[n].iov_base = (void *)(uintptr_t)remote[i];
        r[n].iov_len = lengths[i];
        n++;
    }
    *merged = n;
    return total;
}

long srouter_process_vm_write_segments(pid_t pid, const void *local, const uint64_t *remote,
                                       const size_t *lengths, size_t count) {
    struct iovec r[SROUTER_VM_SEGMENTS_MAX];
    if (count > SROUTER_VM_SEGMENTS_MAX) return -E2BIG;
    size_t merged;
    struct iovec l = {(void *)local, remote_vectors(r, remote, lengths, count, &merged)};
    ssize_t n = process_vm_writev(pid, &l, 1, r, merged, 0);
    return n < 0 ? -errno : n;
}

long srouter_process_vm_read_segments(pid_t pid, void *local, const uint64_t *remote,
                                      const size_t *lengths, size_t count) {
    struct iovec r[SROUTER_VM_SEGMENTS_MAX];
    if (count > SROUTER_VM_SEGMENTS_MAX) return -E2BIG;
    size_t merged;
    struct iovec l = {local, remote_vectors(r, remote, lengths, count, &merged)};
    ssize_t n = process_vm_readv(pid, &l, 1, r, merged, 0);
    return n < 0 ? -errno : n;
}

int srouter_become_subreaper(void) { return negative_errno(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)); }

int srouter_make_undumpable(void) { return negative_errno(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)); }

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/// recvmmsg into `batch`; with `gro`, each message's UDP_GRO cmsg gives its `segment_size`.
/// Without, no control buffer is offered at all (a netlink pair's peer could pass
/// descriptors with SCM_RIGHTS: offered no room, the kernel discards them).
static int receive_batch(int fd, struct srouter_datagram *batch, int count, int gro) {
    if (count > SROUTER_BATCH_MAX) count = SROUTER_BATCH_MAX;
    struct mmsghdr headers[SROUTER_BATCH_MAX];
    struct iovec vectors[SROUTER_BATCH_MAX];
    union {
        char bytes[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control[SROUTER_BATCH_MAX];
    for (int i = 0; i < count; i++) {
        vectors[i].iov_base = batch[i].data;
        vectors[i].iov_len = batch[i].capacity;
        __builtin_memset(&headers[i], 0, sizeof headers[i]);
        headers[i].msg_hdr.msg_iov = &vectors[i];
        headers[i].msg_hdr.msg_iovlen = 1;
        headers[i].msg_hdr.msg_name = &batch[i].address;
        headers[i].msg_hdr.msg_namelen = sizeof batch[i].address;
        if (gro) {
            headers[i].msg_hdr.msg_control = control[i].bytes;
            headers[i].msg_hdr.msg_controllen = sizeof control[i].bytes;
        }
    }
    int n;
    do {
        n = recvmmsg(fd, headers, (unsigned int)count, MSG_DONTWAIT, NULL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        batch[i].length = headers[i].msg_len;
        batch[i].address_length = headers[i].msg_hdr.msg_namelen;
        batch[i].truncated = (headers[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
        batch[i].segment_size = 0;
        if (!gro) continue;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&headers[i].msg_hdr); c; c = CMSG_NXTHDR(&headers[i].msg_hdr, c)) {
            if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
                int size;
                __builtin_memcpy(&size, CMSG_DATA(c), sizeof size);
                if (size > 0) batch[i].segment_size = (uint32_t)size;
            }
        }
    }
    return n;
}

int srouter_receive_batch(int fd, struct srouter_datagram *batch, int count) {
    return receive_batch(fd, batch, count, 0);
}

int srouter_receive_batch_coalesced(int fd, struct srouter_datagram *batch, int count) {
    return receive_batch(fd, batch, count, 1);
}

int srouter_send_batch(int fd, struct srouter_datagram *batch, int count) {
    if (count > SROUTER_BATCH_MAX) count = SROUTER_BATCH_MAX;
    struct mmsghdr headers[SROUTER_BATCH_MAX];
    struct iovec vectors[SROUTER_BATCH_MAX];
    for (int i = 0; i < count; i++) {
        vectors[i].iov_base = batch[i].data;
        vectors[i].iov_len = batch[i].length;
        __builtin_memset(&headers[i], 0, sizeof headers[i]);
        headers[i].msg_hdr.msg_iov = &vectors[i];
        headers[i].msg_hdr.msg_iovlen = 1;
        headers[i].msg_hdr.msg_name = &batch[i].address;
        headers[i].msg_hdr.msg_namelen = batch[i].address_length;
    }
    int n;
    do {
        n = sendmmsg(fd, headers, (unsigned int)count, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

int srouter_accept_nonblocking(int fd) {
    return negative_errno(accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC));
}
