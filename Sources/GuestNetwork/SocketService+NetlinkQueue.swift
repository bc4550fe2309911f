import CSRouterLinux
import Glibc
import LinuxABI
import Netlink
import Sandbox

/// Moving netlink datagrams: requests the guest sent natively are read from srouter's end of
/// the pair; answers and notifications are written to it in order, as far as it takes them;
/// trapped receives take them from the guest's end with `sockaddr_nl` (`netlink_recvmsg`).
extension SocketService {
    // MARK: - srouter's end

    /// Watches the socket's end: readable (a request the guest sent natively, or its close),
    /// and writable while answers wait. While a dump runs, edge-triggered: every datagram
    /// the guest takes from the pair, natively too, frees room and so is an edge of EPOLLOUT.
    func watchNetlink(_ socket: GuestNetlinkSocket) {
        guard socket.hostEnd >= 0 else { return }
        var events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | (socket.pending.isEmpty ? 0 : EPOLLOUT.rawValue)
        if socket.dump != nil { events |= EPOLLOUT.rawValue | EPOLLET.rawValue }
        if !socket.isWatched {
            try? loop.register(socket.hostEnd, events: events) { [weak self, weak socket] ready in
                guard let self, let socket else { return }
                self.netlinkEndReady(socket, events: ready)
            }
            socket.isWatched = true
        } else if socket.watchedEvents != events {
            loop.modify(socket.hostEnd, events: events)
        }
        socket.watchedEvents = events
    }

    private func netlinkEndReady(_ socket: GuestNetlinkSocket, events: UInt32) {
        if events & (EPOLLHUP.rawValue | EPOLLRDHUP.rawValue) != 0 {
            retireNetlink(socket)
            return
        }
        if events & EPOLLIN.rawValue != 0 {
            // A trapped receive waiting already gets the answers at once; otherwise they wait
            // a moment for the receive that comes next. Not behind answers the pair had no
            // room for: those wait on EPOLLOUT, which must not find the pump held.
            if socket.waiting.isEmpty && socket.pending.isEmpty { socket.holdsForReceive = true }
            // One request a wakeup, unless edge-triggered: the level-triggered watch reports
            // the next at once, and BIRD's one request needs no read that finds none.
            serveNativeNetlinkRequests(socket, tid: nil, limit: socket.watchedEvents & EPOLLET.rawValue != 0 ? 64 : 1)
            if socket.pending.isEmpty {
                socket.holdsForReceive = false
            } else if socket.holdsForReceive && !socket.holdTimerSet {
                socket.holdTimerSet = true
                loop.schedule(afterMilliseconds: Self.heldAnswerMilliseconds, heldAnswerTimer(socket))
            }
        }
        if events & EPOLLOUT.rawValue != 0 { resumeStalledNetlinkDump(socket) }
        pumpNetlink(socket)
        flush()
    }

    /// Delivers the requests the guest sent natively (send/write without an address: to the
    /// connected destination, by default the kernel) that wait at srouter's end, autobinding
    /// the socket first as `netlink_sendmsg` does (with `tid`'s process id if known and free).
    /// A native send has already succeeded, so a destination that is gone drops the message.
    /// At most `limit` are served.
    func serveNativeNetlinkRequests(_ socket: GuestNetlinkSocket, tid: pid_t?, limit: Int = 64) {
        guard socket.hostEnd >= 0 else { return }
        for _ in 0..<limit {
            let n = recv(socket.hostEnd, scratch.baseAddress, scratch.count, Int32(MSG_DONTWAIT))
            guard n > 0 else { return }
            if !socket.isBound { autobind(socket, tid: tid) }
            // Out of the scratch buffer, which what the request wakes may use, into the spare
            // request buffer (one kept between requests: no allocation unless the request is
            // queued for another socket, which then keeps it, or one is served inside another).
            var request: [UInt8] = []
            swap(&request, &spareNetlinkRequest)
            request.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
            try? deliverNetlink(from: socket, request, to: socket.peer)
            request.removeAll(keepingCapacity: true)
            swap(&request, &spareNetlinkRequest)
        }
        // More may wait: an edge-triggered watch must be armed again to report them.
        if socket.isWatched && socket.watchedEvents & EPOLLET.rawValue != 0 {
            loop.modify(socket.hostEnd, events: socket.watchedEvents)
        }
    }

