import Glibc
import LinuxABI

/// A network interface as the guest sees it through socket ioctls.
public struct GuestInterface: Sendable, Equatable {
    /// Interface index (`lo` is 1).
    public var index: Int32
    /// Name, at most 15 bytes (`IFNAMSIZ` - 1).
    public var name: String
    /// `IFF_…` flags.
    public var flags: Int16
    /// MTU in bytes.
    public var mtu: Int32
    /// The primary IPv4 address, network byte order, if any (listed by SIOCGIFCONF).
    public var ipv4Address: UInt32?

    /// Creates an interface description.
    public init(index: Int32, name: String, flags: Int16, mtu: Int32, ipv4Address: UInt32?) {
        self.index = index
        self.name = name
        self.flags = flags
        self.mtu = mtu
        self.ipv4Address = ipv4Address
    }

    /// `lo` as Linux sets it up: index 1, UP|LOOPBACK|RUNNING, MTU 65536, 127.0.0.1.
    public static let loopback = GuestInterface(
        index: 1, name: "lo",
        flags: Int16(IFF_UP | IFF_LOOPBACK | IFF_RUNNING),
        mtu: 65536, ipv4Address: UInt32(0x7f00_0001).bigEndian)
}

/// Serves the interface ioctls (`SIOCGIF…`, `<linux/sockios.h>`) from srouter's interfaces
/// rather than the host's, whatever socket the guest asks through (glibc's `if_nametoindex`
/// uses an AF_UNIX socket).
///
/// Lookups behave as Linux's `dev_ioctl`: an unknown name or index is ENODEV, the name is cut
/// at IFNAMSIZ-1, a bad pointer is EFAULT; setting anything needs CAP_NET_ADMIN, which the
/// guest lacks, so every `SIOCSIF…` is EPERM. The per-socket ioctls of the range (FIOSETOWN,
/// SIOCGSTAMP…) run natively on the guest's AF_UNIX socket.
public final class InterfaceIoctlHandler: SyscallHandler {
    /// The interfaces the guest sees.
    public var interfaces: [GuestInterface]
    /// Ioctls outside the served set that were answered EOPNOTSUPP, by request (for logs).
    public private(set) var unserved: [UInt32: Int] = [:]

    static let SIOCGIFNAME: UInt32 = 0x8910
    static let SIOCGIFCONF: UInt32 = 0x8912
    static let SIOCGIFFLAGS: UInt32 = 0x8913
    static let SIOCGIFMTU: UInt32 = 0x8921
    static let SIOCGIFINDEX: UInt32 = 0x8933
    /// 0x8901…0x8907: FIOSETOWN, SIOCSPGRP, FIOGETOWN, SIOCGPGRP, SIOCATMARK, SIOCGSTAMP(NS).
    static let perSocketRequests: ClosedRange<UInt32> = 0x8901...0x8907

    /// Serves `interfaces`.
    public init(interfaces: [GuestInterface] = [.loopback]) {
        self.interfaces = interfaces
    }

    /// Routes `ioctl` to this handler (the filter traps only requests 0x89xx).
    public func install(on loop: NotificationLoop) {
        loop.route("ioctl", to: self)
    }

    public func handle(_ notification: SyscallNotification,
                       loop: NotificationLoop) -> SyscallAnswer {
        let request = UInt32(truncatingIfNeeded: notification.arguments[1])
        let memory = GuestMemory(tid: notification.tid)
        let pointer = notification.arguments[2]
        do {
            switch request {
            case Self.perSocketRequests:
                return .continueNatively
            case Self.SIOCGIFCONF:
                return try interfaceList(memory: memory, at: pointer, loop: loop,
                                         id: notification.id)
            case Self.SIOCGIFNAME, Self.SIOCGIFINDEX, Self.SIOCGIFFLAGS, Self.SIOCGIFMTU:
                return try lookup(request, memory: memory, at: pointer, loop: loop,
                                  id: notification.id)
            default:
                // Anything that configures needs CAP_NET_ADMIN, which the guest lacks.
                if Self.setRequests.contains(request) { return .error(.EPERM) }
                unserved[request, default: 0] += 1
                return .error(.EOPNOTSUPP)
            }
        } catch let error as LinuxErrno {
            return .error(error)
        } catch {
            return .error(.EFAULT)
        }
    }

