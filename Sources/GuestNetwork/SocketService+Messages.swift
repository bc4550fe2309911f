import CSRouterLinux
import Glibc
import LinuxABI
import NetStack
import Sandbox
import Wire

/// sendto, sendmsg, sendmmsg, recvfrom, recvmsg and recvmmsg where the kernel cannot serve
/// them natively: datagrams with addresses or control messages (`udp_sendmsg`,
/// `udp_recvmsg`, `raw_recvmsg`, `ping_recvmsg` and their IPv6 twins). On stream sockets the
/// data is the pair's, so these run natively.
extension SocketService {
    /// The largest datagram payload (IPv4's 65535 less headers is checked by the stack).
    static let maximumDatagram = 65535

    // MARK: - Sending

    func sendTo(_ socket: GuestSocket, _ n: SyscallNotification) -> SyscallAnswer {
        guard socket.type != .stream else { return sendStreamTo(socket, n) }
        do throws(LinuxErrno) {
            let length = Int(truncatingIfNeeded: n.arguments[2])
            guard length >= 0 && length <= Self.maximumDatagram else { return .error(.EMSGSIZE) }
            try refuseOutOfBand(n.int32Argument(3))
            let name = try readAddress(n, pointer: 4, length: 5)
            let data = try GuestMemory(tid: n.tid).read(at: n.arguments[1], count: length)
            return .value(Int64(try sendDatagram(socket, data: data, name: name, control: [])))
        } catch {
            return .error(error)
        }
    }

    func sendMessage(_ socket: GuestSocket, _ n: SyscallNotification) -> SyscallAnswer {
        guard socket.type != .stream else { return .continueNatively }
        do throws(LinuxErrno) {
            let memory = GuestMemory(tid: n.tid)
            let header = try GuestMessageHeader.read(from: memory, at: n.arguments[1], forReceive: false,
                                                     hints: &messageTableHints)
            return .value(Int64(try send(socket, header, flags: n.int32Argument(2), memory: memory)))
        } catch {
            return .error(error)
        }
    }

    func sendMessages(_ socket: GuestSocket, _ n: SyscallNotification) -> SyscallAnswer {
        guard socket.type != .stream else { return .continueNatively }
        let memory = GuestMemory(tid: n.tid)
        let headers: [GuestMessageHeader]
        do throws(LinuxErrno) {
            headers = try GuestMessageHeader.readMulti(from: memory, at: n.arguments[1],
                                                       count: Int(n.int32Argument(2)), forReceive: false)
        } catch {
            return .error(error)
        }
        var sent = 0
        for (index, header) in headers.enumerated() {
            do throws(LinuxErrno) {
                let count = try send(socket, header, flags: n.int32Argument(3), memory: memory)
                try GuestMessageHeader.writeMessageLength(UInt32(count), to: memory, at: n.arguments[1], index: index)
                sent += 1
            } catch {
                // __sys_sendmmsg: an error after the first message ends the batch with the count.
                return sent > 0 ? .value(Int64(sent)) : .error(error)
            }
        }
        return .value(Int64(sent))
    }

    /// MSG_OOB on a datagram socket: EOPNOTSUPP (`udp_sendmsg`, `raw_sendmsg`,
    /// `ping_v4_sendmsg` and their IPv6 twins check it before the address).
    private func refuseOutOfBand(_ flags: Int32) throws(LinuxErrno) {
        if flags & Int32(MSG_OOB) != 0 { throw LinuxErrno.EOPNOTSUPP }
    }

