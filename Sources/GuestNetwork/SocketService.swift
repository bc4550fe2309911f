import CSRouterLinux
import Glibc
import LinuxABI
import Logging
import NetStack
import Netlink
import Sandbox
import Wire

/// Serves the guest's AF_INET and AF_INET6 sockets from srouter's `NetworkStack` (DESIGN §3).
///
/// `socket` creates a stack socket and injects a real descriptor into the guest (one end of
/// an AF_UNIX pair); reads, writes, poll and close on it stay native. The control calls that
/// trap — bind, connect, listen, accept, names, options, shutdown, and the sends and receives
/// that carry addresses or control messages — find their socket by the inode of the guest's
/// file and are answered as Linux would answer them. A call on any other descriptor (the
/// guest's own AF_UNIX sockets, a pipe) runs natively: nothing the guest can hold reaches the
/// host's network, so CONTINUE is safe there.
public final class SocketService: SyscallHandler {
    /// The stack the sockets live in.
    let stack: NetworkStack
    /// srouter's event loop: the pairs' host ends are watched on it.
    let loop: EventLoop
    let logger: Logger
    /// Runs the stack's output after a user call and re-arms its timers.
    let kick: () -> Void
    /// The notification loop of the call being served (the main guest's or an `exec`
    /// session's; one service serves them all, so they share ports, sockets and rtnetlink),
    /// for descriptor injection. Late answers go through each waiting call's own loop.
    private(set) weak var notifications: NotificationLoop?
    /// The guest's sockets by the inode of the guest's file.
    var sockets: [UInt64: GuestSocket] = [:]
    /// Sockets by srouter's end of their pair.
    var byHostEnd: [Int32: GuestSocket] = [:]
    /// Sockets whose pumps must run after the stack's current work.
    var dirty: [ObjectIdentifier: GuestSocket] = [:]
    /// TCP port bindings (the stack leaves bind conflicts to the socket layer).
    var ports = TCPPortTable()
    /// The AF_UNIX and argument checks of socket and socketpair.
    let unixCalls = SocketCallHandler()
    private var nextSerial = 0
    private var flushing = false
    private var sweepTimer: Int?
    /// One scratch buffer for moving bytes between pairs and the stack (no allocation per
    /// packet).
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536 + 256, alignment: 16)
    /// Where the guest's msghdrs had their iovec tables (`GuestMessageHeader.read`): a
    /// trapped recvmsg or sendmsg into the same msghdr as before reads it in one call.
    var messageTableHints = MessageTableHints()
    /// The buffers of the last receive's write-back, kept for the next (`withWriteBack`).
    private var spareWriteBack = GuestWriteBack()
    /// The buffer of the last request a guest sent natively on a netlink socket, kept for
    /// the next (`serveNativeNetlinkRequests`).
    var spareNetlinkRequest: [UInt8] = []
    /// The replies array of the last netlink request served, kept for the next
    /// (`serveNetlinkRequest`).
    var spareNetlinkReplies: [NetlinkReply] = []
    /// Datagrams a guest sent natively on an unconnected socket (Linux would have failed
    /// the send with EDESTADDRREQ; the native send had already succeeded).
    var droppedUnconnectedSends = 0
    /// srouter's rtnetlink, which the guest's NETLINK_ROUTE sockets talk to (none: netlink
    /// sockets are EPROTONOSUPPORT).
    public var netlinkServer: RouteNetlinkServer? {
        didSet {
            netlinkServer?.broadcast = { [unowned self] group, message in self.broadcastNetlink(group, message) }
            netlinkServer?.hasListeners = { [unowned self] group in
                self.netlinkSockets.values.contains { $0.groups.contains(group.rawValue) }
            }
        }
    }
    /// The guest's netlink sockets by the inode of the guest's file.
    var netlinkSockets: [UInt64: GuestNetlinkSocket] = [:]
    /// srouter's own work on rtnetlink requests — parsing, the FIB change, the answers and
    /// notifications queued — apart from the trapped calls that carry them (issue 6 asks
    /// for the two side by side). Logged at exit.
    public internal(set) var netlinkWork = (requests: 0, nanoseconds: UInt64(0))
    /// Netlink sockets by port id.
    var netlinkPorts: [UInt32: GuestNetlinkSocket] = [:]
    /// The next port id `netlink_autobind` tries when the process id is taken.
    var netlinkRover: Int32 = -4096
    /// Option names srouter does not serve, logged once each.
    var unknownOptionsLogged: Set<String> = []

    let number: (socket: Int32?, socketpair: Int32?, bind: Int32?, connect: Int32?, listen: Int32?,
                 accept: Int32?, accept4: Int32?, getsockname: Int32?, getpeername: Int32?,
                 setsockopt: Int32?, getsockopt: Int32?, shutdown: Int32?, sendto: Int32?,
                 sendmsg: Int32?, sendmmsg: Int32?, recvfrom: Int32?, recvmsg: Int32?, recvmmsg: Int32?)

    /// Serves sockets from `stack`; `kick` runs the stack's output and re-arms its timer.
    public init(stack: NetworkStack, loop: EventLoop, logger: Logger, kick: @escaping () -> Void) {
        self.stack = stack
        self.loop = loop
        self.logger = logger
        self.kick = kick
        let n = SyscallTable.number(of:)
        number = (n("socket"), n("socketpair"), n("bind"), n("connect"), n("listen"), n("accept"),
                  n("accept4"), n("getsockname"), n("getpeername"), n("setsockopt"), n("getsockopt"),
                  n("shutdown"), n("sendto"), n("sendmsg"), n("sendmmsg"), n("recvfrom"), n("recvmsg"),
                  n("recvmmsg"))
    }

    deinit { scratch.deallocate() }

    /// The next serial number for a socket.
    func nextSocketSerial() -> Int {
        nextSerial += 1
        return nextSerial
    }

    /// Routes every socket call srouter traps to this service.
    /// Installing on a second loop (an `exec` session's guest) serves that guest from the same
    /// sockets, ports and rtnetlink.
    public func install(on notifications: NotificationLoop) {
        if self.notifications == nil { self.notifications = notifications }
        for name in SandboxInvariants.servedSyscalls + ["socket", "socketpair", "sendto", "recvfrom"] {
            notifications.route(name, to: self)
        }
        if sweepTimer == nil {
            sweepTimer = loop.schedule(afterMilliseconds: 1000) { [weak self] in self?.sweep() }
        }
    }

    /// Number of sockets served now (for logs and `srouter show sockets`).
    public var socketCount: Int { sockets.count }

    public func handle(_ notification: SyscallNotification, loop: NotificationLoop) -> SyscallAnswer {
        notifications = loop
        let call = notification.number
        if call == number.socket { return createSocket(notification) }
        if call == number.socketpair { return unixCalls.socketpair(notification) }
        // The call's copy of the guest's file is held until its answer is decided.
        return GuestFiles.withDescriptor(tid: notification.tid, fd: notification.int32Argument(0)) { descriptor in
            guard let descriptor else { return .continueNatively }
            if let netlink = netlinkSockets[descriptor.inode] {
                let answer = serveNetlink(call, on: netlink, descriptor: descriptor, notification: notification)
                flush()
                return answer
            }
            guard let socket = sockets[descriptor.inode] else { return .continueNatively }
            let answer = serve(call, on: socket, descriptor: descriptor, notification: notification)
            flush()
            return answer
        }
    }

    private func serve(_ call: Int32, on socket: GuestSocket, descriptor: GuestDescriptor,
                       notification n: SyscallNotification) -> SyscallAnswer {
        switch call {
        case number.bind: return bind(socket, n)
        case number.connect: return connect(socket, n, descriptor: descriptor)
        case number.listen: return listen(socket, n, descriptor: descriptor)
        case number.accept: return accept(socket, n, descriptor: descriptor, flags: 0)
        case number.accept4: return accept(socket, n, descriptor: descriptor, flags: n.int32Argument(3))
        case number.getsockname: return socketName(socket, n, peer: false)
        case number.getpeername: return socketName(socket, n, peer: true)
        case number.setsockopt: return setOption(socket, n, descriptor: descriptor)
        case number.getsockopt: return getOption(socket, n)
        case number.shutdown: return shutdown(socket, n)
        case number.sendto: return sendTo(socket, n)
        case number.sendmsg: return sendMessage(socket, n)
        case number.sendmmsg: return sendMessages(socket, n)
        case number.recvfrom: return receiveFrom(socket, n, descriptor: descriptor)
        case number.recvmsg: return receiveMessage(socket, n, descriptor: descriptor)
        case number.recvmmsg: return receiveMessages(socket, n, descriptor: descriptor)
        default: return .error(.ENOSYS)
        }
    }

    // MARK: - socket(2)

    /// socket(2) for AF_INET and AF_INET6: the checks of `__sys_socket`, `__sock_create` and
    /// `inet_create` / `inet6_create` in their order, then a stack socket and an injected
    /// descriptor.
    ///
    /// - AF_INET with SOCK_PACKET is handed to AF_PACKET by `__sock_create`: EPERM, as for
    ///   any AF_PACKET socket of a process without CAP_NET_RAW.
    /// - A protocol outside 0..<IPPROTO_MAX (263) is EINVAL before the type is looked at.
    /// - IPPROTO_MPTCP (262) on SOCK_STREAM is served as TCP that never negotiates MPTCP:
    ///   what a Linux MPTCP socket is after falling back to TCP with a peer that does not
    ///   offer MP_CAPABLE (RFC 8684 §3.7). SO_PROTOCOL still reports 262.
    /// - SOCK_RAW with protocol 0 is EPROTONOSUPPORT (inetsw's raw entry is a wildcard, and
    ///   a wildcard protocol matches no wildcard entry), even for root; raw sockets of
    ///   protocols 1…255 are served (known-differences: Linux refuses them EPERM to a process
    ///   without CAP_NET_RAW, srouter's guest owns its network). Protocols 256…262, which
    ///   Linux accepts for root raw sockets that can never match an IP header's 8-bit
    ///   protocol field, are EPROTONOSUPPORT: the stack's raw sockets carry an IP protocol.
    func createSocket(_ n: SyscallNotification) -> SyscallAnswer {
        let family = n.int32Argument(0)
        let rawType = n.int32Argument(1)
        if family == AF_NETLINK && netlinkServer != nil { return createNetlinkSocket(n) }
        guard family == AF_INET || family == AF_INET6 else { return unixCalls.socket(n) }
        if (rawType & ~SocketCallHandler.typeMask) & ~SocketCallHandler.allowedTypeFlags != 0 { return .error(.EINVAL) }
        let baseType = rawType & SocketCallHandler.typeMask
        if baseType >= SocketCallHandler.typeLimit { return .error(.EINVAL) }
        if family == AF_INET && baseType == Int32(SOCK_PACKET.rawValue) { return .error(.EPERM) }
        let isIPv6 = family == AF_INET6
        var requested = n.int32Argument(2)
        if requested < 0 || requested >= SocketCallHandler.inetProtocolLimit { return .error(.EINVAL) }
        let type: GuestSocketType
        switch baseType {
        case Int32(SOCK_STREAM.rawValue):
            let mptcp = SocketCallHandler.mptcpProtocol
            guard requested == 0 || requested == Int32(IPPROTO_TCP) || requested == mptcp else {
                return .error(.EPROTONOSUPPORT)
            }
            type = .stream
            if requested != mptcp { requested = Int32(IPPROTO_TCP) }
        case Int32(SOCK_DGRAM.rawValue):
            let ping = isIPv6 ? Int32(IPPROTO_ICMPV6) : Int32(IPPROTO_ICMP)
            guard requested == 0 || requested == Int32(IPPROTO_UDP) || requested == ping else {
                return .error(.EPROTONOSUPPORT)
            }
            type = .datagram
            if requested == 0 { requested = Int32(IPPROTO_UDP) }
        case Int32(SOCK_RAW.rawValue):
            guard requested != 0 && requested <= 255 else { return .error(.EPROTONOSUPPORT) }
            type = .raw
        default:
            return .error(.ESOCKTNOSUPPORT)
        }
        let guestEnd: Int32, hostEnd: Int32
        if type == .stream {
            // An unconnected AF_UNIX stream socket: it polls OUT|HUP like an unconnected TCP
            // socket (unix_poll, tcp_poll); connect and listen act on it in place.
            guestEnd = srouter_unix_stream_socket(0)
            guard guestEnd >= 0 else { return .error(.ENFILE) }
            hostEnd = -1
        } else {
            var pair: [Int32] = [-1, -1]
            let pairType = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            guard Glibc.socketpair(AF_UNIX, pairType, 0, &pair) == 0 else { return .error(.ENFILE) }
            (guestEnd, hostEnd) = (pair[0], pair[1])
            GuestFiles.setNonBlocking(hostEnd, true)
        }
        defer { close(guestEnd) }
        let inode = UInt64(max(0, srouter_inode_of(guestEnd)))
        if rawType & Int32(SOCK_NONBLOCK.rawValue) != 0 { GuestFiles.setNonBlocking(guestEnd, true) }
        let socket = GuestSocket(serial: nextSocketSerial(), isIPv6: isIPv6, type: type, protocolNumber: requested,
                                 guestInode: inode, hostEnd: hostEnd)
        switch type {
        case .stream:
            socket.options.receiveBuffer = 131_072
            socket.options.sendBuffer = 16_384
        case .datagram:
            let kind: DatagramKind = requested == Int32(IPPROTO_UDP) ? .udp : .ping
            socket.state = .datagram(stack.datagrams.open(kind: kind, isIPv6: isIPv6))
            socket.options.receiveBuffer = 212_992
            socket.options.sendBuffer = 212_992
        case .raw:
            let datagram = stack.datagrams.open(kind: .raw(UInt8(requested)), isIPv6: isIPv6)
            if !isIPv6 && requested == Int32(IPPROTO_RAW) { datagram.includesHeader = true }
            if isIPv6 && requested == Int32(IPPROTO_ICMPV6) { datagram.checksumOffset = 2 }
            socket.state = .datagram(datagram)
            socket.options.receiveBuffer = 212_992
            socket.options.sendBuffer = 212_992
        }
        if let datagram = socket.datagram {
            datagram.onEvent = { [unowned self, unowned socket] _ in self.markDirty(socket) }
        }
        guard let listener = notifications?.listener else { return .error(.ENOSYS) }
        let closeOnExec = rawType & Int32(SOCK_CLOEXEC.rawValue) != 0
        let result = GuestFiles.inject(guestEnd, listener: listener, id: n.id, closeOnExec: closeOnExec,
                                       answering: true)
        guard result >= 0 else {
            if let datagram = socket.datagram { stack.datagrams.close(datagram) }
            if hostEnd >= 0 { close(hostEnd) }
            return result == -ENOENT ? .withdrawn : .error(LinuxErrno(rawValue: -result))
        }
        sockets[inode] = socket
        if hostEnd >= 0 {
            byHostEnd[hostEnd] = socket
            watch(socket, events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue)
        }
        logger.debug("socket", metadata: ["socket": "\(socket.serial)", "fd": "\(result)",
                                          "family": "\(isIPv6 ? "inet6" : "inet")", "type": "\(type)",
                                          "protocol": "\(requested)", "tid": "\(n.tid)"])
        return .pending  // answered by SECCOMP_ADDFD_FLAG_SEND
    }

    // MARK: - Host ends

    /// Watches `socket.hostEnd` for `events`; none stops watching it (EPOLLHUP cannot be
    /// masked, so a hung-up end that cannot make progress must leave the epoll set).
    func watch(_ socket: GuestSocket, events: UInt32) {
        guard socket.hostEnd >= 0 else { return }
        if events == 0 {
            if socket.isWatched { loop.unregister(socket.hostEnd) }
            socket.isWatched = false
        } else if !socket.isWatched {
            try? loop.register(socket.hostEnd, events: events) { [weak self, weak socket] ready in
                guard let self, let socket else { return }
                self.hostEndReady(socket, events: ready)
            }
            socket.isWatched = true
        } else if socket.watchedEvents != events {
            loop.modify(socket.hostEnd, events: events)
        }
        socket.watchedEvents = events
    }

    private func hostEndReady(_ socket: GuestSocket, events: UInt32) {
        if events & EPOLLHUP.rawValue != 0 && !socket.guestClosed {
            // A hangup is both directions of `hostEnd` shut (`unix_poll`), and only srouter or
            // the guest's file going shuts them: its sending side when srouter passes a FIN on
            // (`finDelivered`), its receiving side when srouter shuts the guest's end on its
            // shutdown(SHUT_WR) (`guestShutWriting`; the guest cannot shut it natively, as
            // shutdown(2) is served), both when the guest's file goes (`unix_release_sock`).
            // So unless srouter shut both, the hangup is the guest's close; if it did, the
            // guest may still hold its end, and sock_diag tells which (a query that walks
            // every AF_UNIX socket: not one per close).
            let closed = !(socket.finDelivered && socket.guestShutWriting)
            if closed || socket.guestInode == 0 || srouter_unix_socket_exists(socket.guestInode) == 0 {
                socket.guestClosed = true
            } else {
                socket.hungUp = true
                watch(socket, events: 0)  // the sweep notices the close
                return
            }
        }
        switch socket.type {
        case .stream: pumpStream(socket)
        case .datagram, .raw: pumpDatagrams(socket)
        }
        flush()
    }

    /// Marks `socket` for pumping once the stack's current work is done.
    func markDirty(_ socket: GuestSocket) {
        dirty[ObjectIdentifier(socket)] = socket
    }

    /// Runs the pumps of sockets the stack touched, then the stack's output, until quiet.
    public func flush() {
        guard !flushing else { return }
        flushing = true
        defer { flushing = false }
        for _ in 0..<16 {
            kick()
            if dirty.isEmpty { break }
            let batch = dirty.values
            dirty.removeAll(keepingCapacity: true)
            for socket in batch {
                switch socket.state {
                case .listening: pumpListener(socket)
                case .datagram: pumpDatagrams(socket)
                default: pumpStream(socket)
                }
                wakeWaiters(socket)
            }
        }
    }

    /// Forgets a socket whose guest file is gone: the stack object is closed (a TCP
    /// connection finishes its close in the stack), the port freed.
    func retire(_ socket: GuestSocket) {
        if sockets[socket.guestInode] === socket { sockets[socket.guestInode] = nil }
        closeHostEnd(socket)
        let now = EventLoop.monotonicNow()
        switch socket.state {
        case .datagram(let d): stack.datagrams.close(d)
        case .listening:
            stopListening(socket)
        case .connecting(let c), .connected(let c):
            if socket.options.linger == 0 || c.bytesReadable > 0 {
                // Linux resets on close with unread data, or with SO_LINGER {1, 0} (RFC 9293 §3.10.4).
                stack.abort(c, now: now)
            } else {
                c.shutdownSend()
                stack.tcp.release(c)
                if c.state != .closed { socket.lingering = c }
            }
        case .idle: break
        }
        if socket.lingering == nil { ports.release(socket) }
        socket.state = .idle
        for waiter in socket.waiting { waiter.loop?.answer(waiter.notification.id, .error(.EBADF)) }
        socket.waiting.removeAll()
        logger.debug("socket closed", metadata: ["socket": "\(socket.serial)"])
    }

    /// Closes srouter's end of a socket's pair.
    func closeHostEnd(_ socket: GuestSocket) {
        guard socket.hostEnd >= 0 else { return }
        if socket.isWatched { loop.unregister(socket.hostEnd) }
        byHostEnd[socket.hostEnd] = nil
        close(socket.hostEnd)
        socket.hostEnd = -1
        socket.watchedEvents = 0
        socket.isWatched = false
    }

    /// Every second: listeners and unconnected stream sockets the guest closed (they have no
    /// pair to hang up) are retired, so their port is free again; waiting calls past SO_RCVTIMEO time out.
    private func sweep() {
        for socket in Array(sockets.values) where socket.isListening || socket.hungUp || socket.hostEnd < 0 {
            if srouter_unix_socket_exists(socket.guestInode) == 0 { retire(socket) }
        }
        expireWaiters()
        releaseFinishedPorts()
        flush()
        sweepTimer = loop.schedule(afterMilliseconds: 1000) { [weak self] in self?.sweep() }
    }
}

extension SocketService {
    /// Runs `body` with an empty write-back for a trapped receive, holding the buffers the
    /// last one left: in steady state a receive's write-back allocates nothing. A receive
    /// that runs inside another (a waiter woken while one is served) finds none spare and
    /// gets fresh buffers.
    func withWriteBack<R>(_ body: (inout GuestWriteBack) throws(LinuxErrno) -> R) throws(LinuxErrno) -> R {
        var writeBack = GuestWriteBack()
        swap(&writeBack, &spareWriteBack)
        defer {
            writeBack.removeAll()
            swap(&writeBack, &spareWriteBack)
        }
        return try body(&writeBack)
    }
}
