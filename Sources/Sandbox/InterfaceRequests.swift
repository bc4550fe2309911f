import Glibc
import LinuxABI

/// The family of the socket an interface ioctl comes through: it decides which of Linux's
/// ioctl paths answers (`sock_do_ioctl` tries the family's own ioctl, then `dev_ioctl`).
public enum InterfaceIoctlFamily: Sendable, Equatable {
    /// AF_INET: `inet_ioctl` serves the IPv4 address requests itself (`devinet_ioctl`).
    case inet
    /// AF_INET6: `inet6_ioctl` serves the IPv6 address and route requests.
    case inet6
    /// AF_UNIX and any other family: only `dev_ioctl` (and `unix_ioctl`'s SIOCUNIXFILE).
    case other
}

/// What one interface ioctl answers, computed from the guest's `ifreq` and srouter's
/// interfaces, as net/core/dev_ioctl.c and net/ipv4/devinet.c answer it for an unprivileged
/// process (no CAP_NET_ADMIN): no memory access here, so it is unit-testable.
enum InterfaceRequests {
    /// The answer to a request.
    enum Outcome: Equatable {
        /// Success: the `ifreq` to copy back to the guest (Linux copies the whole struct).
        case copyOut(ifreq)
        /// Failure with this errno.
        case error(LinuxErrno)
        /// A request whose Linux answer depends on the host's drivers and modules (ethtool,
        /// VLAN, bridge, ARP queries): EOPNOTSUPP, counted for logs.
        case unserved

        static func == (a: Outcome, b: Outcome) -> Bool {
            switch (a, b) {
            case (.copyOut(var x), .copyOut(var y)):
                return withUnsafeBytes(of: &x) { xb in withUnsafeBytes(of: &y) { yb in xb.elementsEqual(yb) } }
            case (.error(let x), .error(let y)): return x == y
            case (.unserved, .unserved): return true
            default: return false
            }
        }
    }

    static let SIOCADDRT: UInt32 = 0x890B, SIOCDELRT: UInt32 = 0x890C
    static let SIOCGIFNAME: UInt32 = 0x8910
    static let SIOCGIFFLAGS: UInt32 = 0x8913
    static let SIOCGIFADDR: UInt32 = 0x8915, SIOCSIFADDR: UInt32 = 0x8916
    static let SIOCGIFDSTADDR: UInt32 = 0x8917, SIOCSIFDSTADDR: UInt32 = 0x8918
    static let SIOCGIFBRDADDR: UInt32 = 0x8919, SIOCSIFBRDADDR: UInt32 = 0x891A
    static let SIOCGIFNETMASK: UInt32 = 0x891B, SIOCSIFNETMASK: UInt32 = 0x891C
    static let SIOCGIFMETRIC: UInt32 = 0x891D
    static let SIOCGIFMTU: UInt32 = 0x8921
    static let SIOCGIFHWADDR: UInt32 = 0x8927
    static let SIOCGIFSLAVE: UInt32 = 0x8929
    static let SIOCGIFINDEX: UInt32 = 0x8933
    static let SIOCSIFPFLAGS: UInt32 = 0x8934, SIOCGIFPFLAGS: UInt32 = 0x8935
    static let SIOCDIFADDR: UInt32 = 0x8936
    static let SIOCGIFTXQLEN: UInt32 = 0x8942
    static let SIOCWANDEV: UInt32 = 0x894A
    static let SIOCGIFMAP: UInt32 = 0x8970
    static let SIOCGHWTSTAMP: UInt32 = 0x89B1
    /// SIOCPROTOPRIVATE: the family's own range; AF_UNIX's first is SIOCUNIXFILE.
    static let protocolPrivate: ClosedRange<UInt32> = 0x89E0...0x89EF
    /// SIOCDEVPRIVATE: the driver's own range.
    static let devicePrivate: ClosedRange<UInt32> = 0x89F0...0x89FF

    /// Requests `dev_ioctl` refuses without CAP_NET_ADMIN before looking at the name:
    /// SIOCSIFFLAGS, METRIC, MTU, HWADDR, SLAVE, MAP, TXQLEN, HWBROADCAST, NAME, ADD/DELMULTI,
    /// the MII and bond requests, SIOCGSKNS, bridge add/delete, SIOCSHWTSTAMP.
    static let privilegedDeviceRequests: Set<UInt32> = [
        0x8914, 0x891E, 0x8922, 0x8924, 0x8930, 0x8971, 0x8943, 0x8937, 0x8923, 0x8931, 0x8932,
        0x8947, 0x8948, 0x8949,  // SIOCGMIIPHY, SIOCGMIIREG, SIOCSMIIREG
        0x8990, 0x8991, 0x8992, 0x8995,  // SIOCBONDENSLAVE, RELEASE, SETHWADDR, CHANGEACTIVE
        0x894C,  // SIOCGSKNS
        0x89A0, 0x89A1, 0x89A2, 0x89A3,  // SIOCBRADDBR, BRDELBR, BRADDIF, BRDELIF
        0x89B0,  // SIOCSHWTSTAMP
        0x8953, 0x8955,  // SIOCDARP, SIOCSARP (arp_ioctl checks CAP_NET_ADMIN first)
    ]