    /// How long answers to natively sent requests wait for a trapped receive
    /// (`GuestNetlinkSocket.holdsForReceive`) before they go into the pair, where a native
    /// read or poll sees them.
    static let heldAnswerMilliseconds: UInt64 = 1

    /// The action of `socket`'s hold timer, made once per socket and kept there (a route
    /// write holds its ACK, and a fresh closure for every one would cost an allocation each).
    private func heldAnswerTimer(_ socket: GuestNetlinkSocket) -> () -> Void {
        if let action = socket.holdTimerAction { return action }
        let action = { [weak self, weak socket] in
            guard let self, let socket else { return }
            socket.holdTimerSet = false
            self.releaseHeldNetlinkAnswers(socket)
        }
        socket.holdTimerAction = action
        return action
    }

    /// Ends `holdsForReceive`: what waits goes into the pair.
    func releaseHeldNetlinkAnswers(_ socket: GuestNetlinkSocket) {
        guard socket.holdsForReceive else { return }
        socket.holdsForReceive = false
        pumpNetlink(socket)
    }

    /// Writes waiting datagrams into the pair while it takes them, then wakes trapped receives;
    /// nothing while answers are held for a receive.
    func pumpNetlink(_ socket: GuestNetlinkSocket) {
        guard socket.hostEnd >= 0, !socket.holdsAnswers, !socket.holdsForReceive else { return }
        let written = writeNetlinkDatagrams(socket)
        if written > 0 { socket.pending.removeFirst(written) }
        watchNetlink(socket)
        if written > 0 { wakeNetlinkWaiters(socket) }
    }

    // MARK: - Dumps

    /// `netlink_dump`: makes the running dump's next datagram, as large as `dumpSizing` says,
    /// at the tail of the receive queue; once `NLMSG_DONE` is made the dump has ended (and
    /// another may start). Returns whether a datagram was made.
    @discardableResult
    func advanceNetlinkDump(_ socket: GuestNetlinkSocket) -> Bool {
        guard let dump = socket.dump else { return false }
        let datagram = dump.nextDatagram(size: socket.dumpSizing.datagramSize)
        if let datagram { socket.enqueue(datagram, from: NetlinkOrigin(portID: 0, group: 0)) }
        if dump.isFinished { socket.dump = nil }
        return datagram != nil
    }

    /// What the guest's receive queue holds, as Linux counts `sk_rmem_alloc`: what it has not
    /// read from the pair (SIOCOUTQ of srouter's end: the bytes its AF_UNIX peer still holds,
    /// by buffer truesize) plus the datagrams waiting to be written.
    func netlinkQueuedBytes(_ socket: GuestNetlinkSocket) -> Int {
        var unread: Int32 = 0
        if socket.hostEnd >= 0 { _ = ioctl(socket.hostEnd, UInt(TIOCOUTQ), &unread) }
        return socket.pending.reduce(Int(max(0, unread))) { $0 + $1.bytes.count }
    }

    /// After a trapped receive took (or peeked at) a datagram with a buffer of `offered`
    /// bytes (`netlink_recvmsg`): the length is recorded for the sizing of dump datagrams,
    /// and a running dump makes its next datagram while the receive queue holds at most half
    /// of SO_RCVBUF (`sk_rmem_alloc <= sk_rcvbuf / 2`). Returns whether one was made.
    private func netlinkReceiveTook(_ socket: GuestNetlinkSocket, offered: Int) -> Bool {
        socket.dumpSizing.recordReceive(offered: offered)
        guard socket.dump != nil, netlinkQueuedBytes(socket) <= Int(socket.receiveBuffer) / 2 else { return false }
        return advanceNetlinkDump(socket)
    }

