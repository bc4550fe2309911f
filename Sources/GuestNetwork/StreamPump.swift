import CSRouterLinux
import Glibc
import LinuxABI
import NetStack
import Sandbox
import Wire

/// Moving a TCP connection's bytes between the stack and the guest's stream pair, and the
/// readiness the guest sees through it (DESIGN §3, "Readiness must be true").
///
/// Guest → network: what the guest wrote waits in srouter's end; it is peeked, offered to
/// the connection, and consumed only as far as the connection's send buffer took it, so
/// the pair itself holds the backlog and a full send buffer blocks the guest's writes.
/// Network → guest: in-order data is peeked from the connection, written to srouter's end
/// as far as the pair takes it, and consumed from the connection by that much; the
/// receive window closes while the guest does not read.
extension SocketService {
    /// Runs a stream socket's pumps and state changes.
    func pumpStream(_ socket: GuestSocket) {
        switch socket.state {
        case .connecting(let c):
            if c.state.isSynchronized {
                socket.state = .connected(c)
                drainFiller(socket)
                logger.debug("connected", metadata: ["socket": "\(socket.serial)", "tuple": "\(c.tuple)"])
            } else if c.state == .closed {
                let error = c.pendingError.map { LinuxErrno(rawValue: $0.rawValue) } ?? .ECONNREFUSED
                socket.pendingError = error
                socket.connectFailed = true
                socket.connectUnreported = false
                socket.state = .idle
                stack.tcp.release(c)
                failGuestFile(socket)
                logger.debug("connect failed", metadata: ["socket": "\(socket.serial)", "error": "\(error)"])
            } else if socket.guestClosed {
                retire(socket)
                return
            } else {
                return
            }
            wakeWaiters(socket)
            pumpStream(socket)
        case .connected(let c):
            moveToStack(socket, c)
            moveToGuest(socket, c)
            if socket.guestClosed && socket.guestSendClosed { retire(socket); return }
            // Watch only what can make progress: level-triggered RDHUP and HUP would spin.
            var events: UInt32 = 0
            if !socket.guestSendClosed && c.isWritable { events |= EPOLLIN.rawValue | EPOLLRDHUP.rawValue }
            if c.bytesReadable > 0 && !socket.guestReceiveClosed && !socket.guestClosed { events |= EPOLLOUT.rawValue }
            if socket.hungUp {
                watch(socket, events: 0)  // nothing can move; the sweep watches for the close
            } else if events == 0 && !socket.guestClosed && socket.guestSendClosed == false {
                // Send buffer full: the connection's event brings us back.
                watch(socket, events: 0)
            } else if events == 0 && !socket.guestClosed {
                // Nothing to move: only a hangup (the guest's close) matters now.
                watch(socket, events: EPOLLHUP.rawValue)
            } else {
                watch(socket, events: events)
            }
        case .idle:
            if socket.guestClosed { retire(socket) }
        default:
            break
        }
    }

    /// Guest → stack.
    private func moveToStack(_ socket: GuestSocket, _ c: TCPConnection) {
        guard !socket.guestSendClosed else { return }
        while true {
            let peeked = recv(socket.hostEnd, scratch.baseAddress, scratch.count, Int32(MSG_DONTWAIT | MSG_PEEK))
            if peeked == 0 {
                // The guest shut down writing or closed: FIN after what was queued.
                socket.guestSendClosed = true
                c.shutdownSend()
                stack.tcp.markActive(c)
                return
            }
            if peeked < 0 {
                if errno == ECONNRESET { socket.guestSendClosed = true; socket.guestClosed = true }
                return
            }
            let taken: Int
            do {
                taken = try c.send(UnsafeRawBufferPointer(rebasing: scratch[0..<peeked]))
            } catch {
                // The connection failed or was shut down: what the guest writes is lost, as
                // Linux would fail its write (the guest sees the reset on its next read).
                _ = recv(socket.hostEnd, scratch.baseAddress, peeked, Int32(MSG_DONTWAIT))
                return
            }
            if taken > 0 {
                _ = recv(socket.hostEnd, scratch.baseAddress, taken, Int32(MSG_DONTWAIT))
                stack.tcp.markActive(c)
            }
            if taken < peeked { return }
        }
    }

