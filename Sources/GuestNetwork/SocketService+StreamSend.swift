import CSRouterLinux
import Glibc
import LinuxABI
import Sandbox

/// sendto(2) with an address on a TCP socket: the only stream send that traps (the filter
/// lets `send`, without an address, run natively on the guest's AF_UNIX file, which would
/// answer EISCONN to an address).
extension SocketService {
    /// `tcp_sendmsg` ignores the address: a connected socket sends the data after whatever the
    /// guest wrote before (srouter writes it through the guest's own file, so the order
    /// holds); a socket that is not connected fails with EPIPE (`sk_stream_wait_connect` on
    /// TCP_CLOSE or LISTEN), or EAGAIN while its handshake is under way.
    func sendStreamTo(_ socket: GuestSocket, _ n: SyscallNotification) -> SyscallAnswer {
        switch socket.state {
        case .connected: break
        case .connecting: return .error(.EAGAIN)
        default: return .error(.EPIPE)
        }
        let length = min(Int(truncatingIfNeeded: n.arguments[2]), scratch.count)
        guard length >= 0 else { return .error(.EINVAL) }
        guard length > 0 else { return .value(0) }
        do throws(LinuxErrno) {
            let data = try GuestMemory(tid: n.tid).read(at: n.arguments[1], count: length)
            let copy = try GuestFiles.copy(tid: n.tid, fd: n.int32Argument(0))
            let flags = Int32(MSG_DONTWAIT | MSG_NOSIGNAL) | (n.int32Argument(3) & Int32(MSG_MORE))
            let sent = data.withUnsafeBytes { send(copy.fd, $0.baseAddress, $0.count, flags) }
            guard sent >= 0 else { return .error(LinuxErrno(rawValue: errno)) }
            return .value(Int64(sent))
        } catch {
            return error == .ESRCH ? .withdrawn : .error(error)
        }
    }
}