    /// Requests whose answer depends on the host's drivers or loaded modules: SIOCETHTOOL,
    /// SIOCGIFBR/SIOCSIFBR (bridge), SIOCGIFVLAN/SIOCSIFVLAN, SIOCADDDLCI/SIOCDELDLCI,
    /// SIOCGARP, SIOCBONDSLAVEINFOQUERY, SIOCBONDINFOQUERY.
    static let hostDependentRequests: Set<UInt32> = [
        0x8946, 0x8940, 0x8941, 0x8982, 0x8983, 0x8980, 0x8981, 0x8954, 0x8993, 0x8994,
    ]

    /// Answers `request` (not SIOCGIFCONF, nor the per-socket 0x8901…0x8907) for a socket of
    /// `family`, given the `ifreq` the guest passed.
    static func answer(_ request: UInt32, family: InterfaceIoctlFamily, interfaces: [GuestInterface],
                       ifreq given: ifreq) -> Outcome {
        var r = given
        switch request {
        case SIOCGIFNAME:
            // dev_ifname: by index.
            guard let found = interfaces.first(where: { $0.index == r.ifr_ifru.ifru_ivalue }) else {
                return .error(.ENODEV)
            }
            setName(&r, found.name)
            return .copyOut(r)
        case SIOCGIFADDR, SIOCGIFDSTADDR, SIOCGIFBRDADDR, SIOCGIFNETMASK:
            guard family == .inet else { return .error(.ENOTTY) }
            return addressRequest(request, interfaces: interfaces, ifreq: r)
        case SIOCGIFPFLAGS, SIOCSIFPFLAGS:
            // devinet_ioctl has no case for them (EINVAL); elsewhere dev_ioctl has none (ENOTTY).
            return .error(family == .inet ? .EINVAL : .ENOTTY)
        case SIOCSIFADDR:
            return .error(family == .other ? .ENOTTY : .EPERM)
        case SIOCSIFBRDADDR, SIOCSIFNETMASK, SIOCSIFDSTADDR:
            return .error(family == .inet ? .EPERM : .ENOTTY)
        case SIOCDIFADDR:
            return .error(family == .inet6 ? .EPERM : .ENOTTY)
        case SIOCADDRT, SIOCDELRT:
            return .error(family == .other ? .ENOTTY : .EPERM)
        case SIOCGIFFLAGS, SIOCGIFMETRIC, SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFSLAVE, SIOCGIFMAP,
             SIOCGIFINDEX, SIOCGIFTXQLEN:
            return deviceRequest(request, interfaces: interfaces, ifreq: r)
        case SIOCWANDEV, SIOCGHWTSTAMP, devicePrivate:
            // dev_ifsioc: the device first, then a driver operation none of ours has.
            return .error(device(named: r, in: interfaces) == nil ? .ENODEV : .EOPNOTSUPP)
        case protocolPrivate:
            // unix_ioctl's SIOCUNIXFILE needs CAP_NET_ADMIN; inet has no private requests.
            return .error(family == .other && request == protocolPrivate.lowerBound ? .EPERM : .ENOTTY)
        default:
            if privilegedDeviceRequests.contains(request) { return .error(.EPERM) }
            if hostDependentRequests.contains(request) { return .unserved }
            // Everything else of 0x89xx reaches dev_ioctl's default: ENOTTY.
            return .error(.ENOTTY)
        }
    }

    /// `dev_ifsioc_locked`: the device by name (cut at the first ':', an alias label), then
    /// its field.
    private static func deviceRequest(_ request: UInt32, interfaces: [GuestInterface],
                                      ifreq given: ifreq) -> Outcome {
        var r = given
        terminateName(&r)
        guard let found = device(named: r, in: interfaces) else { return .error(.ENODEV) }
        switch request {
        case SIOCGIFFLAGS: r.ifr_ifru.ifru_flags = found.flags
        case SIOCGIFMETRIC: r.ifr_ifru.ifru_ivalue = 0
        case SIOCGIFMTU: r.ifr_ifru.ifru_mtu = found.mtu
        case SIOCGIFSLAVE: return .error(.EINVAL)
        case SIOCGIFINDEX: r.ifr_ifru.ifru_ivalue = found.index
        case SIOCGIFTXQLEN: r.ifr_ifru.ifru_ivalue = found.transmitQueueLength
        case SIOCGIFMAP: r.ifr_ifru.ifru_map = ifmap()
        default:  // SIOCGIFHWADDR
            withUnsafeMutableBytes(of: &r.ifr_ifru.ifru_hwaddr.sa_data) { data in
                if found.hardwareAddress.isEmpty {
                    data.initializeMemory(as: UInt8.self, repeating: 0)
                } else {
                    for (i, byte) in found.hardwareAddress.prefix(data.count).enumerated() { data[i] = byte }
                }
            }
            r.ifr_ifru.ifru_hwaddr.sa_family = found.hardwareType
        }
        return .copyOut(r)
    }

