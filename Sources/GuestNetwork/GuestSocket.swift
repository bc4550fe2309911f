import CSRouterLinux
import Glibc
import LinuxABI
import NetStack
import Sandbox
import Wire

/// The socket types srouter serves for AF_INET and AF_INET6.
enum GuestSocketType: Equatable {
    /// SOCK_STREAM: TCP.
    case stream
    /// SOCK_DGRAM: UDP, or ICMP/ICMPv6 "ping" sockets.
    case datagram
    /// SOCK_RAW: one IP protocol.
    case raw

    /// The `SOCK_…` number.
    var linuxType: Int32 {
        switch self {
        case .stream: Int32(SOCK_STREAM.rawValue)
        case .datagram: Int32(SOCK_DGRAM.rawValue)
        case .raw: Int32(SOCK_RAW.rawValue)
        }
    }
}

/// A trapped call that waits for the socket (blocking connect, accept, recvmsg): the
/// notification stays pending until the socket changes (DESIGN §3, "Blocking calls").
struct WaitingCall {
    /// What the call waits for.
    enum Kind: Equatable {
        /// A blocking connect: answered with 0 or the error once the handshake ends.
        case connect
        /// accept/accept4, or a receive: handled again when the socket changes.
        case retry
    }

    /// The trapped call.
    var notification: SyscallNotification
    /// The notification loop it came through (the main guest's, or an `exec` session's),
    /// which answers it.
    weak var loop: NotificationLoop?
    /// What it waits for.
    var kind: Kind
    /// When it gives up with EAGAIN (SO_RCVTIMEO), in EventLoop time; nil: never.
    var deadline: UInt64?
}

/// One AF_INET or AF_INET6 socket of the guest.
///
/// The guest holds a real descriptor (DESIGN §3): for a stream socket an AF_UNIX stream
/// socket — unconnected until connect (so it polls OUT|HUP as an unconnected TCP socket
/// does), then connected to srouter's `hostEnd` — for datagram and raw sockets one end of an AF_UNIX SOCK_SEQPACKET pair, and
/// for a listening socket an AF_UNIX listener that srouter connects to once per accepted
/// connection. srouter keeps the other end (`hostEnd`), never the guest's, so a close in the
/// guest shows as a hangup on `hostEnd`.
final class GuestSocket {
    /// What the socket is doing.
    enum State {
        /// TCP, not connected or listening (maybe bound).
        case idle
        /// TCP, handshake under way (connect).
        case connecting(TCPConnection)
        /// TCP, connected (connect or accept).
        case connected(TCPConnection)
        /// TCP, listening.
        case listening(TCPListener)
        /// UDP, ping or raw.
        case datagram(DatagramSocket)
    }

    /// A serial number for logs.
    let serial: Int
    /// AF_INET6 (true) or AF_INET.
    let isIPv6: Bool
    /// The socket type.
    let type: GuestSocketType
    /// The protocol number as Linux reports it in SO_PROTOCOL (0 resolved: 6, 17, 1, 58…).
    let protocolNumber: Int32
    /// The inode of the guest's file.
    var guestInode: UInt64
    /// srouter's end of the pair (-1 for an unconnected stream socket or a listener, whose
    /// guest file has no pair).
    var hostEnd: Int32
    /// What the socket is doing.
    var state: State = .idle
    /// Options set through setsockopt.
    var options = SocketOptionState()
    /// The bound local endpoint (TCP; datagram sockets keep theirs in `DatagramSocket`).
    var boundAddress: IPAddress?
    /// The bound port (0: not bound).
    var boundPort: UInt16 = 0
    /// The error SO_ERROR reports once, and a repeated connect returns (Linux's sk_err).
    var pendingError: LinuxErrno?
    /// A non-blocking connect completed in the background and no connect call has seen it
    /// yet: the next connect returns 0, later ones EISCONN (`inet_stream_connect`).
    var connectUnreported = false
    /// A background connect failed and no connect call has seen it yet: the next connect
    /// returns the error (or ECONNABORTED if SO_ERROR took it), then the socket is fresh.
    var connectFailed = false
    /// Calls waiting on this socket.
    var waiting: [WaitingCall] = []
    /// The guest's file was connected once (an AF_UNIX stream socket cannot be connected
    /// again or listen): the next connect or listen gives the guest a fresh file first.
    var guestFileUsed = false
    /// The guest's file carries a socket error (ECONNRESET, left by closing `hostEnd` with
    /// filler unread) that stands for `pendingError`, so the guest polls POLLERR as Linux's
    /// `tcp_poll` reports sk_err; cleared on the guest's file once the error is reported.
    var guestErrorRaised = false
    /// A connection the guest closed that the stack still finishes (FIN exchange, TIME-WAIT):
    /// its port stays held as Linux's timewait sockets hold theirs.
    var lingering: TCPConnection?

