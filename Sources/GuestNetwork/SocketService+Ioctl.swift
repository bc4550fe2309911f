import CSRouterLinux
import Glibc
import LinuxABI
import Sandbox

/// What the socket ioctls need to know of the sockets srouter serves.
extension SocketService {
    /// The family (AF_INET or AF_INET6) of the served socket whose guest file has `inode`;
    /// nil if srouter serves none there (the guest's own AF_UNIX sockets). The guest's end
    /// is an AF_UNIX socket, but Linux would route the socket's ioctls by the family the
    /// guest asked for: `inet_ioctl` answers SIOCGIFADDR and its kin, `inet6_ioctl` does
    /// not (InterfaceIoctlHandler).
    public func servedFamily(inode: UInt64) -> Int32? {
        sockets[inode]?.family
    }

    /// FIONREAD (SIOCINQ) on descriptor `fd`: on a served UDP or raw socket, the length of
    /// the next datagram (`udp_ioctl`'s `first_packet_length`, `raw_ioctl`, `rawv6_ioctl`),
    /// where the native answer on the SOCK_SEQPACKET pair would add up every queued one; on
    /// a ping socket ENOTTY (ping sockets have no ioctl of their own, and FIONREAD is not a
    /// 0x89xx request that `sock_do_ioctl` hands on). Anything else — the guest's own
    /// files, TCP sockets, whose stream pair counts bytes as `tcp_ioctl` does — runs
    /// natively: FIONREAD only reads a queue length.
    public func servedIoctl(_ n: SyscallNotification) -> SyscallAnswer {
        GuestFiles.withDescriptor(tid: n.tid, fd: n.int32Argument(0)) { descriptor in
            guard let descriptor, let socket = sockets[descriptor.inode], socket.type != .stream,
                  socket.datagram != nil else {
                return .continueNatively
            }
            return servedIoctl(n, on: socket)
        }
    }

    private func servedIoctl(_ n: SyscallNotification, on socket: GuestSocket) -> SyscallAnswer {
        if socket.type == .datagram && socket.protocolNumber != Int32(IPPROTO_UDP) {
            return .error(.ENOTTY)
        }
        let length: Int32
        do {
            length = try nextDatagramLength(socket, tid: n.tid, fd: n.int32Argument(0))
        } catch {
            return .error(error)
        }
        do {
            try GuestMemory(tid: n.tid).write(value: length, at: n.arguments[2])
        } catch {
            return .error(.EFAULT)
        }
        return .value(0)
    }

    /// The payload length of the oldest message in the guest's end of the pair (peeked on a
    /// transient copy, with MSG_TRUNC for the whole length), or 0 when none is queued. An
    /// error marker (the empty message standing for a pending ICMP error) is no datagram:
    /// the record after it tells the next one's length.
    private func nextDatagramLength(_ socket: GuestSocket, tid: pid_t, fd: Int32) throws(LinuxErrno) -> Int32 {
        let copy = try GuestFiles.copy(tid: tid, fd: fd)
        let n = recv(copy.fd, nil, 0, Int32(MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT))
        guard n >= 0 else {
            if errno == EAGAIN { return 0 }
            throw LinuxErrno(rawValue: errno)
        }
        if n == 0, socket.errorMarkerQueued {
            let records = socket.delivered[socket.deliveredHead...]
            if let marker = records.firstIndex(where: { $0.isErrorMarker }), marker + 1 < socket.delivered.count {
                return Int32(clamping: socket.delivered[marker + 1].length)
            }
            return 0
        }
        return Int32(clamping: n)
    }
}
