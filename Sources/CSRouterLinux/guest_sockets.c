// Plumbing for guest sockets (DESIGN §3): the AF_UNIX pairs and listeners srouter injects
// into the guest, and the sock_diag queries that tell whether a guest still holds one and how
// much of its send buffer it uses.
#define _GNU_SOURCE
#include "CSRouterLinux.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int srouter_unix_listener(int backlog, int nonblocking, struct sockaddr_un *name, socklen_t *name_length) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) return -errno;
    struct sockaddr_un autobind = {.sun_family = AF_UNIX};
    // An address of only the family autobinds to a unique abstract name (unix(7)).
    if (bind(fd, (struct sockaddr *)&autobind, sizeof(sa_family_t)) < 0 || listen(fd, backlog) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    *name_length = sizeof *name;
    if (getsockname(fd, (struct sockaddr *)name, name_length) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

int srouter_unix_connect(const struct sockaddr_un *name, socklen_t name_length) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    if (connect(fd, (const struct sockaddr *)name, name_length) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

int srouter_unix_stream_socket(int nonblocking) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    return fd < 0 ? -errno : fd;
}

int srouter_unix_connect_through(int fd) {
    struct sockaddr_un name;
    socklen_t length = 0;
    int listener = srouter_unix_listener(8, 1, &name, &length);
    if (listener < 0) return listener;
    if (connect(fd, (const struct sockaddr *)&name, length) < 0) {
        int error = errno;
        close(listener);
        return -error;
    }
    // Someone else may have raced onto the autobound name: take only our own connection,
    // recognised by its credentials (the connect ran in this process).
    int result = -ECONNABORTED;
    for (;;) {
        int accepted = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (accepted < 0) break;
        struct ucred credentials;
        socklen_t credentials_length = sizeof credentials;
        if (getsockopt(accepted, SOL_SOCKET, SO_PEERCRED, &credentials, &credentials_length) == 0 &&
            credentials.pid == getpid()) {
            result = accepted;
            break;
        }
        close(accepted);
    }
    close(listener);
    return result;
}

int srouter_unix_listen_in_place(int fd, int backlog, struct sockaddr_un *name, socklen_t *name_length) {
    struct sockaddr_un autobind = {.sun_family = AF_UNIX};
    if (bind(fd, (struct sockaddr *)&autobind, sizeof(sa_family_t)) < 0 || listen(fd, backlog) < 0) return -errno;
    *name_length = sizeof *name;
    if (getsockname(fd, (struct sockaddr *)name, name_length) < 0) return -errno;
    return 0;
}

int srouter_clear_socket_error(int fd) {
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0) return -errno;
    return error;
}

int64_t srouter_inode_of(int fd) {
    struct stat st;
    if (fstat(fd, &st) < 0) return -errno;
    return (int64_t)st.st_ino;
}

// Sends a SOCK_DIAG_BY_FAMILY request for the AF_UNIX socket with `inode` on `fd`
// (`show`: the UDIAG_SHOW_* attributes wanted); 0 or -errno.
static int unix_diag_ask(int fd, uint64_t inode, uint32_t show, uint32_t sequence) {
    struct {
        struct nlmsghdr header;
        struct unix_diag_req request;
    } message = {
        .header = {.nlmsg_len = sizeof message, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                   .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = sequence},
        .request = {.sdiag_family = AF_UNIX, .udiag_ino = (uint32_t)inode, .udiag_show = show,
                    .udiag_cookie = {~0U, ~0U}},
    };
    return send(fd, &message, sizeof message, 0) < 0 ? -errno : 0;
}

int srouter_unix_socket_exists(uint64_t inode) {
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return -errno;
    int result = unix_diag_ask(fd, inode, 0, 1);
    if (result == 0) {
        union { struct nlmsghdr header; char bytes[1024]; } answer;
        ssize_t n = recv(fd, &answer, sizeof answer, 0);
        if (n < (ssize_t)sizeof(struct nlmsghdr)) {
            result = n < 0 ? -errno : -EIO;
        } else if (answer.header.nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *error = NLMSG_DATA(&answer.header);
            result = error->error == -ENOENT ? 0 : error->error;
        } else {
            result = answer.header.nlmsg_type == SOCK_DIAG_BY_FAMILY ? 1 : -EIO;
        }
    }
    close(fd);
    return result;
}

int srouter_unix_send_memory(uint64_t inode, uint32_t *allocated, uint32_t *limit) {
    // One netlink socket for the process: the pumps ask once per guest write burst.
    static int fd = -1;
    static uint32_t sequence = 0;
    if (fd < 0) {
        fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (fd < 0) return -errno;
    }
    int asked = unix_diag_ask(fd, inode, UDIAG_SHOW_MEMINFO, ++sequence);
    if (asked < 0) return asked;
    union { struct nlmsghdr header; char bytes[1024]; } answer;
    for (;;) {
        ssize_t n = recv(fd, &answer, sizeof answer, 0);
        if (n < (ssize_t)sizeof(struct nlmsghdr)) return n < 0 ? -errno : -EIO;
        if (answer.header.nlmsg_seq != sequence) continue;  // a late answer to an older ask
        if (answer.header.nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *error = NLMSG_DATA(&answer.header);
            return error->error ? error->error : -EIO;
        }
        if (answer.header.nlmsg_type != SOCK_DIAG_BY_FAMILY || !NLMSG_OK(&answer.header, (size_t)n)) return -EIO;
        const struct unix_diag_msg *reply = NLMSG_DATA(&answer.header);
        struct rtattr *attribute = (struct rtattr *)(reply + 1);
        int remaining = (int)answer.header.nlmsg_len - (int)NLMSG_LENGTH(sizeof *reply);
        for (; RTA_OK(attribute, remaining); attribute = RTA_NEXT(attribute, remaining)) {
            if (attribute->rta_type != UNIX_DIAG_MEMINFO) continue;
            if (RTA_PAYLOAD(attribute) < sizeof(uint32_t) * (SK_MEMINFO_SNDBUF + 1)) return -EIO;
            const uint32_t *memory = RTA_DATA(attribute);
            *allocated = memory[SK_MEMINFO_WMEM_ALLOC];
            *limit = memory[SK_MEMINFO_SNDBUF];
            return 0;
        }
        return -EIO;
    }
}

// A two-entry io_uring (no liburing) for srouter_read_then_write: its fd, or -1 untried, -2
// unavailable; the ring's shared indices and entries.
static struct {
    int fd;
    unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
} pair_ring = {.fd = -1};

static int pair_ring_open(void) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    int fd = (int)syscall(__NR_io_uring_setup, 4, &p);  // O_CLOEXEC by default
    if (fd < 0) return -1;
    size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
    if (single && cq_size > sq_size) sq_size = cq_size;
    char *sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    if (sq == MAP_FAILED) goto fail;
    char *cq = single ? sq : mmap(NULL, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                                  IORING_OFF_CQ_RING);
    if (cq == MAP_FAILED) goto fail;
    void *sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (sqes == MAP_FAILED) goto fail;
    pair_ring.sq_tail = (unsigned *)(sq + p.sq_off.tail);
    pair_ring.sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    pair_ring.sq_array = (unsigned *)(sq + p.sq_off.array);
    pair_ring.cq_head = (unsigned *)(cq + p.cq_off.head);
    pair_ring.cq_tail = (unsigned *)(cq + p.cq_off.tail);
    pair_ring.cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
    pair_ring.cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    pair_ring.sqes = sqes;
    pair_ring.fd = fd;
    return 0;
fail:
    close(fd);  // the mappings (if any) go with the last reference
    return -1;
}

