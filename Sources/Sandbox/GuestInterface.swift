import Glibc

/// A network interface as the guest sees it through socket ioctls (`SIOCGIF…`).
public struct GuestInterface: Sendable, Equatable {
    /// An IPv4 address of the interface, as `struct in_ifaddr` holds it for devinet_ioctl.
    public struct IPv4Address: Sendable, Equatable {
        /// The local address (`ifa_local`), network byte order.
        public var local: UInt32
        /// The prefix length (`ifa_prefixlen`); SIOCGIFNETMASK reports it as a mask.
        public var prefixLength: Int
        /// The far end of a point-to-point address (`ifa_address` ≠ `ifa_local`), network
        /// byte order; nil: SIOCGIFDSTADDR reports the local address, as Linux does.
        public var peer: UInt32?

        /// An address `local/prefixLength`, with an optional peer.
        public init(local: UInt32, prefixLength: Int, peer: UInt32? = nil) {
            self.local = local
            self.prefixLength = prefixLength
            self.peer = peer
        }

        /// `ifa_mask`: the prefix as a netmask, network byte order.
        public var netmask: UInt32 {
            let length = max(0, min(32, prefixLength))
            return (length == 0 ? 0 : UInt32.max << UInt32(32 - length)).bigEndian
        }
    }

    /// Interface index (`lo` is 1).
    public var index: Int32
    /// Name, at most 15 bytes (`IFNAMSIZ` - 1).
    public var name: String
    /// `IFF_…` flags, as SIOCGIFFLAGS reports them (the low 16 bits of `dev_get_flags`).
    public var flags: Int16
    /// MTU in bytes.
    public var mtu: Int32
    /// The IPv4 addresses, primary first (SIOCGIFCONF lists them all, SIOCGIFADDR the first).
    public var ipv4Addresses: [IPv4Address]
    /// The device type (`dev->type`, ARPHRD_…), SIOCGIFHWADDR's `sa_family`.
    public var hardwareType: UInt16
    /// The link-layer address (`dev->dev_addr`, `addr_len` bytes; empty for a tun).
    public var hardwareAddress: [UInt8]
    /// The transmit queue length (SIOCGIFTXQLEN).
    public var transmitQueueLength: Int32

    /// Creates an interface description.
    public init(index: Int32, name: String, flags: Int16, mtu: Int32, ipv4Addresses: [IPv4Address],
                hardwareType: UInt16, hardwareAddress: [UInt8], transmitQueueLength: Int32) {
        self.index = index
        self.name = name
        self.flags = flags
        self.mtu = mtu
        self.ipv4Addresses = ipv4Addresses
        self.hardwareType = hardwareType
        self.hardwareAddress = hardwareAddress
        self.transmitQueueLength = transmitQueueLength
    }

    /// The primary IPv4 address, network byte order, if any.
    public var ipv4Address: UInt32? { ipv4Addresses.first?.local }

    /// `lo` as Linux sets it up: index 1, UP|LOOPBACK|RUNNING, MTU 65536, 127.0.0.1/8,
    /// ARPHRD_LOOPBACK with a six-byte zero address, txqueuelen 1000.
    public static let loopback = GuestInterface(
        index: 1, name: "lo",
        flags: Int16(IFF_UP | IFF_LOOPBACK | IFF_RUNNING),
        mtu: 65536, ipv4Addresses: [IPv4Address(local: UInt32(0x7f00_0001).bigEndian, prefixLength: 8)],
        hardwareType: 772, hardwareAddress: [0, 0, 0, 0, 0, 0], transmitQueueLength: 1000)
}
