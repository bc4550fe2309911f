import CSRouterLinux
import Glibc
import LinuxABI
import NetStack
import Sandbox
import Wire

/// bind, listen, connect and accept (Linux's `inet_bind`, `inet_listen`,
/// `inet_stream_connect`, `inet_dgram_connect`, `inet_accept`).
extension SocketService {
    /// The socket kind the address codecs check against.
    func kind(of socket: GuestSocket) -> SocketKind {
        switch socket.type {
        case .stream: .stream
        case .datagram: socket.datagram?.kind == .ping ? .ping : .datagram
        case .raw: .raw
        }
    }

    /// Reads a sockaddr argument: `move_addr_to_kernel` (length checked, then copied).
    func readAddress(_ n: SyscallNotification, pointer: Int, length: Int) throws(LinuxErrno) -> [UInt8] {
        let count = Int64(n.int32Argument(length))
        try SocketAddress.validateLength(count)
        guard count > 0 else { return [] }
        return try GuestMemory(tid: n.tid).read(at: n.arguments[pointer], count: Int(count))
    }

    // MARK: - bind(2)

    func bind(_ socket: GuestSocket, _ n: SyscallNotification) -> SyscallAnswer {
        do throws(LinuxErrno) {
            let bytes = try readAddress(n, pointer: 1, length: 2)
            let endpoint = try SocketAddress.decodeForBind(bytes, isIPv6Socket: socket.isIPv6, kind: kind(of: socket))
            guard notifications?.isStillPending(n.id) ?? false else { return .withdrawn }
            let address = endpoint.unmapped.address
            if case .v6(let a) = endpoint.address, a.isLinkLocal {
                // inet6_bind: a link-local address needs a scope, which binds the device.
                let scope = endpoint.scopeID != 0 ? Int(endpoint.scopeID) : socket.options.boundInterface
                guard scope != 0 else { return .error(.EINVAL) }
                guard stack.interfaces[scope] != nil else { return .error(.ENODEV) }
                socket.options.boundInterface = scope
            }
            if endpoint.isV4Mapped && socket.options.v6Only { return .error(.EINVAL) }
            let wildcard = isWildcard(address)
            if !wildcard && !stack.interfaces.isLocal(address) && !isMulticastOrBroadcast(address, socket) {
                return .error(.EADDRNOTAVAIL)
            }
            switch socket.state {
            case .datagram(let d):
                guard d.localPort == 0 && d.localAddress == nil else { return .error(.EINVAL) }
                if case .raw = d.kind {
                    try bindRaw(d, address: wildcard ? nil : endpoint.address)
                    return .value(0)
                }
                do {
                    try stack.datagrams.bind(d, address: wildcard ? nil : endpoint.address, port: endpoint.port)
                } catch {
                    return .error(LinuxErrno(rawValue: error.rawValue))
                }
                return .value(0)
            case .idle:
                guard socket.boundPort == 0 && socket.boundAddress == nil else { return .error(.EINVAL) }
                let bound: IPAddress? = wildcard ? nil : endpoint.address
                var port = endpoint.port
                if port == 0 {
                    guard let free = ephemeralPort(for: socket, address: bound) else { return .error(.EADDRINUSE) }
                    port = free
                } else if !portIsFree(port, address: bound, for: socket) {
                    return .error(.EADDRINUSE)
                }
                socket.boundAddress = bound
                socket.boundPort = port
                ports.hold(socket)
                return .value(0)
            default:
                return .error(.EINVAL)
            }
        } catch {
            return .error(error)
        }
    }

    private func bindRaw(_ d: DatagramSocket, address: IPAddress?) throws(LinuxErrno) {
        do {
            try stack.datagrams.bind(d, address: address, port: 0)
        } catch {
            throw LinuxErrno(rawValue: error.rawValue)
        }
    }

    /// Whether `socket` may take `port`, after retiring listeners on it that the guest has
    /// closed (a listener has no pair to hang up; Linux frees the port at close, so a daemon
    /// re-binding :179 at once must find it free).
    func portIsFree(_ port: UInt16, address: IPAddress?, for socket: GuestSocket) -> Bool {
        if ports.isFree(port, address: address, for: socket) { return true }
        for holder in ports.holders[port] ?? [] where holder.isListening && holder !== socket {
            if srouter_unix_socket_exists(holder.guestInode) == 0 { retire(holder) }
        }
        return ports.isFree(port, address: address, for: socket)
    }

