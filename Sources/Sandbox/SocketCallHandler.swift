import Glibc
import LinuxABI

/// Serves `socket` and `socketpair` for families other than AF_UNIX, and the calls on socket
/// descriptors (bind, connect, sendmsg…), when no network stack serves the guest.
///
/// Every AF_INET, AF_INET6 or AF_NETLINK socket is refused with `EAFNOSUPPORT`, after the
/// argument checks Linux makes first (`__sys_socket` → `__sock_create`); every socket the
/// guest can hold is then a native AF_UNIX one, and a call on one runs natively.
///
/// Whatever serves AF_INET, the families srouter never serves answer as Linux answers the
/// unprivileged guest, or as a kernel without them does:
/// - AF_PACKET and AF_XDP: EPERM, which `packet_create` and `xsk_create` answer a process
///   without CAP_NET_RAW before looking at the type or protocol. srouter's interfaces have
///   no link layer to give out.
/// - AF_VSOCK and every other family: EAFNOSUPPORT, as from a kernel built without it.
///   vsock would reach the host (or its hypervisor) outside srouter's network, so the guest
///   must not have it (DESIGN §6).
/// `srouter run` installs GuestNetwork's `SocketService` over this handler, which uses its
/// checks and its AF_UNIX and socketpair answers.
public final class SocketCallHandler: SyscallHandler {
    /// `AF_MAX` in Linux 6.x: families at or above it do not exist.
    public static let familyLimit: Int32 = 46
    /// `SOCK_MAX`: socket types at or above it do not exist.
    public static let typeLimit: Int32 = 11
    /// The type bits (`SOCK_TYPE_MASK`); the rest may only be SOCK_NONBLOCK | SOCK_CLOEXEC.
    public static let typeMask: Int32 = 0xf
    public static let allowedTypeFlags = Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
    /// `IPPROTO_MAX` (263): `inet_create` and `inet6_create` answer EINVAL at or above it,
    /// and below 0, before looking the type up.
    public static let inetProtocolLimit: Int32 = 263
    /// `IPPROTO_MPTCP`.
    public static let mptcpProtocol: Int32 = 262
    /// `AF_XDP`.
    public static let xdpFamily: Int32 = 44

    private let socketNumber = SyscallTable.number(of: "socket")
    private let socketpairNumber = SyscallTable.number(of: "socketpair")

    /// Creates the handler.
    public init() {}

    /// Routes every network call srouter traps to this handler.
    public func install(on loop: NotificationLoop) {
        for name in SandboxInvariants.servedSyscalls + ["socket", "socketpair", "sendto",
                                                        "recvfrom"] {
            loop.route(name, to: self)
        }
    }

    public func handle(_ notification: SyscallNotification,
                       loop: NotificationLoop) -> SyscallAnswer {
        switch notification.number {
        case socketNumber: return socket(notification)
        case socketpairNumber: return socketpair(notification)
        default:
            // A call on a descriptor: every guest socket is a native AF_UNIX one (see above).
            return .continueNatively
        }
    }

    /// socket(2): Linux checks the flags, then the family range, then the type range.
    public func socket(_ notification: SyscallNotification) -> SyscallAnswer {
        let family = notification.int32Argument(0)
        let type = notification.int32Argument(1)
        if family == AF_UNIX { return .continueNatively }  // high bits set: the kernel ignores them
        if let error = checkFlagsAndRanges(family: family, type: type) { return .error(error) }
        if family == AF_PACKET || family == Self.xdpFamily { return .error(.EPERM) }
        return .error(.EAFNOSUPPORT)
    }

    /// socketpair(2): no family but AF_UNIX pairs in Linux; the inet and netlink families
    /// exist and answer EOPNOTSUPP (`sock_no_socketpair`), others EAFNOSUPPORT. AF_PACKET
    /// and AF_XDP fail creating the first socket, EPERM without CAP_NET_RAW (see `socket`).
    public func socketpair(_ notification: SyscallNotification) -> SyscallAnswer {
        let family = notification.int32Argument(0)
        let type = notification.int32Argument(1)
        if family == AF_UNIX { return .continueNatively }
        if let error = checkFlagsAndRanges(family: family, type: type) { return .error(error) }
        switch family {
        case AF_PACKET, Self.xdpFamily: return .error(.EPERM)
        case AF_INET, AF_INET6, AF_NETLINK: return .error(.EOPNOTSUPP)
        default: return .error(.EAFNOSUPPORT)
        }
    }

    private func checkFlagsAndRanges(family: Int32, type: Int32) -> LinuxErrno? {
        if (type & ~Self.typeMask) & ~Self.allowedTypeFlags != 0 { return .EINVAL }
        if family < 0 || family >= Self.familyLimit { return .EAFNOSUPPORT }
        let base = type & Self.typeMask
        if base < 0 || base >= Self.typeLimit { return .EINVAL }
        return nil
    }
}
