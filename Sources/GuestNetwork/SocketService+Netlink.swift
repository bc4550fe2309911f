import CSRouterLinux
import Glibc
import LinuxABI
import Netlink
import Sandbox
import Wire

/// The guest's NETLINK_ROUTE sockets (DESIGN §4), with the semantics of Linux's
/// `net/netlink/af_netlink.c`: `netlink_create`, `netlink_bind` (port ids, autobind, groups),
/// `netlink_connect`, `netlink_getname`, `netlink_sendmsg` (to the kernel: port 0),
/// `netlink_recvmsg` (`sockaddr_nl`, MSG_TRUNC, MSG_PEEK), and overruns (ENOBUFS). Requests
/// go to `netlinkServer`; other netlink protocols do not exist for the guest: they would
/// reach the host kernel (sock_diag lists the host's sockets), so they are EPROTONOSUPPORT, as
/// from a kernel without them.
extension SocketService {
    /// `MAX_LINKS`: netlink protocol numbers are below 32.
    static let netlinkProtocolLimit: Int32 = 32
    /// `SOL_NETLINK`.
    static let netlinkLevel: Int32 = 270
    /// `RTNLGRP_MAX` (Linux 6.x): the highest group NETLINK_ADD_MEMBERSHIP takes.
    static let routeGroupLimit: UInt32 = 38
    /// sizeof(struct sockaddr_nl).
    static let netlinkAddressLength = 12

    // MARK: - socket(2)

    /// socket(AF_NETLINK, type, protocol): ESOCKTNOSUPPORT unless SOCK_RAW or SOCK_DGRAM,
    /// EPROTONOSUPPORT for a protocol out of range or other than NETLINK_ROUTE.
    func createNetlinkSocket(_ n: SyscallNotification) -> SyscallAnswer {
        let rawType = n.int32Argument(1)
        if (rawType & ~SocketCallHandler.typeMask) & ~SocketCallHandler.allowedTypeFlags != 0 { return .error(.EINVAL) }
        let baseType = rawType & SocketCallHandler.typeMask
        if baseType >= SocketCallHandler.typeLimit { return .error(.EINVAL) }
        guard baseType == Int32(SOCK_RAW.rawValue) || baseType == Int32(SOCK_DGRAM.rawValue) else {
            return .error(.ESOCKTNOSUPPORT)
        }
        let protocolNumber = n.int32Argument(2)
        guard protocolNumber >= 0, protocolNumber < Self.netlinkProtocolLimit else { return .error(.EPROTONOSUPPORT) }
        guard protocolNumber == 0, netlinkServer != nil else { return .error(.EPROTONOSUPPORT) }
        var pair: [Int32] = [-1, -1]
        guard Glibc.socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            return .error(.ENFILE)
        }
        let guestEnd = pair[0], hostEnd = pair[1]
        defer { close(guestEnd) }
        GuestFiles.setNonBlocking(hostEnd, true)
        if rawType & Int32(SOCK_NONBLOCK.rawValue) != 0 { GuestFiles.setNonBlocking(guestEnd, true) }
        // The pair holds what the guest has not read: as much as its receive buffer would.
        var size: Int32 = 212_992 / 2
        _ = setsockopt(hostEnd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let inode = UInt64(max(0, srouter_inode_of(guestEnd)))
        let socket = GuestNetlinkSocket(serial: nextSocketSerial(), type: baseType, guestInode: inode, hostEnd: hostEnd)
        guard let listener = notifications?.listener else { close(hostEnd); return .error(.ENOSYS) }
        let result = GuestFiles.inject(guestEnd, listener: listener, id: n.id,
                                       closeOnExec: rawType & Int32(SOCK_CLOEXEC.rawValue) != 0, answering: true)
        guard result >= 0 else {
            close(hostEnd)
            return result == -ENOENT ? .withdrawn : .error(LinuxErrno(rawValue: -result))
        }
        netlinkSockets[inode] = socket
        watchNetlink(socket)
        logger.debug("netlink socket", metadata: ["socket": "\(socket.serial)", "fd": "\(result)", "tid": "\(n.tid)"])
        return .pending  // answered by SECCOMP_ADDFD_FLAG_SEND
    }

    // MARK: - Calls

