import Glibc
import LinuxABI

/// Serves the socket ioctls (`SIOC…`, `<linux/sockios.h>`, 0x89xx) from srouter's
/// interfaces rather than the host's, whatever socket the guest asks through (glibc's
/// `if_nametoindex` uses an AF_UNIX socket).
///
/// The answers are Linux's for an unprivileged process (`InterfaceRequests`): the socket's
/// family picks the path — an AF_INET socket answers the IPv4 address requests
/// (devinet_ioctl), other families answer them ENOTTY — and `dev_ioctl` answers the rest:
/// ENODEV for an unknown name or index, the name cut at IFNAMSIZ-1 and at an alias ':',
/// EFAULT for a bad pointer, EPERM for what needs CAP_NET_ADMIN. A descriptor that is not a
/// socket gets ENOTTY and one that does not exist EBADF, as `ioctl(2)` answers; nothing runs
/// natively except the per-socket requests (FIOSETOWN, SIOCGSTAMP…), which never look at
/// the host's interfaces.
public final class InterfaceIoctlHandler: SyscallHandler {
    /// The interfaces the guest sees.
    public var interfaces: [GuestInterface]
    /// The family of the socket srouter serves under a guest socket inode (its guest end is
    /// an AF_UNIX socket, but the guest made it AF_INET or AF_INET6); nil for any other
    /// socket. Without it every socket counts as AF_UNIX.
    public var servedSocketFamily: ((_ inode: UInt64) -> Int32?)?
    /// Answers the ioctls outside the socket range that srouter traps
    /// (`SandboxInvariants.servedIoctls`: FIONREAD) for the sockets it serves; without it
    /// they run natively.
    public var servedSocketIoctl: ((SyscallNotification) -> SyscallAnswer)?
    /// Ioctls answered EOPNOTSUPP because their Linux answer depends on the host's drivers
    /// and modules, by request (for logs).
    public private(set) var unserved: [UInt32: Int] = [:]

    static let SIOCGIFCONF: UInt32 = 0x8912
    /// 0x8901…0x8907: FIOSETOWN, SIOCSPGRP, FIOGETOWN, SIOCGPGRP, SIOCATMARK, SIOCGSTAMP(NS).
    static let perSocketRequests: ClosedRange<UInt32> = 0x8901...0x8907

    /// Serves `interfaces`.
    public init(interfaces: [GuestInterface] = [.loopback]) {
        self.interfaces = interfaces
    }

    /// Routes `ioctl` to this handler (the filter traps only requests 0x89xx and
    /// `SandboxInvariants.servedIoctls`).
    public func install(on loop: NotificationLoop) {
        loop.route("ioctl", to: self)
    }

    public func handle(_ notification: SyscallNotification,
                       loop: NotificationLoop) -> SyscallAnswer {
        let request = UInt32(truncatingIfNeeded: notification.arguments[1])
        if Self.perSocketRequests.contains(request) { return .continueNatively }
        if request & 0xff00 != 0x8900 {
            // FIONREAD, trapped for the served datagram sockets only.
            return servedSocketIoctl?(notification) ?? .continueNatively
        }
        let family: InterfaceIoctlFamily
        switch Self.describe(tid: notification.tid, fd: notification.int32Argument(0)) {
        case .missing: return .error(.EBADF)
        case .notSocket: return .error(.ENOTTY)
        case .socket(let inode):
            switch servedSocketFamily?(inode) {
            case AF_INET: family = .inet
            case AF_INET6: family = .inet6
            default: family = .other
            }
        }
        let memory = GuestMemory(tid: notification.tid)
        let pointer = notification.arguments[2]
        do {
            if request == Self.SIOCGIFCONF {
                return try interfaceList(memory: memory, at: pointer, loop: loop, id: notification.id)
            }
            // sock_do_ioctl copies the ifreq in before any family or device looks at it.
            let given = try memory.read(ifreq.self, at: pointer)
            guard loop.isStillPending(notification.id) else { return .withdrawn }
            switch InterfaceRequests.answer(request, family: family, interfaces: interfaces, ifreq: given) {
            case .copyOut(let result):
                try memory.write(value: result, at: pointer)
                return .value(0)
            case .error(let error):
                return .error(error)
            case .unserved:
                unserved[request, default: 0] += 1
                return .error(.EOPNOTSUPP)
            }
        } catch let error as LinuxErrno {
            return .error(error)
        } catch {
            return .error(.EFAULT)
        }
    }

    /// What a guest descriptor is, from `/proc/<tid>/fd/<fd>` (`socket:[INODE]` for a socket).
    enum Descriptor: Equatable {
        case missing
        case notSocket
        case socket(inode: UInt64)
    }

    static func describe(tid: pid_t, fd: Int32) -> Descriptor {
        guard fd >= 0 else { return .missing }
        var buffer = [CChar](repeating: 0, count: 64)
        let count = readlink("/proc/\(tid)/fd/\(fd)", &buffer, buffer.count - 1)
        guard count > 0 else { return .missing }
        return parse(link: String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// Parses a `/proc/<pid>/fd` link: `socket:[12345]` is a socket, anything else is not.
    static func parse(link: String) -> Descriptor {
        guard link.hasPrefix("socket:["), link.hasSuffix("]"),
              let inode = UInt64(link.dropFirst(8).dropLast()) else { return .notSocket }
        return .socket(inode: inode)
    }

    /// SIOCGIFCONF: every IPv4 address as an `ifreq` holding a sockaddr_in; with a NULL
    /// buffer, only the length needed; otherwise as many whole entries as fit (dev_ifconf).
    private func interfaceList(memory: GuestMemory, at pointer: UInt64, loop: NotificationLoop,
                               id: UInt64) throws -> SyscallAnswer {
        var conf = try memory.read(ifconf.self, at: pointer)
        guard loop.isStillPending(id) else { return .withdrawn }
        let entries = InterfaceRequests.configurationEntries(interfaces)
        let size = Int32(MemoryLayout<ifreq>.size)
        let buffer = UInt64(UInt(bitPattern: conf.ifc_ifcu.ifcu_buf))
        if buffer == 0 {
            conf.ifc_len = Int32(entries.count) * size
        } else {
            let room = max(0, Int(conf.ifc_len) / Int(size))
            let fitting = Array(entries.prefix(room))
            var bytes: [UInt8] = []
            for entry in fitting { withUnsafeBytes(of: entry) { bytes.append(contentsOf: $0) } }
            try memory.write(bytes, at: buffer)
            conf.ifc_len = Int32(fitting.count) * size
        }
        // Only ifc_len changes; write it back alone so the guest's pointer is left untouched.
        try memory.write(value: conf.ifc_len, at: pointer)
        return .value(0)
    }
}