    // MARK: Stream pumping (StreamPump.swift)

    /// Filler bytes written through the guest's end to withhold POLLOUT while a connect is
    /// under way; drained (and discarded) from `hostEnd` when the handshake ends.
    var fillerBytes = 0
    /// `hostEnd` peeks at SO_PEEK_OFF (set once the connection is up and the filler gone), so
    /// what the stack took can stay queued in the pair: `takenUnread` counts it.
    var peeksAtOffset = false
    /// Bytes the connection took that are still queued in `hostEnd` (its SO_PEEK_OFF), read
    /// only when the guest's AF_UNIX wakeup they cause matches one Linux gives (see
    /// `StreamPump`): freeing a guest's skbs wakes it with EPOLLOUT (`unix_write_space`),
    /// where an acknowledgement wakes a TCP writer only if it had found its buffer full.
    var takenUnread = 0
    /// The event-loop timer that reads `takenUnread` if no reply or full buffer does.
    var takenReadTimer: Int?
    /// The guest shut down writing or closed: no more data comes from `hostEnd`.
    var guestSendClosed = false
    /// The guest's file is gone (hangup on `hostEnd`).
    var guestClosed = false
    /// `hostEnd` hung up but the guest still holds its end (both directions shut down):
    /// the periodic sweep watches for the close.
    var hungUp = false
    /// The peer's FIN has been passed on to the guest (`shutdown(hostEnd, SHUT_WR)`).
    var finDelivered = false
    /// srouter shut the guest's end for writing, on the guest's shutdown(SHUT_WR or RDWR):
    /// with `finDelivered`, both directions of the pair are shut while the guest may still
    /// hold its end, so a hangup is not by itself its close.
    var guestShutWriting = false
    /// The guest called shutdown(SHUT_RD) (or RDWR): what arrives is discarded.
    var guestReceiveClosed = false
    /// The events `hostEnd` is watched for.
    var watchedEvents: UInt32 = 0
    /// Whether `hostEnd` is in the event loop's epoll set.
    var isWatched = false

    // MARK: Listening (GuestListener.swift)

    /// The abstract AF_UNIX name of the guest's listener.
    var listenerName: sockaddr_un?
    /// Its length.
    var listenerNameLength: socklen_t = 0
    /// Accepted TCP connections connected to the guest's listener, not yet accepted by the
    /// guest, in the order the listener queues them: srouter's end and the connection.
    var acceptQueue: [GuestSocket] = []
    /// Connections the stack accepted that the guest's listener had no room for yet.
    var overflow: [TCPConnection] = []

    // MARK: Datagrams (DatagramPump.swift)

    /// What recvmsg reports about each datagram written to the guest's end, oldest first.
    var delivered: [DeliveredDatagram] = []
    /// Index of the oldest entry of `delivered` still unread.
    var deliveredHead = 0
    /// An error marker is in the pair (see `DatagramPump`).
    var errorMarkerQueued = false
    /// `DatagramSocket.errorCount` when the marker was queued.
    var errorMarkerCount = 0

    /// A socket served for the guest.
    init(serial: Int, isIPv6: Bool, type: GuestSocketType, protocolNumber: Int32, guestInode: UInt64,
         hostEnd: Int32) {
        self.serial = serial
        self.isIPv6 = isIPv6
        self.type = type
        self.protocolNumber = protocolNumber
        self.guestInode = guestInode
        self.hostEnd = hostEnd
    }

    /// The family number (`AF_INET` or `AF_INET6`).
    var family: Int32 { isIPv6 ? AF_INET6 : AF_INET }

    /// The TCP connection, connected or connecting.
    var connection: TCPConnection? {
        switch state {
        case .connecting(let c), .connected(let c): c
        default: nil
        }
    }

    /// The datagram socket of the stack, for UDP, ping and raw sockets.
    var datagram: DatagramSocket? {
        if case .datagram(let d) = state { return d }
        return nil
    }

    /// Whether the socket listens.
    var isListening: Bool {
        if case .listening = state { return true }
        return false
    }
}

/// What recvmsg reports about a datagram srouter wrote to the guest's end of a pair.
struct DeliveredDatagram {
    /// Addresses, interface, TTL, TOS.
    var info: ReceivedPacketInfo
    /// The source port (UDP) or 0.
    var sourcePort: UInt16
    /// The payload length (to keep `delivered` in step with the pair).
    var length: Int
    /// The empty message that stands for a pending error (POLLERR), not a datagram.
    var isErrorMarker: Bool
}

