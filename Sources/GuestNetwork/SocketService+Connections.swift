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
            // __inet6_bind: a stream socket cannot bind an IPv6 multicast address.
            if socket.type == .stream, case .v6(let a) = address, a.isMulticast { return .error(.EINVAL) }
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
                    // The port's holder may be a socket the guest has just closed whose hangup
                    // srouter has not seen yet: Linux freed the port at close.
                    guard error.rawValue == EADDRINUSE, endpoint.port != 0,
                          retireClosedDatagramSockets(port: endpoint.port, except: socket) else {
                        return .error(LinuxErrno(rawValue: error.rawValue))
                    }
                    do {
                        try stack.datagrams.bind(d, address: wildcard ? nil : endpoint.address, port: endpoint.port)
                    } catch {
                        return .error(LinuxErrno(rawValue: error.rawValue))
                    }
                }
                return .value(0)
            case .idle:
                guard socket.boundPort == 0 && socket.boundAddress == nil else { return .error(.EINVAL) }
                // ::ffff:0.0.0.0 is IPv4's wildcard, and getsockname shows it as bound.
                let bound: IPAddress? = wildcard && !endpoint.isV4Mapped ? nil : endpoint.address
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

    /// Whether `socket` may take `port`, after retiring listeners and unconnected sockets on it
    /// that the guest has closed (they have no pair to hang up; Linux frees the port at close, so a daemon
    /// re-binding :179 at once must find it free).
    func portIsFree(_ port: UInt16, address: IPAddress?, for socket: GuestSocket) -> Bool {
        releaseFinishedPorts()
        if ports.isFree(port, address: address, for: socket) { return true }
        for holder in ports.holders[port] ?? [] where holder.hostEnd < 0 && holder !== socket
            && sockets[holder.guestInode] === holder {
            if srouter_unix_socket_exists(holder.guestInode) == 0 { retire(holder) }
        }
        return ports.isFree(port, address: address, for: socket)
    }

    /// Retires the datagram sockets bound to `port` whose guest file is gone; whether any was.
    private func retireClosedDatagramSockets(port: UInt16, except socket: GuestSocket) -> Bool {
        var retired = false
        for holder in Array(sockets.values) where holder !== socket && holder.datagram?.localPort == port {
            if srouter_unix_socket_exists(holder.guestInode) == 0 {
                retire(holder)
                retired = true
            }
        }
        return retired
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

    /// inet_bind accepts RTN_MULTICAST and RTN_BROADCAST addresses for every socket type
    /// (`inet_addr_valid_or_nonlocal`); inet6_bind accepts multicast for datagram sockets.
    private func isMulticastOrBroadcast(_ address: IPAddress, _ socket: GuestSocket) -> Bool {
        switch address {
        case .v4(let a): return isMulticastOrBroadcast(a)
        case .v6(let a): return socket.type != .stream && a.isMulticast
        }
    }

    /// Whether `a` is IPv4 multicast, the limited broadcast, or the broadcast address of a
    /// local subnet (Linux's local table holds `prefix | ~mask` for prefixes shorter than /31).
    func isMulticastOrBroadcast(_ a: IPv4Address) -> Bool {
        if a.value >> 28 == 0xe || a.value == 0xffff_ffff { return true }
        for interface in stack.interfaces.all {
            for assigned in interface.addresses where assigned.prefixLength < 31 {
                guard case .v4(let local) = assigned.peer ?? assigned.address else { continue }
                let mask: UInt32 = assigned.prefixLength == 0 ? 0 : ~UInt32(0) << (32 - UInt32(assigned.prefixLength))
                if a.value == (local.value & mask) | ~mask { return true }
            }
        }
        return false
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

        // The guest's own file becomes an AF_UNIX listener in place (no descriptor changes
        // hands, so dups and forks share it, as they share a Linux listener).
        let file: GuestFileCopy
        do throws(LinuxErrno) { file = try guestFile(socket, n, descriptor: descriptor) } catch {
            return error == .ESRCH ? .withdrawn : .error(error)
        }
        var name = sockaddr_un()
        var nameLength = socklen_t(0)
        let listened = srouter_unix_listen_in_place(file.fd, Int32(backlog), &name, &nameLength)
        guard listened == 0 else { return .error(LinuxErrno(rawValue: -listened)) }
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

    // MARK: - The guest's file

    /// A transient reference to the guest's file of `socket` for srouter to connect or listen
    /// on: a copy of the guest's descriptor while that file is still an unconnected AF_UNIX
    /// socket, else a fresh unconnected socket that first replaces the guest's descriptor
    /// (as dup2 would; an AF_UNIX stream socket cannot be connected twice).
    func guestFile(_ socket: GuestSocket, _ n: SyscallNotification,
                   descriptor: GuestDescriptor) throws(LinuxErrno) -> GuestFileCopy {
        guard socket.guestFileUsed else { return try GuestFiles.copy(tid: n.tid, fd: n.int32Argument(0)) }
        let fresh = srouter_unix_stream_socket(descriptor.isNonBlocking ? 1 : 0)
        guard fresh >= 0 else { throw LinuxErrno(rawValue: -fresh) }
        guard let notifications else { close(fresh); throw LinuxErrno.ENOSYS }
        let replaced = GuestFiles.inject(fresh, listener: notifications.listener, id: n.id,
                                         closeOnExec: descriptor.closeOnExec
                                             ?? GuestFiles.closeOnExec(tid: n.tid, fd: n.int32Argument(0)),
                                         answering: false,
                                         target: n.int32Argument(0))
        guard replaced >= 0 else {
            close(fresh)
            throw replaced == -ENOENT ? LinuxErrno.ESRCH : LinuxErrno(rawValue: -replaced)
        }
        if sockets[socket.guestInode] === socket { sockets[socket.guestInode] = nil }
        socket.guestInode = UInt64(max(0, srouter_inode_of(fresh)))
        sockets[socket.guestInode] = socket
        socket.guestFileUsed = false
        socket.guestErrorRaised = false
        return GuestFileCopy(fd: fresh, owned: true)
    }

    /// Ends the pair of a stream socket whose connection attempt failed or was reset: srouter's
    /// end closes with the filler unread, so the kernel marks the guest's file ECONNRESET and
    /// hung up (unix_release_sock), and the guest polls OUT|ERR|HUP as Linux's `tcp_poll`
    /// reports a refused or reset connect; `clearGuestError` takes the mark once the error
    /// is reported.
    func failGuestFile(_ socket: GuestSocket) {
        // Only the last chunk stays: the guest's wakeup at the reset sees it writable as
        // soon as possible (unix_release_sock purges the queue after marking the peer).
        if socket.fillerBytes > Self.fillerChunk { drainFiller(socket, keeping: min(socket.fillerBytes, Self.fillerChunk)) }
        closeHostEnd(socket)
        socket.fillerBytes = 0
        socket.guestFileUsed = true
        socket.guestErrorRaised = true
    }

    /// The guest's pending error was reported (SO_ERROR, connect): clears the mark on its
    /// file too, so POLLERR goes as Linux's `sock_error` clears sk_err.
    func clearGuestError(_ socket: GuestSocket, tid: pid_t, fd: Int32) {
        guard socket.guestErrorRaised, let copy = try? GuestFiles.copy(tid: tid, fd: fd) else { return }
        _ = srouter_clear_socket_error(copy.fd)
        socket.guestErrorRaised = false
    }

    /// Frees the ports of closed connections the stack has finished with.
    func releaseFinishedPorts() {
        ports.releaseLingering { [stack] c in c.state == .closed || stack.tcp.connections[c.tuple] !== c }
    }

    // MARK: - accept(2), accept4(2)

    func accept(_ socket: GuestSocket, _ n: SyscallNotification, descriptor: GuestDescriptor,
                flags: Int32) -> SyscallAnswer {
        let allowed = Int32(SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue)
        if flags & ~allowed != 0 { return .error(.EINVAL) }
        guard socket.type == .stream else { return .error(.EOPNOTSUPP) }
        guard socket.isListening else { return .error(.EINVAL) }
        pumpListener(socket)
        let accepted: Int32
        do throws(LinuxErrno) { accepted = srouter_accept_nonblocking(try GuestFiles.copy(tid: n.tid, fd: n.int32Argument(0)).fd) } catch {
            return error == .ESRCH ? .withdrawn : .error(error)
        }
        if accepted == -EAGAIN {
            if descriptor.isNonBlocking { return .error(.EAGAIN) }
            // inet_csk_accept waits up to SO_RCVTIMEO, then EAGAIN.
            wait(socket, n, kind: .retry, timeout: socket.options.receiveTimeout)
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
            // inet_stream_connect: SS_CONNECTING answers EALREADY, blocking or not.
            return .error(.EALREADY)
        case .connected(let c):
            if case .disconnect = destination {
                // tcp_disconnect: the connection is reset and the socket is fresh again; the
                // guest's file loses its pair (a later connect gives it a fresh one).
                stack.abort(c, now: EventLoop.monotonicNow())
                socket.state = .idle
                closeHostEnd(socket)
                socket.guestFileUsed = true
                socket.finDelivered = false
                socket.guestShutWriting = false
                socket.guestSendClosed = false
                socket.guestReceiveClosed = false
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
            clearGuestError(socket, tid: n.tid, fd: n.int32Argument(0))
            return .error(error)
        }
        guard case .endpoint(let target) = destination else { return .value(0) }
        let remote = target.unmapped.address
        // tcp_v4_connect refuses a multicast or broadcast route, tcp_v6_connect multicast.
        switch remote {
        case .v4(let a): if isMulticastOrBroadcast(a) { return .error(.ENETUNREACH) }
        case .v6(let a): if a.isMulticast { return .error(.ENETUNREACH) }
        }
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
        // The guest's file gets its pair: connected (through a transient reference) to a
        // private listener whose accepted end is srouter's.
        let file: GuestFileCopy
        do throws(LinuxErrno) { file = try guestFile(socket, n, descriptor: descriptor) } catch {
            return error == .ESRCH ? .withdrawn : .error(error)
        }
        let hostEnd = srouter_unix_connect_through(file.fd)
        guard hostEnd >= 0 else { return .error(LinuxErrno(rawValue: -hostEnd)) }
        socket.hostEnd = hostEnd
        byHostEnd[hostEnd] = socket
        socket.guestFileUsed = true
        socket.guestErrorRaised = false
        socket.finDelivered = false
        socket.guestShutWriting = false
        socket.guestSendClosed = false
        socket.guestReceiveClosed = false
        socket.guestClosed = false
        socket.hungUp = false
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
        fillGuestEnd(socket, file: file.fd)
        watch(socket, events: EPOLLHUP.rawValue)
        logger.debug("connect", metadata: ["socket": "\(socket.serial)", "tuple": "\(tuple)"])
        if descriptor.isNonBlocking {
            socket.connectUnreported = true
            return .error(.EINPROGRESS)
        }
        // A blocking connect waits up to SO_SNDTIMEO, then EINPROGRESS (inet_stream_connect).
        wait(socket, n, kind: .connect, timeout: socket.options.sendTimeout)
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
        case .connected(let c) where c.state == .closed || c.state == .timeWait:
            // inet_shutdown: a socket in TCP_CLOSE (a user socket never shows TIME-WAIT) is
            // not connected.
            return .error(.ENOTCONN)
        case .connecting(let c):
            // inet_shutdown → tcp_disconnect of a SYN-SENT socket: dropped without a RST,
            // sk_err ECONNRESET, and the socket can connect again (EINPROGRESS).
            stack.abort(c, now: EventLoop.monotonicNow())
            socket.state = .idle
            socket.pendingError = .ECONNRESET
            socket.connectUnreported = false
            socket.connectFailed = false
            failGuestFile(socket)
            wakeWaiters(socket)
            return .value(0)
        case .connected(let c):
            if how != Int32(SHUT_WR) {
                socket.guestReceiveClosed = true
                c.shutdownReceive()
            }
            if how != Int32(SHUT_RD) {
                // The guest's writes end where its shutdown is: shut its end natively so what it
                // wrote before still reaches the stack, then EOF on srouter's end sends the FIN.
                if let copy = try? GuestFiles.copy(tid: n.tid, fd: n.int32Argument(0)) {
                    _ = Glibc.shutdown(copy.fd, Int32(SHUT_WR))
                    socket.guestShutWriting = true
                }
            }
            markDirty(socket)
            return .value(0)
        case .listening:
            // inet_shutdown: SHUT_RD (or RDWR) on a listener stops it (tcp_disconnect): it is
            // an unconnected socket again (poll OUT|HUP, accept EINVAL), still bound.
            guard how != Int32(SHUT_WR) else { return .value(0) }
            stopListening(socket)
            socket.guestFileUsed = true
            do throws(LinuxErrno) {
                _ = try guestFile(socket, n, descriptor: GuestFiles.describe(tid: n.tid, fd: n.int32Argument(0))
                    ?? GuestDescriptor(inode: 0, statusFlags: 0, closeOnExec: false))
            } catch {
                return error == .ESRCH ? .withdrawn : .error(error)
            }
            wakeWaiters(socket)
            return .value(0)
        case .datagram(let d):
            // inet_shutdown: a datagram socket that is not connected (TCP_CLOSE) is ENOTCONN.
            return d.remote == nil ? .error(.ENOTCONN) : .value(0)
        default:
            return .error(.ENOTCONN)
        }
    }

    // MARK: - Waiting calls

    /// Keeps `n` pending until `socket` changes, or `timeout` microseconds (SO_RCVTIMEO,
    /// SO_SNDTIMEO; 0: none) pass.
    func wait(_ socket: GuestSocket, _ n: SyscallNotification, kind: WaitingCall.Kind, timeout: Int64 = 0) {
        socket.waiting.removeAll { !($0.loop?.isStillPending($0.notification.id) ?? false) }
        let deadline = timeout > 0 ? EventLoop.monotonicNow() + UInt64(timeout) * 1000 : nil
        socket.waiting.append(WaitingCall(notification: n, loop: notifications, kind: kind, deadline: deadline))
        if timeout > 0 {
            _ = loop.schedule(afterMilliseconds: UInt64((timeout + 999) / 1000)) { [weak self] in
                self?.expireWaiters()
                self?.flush()
            }
        }
    }

    /// Answers or retries the calls waiting on `socket` after it changed.
    func wakeWaiters(_ socket: GuestSocket) {
        guard !socket.waiting.isEmpty else { return }
        let waiting = socket.waiting
        socket.waiting.removeAll()
        for waiter in waiting {
            guard let loop = waiter.loop, loop.isStillPending(waiter.notification.id) else { continue }
            switch waiter.kind {
            case .connect:
                switch socket.state {
                case .connecting:
                    socket.waiting.append(waiter)
                case .connected:
                    socket.connectUnreported = false
                    loop.answer(waiter.notification.id, .value(0))
                default:
                    socket.connectFailed = false
                    let error = socket.pendingError ?? .ECONNABORTED
                    socket.pendingError = nil
                    clearGuestError(socket, tid: waiter.notification.tid, fd: waiter.notification.int32Argument(0))
                    loop.answer(waiter.notification.id, .error(error))
                }
            case .retry:
                let answer = handle(waiter.notification, loop: loop)
                if answer != .pending { loop.answer(waiter.notification.id, answer) }
            }
        }
    }

    /// Waiting receives and accepts past their SO_RCVTIMEO end with EAGAIN; a blocking
    /// connect past SO_SNDTIMEO with EINPROGRESS, the handshake going on in the background.
    func expireWaiters() {
        let now = EventLoop.monotonicNow()
        for socket in sockets.values where !socket.waiting.isEmpty {
            socket.waiting.removeAll { waiter in
                guard let deadline = waiter.deadline, deadline <= now else { return false }
                if waiter.kind == .connect {
                    socket.connectUnreported = true
                    waiter.loop?.answer(waiter.notification.id, .error(.EINPROGRESS))
                } else {
                    waiter.loop?.answer(waiter.notification.id, .error(.EAGAIN))
                }
                return true
            }
        }
    }

    /// Stops a listener: the stack's listener closes (its half-open and unaccepted
    /// connections are reset, as `inet_csk_listen_stop` does) and the socket is idle, still
    /// holding its port.
    func stopListening(_ socket: GuestSocket) {
        guard case .listening(let l) = socket.state else { return }
        let now = EventLoop.monotonicNow()
        stack.close(l, now: now)
        let unaccepted = socket.acceptQueue
        socket.acceptQueue.removeAll()
        for pending in unaccepted {
            if let c = pending.connection { stack.abort(c, now: now) }
            pending.state = .idle
            closeHostEnd(pending)
            ports.release(pending)
        }
        for connection in socket.overflow { stack.abort(connection, now: now) }
        socket.overflow.removeAll()
        socket.listenerName = nil
        socket.state = .idle
    }
}
