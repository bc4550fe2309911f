// UDP GSO (UDP_SEGMENT, Linux 4.18): runs of datagrams to one destination, all of one size
// but a shorter last one, leave in one sendmsg each, and the kernel cuts them into datagrams
// as late as it can — one trip through the UDP and IP output path and the device for the
// whole run instead of one per datagram. The datagrams on the wire are those a sendmmsg of
// each would send. And UDP GRO (UDP_GRO, Linux 5.0), the other way: datagrams a sender sent
// as one GSO run (wireguard-go does) arrive as one buffer, with their size in a cmsg
// (srouter_receive_batch_coalesced, in shim.c beside srouter_receive_batch).

#define _GNU_SOURCE
#include "CSRouterLinux.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/// UDP_MAX_SEGMENTS is 64 before Linux 5.x's 128: the smaller bound works on both.
#define SEGMENTS_MAX 64
/// A run's payload stays under the UDP length field's limit over IPv4 (65,507).
#define RUN_BYTES_MAX 65000

static int same_destination(const struct srouter_datagram *a, const struct srouter_datagram *b) {
    return a->address_length == b->address_length && memcmp(&a->address, &b->address, a->address_length) == 0;
}

int srouter_send_batch_segmented(int fd, struct srouter_datagram *batch, int count,
                                 int *failed_run, int *failed_segmented) {
    if (count > SROUTER_BATCH_MAX) count = SROUTER_BATCH_MAX;
    struct mmsghdr headers[SROUTER_BATCH_MAX];
    struct iovec vectors[SROUTER_BATCH_MAX];
    int run_length[SROUTER_BATCH_MAX];
    union {
        char bytes[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } control[SROUTER_BATCH_MAX];
    int runs = 0;
    for (int i = 0; i < count;) {
        uint32_t size = batch[i].length;
        uint32_t bytes = size;
        int j = i + 1;
        // Equal sizes extend the run; a shorter one ends it as its last segment.
        while (j < count && j - i < SEGMENTS_MAX && size > 0 && batch[j].length <= size && batch[j].length > 0 &&
               bytes + batch[j].length <= RUN_BYTES_MAX && same_destination(&batch[i], &batch[j])) {
            bytes += batch[j].length;
            j++;
            if (batch[j - 1].length < size) break;
        }
        struct mmsghdr *h = &headers[runs];
        memset(h, 0, sizeof *h);
        for (int k = i; k < j; k++) {
            vectors[k].iov_base = batch[k].data;
            vectors[k].iov_len = batch[k].length;
        }
        h->msg_hdr.msg_iov = &vectors[i];
        h->msg_hdr.msg_iovlen = (size_t)(j - i);
        h->msg_hdr.msg_name = &batch[i].address;
        h->msg_hdr.msg_namelen = batch[i].address_length;
        if (j - i > 1) {
            memset(&control[runs], 0, sizeof control[runs]);
            h->msg_hdr.msg_control = control[runs].bytes;
            h->msg_hdr.msg_controllen = sizeof control[runs].bytes;
            struct cmsghdr *c = CMSG_FIRSTHDR(&h->msg_hdr);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t segment = (uint16_t)size;
            memcpy(CMSG_DATA(c), &segment, sizeof segment);
        }
        run_length[runs++] = j - i;
        i = j;
    }
    int n;
    do {
        n = sendmmsg(fd, headers, (unsigned int)runs, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        *failed_run = run_length[0];
        *failed_segmented = run_length[0] > 1;
        return -errno;
    }
    int sent = 0;
    for (int r = 0; r < n; r++) sent += run_length[r];
    return sent;
}

int srouter_enable_udp_gro(int fd) {
    int on = 1;
    return setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) == 0 ? 0 : -errno;
}
