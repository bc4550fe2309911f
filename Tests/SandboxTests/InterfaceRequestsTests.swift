import Glibc
import LinuxABI
import Testing
@testable import Sandbox

/// Interface ioctls answer as Linux 6.x answers an unprivileged process, per socket family
/// (measured natively in a netns: lo, a wireguard-go tun, and an unknown name).
@Suite struct InterfaceRequestsTests {
    static let tun = GuestInterface(
        index: 2, name: "wg0", flags: Int16(IFF_UP | IFF_POINTOPOINT | IFF_RUNNING | IFF_NOARP | IFF_MULTICAST),
        mtu: 1420,
        ipv4Addresses: [.init(local: UInt32(0x0a4d_0002).bigEndian, prefixLength: 24),
                        .init(local: UInt32(0x0a4d_0102).bigEndian, prefixLength: 32,
                              peer: UInt32(0x0a4d_0101).bigEndian)],
        hardwareType: 65534, hardwareAddress: [], transmitQueueLength: 500)
    let interfaces = [GuestInterface.loopback, Self.tun]

    func request(_ name: String, address: UInt32? = nil) -> ifreq {
        var r = ifreq()
        InterfaceRequests.setName(&r, name)
        if let address {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_addr.s_addr = address
            withUnsafeMutableBytes(of: &r.ifr_ifru.ifru_addr) { target in
                withUnsafeBytes(of: sin) { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(target.count))) }
            }
        }
        return r
    }

    func answer(_ code: UInt32, _ family: InterfaceIoctlFamily, _ r: ifreq) -> InterfaceRequests.Outcome {
        InterfaceRequests.answer(code, family: family, interfaces: interfaces, ifreq: r)
    }

    func inetAddress(_ outcome: InterfaceRequests.Outcome) -> (family: sa_family_t, address: UInt32)? {
        guard case .copyOut(let r) = outcome else { return nil }
        let sin = withUnsafeBytes(of: r.ifr_ifru.ifru_addr) { $0.loadUnaligned(as: sockaddr_in.self) }
        return (sin.sin_family, UInt32(bigEndian: sin.sin_addr.s_addr))
    }

    @Test func addressRequestsOnInetSockets() {
        let lo = request("lo")
        #expect(inetAddress(answer(0x8915, .inet, lo))?.address == 0x7f00_0001)  // SIOCGIFADDR
        #expect(inetAddress(answer(0x891B, .inet, lo))?.address == 0xff00_0000)  // NETMASK
        #expect(inetAddress(answer(0x8917, .inet, lo))?.address == 0x7f00_0001)  // DSTADDR: local
        #expect(inetAddress(answer(0x8919, .inet, lo))?.address == 0)  // BRDADDR: none configured
        #expect(inetAddress(answer(0x8915, .inet, lo))?.family == sa_family_t(AF_INET))
        // The 4.4BSD form: the address given picks among the interface's addresses.
        let second = request("wg0", address: UInt32(0x0a4d_0102).bigEndian)
        #expect(inetAddress(answer(0x8917, .inet, second))?.address == 0x0a4d_0101)  // its peer
        #expect(inetAddress(answer(0x891B, .inet, request("wg0")))?.address == 0xffff_ff00)
        #expect(answer(0x8915, .inet, request("nosuchdev0")) == .error(.ENODEV))
        #expect(answer(0x8915, .inet, request("lo:1")) == .error(.EADDRNOTAVAIL))
    }

    @Test func addressRequestsElsewhereAreNotTTYs() {
        for family in [InterfaceIoctlFamily.inet6, .other] {
            #expect(answer(0x8915, family, request("lo")) == .error(.ENOTTY))
            #expect(answer(0x8919, family, request("nosuchdev0")) == .error(.ENOTTY))
        }
    }

    @Test func deviceRequestsOnEveryFamily() {
        for family in [InterfaceIoctlFamily.inet, .inet6, .other] {
            guard case .copyOut(let hw) = answer(0x8927, family, request("wg0")) else {
                Issue.record("SIOCGIFHWADDR")
                return
            }
            #expect(hw.ifr_ifru.ifru_hwaddr.sa_family == 65534)
            guard case .copyOut(let lohw) = answer(0x8927, family, request("lo")) else { return }
            #expect(lohw.ifr_ifru.ifru_hwaddr.sa_family == 772)
            guard case .copyOut(let q) = answer(0x8942, family, request("wg0")) else { return }
            #expect(q.ifr_ifru.ifru_ivalue == 500)
            guard case .copyOut(let index) = answer(0x8933, family, request("lo:0")) else { return }
            #expect(index.ifr_ifru.ifru_ivalue == 1)  // the alias label is cut off
            #expect(answer(0x8929, family, request("lo")) == .error(.EINVAL))  // SIOCGIFSLAVE
            #expect(answer(0x8942, family, request("nosuchdev0")) == .error(.ENODEV))
            #expect(answer(0x8970, family, request("nosuchdev0")) == .error(.ENODEV))
            #expect(answer(0x89FF, family, request("lo")) == .error(.EOPNOTSUPP))
            #expect(answer(0x89FF, family, request("nosuchdev0")) == .error(.ENODEV))
            #expect(answer(0x8914, family, request("lo")) == .error(.EPERM))  // SIOCSIFFLAGS
            #expect(answer(0x894C, family, request("lo")) == .error(.EPERM))  // SIOCGSKNS
            #expect(answer(0x891F, family, request("lo")) == .error(.ENOTTY))  // SIOCGIFMEM
        }
    }

    @Test func familySpecificRequests() {
        #expect(answer(0x8935, .inet, request("lo")) == .error(.EINVAL))  // SIOCGIFPFLAGS
        #expect(answer(0x8935, .other, request("lo")) == .error(.ENOTTY))
        #expect(answer(0x8916, .inet6, request("lo")) == .error(.EPERM))  // SIOCSIFADDR
        #expect(answer(0x8916, .other, request("lo")) == .error(.ENOTTY))
        #expect(answer(0x8936, .inet6, request("lo")) == .error(.EPERM))  // SIOCDIFADDR
        #expect(answer(0x8936, .inet, request("lo")) == .error(.ENOTTY))
        #expect(answer(0x890B, .inet, request("lo")) == .error(.EPERM))  // SIOCADDRT
        #expect(answer(0x890B, .other, request("lo")) == .error(.ENOTTY))
        #expect(answer(0x89E0, .other, request("lo")) == .error(.EPERM))  // SIOCUNIXFILE
        #expect(answer(0x89E0, .inet, request("lo")) == .error(.ENOTTY))
    }

    @Test func configurationListsEveryIPv4Address() {
        let entries = InterfaceRequests.configurationEntries(interfaces)
        #expect(entries.map { InterfaceRequests.name(of: $0) } == ["lo", "wg0", "wg0"])
    }

    @Test func descriptorLinks() {
        #expect(InterfaceIoctlHandler.parse(link: "socket:[4242]") == .socket(inode: 4242))
        #expect(InterfaceIoctlHandler.parse(link: "pipe:[4242]") == .notSocket)
        #expect(InterfaceIoctlHandler.parse(link: "/dev/null") == .notSocket)
    }
}

/// socket(2) for the families srouter never serves.
@Suite struct UnservedFamilyTests {
    let handler = SocketCallHandler()

    func call(_ number: Int32, _ family: Int32, _ type: Int32, _ proto: Int32 = 0) -> SyscallAnswer {
        let notification = SyscallNotification(
            id: 1, tid: getpid(), number: number,
            arguments: [UInt64(UInt32(bitPattern: family)), UInt64(UInt32(bitPattern: type)),
                        UInt64(UInt32(bitPattern: proto)), 0])
        return number == 41 ? handler.socket(notification) : handler.socketpair(notification)
    }

    @Test func packetAndXDPAreRefusedAsToAnUnprivilegedProcess() {
        #expect(call(41, AF_PACKET, 3, 0x0300) == .error(.EPERM))
        #expect(call(41, AF_PACKET, 1) == .error(.EPERM))  // before the type check
        #expect(call(41, 44, 3) == .error(.EPERM))
        #expect(call(41, AF_PACKET, 12) == .error(.EINVAL))  // type range first
        #expect(call(53, AF_PACKET, 3) == .error(.EPERM))
    }

    @Test func vsockDoesNotExist() {
        #expect(call(41, 40, 1) == .error(.EAFNOSUPPORT))
    }
}