    /// A dump whose datagrams the guest has read natively (read(2), recv: not trapped, so not
    /// seen) would never go on: when the pair is empty and nothing waits to be written, its
    /// next datagram is made, sized by the last length a trapped receive offered (Linux would
    /// have made it in that read).
    func resumeStalledNetlinkDump(_ socket: GuestNetlinkSocket) {
        guard socket.dump != nil, socket.hostEnd >= 0, socket.pending.isEmpty else { return }
        var unread: Int32 = 0
        guard ioctl(socket.hostEnd, UInt(TIOCOUTQ), &unread) == 0, unread == 0 else { return }
        if advanceNetlinkDump(socket) { pumpNetlink(socket) }
    }

    /// Forgets a socket the guest closed.
    func retireNetlink(_ socket: GuestNetlinkSocket) {
        if netlinkSockets[socket.guestInode] === socket { netlinkSockets[socket.guestInode] = nil }
        if socket.isBound, netlinkPorts[socket.settings.portID] === socket { netlinkPorts[socket.settings.portID] = nil }
        if socket.hostEnd >= 0 {
            if socket.isWatched { loop.unregister(socket.hostEnd) }
            close(socket.hostEnd)
            socket.hostEnd = -1
        }
        for waiter in socket.waiting { waiter.loop?.answer(waiter.notification.id, .error(.EBADF)) }
        socket.waiting.removeAll()
        logger.debug("netlink socket closed", metadata: ["socket": "\(socket.serial)"])
    }

    // MARK: - Receiving

    /// recvfrom, recvmsg and recvmmsg: datagrams with `sockaddr_nl` (`netlink_recvmsg`): a
    /// pending overrun fails first with ENOBUFS; MSG_TRUNC reports the whole length; a
    /// blocking socket waits (up to SO_RCVTIMEO).
    func receiveNetlink(_ socket: GuestNetlinkSocket, call: Int32, _ n: SyscallNotification,
                        descriptor: GuestDescriptor) throws(LinuxErrno) -> SyscallAnswer {
        let flagsArgument = call == number.recvmmsg ? 3 : (call == number.recvmsg ? 2 : 3)
        var flags = n.int32Argument(flagsArgument)
        if flags & Int32(MSG_OOB) != 0 { throw LinuxErrno.EOPNOTSUPP }
        if socket.overrun {
            socket.overrun = false
            throw LinuxErrno.ENOBUFS
        }
        resumeStalledNetlinkDump(socket)
        let memory = GuestMemory(tid: n.tid)
        // The datagrams are taken from the guest's end of the pair, through one copy of its
        // descriptor for the whole call (a recvmmsg takes many).
        let file = try GuestFiles.copy(tid: n.tid, fd: n.int32Argument(0))
        let copy = file.fd
        var received: Int?
        switch call {
        case number.recvfrom:
            received = try receiveNetlinkFrom(socket, n, memory: memory, flags: flags, copy: copy)
        case number.recvmsg:
            let header = try GuestMessageHeader.read(from: memory, at: n.arguments[1], forReceive: true,
                                                     hints: &messageTableHints)
            received = try receiveNetlinkMessage(socket, header, at: n.arguments[1], flags: flags, memory: memory,
                                                 copy: copy)
        default:
            let headers = try GuestMessageHeader.readMulti(from: memory, at: n.arguments[1],
                                                           count: Int(n.int32Argument(2)), forReceive: true)
            // Every message's write-back waits for one process_vm_writev at the end; a fault
            // in a later message reports the ones before it, as do_recvmmsg does.
            let count = try withWriteBack { (writeBack) throws(LinuxErrno) -> Int in
                var failure: LinuxErrno?
                receiving: while writeBack.messageCount < headers.count {
                    let index = writeBack.messageCount
                    let address = n.arguments[1] + UInt64(index * GuestMessageHeader.multiStride)
                    do throws(LinuxErrno) {
                        // What the pair already holds comes in one recvmmsg of srouter's own.
                        let batch = flags & Int32(MSG_PEEK) == 0
                            ? try takeNetlinkDatagrams(socket, copy: copy, offered: headers[index...].map(\.totalLength))
                            : []
                        for (k, (data, origin)) in batch.enumerated() {
                            let entry = address + UInt64(k * GuestMessageHeader.multiStride)
                            _ = appendNetlinkWriteBack(socket, data, origin: origin, into: headers[index + k], at: entry,
                                                       flags: flags, lengthAddress: entry + UInt64(GuestMessageHeader.size),
                                                       to: &writeBack)
                            writeBack.endMessage()
                        }
                        if batch.isEmpty {
                            guard try receiveNetlinkSegments(socket, headers[index], at: address, flags: flags, copy: copy,
                                                             lengthAddress: address + UInt64(GuestMessageHeader.size),
                                                             to: &writeBack) != nil
                            else { break receiving }
                            writeBack.endMessage()
                        }
                    } catch {
                        failure = error
                        break
                    }
                    if flags & Int32(0x10000) != 0 { flags |= Int32(MSG_DONTWAIT) }  // MSG_WAITFORONE
                }
                let count = try memory.write(messagesOf: writeBack)
                if count == 0, let failure { throw failure }
                return count
            }
            received = count > 0 ? count : nil
        }
        if let received { return .value(Int64(received)) }
        if !descriptor.isNonBlocking && flags & Int32(MSG_DONTWAIT) == 0 {
            socket.waiting.removeAll { !($0.loop?.isStillPending($0.notification.id) ?? false) }
            let deadline = socket.receiveTimeout > 0 ? EventLoop.monotonicNow() + UInt64(socket.receiveTimeout) * 1000 : nil
            socket.waiting.append(WaitingCall(notification: n, loop: notifications, kind: .retry, deadline: deadline))
            if socket.receiveTimeout > 0 {
                _ = loop.schedule(afterMilliseconds: UInt64((socket.receiveTimeout + 999) / 1000)) { [weak self, weak socket] in
                    guard let self, let socket else { return }
                    self.expireNetlinkWaiters(socket)
                }
            }
            return .pending
        }
        return .error(.EAGAIN)
    }

