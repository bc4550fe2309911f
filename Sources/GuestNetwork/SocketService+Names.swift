import CSRouterLinux
import Glibc
import LinuxABI
import NetStack
import Sandbox
import Wire

/// getsockname(2) and getpeername(2) (`inet_getname`, `inet6_getname`).
extension SocketService {
    func socketName(_ socket: GuestSocket, _ n: SyscallNotification, peer: Bool) -> SyscallAnswer {
        guard let endpoint = peer ? peerEndpoint(socket) : localEndpoint(socket) else { return .error(.ENOTCONN) }
        do throws(LinuxErrno) {
            try SocketAddress.copyOut(SocketAddress.encode(endpoint, isIPv6Socket: socket.isIPv6),
                                      to: GuestMemory(tid: n.tid), address: n.arguments[1], lengthAddress: n.arguments[2])
            return .value(0)
        } catch {
            return .error(error)
        }
    }

    /// The local name: the connection's, else the bound one, else the wildcard and port 0.
    func localEndpoint(_ socket: GuestSocket) -> InetEndpoint {
        let any: IPAddress = socket.isIPv6 ? .v6(.any) : .v4(.any)
        if let c = socket.connection {
            return endpoint(c.tuple.localAddress, port: c.tuple.localPort, interface: c.configuration.interfaceIndex)
        }
        if let d = socket.datagram {
            // A raw socket's inet_num (and so its name's port) is its protocol number.
            let port: UInt16
            if case .raw(let proto) = d.kind { port = UInt16(proto) } else { port = d.localPort }
            return endpoint(d.localAddress ?? any, port: port, interface: d.boundInterface)
        }
        return endpoint(socket.boundAddress ?? any, port: socket.boundPort, interface: socket.options.boundInterface)
    }

    /// The peer's name, or nil (ENOTCONN): a connection that completed its handshake, or a
    /// connected datagram socket.
    func peerEndpoint(_ socket: GuestSocket) -> InetEndpoint? {
        switch socket.state {
        case .connected(let c):
            return endpoint(c.tuple.remoteAddress, port: c.tuple.remotePort, interface: c.configuration.interfaceIndex)
        case .datagram(let d):
            // inet_getname / inet6_getname: ENOTCONN while inet_dport is 0, which it stays
            // for a connected ping or raw socket (and UDP connected to port 0).
            guard let remote = d.remote, remote.port != 0 else { return nil }
            return endpoint(remote.address, port: remote.port, interface: d.boundInterface)
        default:
            return nil
        }
    }
}