    /// `devinet_ioctl` for the four IPv4 address requests: the device (ENODEV), then an
    /// address whose label is the full name — with `ifr_addr` AF_INET, the one equal to it
    /// first (4.4BSD style) — or EADDRNOTAVAIL. srouter's addresses are labelled with their
    /// interface's name, so an alias name (`lo:1`) finds none. No address has a broadcast
    /// address (Linux's 0 unless one was configured).
    private static func addressRequest(_ request: UInt32, interfaces: [GuestInterface],
                                       ifreq given: ifreq) -> Outcome {
        var r = given
        terminateName(&r)
        let original = withUnsafeBytes(of: r.ifr_ifru.ifru_addr) { $0.loadUnaligned(as: sockaddr_in.self) }
        guard let found = device(named: r, in: interfaces) else { return .error(.ENODEV) }
        guard name(of: r) == found.name, let first = found.ipv4Addresses.first else {
            return .error(.EADDRNOTAVAIL)
        }
        var address = first
        if original.sin_family == sa_family_t(AF_INET),
           let match = found.ipv4Addresses.first(where: { $0.local == original.sin_addr.s_addr }) {
            address = match
        }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        switch request {
        case SIOCGIFADDR: sin.sin_addr.s_addr = address.local
        case SIOCGIFDSTADDR: sin.sin_addr.s_addr = address.peer ?? address.local
        case SIOCGIFNETMASK: sin.sin_addr.s_addr = address.netmask
        default: sin.sin_addr.s_addr = 0  // SIOCGIFBRDADDR
        }
        withUnsafeMutableBytes(of: &r.ifr_ifru.ifru_addr) { target in
            withUnsafeBytes(of: sin) { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(target.count))) }
        }
        return .copyOut(r)
    }

    /// The interface `ifr_name` names, up to its first ':' (dev_ioctl and devinet_ioctl cut
    /// an alias label off before the lookup).
    static func device(named r: ifreq, in interfaces: [GuestInterface]) -> GuestInterface? {
        let full = name(of: r)
        let base = full.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? full
        return interfaces.first { $0.name == base }
    }

    /// `ifr_name` up to its NUL, at most IFNAMSIZ - 1 bytes.
    static func name(of r: ifreq) -> String {
        withUnsafeBytes(of: r.ifr_ifrn.ifrn_name) { raw in
            String(decoding: raw.prefix(Int(IFNAMSIZ) - 1).prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    /// `ifr->ifr_name[IFNAMSIZ - 1] = 0`, as Linux does before a lookup (and copies back).
    static func terminateName(_ r: inout ifreq) {
        withUnsafeMutableBytes(of: &r.ifr_ifrn.ifrn_name) { $0[Int(IFNAMSIZ) - 1] = 0 }
    }

    /// Sets `ifr_name` to `name`, NUL-padded.
    static func setName(_ r: inout ifreq, _ name: String) {
        withUnsafeMutableBytes(of: &r.ifr_ifrn.ifrn_name) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            for (i, byte) in name.utf8.prefix(Int(IFNAMSIZ) - 1).enumerated() { raw[i] = byte }
        }
    }

    /// SIOCGIFCONF's entries (`inet_gifconf`): one `ifreq` per IPv4 address, interface by
    /// interface, named by the address's label (the interface's name) and holding a
    /// sockaddr_in with the local address.
    static func configurationEntries(_ interfaces: [GuestInterface]) -> [ifreq] {
        interfaces.flatMap { interface in
            interface.ipv4Addresses.map { address -> ifreq in
                var entry = ifreq()
                setName(&entry, interface.name)
                var sin = sockaddr_in()
                sin.sin_family = sa_family_t(AF_INET)
                sin.sin_addr.s_addr = address.local
                withUnsafeMutableBytes(of: &entry.ifr_ifru.ifru_addr) { target in
                    withUnsafeBytes(of: sin) { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(target.count))) }
                }
                return entry
            }
        }
    }
}