    private func receiveNetlinkFrom(_ socket: GuestNetlinkSocket, _ n: SyscallNotification, memory: GuestMemory,
                                    flags: Int32, copy: Int32) throws(LinuxErrno) -> Int? {
        let capacity = n.arguments[2] > UInt64(Int.max) ? Int.max : Int(n.arguments[2])
        guard let (data, origin) = try takeNetlinkDatagram(socket, copy: copy, peek: flags & Int32(MSG_PEEK) != 0,
                                                           offered: capacity)
        else { return nil }
        let copied = min(capacity, data.count)
        if copied > 0 { try memory.write(Array(data.prefix(copied)), at: n.arguments[1]) }
        if n.arguments[4] != 0 {
            try SocketAddress.copyOut(netlinkName(portID: origin.portID, groups: groupMask(origin.group)), to: memory,
                                      address: n.arguments[4], lengthAddress: n.arguments[5])
        }
        return flags & Int32(MSG_TRUNC) != 0 ? data.count : copied
    }

    /// One datagram into the msghdr at `address`, its write-back in one process_vm_writev.
    private func receiveNetlinkMessage(_ socket: GuestNetlinkSocket, _ header: GuestMessageHeader, at address: UInt64,
                                       flags: Int32, memory: GuestMemory, copy: Int32) throws(LinuxErrno) -> Int? {
        try withWriteBack { (writeBack) throws(LinuxErrno) -> Int? in
            guard let length = try receiveNetlinkSegments(socket, header, at: address, flags: flags, copy: copy,
                                                          to: &writeBack) else { return nil }
            try memory.write(writeBack)
            return length
        }
    }