/// Options of a guest socket that live outside the stack's objects (or before they exist).
struct SocketOptionState {
    /// SO_REUSEADDR.
    var reuseAddress = false
    /// SO_REUSEPORT.
    var reusePort = false
    /// IPV6_V6ONLY (Linux's default: off).
    var v6Only = false
    /// SO_BINDTODEVICE / SO_BINDTOIFINDEX (0: none).
    var boundInterface = 0
    /// SO_KEEPALIVE.
    var keepAlive = false
    /// SO_LINGER: nil when off, else the linger time in seconds.
    var linger: Int32?
    /// SO_BROADCAST.
    var broadcast = false
    /// IP_TTL / IPV6_UNICAST_HOPS (nil: the default, 64).
    var timeToLive: UInt8?
    /// IP_TOS / IPV6_TCLASS.
    var typeOfService: UInt8 = 0
    /// IP_MINTTL / IPV6_MINHOPCOUNT.
    var minimumTimeToLive: UInt8 = 0
    /// IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS.
    var multicastTimeToLive: UInt8 = 1
    /// IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP.
    var multicastLoop = true
    /// IP_MULTICAST_IF / IPV6_MULTICAST_IF (0: routing decides).
    var multicastInterface = 0
    /// IP_HDRINCL (raw IPv4).
    var includesHeader = false
    /// IPV6_CHECKSUM (raw IPv6; nil: the protocol's default).
    var checksumOffset: Int?
    /// SO_PRIORITY.
    var priority: Int32 = 0
    /// SO_DONTROUTE.
    var dontRoute = false
    /// SO_RCVBUF as getsockopt reports it (Linux doubles what is set).
    var receiveBuffer: Int32 = 131_072
    /// SO_SNDBUF as getsockopt reports it.
    var sendBuffer: Int32 = 16_384
    /// SO_RCVTIMEO in microseconds (0: none).
    var receiveTimeout: Int64 = 0
    /// SO_SNDTIMEO in microseconds (0: none).
    var sendTimeout: Int64 = 0
    /// IP_PKTINFO (SOL_IP; on an AF_INET6 socket it applies to IPv4 datagrams only).
    var receivePacketInfo = false
    /// IP_RECVTTL.
    var receiveTimeToLive = false
    /// IP_RECVTOS.
    var receiveTypeOfService = false
    /// IPV6_RECVPKTINFO: also given, v4-mapped, for IPv4 datagrams on an AF_INET6 socket
    /// (`ip6_datagram_recv_common_ctl`).
    var receiveIPv6PacketInfo = false
    /// IPV6_RECVHOPLIMIT (IPv6 datagrams only: `ip6_datagram_recv_specific_ctl`).
    var receiveHopLimit = false
    /// IPV6_RECVTCLASS (IPv6 datagrams only).
    var receiveTrafficClass = false
    /// IP_MTU_DISCOVER / IPV6_MTU_DISCOVER.
    var mtuDiscover: Int32 = 1
    /// TCP options, applied to the connection when it exists.
    var tcp = TCPConfiguration()
    /// TCP_MD5SIG keys by peer address.
    var md5Keys: [IPAddress: [UInt8]] = [:]
    /// SO_RCVLOWAT (sk_rcvlowat; Linux's default: 1).
    var receiveLowWater: Int32 = 1
    /// SO_OOBINLINE (SOCK_URGINLINE).
    var outOfBandInline = false
    /// SO_LINGER was set with a negative l_linger: Linux keeps MAX_SCHEDULE_TIMEOUT, and
    /// `linger` is then Int32.max.
    var lingerForever = false
    /// SO_RCVBUF was set (SOCK_RCVBUF_LOCK): TCP caps SO_RCVLOWAT at half the buffer.
    var receiveBufferLocked = false
    /// IP_TTL on an IPv6 socket (inet->uc_ttl, apart from the hop limit; nil: the default).
    var mappedTimeToLive: UInt8?
    /// IP_TOS on an IPv6 socket (inet->tos, apart from the traffic class).
    var mappedTypeOfService: UInt8 = 0
    /// IP_MULTICAST_IF's address (inet->mc_addr), as getsockopt reports it.
    var multicastInterfaceAddress = IPv4Address.any
    /// IP_RECVERR (inet->recverr).
    var receiveErrors = false
    /// IPV6_RECVERR (np->recverr).
    var receiveErrorsIPv6 = false
    /// IP_FREEBIND.
    var freeBind = false
    /// IPV6_MTU as set (np->frag_size; 0: the path's).
    var fragmentSize: Int32 = 0
}