    /// The trapped calls on a netlink socket.
    func serveNetlink(_ call: Int32, on socket: GuestNetlinkSocket, descriptor: GuestDescriptor,
                      notification n: SyscallNotification) -> SyscallAnswer {
        // A receive takes its answers straight from `pending` (BIRD's route write: the ACK of
        // the request it just sent natively), and the pair gets what is left afterwards.
        let isReceive = call == number.recvfrom || call == number.recvmsg || call == number.recvmmsg
        let holds = !socket.holdsAnswers && isReceive
        // Answers held since their requests arrived: this receive takes them; any other call
        // lets them into the pair first.
        if holds {
            socket.holdsAnswers = true
            socket.holdsForReceive = false
        } else if !isReceive {
            releaseHeldNetlinkAnswers(socket)
        }
        defer {
            if holds {
                socket.holdsAnswers = false
                pumpNetlink(socket)
            }
        }
        // Requests the guest sent natively before this call came first: serve them now, so
        // that their autobind (netlink_sendmsg) and answers precede what this call sees.
        serveNativeNetlinkRequests(socket, tid: n.tid)
        do throws(LinuxErrno) {
            switch call {
            case number.bind: return try bindNetlink(socket, n)
            case number.connect: return try connectNetlink(socket, n)
            case number.getsockname:
                return try writeNetlinkName(n, portID: socket.settings.portID, groups: socket.groupMask)
            case number.getpeername: return try writeNetlinkName(n, portID: socket.peer.portID, groups: socket.peer.groups)
            case number.setsockopt: return try setNetlinkOption(socket, n)
            case number.getsockopt: return try getNetlinkOption(socket, n)
            case number.sendto:
                let length = Int(truncatingIfNeeded: n.arguments[2])
                guard length >= 0 else { throw LinuxErrno.EINVAL }
                let name = n.arguments[4] == 0 ? [] : try GuestMemory(tid: n.tid).read(
                    at: n.arguments[4], count: Int(min(max(0, n.int32Argument(5)), 128)))
                if n.arguments[4] != 0 && n.int32Argument(5) < 0 { throw LinuxErrno.EINVAL }
                let data = try GuestMemory(tid: n.tid).read(at: n.arguments[1], count: min(length, Int(socket.sendBuffer)))
                return .value(Int64(try sendNetlink(socket, data: data, name: name, tid: n.tid)))
            case number.sendmsg:
                let memory = GuestMemory(tid: n.tid)
                let header = try GuestMessageHeader.read(from: memory, at: n.arguments[1], forReceive: false,
                                                     hints: &messageTableHints)
                return .value(Int64(try sendNetlinkMessage(socket, header, memory: memory, tid: n.tid)))
            case number.sendmmsg:
                let memory = GuestMemory(tid: n.tid)
                let headers = try GuestMessageHeader.readMulti(from: memory, at: n.arguments[1],
                                                               count: Int(n.int32Argument(2)), forReceive: false)
                var sent = 0
                for (index, header) in headers.enumerated() {
                    do throws(LinuxErrno) {
                        let count = try sendNetlinkMessage(socket, header, memory: memory, tid: n.tid)
                        try GuestMessageHeader.writeMessageLength(UInt32(count), to: memory, at: n.arguments[1], index: index)
                        sent += 1
                    } catch {
                        if sent == 0 { throw error }
                        break
                    }
                }
                return .value(Int64(sent))
            case number.recvfrom, number.recvmsg, number.recvmmsg:
                return try receiveNetlink(socket, call: call, n, descriptor: descriptor)
            case number.listen, number.accept, number.accept4, number.shutdown:
                return .error(.EOPNOTSUPP)
            default:
                return .error(.ENOSYS)
            }
        } catch {
            return .error(error)
        }
    }

    /// `netlink_bind`: a `sockaddr_nl` (EINVAL if short or of another family); port 0
    /// autobinds, a taken port is EADDRINUSE, a bound socket keeps its port (EINVAL for any
    /// other nl_pid, 0 included); `nl_groups` replaces groups 1…32.
    private func bindNetlink(_ socket: GuestNetlinkSocket, _ n: SyscallNotification) throws(LinuxErrno) -> SyscallAnswer {
        let (portID, groups) = try readNetlinkName(n, pointer: 1, length: 2)
        if socket.isBound {
            // A bound socket keeps its port: any other nl_pid, 0 too, is EINVAL.
            if portID != socket.settings.portID { throw LinuxErrno.EINVAL }
        } else if portID != 0 {
            guard netlinkPorts[portID] == nil else { throw LinuxErrno.EADDRINUSE }
            assignPort(socket, portID)
        } else {
            autobind(socket, tid: n.tid)
        }
        socket.groups = socket.groups.filter { $0 > 32 }
        for bit in 0..<32 where groups & (1 << bit) != 0 { socket.groups.insert(UInt32(bit + 1)) }
        return .value(0)
    }

