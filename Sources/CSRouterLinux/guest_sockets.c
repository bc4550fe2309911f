// Plumbing for guest sockets (DESIGN §3): the AF_UNIX pairs and listeners srouter injects
// into the guest, and the sock_diag query that tells whether a guest still holds one.
#define _GNU_SOURCE
#include "CSRouterLinux.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <string.h>
#include <sys/socket.h>
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

int srouter_unix_socket_exists(uint64_t inode) {
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return -errno;
    struct {
        struct nlmsghdr header;
        struct unix_diag_req request;
    } message = {
        .header = {.nlmsg_len = sizeof message, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                   .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1},
        .request = {.sdiag_family = AF_UNIX, .udiag_ino = (uint32_t)inode,
                    .udiag_cookie = {~0U, ~0U}},
    };
    int result;
    if (send(fd, &message, sizeof message, 0) < 0) {
        result = -errno;
    } else {
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