    /// Stack → guest.
    private func moveToGuest(_ socket: GuestSocket, _ c: TCPConnection) {
        if socket.guestReceiveClosed {
            // shutdown(SHUT_RD): what arrives is acknowledged and dropped.
            while c.receive(into: scratch) > 0 {}
            return
        }
        while c.bytesReadable > 0 {
            let peeked = c.receive(into: scratch, peek: true)
            guard peeked > 0 else { break }
            let written = send(socket.hostEnd, scratch.baseAddress, peeked, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            if written <= 0 {
                if written < 0 && (errno == EPIPE || errno == ECONNRESET) {
                    socket.guestClosed = true
                    socket.guestReceiveClosed = true
                }
                return
            }
            _ = c.receive(into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<written]))
            stack.tcp.markActive(c)
        }
        if c.bytesReadable == 0 && !socket.finDelivered && (c.peerClosed || c.state == .closed) {
            // End of stream (or the connection's end): the guest reads EOF after the data.
            socket.finDelivered = true
            _ = Glibc.shutdown(socket.hostEnd, Int32(SHUT_WR))
        }
    }

    // MARK: - Connect readiness

    /// The guest file's AF_UNIX send buffer (`SO_SNDBUF` doubles the 32 KiB asked): small
    /// enough that two filler chunks withhold POLLOUT (unix_writable: wmem ≤ sndbuf / 4) and
    /// freeing the first keeps it withheld, so draining gives the guest exactly one edge.
    /// The guest's own SO_SNDBUF is srouter's answer and unaffected.
    static let guestSendBuffer: Int32 = 32768
    /// One filler chunk: one skb (unix_stream_sendmsg sends at most sndbuf / 2 − 64 at a time).
    static let fillerChunk = 32768 - 64

    /// Fills the guest's end of the pair (`file`, a transient reference to it) until it would
    /// block, so the guest does not see POLLOUT before the handshake completes.
    func fillGuestEnd(_ socket: GuestSocket, file copy: Int32) {
        var size = Self.guestSendBuffer
        _ = setsockopt(copy, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let zeros = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<Self.fillerChunk])
        zeros.initializeMemory(as: UInt8.self, repeating: 0)
        var total = 0
        for _ in 0..<64 {
            let n = send(copy, zeros.baseAddress, zeros.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            if n <= 0 { break }
            total += n
        }
        socket.fillerBytes += total
    }

    /// Discards the filler from srouter's end, leaving `keeping` bytes (the last chunk) for a
    /// reset mark: the guest's end becomes writable (one edge) once the last chunk goes.
    func drainFiller(_ socket: GuestSocket, keeping: Int = 0) {
        while socket.fillerBytes > keeping {
            let n = recv(socket.hostEnd, scratch.baseAddress, min(scratch.count, socket.fillerBytes - keeping),
                         Int32(MSG_DONTWAIT))
            if n <= 0 { break }
            socket.fillerBytes -= n
        }
    }

    // MARK: - Listeners

    /// Connects each connection the stack accepted to the guest's AF_UNIX listener, which
    /// makes the listener readable; `accept` then takes them in the same order.
    func pumpListener(_ socket: GuestSocket) {
        guard case .listening(let listener) = socket.state, var name = socket.listenerName else { return }
        while let connection = socket.overflow.first ?? listener.accept() {
            let fd = srouter_unix_connect(&name, socket.listenerNameLength)
            if fd == -EAGAIN {
                if socket.overflow.first !== connection { socket.overflow.append(connection) }
                break
            }
            if !socket.overflow.isEmpty && socket.overflow[0] === connection { socket.overflow.removeFirst() }
            guard fd >= 0 else {
                // The guest's listener is gone.
                stack.abort(connection, now: EventLoop.monotonicNow())
                if fd == -ECONNREFUSED { retire(socket); return }
                continue
            }
            let accepted = GuestSocket(serial: nextSocketSerial(), isIPv6: socket.isIPv6, type: .stream,
                                       protocolNumber: socket.protocolNumber, guestInode: 0, hostEnd: fd)
            accepted.options = socket.options
            accepted.state = .connected(connection)
            accepted.boundAddress = connection.tuple.localAddress
            accepted.boundPort = connection.tuple.localPort
            ports.hold(accepted)
            byHostEnd[fd] = accepted
            connection.onEvent = { [unowned self, unowned accepted] _ in self.markDirty(accepted) }
            socket.acceptQueue.append(accepted)
            watch(accepted, events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue)
            pumpStream(accepted)
        }
        wakeWaiters(socket)
    }
}