    /// Takes one datagram for the msghdr at `address` and appends its write-back to
    /// `writeBack`; with `lengthAddress` (an mmsghdr's msg_len) the returned length is one
    /// more segment. Returns that length; nil (nothing appended) when none waits.
    private func receiveNetlinkSegments(_ socket: GuestNetlinkSocket, _ header: GuestMessageHeader, at address: UInt64,
                                        flags: Int32, copy: Int32, lengthAddress: UInt64? = nil,
                                        to writeBack: inout GuestWriteBack) throws(LinuxErrno) -> Int? {
        guard let (data, origin) = try takeNetlinkDatagram(socket, copy: copy, peek: flags & Int32(MSG_PEEK) != 0,
                                                           offered: header.totalLength) else {
            return nil
        }
        return appendNetlinkWriteBack(socket, data, origin: origin, into: header, at: address, flags: flags,
                                      lengthAddress: lengthAddress, to: &writeBack)
    }

    /// Appends to `writeBack` what writing `data` back into the msghdr at `address` takes, in
    /// the order recvmsg writes (so one process_vm_writev does it): the data, the control
    /// message, the name, the header's fields, and with `lengthAddress` the returned length,
    /// which it returns (the whole datagram's with MSG_TRUNC, as `netlink_recvmsg`).
    func appendNetlinkWriteBack(_ socket: GuestNetlinkSocket, _ data: [UInt8], origin: NetlinkOrigin,
                                into header: GuestMessageHeader, at address: UInt64, flags: Int32,
                                lengthAddress: UInt64? = nil, to writeBack: inout GuestWriteBack) -> Int {
        let written = data.withUnsafeBytes { header.scatter($0, into: &writeBack) }
        var nameLength: Int32 = 0
        var controlLength: UInt64 = 0
        var outFlags: Int32 = data.count > header.totalLength ? Int32(MSG_TRUNC) : 0
        if socket.packetInfo {
            // struct nl_pktinfo { __u32 group; } at SOL_NETLINK / NETLINK_PKTINFO.
            let message = ControlMessage(level: Self.netlinkLevel, type: 3, data: littleEndianBytes(origin.group))
            let capacity = header.controlAddress == 0 ? 0 : Int(min(header.controlLength, 4096))
            let encoded = ControlMessages.encode([message], capacity: capacity)
            writeBack.append(encoded.bytes, at: header.controlAddress)
            controlLength = UInt64(encoded.bytes.count)
            if encoded.truncated { outFlags |= Int32(MSG_CTRUNC) }
        }
        if header.nameAddress != 0 {
            withNetlinkName(portID: origin.portID, groups: groupMask(origin.group)) { name in
                let room = min(Int(max(0, header.nameLength)), name.count)
                writeBack.append(UnsafeRawBufferPointer(rebasing: name[..<room]), at: header.nameAddress)
                nameLength = Int32(name.count)
            }
        }
        GuestMessageHeader.appendResult(of: header, nameLength: nameLength, controlLength: controlLength, flags: outFlags,
                                        at: address, to: &writeBack)
        let length = flags & Int32(MSG_TRUNC) != 0 ? data.count : written
        if let lengthAddress { writeBack.append(littleEndian: UInt32(truncatingIfNeeded: length), at: lengthAddress) }
        return length
    }

    /// The group's bit in `nl_groups` (0 for unicast; groups above 32 show as 0, as
    /// `netlink_group_mask` gives).
    private func groupMask(_ group: UInt32) -> UInt32 {
        group >= 1 && group <= 32 ? 1 << (group - 1) : 0
    }