    /// SIOCGIFNAME (by index) and SIOCGIFINDEX, SIOCGIFFLAGS, SIOCGIFMTU (by name).
    private func lookup(_ request: UInt32, memory: GuestMemory, at pointer: UInt64,
                        loop: NotificationLoop, id: UInt64) throws -> SyscallAnswer {
        var request_ = try memory.read(ifreq.self, at: pointer)
        guard loop.isStillPending(id) else { return .withdrawn }
        let found: GuestInterface?
        if request == Self.SIOCGIFNAME {
            let index = request_.ifr_ifru.ifru_ivalue
            found = interfaces.first { $0.index == index }
        } else {
            let name = withUnsafeBytes(of: request_.ifr_ifrn.ifrn_name) { raw in
                String(decoding: raw.prefix(Int(IFNAMSIZ) - 1).prefix(while: { $0 != 0 }),
                       as: UTF8.self)
            }
            found = interfaces.first { $0.name == name }
        }
        guard let interface = found else { return .error(.ENODEV) }
        switch request {
        case Self.SIOCGIFNAME: setName(&request_, interface.name)
        case Self.SIOCGIFINDEX: request_.ifr_ifru.ifru_ivalue = interface.index
        case Self.SIOCGIFFLAGS: request_.ifr_ifru.ifru_flags = interface.flags
        default: request_.ifr_ifru.ifru_mtu = interface.mtu
        }
        try memory.write(value: request_, at: pointer)
        return .value(0)
    }

    /// SIOCGIFCONF: the interfaces with an IPv4 address, as `ifreq`s holding a sockaddr_in;
    /// with a NULL buffer, only the length needed (Linux ≥ 2.6.x behaviour).
    private func interfaceList(memory: GuestMemory, at pointer: UInt64, loop: NotificationLoop,
                               id: UInt64) throws -> SyscallAnswer {
        var conf = try memory.read(ifconf.self, at: pointer)
        guard loop.isStillPending(id) else { return .withdrawn }
        let entries = interfaces.compactMap { interface -> ifreq? in
            guard let address = interface.ipv4Address else { return nil }
            var entry = ifreq()
            setName(&entry, interface.name)
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_addr.s_addr = address
            withUnsafeBytes(of: sin) { source in
                withUnsafeMutableBytes(of: &entry.ifr_ifru.ifru_addr) { target in
                    target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source.prefix(target.count)))
                }
            }
            return entry
        }
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

    private func setName(_ request: inout ifreq, _ name: String) {
        withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            for (i, byte) in name.utf8.prefix(Int(IFNAMSIZ) - 1).enumerated() { raw[i] = byte }
        }
    }

    /// The SIOCSIF… and other configuration requests of `<linux/sockios.h>`.
    static let setRequests: Set<UInt32> = [
        0x890B, 0x890C,  // SIOCADDRT, SIOCDELRT
        0x8911, 0x8914, 0x8916, 0x8918, 0x891A, 0x891C, 0x891E, 0x8920,  // SIOCSIF…
        0x8922, 0x8923, 0x8924, 0x8926, 0x8930, 0x8934, 0x8937, 0x8941, 0x8943, 0x8971,
        0x8931, 0x8932, 0x8936,  // SIOCADDMULTI, SIOCDELMULTI, SIOCDIFADDR
        0x8949, 0x8953, 0x8955,  // SIOCSMIIREG, SIOCDARP, SIOCSARP
        0x89A0, 0x89A1, 0x89A2, 0x89A3,  // bridge add/delete
    ]
}
