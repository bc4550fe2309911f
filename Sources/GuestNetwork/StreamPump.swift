import CSRouterLinux
import Glibc
import LinuxABI
import NetStack
import Sandbox
import Wire

/// Moving a TCP connection's bytes between the stack and the guest's stream pair, and the
/// readiness the guest sees through it (DESIGN §3, "Readiness must be true").
///
/// Guest → network: what the guest wrote waits in srouter's end; it is peeked (at
/// SO_PEEK_OFF, after what the connection already took) and offered to the connection, so
/// the pair itself holds the backlog and a full send buffer blocks the guest's writes.
/// What the connection took is read from the pair later: reading frees the guest's skbs,
/// and AF_UNIX wakes the guest with EPOLLOUT on every free (`unix_write_space`) where Linux
/// TCP wakes a writer only if it had found its buffer full (`tcp_check_space`,
/// SOCK_NOSPACE). So it is read together with srouter's write of arriving data to the
/// guest — one wakeup, IN|OUT, as Linux gives when the reply arrives — or as soon as the
/// guest's AF_UNIX send buffer is an eighth used, well before POLLOUT would go (a quarter:
/// `unix_writable`), or a second after the connection has it all acknowledged.
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
                startPeekingAtOffset(socket)
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
                // Edge-triggered: what the stack took stays queued, so `hostEnd` stays readable;
                // each guest write (sk_data_ready) still brings an edge.
                watch(socket, events: events | EPOLLET.rawValue)
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
        var took = false
        while true {
            let peeked = recv(socket.hostEnd, scratch.baseAddress, scratch.count, Int32(MSG_DONTWAIT | MSG_PEEK))
            if peeked == 0 {
                // The guest shut down writing or closed: FIN after what was queued. (A peek
                // past all queued data of a shut-down peer reads 0: unix_stream_read_generic.)
                socket.guestSendClosed = true
                c.shutdownSend()
                stack.tcp.markActive(c)
                scheduleTakenRead(socket)
                return
            }
            if peeked < 0 {
                if errno == ECONNRESET { socket.guestSendClosed = true; socket.guestClosed = true }
                break
            }
            let taken: Int
            do {
                taken = try c.send(UnsafeRawBufferPointer(rebasing: scratch[0..<peeked]))
            } catch {
                // The connection failed or was shut down: what the guest writes is lost, as
                // Linux would fail its write (the guest sees the reset on its next read).
                socket.takenUnread += socket.peeksAtOffset ? peeked : 0
                readTaken(socket)
                if !socket.peeksAtOffset { discard(socket, peeked) }
                return
            }
            if taken > 0 {
                took = true
                stack.tcp.markActive(c)
            }
            if socket.peeksAtOffset {
                socket.takenUnread += taken
                if taken < peeked { setPeekOffset(socket, socket.takenUnread) }
            } else if taken > 0 {
                discard(socket, taken)
            }
            if taken < peeked { break }
        }
        if took && socket.takenUnread > 0 && guestSendBufferFilling(socket) { readTaken(socket) }
        scheduleTakenRead(socket)
    }

    /// Stack → guest.
    private func moveToGuest(_ socket: GuestSocket, _ c: TCPConnection) {
        if socket.guestReceiveClosed {
            // shutdown(SHUT_RD): what arrives is acknowledged and dropped.
            while c.receive(into: scratch) > 0 {}
            return
        }
        while c.bytesReadable > 0 {
            // The scratch buffer's tail takes what `readTaken` discards, so the read that
            // frees the guest's skbs comes right before the write that wakes it for input.
            let room = socket.takenUnread > 0 ? scratch.count - Self.discardRoom : scratch.count
            let peeked = c.receive(into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<room]), peek: true)
            guard peeked > 0 else { break }
            let (written, failure) = writeToGuest(socket, count: peeked)
            if written <= 0 {
                if written < 0 && (failure == EPIPE || failure == ECONNRESET) {
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
            // (What the stack took stays: reading it now would wake the guest for POLLOUT
            // apart from the FIN's wakeup, which Linux does not.)
            socket.finDelivered = true
            _ = Glibc.shutdown(socket.hostEnd, Int32(SHUT_WR))
        }
    }

    // MARK: - What the stack took

    /// The part of `scratch` (its end) that `readTaken` reads into while the rest holds data
    /// on its way to the guest.
    static let discardRoom = 32768

    /// Writes the first `count` bytes of `scratch` to the guest's end, reading what the stack
    /// took first within the same io_uring_enter (`srouter_read_then_write`): the guest's
    /// EPOLLOUT wakeup (its skbs freed) and its EPOLLIN wakeup (data queued) then reach its
    /// epoll together — one edge, IN|OUT — where two calls let the woken guest collect the
    /// first alone. Returns what `send` would, and the errno of a failure.
    private func writeToGuest(_ socket: GuestSocket, count: Int) -> (written: Int, failure: Int32) {
        guard socket.takenUnread > 0 else {
            let written = send(socket.hostEnd, scratch.baseAddress, count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            return (written, written < 0 ? errno : 0)
        }
        if socket.takenUnread > Self.discardRoom {
            socket.takenUnread -= discard(socket, socket.takenUnread - Self.discardRoom)
        }
        var read = 0
        var written = 0
        srouter_read_then_write(socket.hostEnd, scratch.baseAddress! + (scratch.count - Self.discardRoom),
                                min(socket.takenUnread, Self.discardRoom), scratch.baseAddress, count, &read, &written)
        if read > 0 { socket.takenUnread -= read }
        readTaken(socket)
        return written < 0 ? (-1, Int32(-written)) : (written, 0)
    }

    /// Makes `hostEnd` peek at SO_PEEK_OFF from now on (the connect filler is gone), so what
    /// the stack took can stay queued. Without it (SO_PEEK_OFF fails), taken bytes are read
    /// at once, as before.
    func startPeekingAtOffset(_ socket: GuestSocket) {
        socket.takenUnread = 0
        socket.peeksAtOffset = socket.hostEnd >= 0 && setPeekOffset(socket, 0)
    }

    /// Sets `hostEnd`'s SO_PEEK_OFF (`sk_set_peek_off`); a read (not a peek) moves it back by
    /// what it read (`sk_peek_offset_bwd`), so it stays at `takenUnread`.
    @discardableResult
    private func setPeekOffset(_ socket: GuestSocket, _ offset: Int) -> Bool {
        var value = Int32(offset)
        return setsockopt(socket.hostEnd, SOL_SOCKET, SO_PEEK_OFF, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    /// Reads (and drops) what the stack took from `hostEnd`, freeing the guest's skbs: the
    /// guest's AF_UNIX file wakes for POLLOUT (`unix_write_space`).
    private func readTaken(_ socket: GuestSocket) {
        guard socket.takenUnread > 0 else { return }
        let done = discard(socket, socket.takenUnread)
        socket.takenUnread -= done
        if socket.takenUnread > 0 && socket.peeksAtOffset {
            // The pair lost data it should hold (cannot happen while the guest's file lives).
            socket.takenUnread = 0
            setPeekOffset(socket, 0)
        }
    }

    /// How long (ms) what the stack took may stay unread once the connection has it all
    /// acknowledged, when no reply comes to read it with: then SIOCOUTQ on the guest's file
    /// (its unread skbs) falls to 0 as Linux's (unacknowledged bytes) did, at the price of
    /// a POLLOUT wakeup Linux would not give, late enough to miss the exchanges that matter.
    static let takenReadDelay: UInt64 = 1000

    /// Arms the timer that reads what the stack took if nothing else does (see `takenReadDelay`).
    private func scheduleTakenRead(_ socket: GuestSocket) {
        guard socket.takenUnread > 0, socket.takenReadTimer == nil else { return }
        socket.takenReadTimer = loop.schedule(afterMilliseconds: Self.takenReadDelay) { [weak self, weak socket] in
            guard let self, let socket else { return }
            socket.takenReadTimer = nil
            guard socket.takenUnread > 0, socket.hostEnd >= 0, case .connected(let c) = socket.state else { return }
            if c.bytesUnacknowledged == 0 || c.state == .closed {
                self.readTaken(socket)
            } else {
                self.scheduleTakenRead(socket)
            }
        }
    }

    /// Reads `count` bytes from the head of `hostEnd` into the end of `scratch`; returns how
    /// many it read.
    @discardableResult
    private func discard(_ socket: GuestSocket, _ count: Int) -> Int {
        let tail = scratch.baseAddress! + (scratch.count - Self.discardRoom)
        var done = 0
        while done < count {
            let n = recv(socket.hostEnd, tail, min(count - done, Self.discardRoom), Int32(MSG_DONTWAIT))
            if n <= 0 { break }
            done += n
        }
        return done
    }

    /// Whether the guest's AF_UNIX send buffer is more than an eighth used (sock_diag's
    /// SK_MEMINFO_WMEM_ALLOC against SK_MEMINFO_SNDBUF): what the stack took must then be read,
    /// or the guest's file would soon stop polling POLLOUT (`unix_writable`: a quarter) and
    /// block its writes (`sock_alloc_send_pskb`: all of it) although the connection has room.
    /// Small writes cost far more than their length (each is an skb of its own), so the bytes
    /// alone cannot tell. Unknown (no inode, the query fails): true.
    private func guestSendBufferFilling(_ socket: GuestSocket) -> Bool {
        guard socket.guestInode != 0 else { return true }
        var allocated: UInt32 = 0
        var limit: UInt32 = 0
        guard srouter_unix_send_memory(socket.guestInode, &allocated, &limit) == 0 else { return true }
        return UInt64(allocated) * 8 > UInt64(limit)
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
            startPeekingAtOffset(accepted)
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