    /// A free port in Linux's ip_local_port_range (32768–60999) for a bind to port 0.
    func ephemeralPort(for socket: GuestSocket, address: IPAddress?) -> UInt16? {
        let start = UInt16(32768 + Int(UInt32.random(in: 0...28231)))
        var port = start
        repeat {
            if ports.isFree(port, address: address, for: socket) && !ports.isHeld(port) { return port }
            port = port >= 60999 ? 32768 : port + 1
        } while port != start
        return nil
    }

    func isWildcard(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let a): a.value == 0
        case .v6(let a): a == .any
        }
    }

    private func isMulticastOrBroadcast(_ address: IPAddress, _ socket: GuestSocket) -> Bool {
        guard socket.type != .stream else { return false }
        switch address {
        case .v4(let a): return a.value >> 28 == 0xe || a.value == 0xffff_ffff
        case .v6(let a): return a.isMulticast
        }
    }

    // MARK: - listen(2)

    func listen(_ socket: GuestSocket, _ n: SyscallNotification, descriptor: GuestDescriptor) -> SyscallAnswer {
        guard socket.type == .stream else { return .error(.EOPNOTSUPP) }
        // Linux: a backlog above net.core.somaxconn (or negative, as unsigned) is somaxconn.
        let requested = n.int32Argument(1)
        let backlog = requested < 0 || requested > 4096 ? 4096 : Int(requested)
        switch socket.state {
        case .listening(let listener):
            listener.backlog = backlog
            return .value(0)
        case .idle:
            break
        default:
            return .error(.EINVAL)
        }
        if socket.boundPort == 0 {
            guard let port = ephemeralPort(for: socket, address: nil) else { return .error(.EADDRINUSE) }
            socket.boundPort = port
            ports.hold(socket)
        }
        // Listening changes the sharing rules (a SO_REUSEADDR socket already listening on the
        // port no longer shares it): ask again.
        guard portIsFree(socket.boundPort, address: socket.boundAddress, for: socket) else {
            return .error(.EADDRINUSE)
        }

        var name = sockaddr_un()
        var nameLength = socklen_t(0)
        let unixListener = srouter_unix_listener(Int32(backlog), descriptor.isNonBlocking ? 1 : 0, &name, &nameLength)
        guard unixListener >= 0 else { return .error(LinuxErrno(rawValue: -unixListener)) }
        defer { close(unixListener) }
        guard let notifications else { return .error(.ENOSYS) }
        let inode = UInt64(max(0, srouter_inode_of(unixListener)))
        // The guest's descriptor now names the listener (as dup2 would); its pair end goes.
        let replaced = GuestFiles.inject(unixListener, listener: notifications.listener, id: n.id,
                                         closeOnExec: descriptor.closeOnExec, answering: false,
                                         target: n.int32Argument(0))
        guard replaced >= 0 else {
            return replaced == -ENOENT ? .withdrawn : .error(LinuxErrno(rawValue: -replaced))
        }
        sockets[socket.guestInode] = nil
        if socket.hostEnd >= 0 {
            loop.unregister(socket.hostEnd)
            byHostEnd[socket.hostEnd] = nil
            close(socket.hostEnd)
            socket.hostEnd = -1
            socket.watchedEvents = 0
        }
        socket.guestInode = inode
        sockets[inode] = socket
        socket.listenerName = name
        socket.listenerNameLength = nameLength

        let bound = socket.boundAddress.map { DatagramSocket.unmapped($0) }
        let acceptsIPv4: Bool, acceptsIPv6: Bool
        switch bound {
        case .v4?: (acceptsIPv4, acceptsIPv6) = (true, false)
        case .v6?: (acceptsIPv4, acceptsIPv6) = (false, true)
        case nil: (acceptsIPv4, acceptsIPv6) = (!socket.isIPv6 || !socket.options.v6Only, socket.isIPv6)
        }
        var configuration = socket.options.tcp
        if socket.options.boundInterface != 0 { configuration.interfaceIndex = socket.options.boundInterface }
        let listener = stack.tcp.listen(address: bound, port: socket.boundPort, acceptsIPv4: acceptsIPv4,
                                        acceptsIPv6: acceptsIPv6, backlog: backlog, configuration: configuration)
        listener.md5Keys = socket.options.md5Keys
        listener.onEvent = { [unowned self, unowned socket] _ in self.markDirty(socket) }
        socket.state = .listening(listener)
        logger.debug("listen", metadata: ["socket": "\(socket.serial)", "port": "\(socket.boundPort)",
                                          "address": "\(bound.map { "\($0)" } ?? "*")"])
        return .value(0)
    }

    // MARK: - accept(2), accept4(2)

    func accept(_ socket: GuestSocket, _ n: SyscallNotification, descriptor: GuestDescriptor,
                flags: Int32) -> SyscallAnswer {
        let allowed = Int32(SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue)
        if flags & ~allowed != 0 { return .error(.EINVAL) }
        guard socket.type == .stream else { return .error(.EOPNOTSUPP) }
        guard socket.isListening else { return .error(.EINVAL) }
        pumpListener(socket)
        let copy: Int32
        do throws(LinuxErrno) { copy = try GuestFiles.copy(tid: n.tid, fd: n.int32Argument(0)) } catch {
            return error == .ESRCH ? .withdrawn : .error(error)
        }
        let accepted = srouter_accept_nonblocking(copy)
        close(copy)
        if accepted == -EAGAIN {
            if descriptor.isNonBlocking { return .error(.EAGAIN) }
            wait(socket, n, kind: .retry)
            return .pending
        }
        guard accepted >= 0 else { return .error(LinuxErrno(rawValue: -accepted)) }
        defer { close(accepted) }
        guard !socket.acceptQueue.isEmpty else { return .error(.ECONNABORTED) }
        let connection = socket.acceptQueue.removeFirst()
        GuestFiles.setNonBlocking(accepted, flags & Int32(SOCK_NONBLOCK.rawValue) != 0)
        connection.guestInode = UInt64(max(0, srouter_inode_of(accepted)))
        sockets[connection.guestInode] = connection
        if n.arguments[1] != 0, let tcp = connection.connection {
            let peer = endpoint(tcp.tuple.remoteAddress, port: tcp.tuple.remotePort, interface: tcp.configuration.interfaceIndex)
            do throws(LinuxErrno) {
                try SocketAddress.copyOut(SocketAddress.encode(peer, isIPv6Socket: socket.isIPv6),
                                          to: GuestMemory(tid: n.tid), address: n.arguments[1],
                                          lengthAddress: n.arguments[2])
            } catch {
                // Linux (__sys_accept4_file) loses the connection when the address cannot be written.
                retire(connection)
                return .error(error)
            }
        }
        guard let notifications else { return .error(.ENOSYS) }
        let result = GuestFiles.inject(accepted, listener: notifications.listener, id: n.id,
                                       closeOnExec: flags & Int32(SOCK_CLOEXEC.rawValue) != 0, answering: true)
        guard result >= 0 else {
            retire(connection)
            return result == -ENOENT ? .withdrawn : .error(LinuxErrno(rawValue: -result))
        }
        logger.debug("accept", metadata: ["socket": "\(connection.serial)", "fd": "\(result)",
                                          "peer": "\(connection.connection.map { "\($0.tuple)" } ?? "")"])
        return .pending  // answered by SECCOMP_ADDFD_FLAG_SEND
    }

    /// An address with the scope of a link-local peer.
    func endpoint(_ address: IPAddress, port: UInt16, interface: Int?) -> InetEndpoint {
        var scope: UInt32 = 0
        if case .v6(let a) = address, a.isLinkLocal { scope = UInt32(interface ?? 0) }
        return InetEndpoint(address: address, port: port, flowInfo: 0, scopeID: scope)
    }

    // MARK: - connect(2)

    func connect(_ socket: GuestSocket, _ n: SyscallNotification, descriptor: GuestDescriptor) -> SyscallAnswer {
        let destination: SocketAddress.Destination
        do throws(LinuxErrno) {
            let bytes = try readAddress(n, pointer: 1, length: 2)
            destination = try SocketAddress.decodeForConnect(bytes, isIPv6Socket: socket.isIPv6, kind: kind(of: socket),
                                                             v6Only: socket.options.v6Only)
        } catch {
            return .error(error)
        }
        guard notifications?.isStillPending(n.id) ?? false else { return .withdrawn }
        if socket.type != .stream { return connectDatagram(socket, destination) }
        return connectStream(socket, n, destination: destination, descriptor: descriptor)
    }

    private func connectStream(_ socket: GuestSocket, _ n: SyscallNotification,
                               destination: SocketAddress.Destination, descriptor: GuestDescriptor) -> SyscallAnswer {
        switch socket.state {
        case .listening:
            return .error(.EISCONN)
        case .connecting:
            if descriptor.isNonBlocking { return .error(.EALREADY) }
            wait(socket, n, kind: .connect)
            return .pending
        case .connected(let c):
            if case .disconnect = destination {
                stack.abort(c, now: EventLoop.monotonicNow())
                socket.state = .idle
                return .value(0)
            }
            if socket.connectUnreported {
                // inet_stream_connect: the first connect after a background completion is 0.
                socket.connectUnreported = false
                return .value(0)
            }
            return .error(.EISCONN)
        default:
            break
        }
        if socket.connectFailed {
            // The first connect after a failed background attempt reports its error (sock_error).
            socket.connectFailed = false
            let error = socket.pendingError ?? .ECONNABORTED
            socket.pendingError = nil
            return .error(error)
        }
        guard case .endpoint(let target) = destination else { return .value(0) }
        let remote = target.unmapped.address
        var interface = socket.options.boundInterface
        if case .v6(let a) = remote, a.isLinkLocal {
            if target.scopeID != 0 {
                if interface != 0 && interface != Int(target.scopeID) { return .error(.EINVAL) }
                interface = Int(target.scopeID)
            }
            guard interface != 0 else { return .error(.EINVAL) }
        }
        let local: IPAddress
        if let bound = socket.boundAddress.map(DatagramSocket.unmapped), !isWildcard(bound) {
            local = bound
        } else if let chosen = stack.sourceAddress(toward: remote, interfaceIndex: interface == 0 ? nil : interface) {
            local = chosen
        } else {
            return .error(.ENETUNREACH)
        }
        var port = socket.boundPort
        if port == 0 {
            guard let free = stack.tcp.ephemeralPort(local: local, remote: remote, remotePort: target.port,
                                                      isTaken: { self.ports.isHeld($0) }) else {
                return .error(.EADDRNOTAVAIL)
            }
            port = free
        }
        let tuple = TCPFourTuple(localAddress: local, localPort: port, remoteAddress: remote, remotePort: target.port)
        if stack.tcp.isInUse(tuple) { return .error(.EADDRNOTAVAIL) }
        if socket.boundPort == 0 {
            socket.boundPort = port
            ports.hold(socket)
        }
        var configuration = socket.options.tcp
        configuration.md5Key = socket.options.md5Keys[remote]
        if interface != 0 { configuration.interfaceIndex = interface }
        let connection = stack.tcp.connect(tuple, configuration: configuration, now: EventLoop.monotonicNow())
        connection.onEvent = { [unowned self, unowned socket] _ in self.markDirty(socket) }
        socket.state = .connecting(connection)
        // Withhold POLLOUT from the guest until the handshake ends (DESIGN §3).
        fillGuestEnd(socket, tid: n.tid, fd: n.int32Argument(0))
        watch(socket, events: EPOLLHUP.rawValue)
        logger.debug("connect", metadata: ["socket": "\(socket.serial)", "tuple": "\(tuple)"])
        if descriptor.isNonBlocking {
            socket.connectUnreported = true
            return .error(.EINPROGRESS)
        }
        wait(socket, n, kind: .connect)
        return .pending
    }

    /// connect on a UDP, ping or raw socket (`ip4_datagram_connect`, `ip6_datagram_connect`):
    /// sets the default peer, or clears it for AF_UNSPEC.
    private func connectDatagram(_ socket: GuestSocket, _ destination: SocketAddress.Destination) -> SyscallAnswer {
        guard let d = socket.datagram else { return .error(.EINVAL) }
        switch destination {
        case .disconnect:
            stack.datagrams.disconnect(d)
            return .value(0)
        case .endpoint(let target):
            // The wildcard means this host (ip_route_output_key_hash_rcu, ip6_datagram_connect).
            var remote = target.unmapped.address
            switch remote {
            case .v4(let a) where a.value == 0: remote = .v4(IPv4Address(127, 0, 0, 1))
            case .v6(let a) where a == .any: remote = .v6(IPv6Address(high: 0, low: 1))
            default: break
            }
            let interface = socket.options.boundInterface != 0 ? socket.options.boundInterface
                : (target.scopeID != 0 ? Int(target.scopeID) : nil)
            // __ip6_datagram_connect: a link-scoped peer needs an interface (EINVAL); then the
            // route decides (ENETUNREACH…), and a broadcast peer needs SO_BROADCAST (EACCES).
            if remote.isLinkScoped && interface == nil && socket.options.multicastInterface == 0 {
                return .error(.EINVAL)
            }
            if let errno = stack.routeErrno(toward: remote, interfaceIndex: interface) {
                return .error(LinuxErrno(rawValue: errno))
            }
            if stack.isBroadcast(remote) && !socket.options.broadcast { return .error(.EACCES) }
            do {
                try stack.datagrams.connect(d, to: remote, port: target.port,
                                            source: stack.sourceAddress(toward: remote, interfaceIndex: interface),
                                            scopeInterface: target.scopeID != 0 ? Int(target.scopeID) : nil)
            } catch {
                return .error(LinuxErrno(rawValue: error.rawValue))
            }
            return .value(0)
        }
    }

    // MARK: - shutdown(2)

    func shutdown(_ socket: GuestSocket, _ n: SyscallNotification) -> SyscallAnswer {
        let how = n.int32Argument(1)
        guard how >= 0 && how <= 2 else { return .error(.EINVAL) }
        switch socket.state {
        case .connected(let c):
            if how != Int32(SHUT_WR) {
                socket.guestReceiveClosed = true
                c.shutdownReceive()
            }
            if how != Int32(SHUT_RD) {
                // The guest's writes end where its shutdown is: shut its end natively so what it
                // wrote before still reaches the stack, then EOF on srouter's end sends the FIN.
                if let copy = try? GuestFiles.copy(tid: n.tid, fd: n.int32Argument(0)) {
                    _ = Glibc.shutdown(copy, Int32(SHUT_WR))
                    close(copy)
                }
            }
            markDirty(socket)
            return .value(0)
        case .listening:
            // Linux: shutdown on a listener stops it (tcp_disconnect); accept then fails.
            return .value(0)
        case .datagram(let d):
            // inet_shutdown: a datagram socket that is not connected (TCP_CLOSE) is ENOTCONN.
            return d.remote == nil ? .error(.ENOTCONN) : .value(0)
        default:
            return .error(.ENOTCONN)
        }
    }

    // MARK: - Waiting calls

    /// Keeps `n` pending until `socket` changes.
    func wait(_ socket: GuestSocket, _ n: SyscallNotification, kind: WaitingCall.Kind, timeout: Int64 = 0) {
        socket.waiting.removeAll { !(notifications?.isStillPending($0.notification.id) ?? false) }
        let deadline = timeout > 0 ? EventLoop.monotonicNow() + UInt64(timeout) * 1000 : nil
        socket.waiting.append(WaitingCall(notification: n, kind: kind, deadline: deadline))
    }

    /// Answers or retries the calls waiting on `socket` after it changed.
    func wakeWaiters(_ socket: GuestSocket) {
        guard !socket.waiting.isEmpty, let notifications else { return }
        let waiting = socket.waiting
        socket.waiting.removeAll()
        for waiter in waiting {
            guard notifications.isStillPending(waiter.notification.id) else { continue }
            switch waiter.kind {
            case .connect:
                switch socket.state {
                case .connecting:
                    socket.waiting.append(waiter)
                case .connected:
                    socket.connectUnreported = false
                    notifications.answer(waiter.notification.id, .value(0))
                default:
                    socket.connectFailed = false
                    let error = socket.pendingError ?? .ECONNABORTED
                    socket.pendingError = nil
                    notifications.answer(waiter.notification.id, .error(error))
                }
            case .retry:
                let answer = handle(waiter.notification, loop: notifications)
                if answer != .pending { notifications.answer(waiter.notification.id, answer) }
            }
        }
    }

    /// Waiting receives and accepts past their SO_RCVTIMEO end with EAGAIN.
    func expireWaiters() {
        let now = EventLoop.monotonicNow()
        for socket in sockets.values where !socket.waiting.isEmpty {
            socket.waiting.removeAll { waiter in
                guard let deadline = waiter.deadline, deadline <= now else { return false }
                notifications?.answer(waiter.notification.id, .error(.EAGAIN))
                return true
            }
        }
    }
}