static void pair_ring_prepare(unsigned slot, uint8_t opcode, int fd, void *buffer, size_t length,
                              uint32_t flags, uint64_t tag) {
    unsigned index = slot & *pair_ring.sq_mask;
    struct io_uring_sqe *entry = &pair_ring.sqes[index];
    memset(entry, 0, sizeof *entry);
    entry->opcode = opcode;
    entry->fd = fd;
    entry->addr = (uint64_t)(uintptr_t)buffer;
    entry->len = (uint32_t)length;
    entry->msg_flags = flags;  // MSG_DONTWAIT: EAGAIN completes the entry (REQ_F_NOWAIT)
    entry->user_data = tag;
    pair_ring.sq_array[index] = index;
}

void srouter_read_then_write(int fd, void *discard, size_t discard_length, const void *data,
                             size_t data_length, ssize_t *read_result, ssize_t *write_result) {
    if (pair_ring.fd == -1 && pair_ring_open() < 0) pair_ring.fd = -2;
    if (pair_ring.fd < 0) {
        ssize_t n = recv(fd, discard, discard_length, MSG_DONTWAIT);
        *read_result = n < 0 ? -errno : n;
        n = send(fd, data, data_length, MSG_DONTWAIT | MSG_NOSIGNAL);
        *write_result = n < 0 ? -errno : n;
        return;
    }
    unsigned tail = *pair_ring.sq_tail;
    pair_ring_prepare(tail, IORING_OP_RECV, fd, discard, discard_length, MSG_DONTWAIT, 1);
    pair_ring_prepare(tail + 1, IORING_OP_SEND, fd, (void *)data, data_length, MSG_DONTWAIT | MSG_NOSIGNAL, 2);
    __atomic_store_n(pair_ring.sq_tail, tail + 2, __ATOMIC_RELEASE);
    *read_result = -EIO;
    *write_result = -EIO;
    // Both entries are issued in order within this one call (io_submit_sqes), non-blocking.
    int submitted = (int)syscall(__NR_io_uring_enter, pair_ring.fd, 2, 2, IORING_ENTER_GETEVENTS, NULL, 0);
    int reaped = 0;
    for (int attempt = 0; reaped < 2 && attempt < 1000; attempt++) {
        unsigned head = *pair_ring.cq_head;
        while (head != __atomic_load_n(pair_ring.cq_tail, __ATOMIC_ACQUIRE)) {
            struct io_uring_cqe *completion = &pair_ring.cqes[head & *pair_ring.cq_mask];
            if (completion->user_data == 1) *read_result = completion->res;
            if (completion->user_data == 2) *write_result = completion->res;
            head++;
            reaped++;
        }
        __atomic_store_n(pair_ring.cq_head, head, __ATOMIC_RELEASE);
        if (reaped < 2) {
            if (submitted < 0 && errno != EINTR) break;
            submitted = (int)syscall(__NR_io_uring_enter, pair_ring.fd, 0, 2 - reaped, IORING_ENTER_GETEVENTS,
                                     NULL, 0);
        }
    }
}