    private func send(_ socket: GuestSocket, _ header: GuestMessageHeader, flags: Int32,
                      memory: GuestMemory) throws(LinuxErrno) -> Int {
        guard header.totalLength <= Self.maximumDatagram else { throw LinuxErrno.EMSGSIZE }
        try refuseOutOfBand(flags)
        let name = header.nameLength > 0 && header.nameAddress != 0
            ? try memory.read(at: header.nameAddress, count: Int(header.nameLength)) : []
        var control: [ControlMessage] = []
        if header.controlLength > 0 && header.controlAddress != 0 {
            let bytes = try memory.read(at: header.controlAddress,
                                        count: Int(min(header.controlLength, UInt64(GuestMemory.maximumTransfer))))
            control = try ControlMessages.parse(bytes)
        }
        let data = try header.gather(from: memory, limit: Self.maximumDatagram)
        return try sendDatagram(socket, data: data, name: name, control: control)
    }

    /// Sends one datagram with the socket's defaults, overridden by control messages. As in
    /// `udpv6_sendmsg`, the destination is decoded first: an IPv4 or v4-mapped one on an
    /// AF_INET6 socket takes the IPv4 path, whose control-message rules differ
    /// (`ControlMessages.sendControl(_:isIPv6Socket:ipv4Destination:)`). A pending ICMP error
    /// is reported where `sock_alloc_send_skb` would report it, after the control messages.
    func sendDatagram(_ socket: GuestSocket, data: [UInt8], name: [UInt8],
                      control messages: [ControlMessage]) throws(LinuxErrno) -> Int {
        guard let d = socket.datagram else { throw LinuxErrno.EOPNOTSUPP }
        var destination: (address: IPAddress, port: UInt16)?
        var scope: Int?
        if !name.isEmpty, let target = try SocketAddress.decodeForSend(name, isIPv6Socket: socket.isIPv6,
                                                                         kind: kind(of: socket), v6Only: socket.options.v6Only) {
            destination = (target.unmapped.address, target.port)
            if target.scopeID != 0 { scope = Int(target.scopeID) }
        }
        guard let peer = destination?.address ?? d.remote?.address else { throw LinuxErrno.EDESTADDRREQ }
        let ipv4Destination: Bool
        if case .v4 = DatagramSocket.unmapped(peer) { ipv4Destination = true } else { ipv4Destination = false }
        let control = messages.isEmpty ? SendControl()
            : try ControlMessages.sendControl(messages, isIPv6Socket: socket.isIPv6, ipv4Destination: ipv4Destination)
        // udp_sendmsg, raw_sendmsg, ping_v4_sendmsg: a broadcast route needs SO_BROADCAST.
        if let destination, stack.isBroadcast(destination.address) && !socket.options.broadcast {
            throw LinuxErrno.EACCES
        }
        settleErrorMarker(socket)
        if let error = d.pendingError {
            // A connected socket reports an ICMP error on its next send (Linux's sk_err).
            d.pendingError = nil
            throw LinuxErrno(rawValue: error)
        }
        let interface = control.interfaceIndex ?? scope
        let ttl = control.timeToLive ?? control.hopLimit
        let tos = control.typeOfService ?? control.trafficClass
        let result = data.withUnsafeBytes { bytes in
            stack.send(d, bytes, to: destination, interfaceIndex: interface, sourceOverride: control.sourceAddress,
                       timeToLive: ttl.flatMap { $0 < 0 ? nil : UInt8(clamping: $0) },
                       typeOfService: tos.flatMap { $0 < 0 ? nil : UInt8(clamping: $0) },
                       now: EventLoop.monotonicNow())
        }
        if let errno = result { throw LinuxErrno(rawValue: errno) }
        flush()
        return data.count
    }

    // MARK: - Receiving

    /// One datagram taken for a trapped receive, with what recvmsg reports about it.
    struct TakenDatagram {
        var data: ArraySlice<UInt8>
        var length: Int
        var record: DeliveredDatagram?
    }

