import Netlink
import Wire
import Sandbox

/// One NETLINK_ROUTE socket of the guest, served by srouter's `RouteNetlinkServer`.
///
/// As for the inet sockets (DESIGN §3), the guest holds one end of an AF_UNIX SOCK_SEQPACKET
/// pair, so message boundaries hold and a native `send`/`recv`/`poll` works; srouter keeps
/// the other end (`hostEnd`). A request the guest sends natively arrives there — `send`, and
/// `sendto` with a 12-byte name (BIRD's route writes; the name is not seen, so it goes to
/// the connected peer, the kernel by default); one sent with another address (`sendto`,
/// `sendmsg`) is trapped and read from the guest's memory.
/// Answers and notifications are written to `hostEnd` in order; what the pair cannot take
/// waits in `pending`. A trapped `recvmsg` fills `sockaddr_nl` (port 0, the kernel, and the
/// group of a notification), which a native one cannot.
final class GuestNetlinkSocket {
    /// A serial number for logs.
    let serial: Int
    /// SOCK_RAW or SOCK_DGRAM (netlink treats them alike).
    let type: Int32
    /// The inode of the guest's file.
    let guestInode: UInt64
    /// srouter's end of the pair.
    var hostEnd: Int32
    /// The port id (`nl_pid`) and the options that shape answers; port 0 until bound.
    var settings = NetlinkSocketSettings(portID: 0)
    /// Whether a port id is assigned (bind, or autobind on the first send or connect).
    var isBound = false
    /// Subscribed multicast groups (RTNLGRP_ numbers), from `nl_groups` and
    /// NETLINK_ADD_MEMBERSHIP.
    var groups: Set<UInt32> = []
    /// The default destination set by connect (`nl_pid`, group mask).
    var peer: (portID: UInt32, groups: UInt32) = (0, 0)
    /// SO_RCVBUF as getsockopt reports it (Linux doubles what is set).
    var receiveBuffer: Int32 = 212_992
    /// SO_SNDBUF as getsockopt reports it.
    var sendBuffer: Int32 = 212_992
    /// SO_RCVTIMEO in microseconds (0: none).
    var receiveTimeout: Int64 = 0
    /// SO_PASSCRED.
    var passCredentials = false
    /// NETLINK_PKTINFO: a `struct nl_pktinfo` with each received message's group.
    var packetInfo = false
    /// NETLINK_NO_ENOBUFS: overruns are not reported.
    var noBufferErrors = false
    /// NETLINK_BROADCAST_ERROR.
    var broadcastError = false
    /// NETLINK_LISTEN_ALL_NSID.
    var listenAllNamespaces = false
    /// The classic BPF program SO_ATTACH_FILTER attached, run on every datagram before it is
    /// queued (`sk_filter`: replies, ACKs, dump datagrams, notifications).
    var filter: ClassicBPFProgram?
    /// SO_LOCK_FILTER: the filter can be neither replaced nor detached.
    var filterLocked = false
    /// Datagrams the filter dropped.
    var filteredOut = 0
    /// A notification was dropped for want of room: the next receive fails with ENOBUFS
    /// (`netlink_overrun`).
    var overrun = false
    /// What waits to be written to the pair, in order (the tail of the receive queue).
    var pending: [NetlinkDatagram] = []
    /// The running dump (`nlk->cb_running`): its datagrams are made one at a time, the first
    /// when the request comes and each later one when a receive has taken a datagram
    /// (`netlink_dump`), and join the queue's tail then, so what is queued meanwhile comes
    /// out between them. While it runs, another dump request fails with EBUSY.
    var dump: NetlinkDump?
    /// `nlk->max_recvmsg_len`: the largest buffer a trapped receive has offered, which sizes
    /// the dump datagrams.
    var dumpSizing = NetlinkDumpSizing()
    /// The source of each datagram in the pair, oldest first (what recvmsg's name reports).
    var queued: [NetlinkOrigin] = []
    /// The longest datagram ever written to the pair: while it fits srouter's scratch
    /// buffer, a trapped receive reads without sizing the datagram first.
    var largestQueued = 0
    /// Index of the oldest entry of `queued` still unread.
    var queuedHead = 0
    /// Trapped receives waiting for a datagram.
    var waiting: [WaitingCall] = []
    /// While a trapped receive runs on this socket: answers stay in `pending`, where the
    /// receive takes them without the pair's send and receive (its guest thread is stopped in
    /// the call, so nothing can see them sooner); what is left goes into the pair after it.
    var holdsAnswers = false
    /// Answers to requests the guest sent natively, served as they arrived, wait in `pending`
    /// for the trapped receive that usually follows at once (BIRD's route writes), which takes
    /// them without the pair; the receive, any other trapped call on the socket, or after
    /// `SocketService.heldAnswerMilliseconds` a timer, puts what is left into the pair.
    var holdsForReceive = false
    /// Whether the timer that ends `holdsForReceive` is set.
    var holdTimerSet = false
    /// What that timer runs (`SocketService.heldAnswerTimer`), made on first use; it holds
    /// the socket weakly.
    var holdTimerAction: (() -> Void)?
    /// Whether `hostEnd` is in the event loop.
    var isWatched = false
    /// The events `hostEnd` is watched for.
    var watchedEvents: UInt32 = 0

    /// A socket served for the guest.
    init(serial: Int, type: Int32, guestInode: UInt64, hostEnd: Int32) {
        self.serial = serial
        self.type = type
        self.guestInode = guestInode
        self.hostEnd = hostEnd
    }

    /// Queues a datagram from `origin` after what waits, if the filter keeps it (`filtered`
    /// says whether it has run already).
    func enqueue(_ bytes: [UInt8], from origin: NetlinkOrigin, filtered: Bool = false) {
        guard let kept = filtered ? bytes : self.filtered(bytes) else { return }
        pending.append(NetlinkDatagram(bytes: kept, origin: origin))
    }

    /// `sk_filter_trim_cap(sk, skb, 1)`: what the filter keeps of `bytes` — nil if it returns
    /// 0, else the datagram cut to what it returns (at least one byte).
    func filtered(_ bytes: [UInt8]) -> [UInt8]? {
        guard let filter else { return bytes }
        let keep = bytes.withUnsafeBytes { filter.run($0, random: { UInt32.random(in: .min ... .max) }) }
        if keep == 0 {
            filteredOut += 1
            return nil
        }
        return Int(keep) < bytes.count ? Array(bytes.prefix(Int(keep))) : bytes
    }

    /// The legacy group mask (`nl_groups`: groups 1…32).
    var groupMask: UInt32 {
        groups.reduce(0) { $1 >= 1 && $1 <= 32 ? $0 | (1 << ($1 - 1)) : $0 }
    }
}

/// Where a netlink datagram came from: the kernel (port 0) or a group's notification.
struct NetlinkOrigin: Equatable {
    /// The sender's port id (0: srouter, as the kernel).
    var portID: UInt32
    /// The multicast group (0: unicast).
    var group: UInt32
}

/// A datagram waiting for a guest's netlink socket, and its source.
struct NetlinkDatagram {
    /// The datagram.
    var bytes: [UInt8]
    /// Where it came from (what recvmsg's `sockaddr_nl` reports).
    var origin: NetlinkOrigin
}