    /// Takes (or peeks at) the oldest datagram of the guest's end, with its origin, for a
    /// receive offering `offered` bytes. nil: none.
    private func takeNetlinkDatagram(_ socket: GuestNetlinkSocket, copy: Int32, peek: Bool,
                                     offered: Int) throws(LinuxErrno) -> ([UInt8], NetlinkOrigin)? {
        // Only srouter writes into the pair, and `queued` counts what it wrote that no trapped
        // receive took: at zero the pair is empty, and what is held comes next.
        if socket.queuedHead >= socket.queued.count { return takeHeldNetlinkDatagram(socket, peek: peek, offered: offered) }
        if socket.largestQueued <= scratch.count {
            // Every datagram in the pair fits the scratch buffer: one read, no sizing peek.
            let n = recv(copy, scratch.baseAddress, scratch.count, Int32(MSG_DONTWAIT | (peek ? MSG_PEEK : 0)))
            guard n >= 0 else {
                if errno == EAGAIN {
                    // The guest read the rest natively (read(2) is not trapped): none is left.
                    socket.queuedHead = socket.queued.count
                    return takeHeldNetlinkDatagram(socket, peek: peek, offered: offered)
                }
                throw LinuxErrno(rawValue: errno)
            }
            return (Array(UnsafeRawBufferPointer(rebasing: scratch[0..<n])), dequeueOrigin(socket, peek: peek, offered: offered))
        }
        let length = recv(copy, nil, 0, Int32(MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC))
        guard length >= 0 else {
            if errno == EAGAIN {
                socket.queuedHead = socket.queued.count
                return takeHeldNetlinkDatagram(socket, peek: peek, offered: offered)
            }
            throw LinuxErrno(rawValue: errno)
        }
        var data = [UInt8](repeating: 0, count: length)
        let n = data.withUnsafeMutableBytes { recv(copy, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | (peek ? MSG_PEEK : 0))) }
        guard n >= 0 else {
            if errno == EAGAIN { return nil }
            throw LinuxErrno(rawValue: errno)
        }
        data.removeLast(data.count - n)
        return (data, dequeueOrigin(socket, peek: peek, offered: offered))
    }

    /// The oldest datagram `pending` holds for a receive that finds the pair empty (while
    /// `holdsAnswers`, a trapped receive's answers wait there), taken (or peeked at) without
    /// the pair, followed by what `dequeueOrigin` does after a read. nil: none waits.
    private func takeHeldNetlinkDatagram(_ socket: GuestNetlinkSocket, peek: Bool,
                                         offered: Int) -> ([UInt8], NetlinkOrigin)? {
        guard let held = socket.pending.first else { return nil }
        if !peek { socket.pending.removeFirst() }
        if netlinkReceiveTook(socket, offered: offered) || !peek { pumpNetlink(socket) }
        return (held.bytes, held.origin)
    }

    /// The source of the datagram just read from the pair; unless peeking, it leaves
    /// `queued`. Then, as after `netlink_recvmsg`, a running dump may make its next datagram,
    /// and what waits in `pending` may now fit in the pair.
    func dequeueOrigin(_ socket: GuestNetlinkSocket, peek: Bool, offered: Int) -> NetlinkOrigin {
        let origin = socket.queuedHead < socket.queued.count ? socket.queued[socket.queuedHead] : NetlinkOrigin(portID: 0, group: 0)
        if !peek {
            socket.queuedHead += 1
            if socket.queuedHead > 64 && socket.queuedHead * 2 > socket.queued.count {
                socket.queued.removeFirst(socket.queuedHead)
                socket.queuedHead = 0
            }
        }
        if netlinkReceiveTook(socket, offered: offered) || !peek {
            pumpNetlink(socket)  // room in the pair for what waits
        }
        return origin
    }

    private func wakeNetlinkWaiters(_ socket: GuestNetlinkSocket) {
        guard !socket.waiting.isEmpty else { return }
        let waiting = socket.waiting
        socket.waiting.removeAll()
        for waiter in waiting {
            guard let loop = waiter.loop, loop.isStillPending(waiter.notification.id) else { continue }
            let answer = handle(waiter.notification, loop: loop)
            if answer != .pending { loop.answer(waiter.notification.id, answer) }
        }
    }

    private func expireNetlinkWaiters(_ socket: GuestNetlinkSocket) {
        let now = EventLoop.monotonicNow()
        socket.waiting.removeAll { waiter in
            guard let deadline = waiter.deadline, deadline <= now else { return false }
            waiter.loop?.answer(waiter.notification.id, .error(.EAGAIN))
            return true
        }
    }
}