    /// `netlink_connect`: AF_UNSPEC disconnects; any other `sockaddr_nl` becomes the default
    /// destination. The guest administers srouter's network as root administers a namespace's
    /// (it writes routes), so other ports and groups are allowed as `netlink_allowed` allows
    /// them to CAP_NET_ADMIN.
    private func connectNetlink(_ socket: GuestNetlinkSocket, _ n: SyscallNotification) throws(LinuxErrno) -> SyscallAnswer {
        let length = n.int32Argument(2)
        guard length >= 2 else { throw LinuxErrno.EINVAL }
        let raw = try GuestMemory(tid: n.tid).read(at: n.arguments[1], count: 2)
        if UInt16(raw[0]) | UInt16(raw[1]) << 8 == UInt16(AF_UNSPEC) {
            socket.peer = (0, 0)
            return .value(0)
        }
        let (portID, groups) = try readNetlinkName(n, pointer: 1, length: 2)
        if !socket.isBound { autobind(socket, tid: n.tid) }
        socket.peer = (portID, groups)
        return .value(0)
    }

    /// A `sockaddr_nl` at argument `pointer` of length argument `length`: (nl_pid, nl_groups).
    private func readNetlinkName(_ n: SyscallNotification, pointer: Int, length: Int) throws(LinuxErrno) -> (UInt32, UInt32) {
        let count = n.int32Argument(length)
        guard count >= Int32(Self.netlinkAddressLength) else { throw LinuxErrno.EINVAL }
        return try parseNetlinkName(GuestMemory(tid: n.tid).read(at: n.arguments[pointer], count: Self.netlinkAddressLength))
    }

    private func parseNetlinkName(_ raw: [UInt8]) throws(LinuxErrno) -> (UInt32, UInt32) {
        guard raw.count >= Self.netlinkAddressLength, UInt16(raw[0]) | UInt16(raw[1]) << 8 == UInt16(AF_NETLINK) else {
            throw LinuxErrno.EINVAL
        }
        let word = { (at: Int) -> UInt32 in
            UInt32(raw[at]) | UInt32(raw[at + 1]) << 8 | UInt32(raw[at + 2]) << 16 | UInt32(raw[at + 3]) << 24
        }
        return (word(4), word(8))
    }

    /// `struct sockaddr_nl` {AF_NETLINK, 0, port, groups}.
    func netlinkName(portID: UInt32, groups: UInt32) -> [UInt8] {
        withNetlinkName(portID: portID, groups: groups) { Array($0) }
    }

    /// Calls `body` with the bytes of `struct sockaddr_nl` {AF_NETLINK, 0, port, groups}, laid
    /// out as the C struct (nl_family, nl_pad, nl_pid, nl_groups: 12 bytes) in a value on the
    /// stack: what a receive writes back for every datagram, without an array each time.
    func withNetlinkName<R>(portID: UInt32, groups: UInt32, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let name = (UInt16(AF_NETLINK).littleEndian, UInt16(0), portID.littleEndian, groups.littleEndian)
        return withUnsafeBytes(of: name) { body(UnsafeRawBufferPointer(rebasing: $0[..<Self.netlinkAddressLength])) }
    }

    private func writeNetlinkName(_ n: SyscallNotification, portID: UInt32, groups: UInt32) throws(LinuxErrno) -> SyscallAnswer {
        try SocketAddress.copyOut(netlinkName(portID: portID, groups: groups), to: GuestMemory(tid: n.tid),
                                  address: n.arguments[1], lengthAddress: n.arguments[2])
        return .value(0)
    }

    /// `netlink_autobind`: the process id for a process's first socket, then ids counting
    /// down from -4096, as Linux picks them (a native send, whose caller srouter does not
    /// see, starts at the countdown).
    func autobind(_ socket: GuestNetlinkSocket, tid: pid_t?) {
        var candidate = tid.map { UInt32(bitPattern: Self.processID(of: $0)) } ?? 0
        while candidate == 0 || netlinkPorts[candidate] != nil {
            candidate = UInt32(bitPattern: netlinkRover)
            netlinkRover = netlinkRover == Int32.min + 1 ? -4096 : netlinkRover - 1
        }
        assignPort(socket, candidate)
    }

    private func assignPort(_ socket: GuestNetlinkSocket, _ portID: UInt32) {
        socket.settings.portID = portID
        socket.isBound = true
        netlinkPorts[portID] = socket
    }