    /// Takes (or peeks at) the oldest datagram of the guest's end of the pair. nil: none.
    private func takeDatagram(_ socket: GuestSocket, tid: pid_t, fd: Int32, peek: Bool) throws(LinuxErrno) -> TakenDatagram? {
        let copy = try GuestFiles.copy(tid: tid, fd: fd)
        var n = 0
        var record: DeliveredDatagram?
        while true {
            n = recv(copy.fd, scratch.baseAddress, scratch.count, Int32(MSG_DONTWAIT | (peek ? MSG_PEEK : 0)))
            guard n >= 0 else {
                if errno == EAGAIN { return nil }
                throw LinuxErrno(rawValue: errno)
            }
            record = takeDelivered(socket, length: n, peek: peek)
            guard n == 0, record?.isErrorMarker == true else { break }
            // An error marker whose error was already reported: drop it, take the next.
            socket.errorMarkerQueued = false
            if peek {
                _ = recv(copy.fd, scratch.baseAddress, 0, Int32(MSG_DONTWAIT))
                _ = takeDelivered(socket, length: 0, peek: false)
            }
        }
        let bytes = Array(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
        // The guest consumed a message: there is room for more in the pair.
        if !peek { markDirty(socket) }
        return TakenDatagram(data: bytes[...], length: n, record: record)
    }

    /// Whether the call should wait rather than answer EAGAIN.
    private func mayWait(_ descriptor: GuestDescriptor, flags: Int32) -> Bool {
        !descriptor.isNonBlocking && flags & Int32(MSG_DONTWAIT) == 0
    }

    /// The error a receive reports first (ICMP errors on a connected socket), or nil.
    private func takeReceiveError(_ socket: GuestSocket) -> LinuxErrno? {
        settleErrorMarker(socket)
        guard let d = socket.datagram, let error = d.pendingError else { return nil }
        d.pendingError = nil
        markDirty(socket)
        return LinuxErrno(rawValue: error)
    }

    func receiveFrom(_ socket: GuestSocket, _ n: SyscallNotification, descriptor: GuestDescriptor) -> SyscallAnswer {
        guard socket.type != .stream else { return .continueNatively }
        let flags = n.int32Argument(3)
        if let error = takeReceiveError(socket) { return .error(error) }
        do throws(LinuxErrno) {
            let peek = flags & Int32(MSG_PEEK) != 0
            guard let taken = try takeDatagram(socket, tid: n.tid, fd: n.int32Argument(0), peek: peek) else {
                if mayWait(descriptor, flags: flags) {
                    wait(socket, n, kind: .retry, timeout: socket.options.receiveTimeout)
                    return .pending
                }
                return .error(.EAGAIN)
            }
            let memory = GuestMemory(tid: n.tid)
            let capacity = max(0, Int(truncatingIfNeeded: n.arguments[2]))
            let copied = min(capacity, taken.length)
            if copied > 0 { try memory.write(Array(taken.data.prefix(copied)), at: n.arguments[1]) }
            if n.arguments[4] != 0, let record = taken.record {
                try SocketAddress.copyOut(sourceName(socket, record), to: memory, address: n.arguments[4],
                                          lengthAddress: n.arguments[5])
            }
            return .value(Int64(flags & Int32(MSG_TRUNC) != 0 ? taken.length : copied))
        } catch {
            return .error(error)
        }
    }

    func receiveMessage(_ socket: GuestSocket, _ n: SyscallNotification, descriptor: GuestDescriptor) -> SyscallAnswer {
        guard socket.type != .stream else { return .continueNatively }
        let flags = n.int32Argument(2)
        do throws(LinuxErrno) {
            let memory = GuestMemory(tid: n.tid)
            let header = try GuestMessageHeader.read(from: memory, at: n.arguments[1], forReceive: true,
                                                     hints: &messageTableHints)
            if let error = takeReceiveError(socket) { return .error(error) }
            guard let count = try receive(socket, header, at: n.arguments[1], flags: flags, memory: memory,
                                          tid: n.tid, fd: n.int32Argument(0)) else {
                if mayWait(descriptor, flags: flags) {
                    wait(socket, n, kind: .retry, timeout: socket.options.receiveTimeout)
                    return .pending
                }
                return .error(.EAGAIN)
            }
            return .value(Int64(count))
        } catch {
            return .error(error)
        }
    }

    func receiveMessages(_ socket: GuestSocket, _ n: SyscallNotification, descriptor: GuestDescriptor) -> SyscallAnswer {
        guard socket.type != .stream else { return .continueNatively }
        var flags = n.int32Argument(3)
        let memory = GuestMemory(tid: n.tid)
        let headers: [GuestMessageHeader]
        do throws(LinuxErrno) {
            headers = try GuestMessageHeader.readMulti(from: memory, at: n.arguments[1],
                                                       count: Int(n.int32Argument(2)), forReceive: true)
        } catch {
            return .error(error)
        }
        if let error = takeReceiveError(socket) { return .error(error) }
        // Every message's write-back waits for one process_vm_writev at the end.
        var failure: LinuxErrno?
        let waitForOne = Int32(0x10000)  // MSG_WAITFORONE
        let received: Int
        do throws(LinuxErrno) {
            received = try withWriteBack { (writeBack) throws(LinuxErrno) -> Int in
                for (index, header) in headers.enumerated() {
                    let address = n.arguments[1] + UInt64(index * GuestMessageHeader.multiStride)
                    do throws(LinuxErrno) {
                        guard try receiveSegments(socket, header, at: address, flags: flags, tid: n.tid,
                                                  fd: n.int32Argument(0),
                                                  lengthAddress: address + UInt64(GuestMessageHeader.size),
                                                  to: &writeBack) != nil
                        else { break }
                        writeBack.endMessage()
                        if flags & waitForOne != 0 { flags |= Int32(MSG_DONTWAIT) }
                    } catch {
                        failure = error
                        break
                    }
                }
                return try memory.write(messagesOf: writeBack)
            }
        } catch {
            return .error(error)
        }
        if received == 0, let failure { return .error(failure) }
        if received == 0 {
            if mayWait(descriptor, flags: flags) {
                wait(socket, n, kind: .retry, timeout: socket.options.receiveTimeout)
                return .pending
            }
            return .error(.EAGAIN)
        }
        return .value(Int64(received))
    }

    /// One recvmsg into `header` (at `headerAddress`), written back in one call; nil when
    /// nothing is queued.
    private func receive(_ socket: GuestSocket, _ header: GuestMessageHeader, at headerAddress: UInt64, flags: Int32,
                         memory: GuestMemory, tid: pid_t, fd: Int32) throws(LinuxErrno) -> Int? {
        try withWriteBack { (writeBack) throws(LinuxErrno) -> Int? in
            guard let length = try receiveSegments(socket, header, at: headerAddress, flags: flags, tid: tid, fd: fd,
                                                   to: &writeBack)
            else { return nil }
            try memory.write(writeBack)
            return length
        }
    }

    /// Takes one datagram for the msghdr at `headerAddress` and appends to `writeBack` what
    /// writing it back takes, in the order recvmsg writes: the data over the iovecs, the
    /// name, the control messages, the header's fields, and with `lengthAddress` (an
    /// mmsghdr's msg_len) the returned length, which it returns. nil (nothing appended) when
    /// nothing is queued.
    private func receiveSegments(_ socket: GuestSocket, _ header: GuestMessageHeader, at headerAddress: UInt64,
                                 flags: Int32, tid: pid_t, fd: Int32, lengthAddress: UInt64? = nil,
                                 to writeBack: inout GuestWriteBack) throws(LinuxErrno) -> Int? {
        if flags & Int32(MSG_ERRQUEUE) != 0 { return nil }  // no error queue is kept
        let peek = flags & Int32(MSG_PEEK) != 0
        guard let taken = try takeDatagram(socket, tid: tid, fd: fd, peek: peek) else { return nil }
        let written = taken.data.withUnsafeBytes { header.scatter($0, into: &writeBack) }
        var outFlags: Int32 = taken.length > header.totalLength ? Int32(MSG_TRUNC) : 0
        var nameLength: Int32 = 0
        if let record = taken.record, header.nameAddress != 0 {
            let name = sourceName(socket, record)
            let room = min(Int(max(0, header.nameLength)), name.count)
            writeBack.append(name.prefix(room), at: header.nameAddress)
            nameLength = Int32(name.count)
        }
        var controlLength: UInt64 = 0
        if let record = taken.record {
            let messages = controlMessages(socket, record)
            if !messages.isEmpty {
                // put_cmsg: no control buffer (or one shorter than a cmsghdr) is MSG_CTRUNC.
                let capacity = header.controlAddress == 0 ? 0 : Int(min(header.controlLength, 4096))
                let encoded = ControlMessages.encode(messages, capacity: capacity)
                writeBack.append(encoded.bytes, at: header.controlAddress)
                controlLength = UInt64(encoded.bytes.count)
                if encoded.truncated { outFlags |= Int32(MSG_CTRUNC) }
            }
        }
        GuestMessageHeader.appendResult(of: header, nameLength: nameLength, controlLength: controlLength, flags: outFlags,
                                        at: headerAddress, to: &writeBack)
        let length = flags & Int32(MSG_TRUNC) != 0 ? taken.length : written
        if let lengthAddress { writeBack.append(littleEndian: UInt32(truncatingIfNeeded: length), at: lengthAddress) }
        return length
    }

    /// The source address a receive reports (sockaddr_in or sockaddr_in6 by socket family).
    private func sourceName(_ socket: GuestSocket, _ record: DeliveredDatagram) -> [UInt8] {
        let port: UInt16 = socket.datagram?.kind == .udp ? record.sourcePort : 0
        return SocketAddress.encode(endpoint(record.info.source, port: port, interface: record.info.interfaceIndex),
                                    isIPv6Socket: socket.isIPv6)
    }

    /// The control messages the socket asked for, in Linux's order. An IPv4 datagram gets
    /// IPV6_PKTINFO (v4-mapped) on an AF_INET6 socket that set IPV6_RECVPKTINFO, then what
    /// the SOL_IP options ask (`udpv6_recvmsg`: `ip6_datagram_recv_common_ctl`, then
    /// `ip_cmsg_recv_offset`); IPV6_RECVHOPLIMIT and IPV6_RECVTCLASS apply to IPv6 datagrams
    /// only (`ip6_datagram_recv_specific_ctl`).
    private func controlMessages(_ socket: GuestSocket, _ record: DeliveredDatagram) -> [ControlMessage] {
        var messages: [ControlMessage] = []
        let info = record.info
        let options = socket.options
        switch info.destination {
        case .v4(let destination):
            if socket.isIPv6 && options.receiveIPv6PacketInfo, case .v6(let mapped) = DatagramSocket.mapped(.v4(destination)) {
                messages.append(.ipv6PacketInfo(address: mapped, interfaceIndex: UInt32(info.interfaceIndex)))
            }
            if options.receivePacketInfo {
                messages.append(.ipPacketInfo(interfaceIndex: Int32(info.interfaceIndex),
                                              specificDestination: destination, destination: destination))
            }
            if options.receiveTimeToLive { messages.append(.ipTimeToLive(Int32(info.timeToLive))) }
            if options.receiveTypeOfService { messages.append(.ipTypeOfService(info.typeOfService)) }
        case .v6(let destination):
            if options.receiveIPv6PacketInfo {
                messages.append(.ipv6PacketInfo(address: destination, interfaceIndex: UInt32(info.interfaceIndex)))
            }
            if options.receiveHopLimit { messages.append(.ipv6HopLimit(Int32(info.timeToLive))) }
            if options.receiveTrafficClass { messages.append(.ipv6TrafficClass(Int32(info.typeOfService))) }
        }
        return messages
    }
}