    /// The thread group (process) id of `tid` (/proc/TID/status), the tid itself if unknown.
    static func processID(of tid: pid_t) -> Int32 {
        guard let file = fopen("/proc/\(tid)/status", "r") else { return tid }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("Tgid:") { return Int32(text.dropFirst(5).trimmingWhitespace()) ?? tid }
        }
        return tid
    }

    // MARK: - Sending

    private func sendNetlinkMessage(_ socket: GuestNetlinkSocket, _ header: GuestMessageHeader, memory: GuestMemory,
                                    tid: pid_t) throws(LinuxErrno) -> Int {
        let name = header.nameLength > 0 && header.nameAddress != 0
            ? try memory.read(at: header.nameAddress, count: Int(header.nameLength)) : []
        let data = try header.gather(from: memory, limit: Int(socket.sendBuffer))
        guard header.totalLength <= Int(socket.sendBuffer) - 32 else { throw LinuxErrno.EMSGSIZE }
        return try sendNetlink(socket, data: data, name: name, tid: tid)
    }

    /// `netlink_sendmsg` to the kernel: a name, if any, must be a `sockaddr_nl` for port 0
    /// without groups (EINVAL, EPERM); the socket autobinds; the request is served at once
    /// and its answers queued. Returns the length sent.
    private func sendNetlink(_ socket: GuestNetlinkSocket, data: [UInt8], name: [UInt8], tid: pid_t) throws(LinuxErrno) -> Int {
        let destination = name.isEmpty ? socket.peer : try parseNetlinkName(name)
        if data.count > Int(socket.sendBuffer) - 32 { throw LinuxErrno.EMSGSIZE }
        if !socket.isBound { autobind(socket, tid: tid) }
        try deliverNetlink(from: socket, data, to: destination)
        return data.count
    }

    /// `netlink_sendmsg`'s delivery: to the groups' subscribers (but the unicast target),
    /// then to the port — srouter's rtnetlink for port 0, another guest socket otherwise
    /// (ECONNREFUSED if there is none).
    func deliverNetlink(from socket: GuestNetlinkSocket, _ data: [UInt8],
                        to destination: (portID: UInt32, groups: UInt32)) throws(LinuxErrno) {
        if destination.groups != 0 {
            let group = UInt32(destination.groups.trailingZeroBitCount + 1)
            for member in netlinkSockets.values where member.groups.contains(group)
                && member.settings.portID != destination.portID {
                member.enqueue(data, from: NetlinkOrigin(portID: socket.settings.portID, group: group))
                pumpNetlink(member)
            }
        }
        guard destination.portID != 0 else {
            serveNetlinkRequest(socket, data)
            return
        }
        guard let target = netlinkPorts[destination.portID] else { throw LinuxErrno.ECONNREFUSED }
        target.enqueue(data, from: NetlinkOrigin(portID: socket.settings.portID, group: 0))
        pumpNetlink(target)
    }

    /// Hands one request datagram to the server and queues its answers; a dump's first
    /// datagram is made at once, as `__netlink_dump_start` runs `netlink_dump` once, and the
    /// answers to later messages of the datagram follow it.
    func serveNetlinkRequest(_ socket: GuestNetlinkSocket, _ data: [UInt8]) {
        guard let server = netlinkServer else { return }
        let start = EventLoop.monotonicNow()
        // Into the spare replies array (a request served inside another gets a fresh one).
        var replies: [NetlinkReply] = []
        swap(&replies, &spareNetlinkReplies)
        defer {
            replies.removeAll(keepingCapacity: true)
            swap(&replies, &spareNetlinkReplies)
        }
        data.withUnsafeBytes {
            server.respond(to: $0, settings: socket.settings, dumpRunning: socket.dump != nil, into: &replies)
        }
        for reply in replies {
            switch reply {
            case .datagram(let bytes): socket.enqueue(bytes, from: NetlinkOrigin(portID: 0, group: 0))
            case .dump(let dump):
                // The server starts no dump while one runs (EBUSY).
                socket.dump = dump
                advanceNetlinkDump(socket)
            }
        }
        pumpNetlink(socket)
        netlinkWork.requests += 1
        netlinkWork.nanoseconds += EventLoop.monotonicNow() - start
    }

    /// Delivers a notification to every bound socket subscribed to `group`; one whose receive
    /// queue is over its SO_RCVBUF loses it and reports ENOBUFS on its next receive
    /// (`netlink_broadcast_deliver`: delivered while `sk_rmem_alloc <= sk_rcvbuf`, else
    /// `netlink_overrun`). The queue is what the guest has not read from the pair (SIOCOUTQ
    /// of srouter's end: the bytes its AF_UNIX peer still holds, counted as Linux counts
    /// `sk_rmem_alloc`, by buffer truesize) plus what waits to be written.
    func broadcastNetlink(_ group: RouteNetlinkGroup, _ message: [UInt8]) {
        // netlink_broadcast skips the sockets whose port is the excluded one, the requester's
        // when echoing and else 0: an unbound member hears nothing.
        for socket in netlinkSockets.values where socket.isBound && socket.groups.contains(group.rawValue) {
            // do_one_broadcast: the filter first, then the room.
            guard let kept = socket.filtered(message) else { continue }
            if netlinkQueuedBytes(socket) > Int(socket.receiveBuffer) {
                if !socket.noBufferErrors { socket.overrun = true }
                continue
            }
            socket.enqueue(kept, from: NetlinkOrigin(portID: 0, group: group.rawValue), filtered: true)
            pumpNetlink(socket)
        }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs and newlines.
    func trimmingWhitespace() -> Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\n" { text.removeLast() }
        return text
    }
}
