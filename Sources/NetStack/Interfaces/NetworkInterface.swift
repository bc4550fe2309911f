import Wire

/// What kind of device an interface is, as `ip -d link` shows its `kind`.
public enum InterfaceKind: String, Sendable {
    /// `lo`: packets sent to it come back in.
    case loopback
    /// A WireGuard tunnel: layer 3, point-to-point or multipoint, no ARP/NDP.
    case wireguard
    /// A dummy interface holding the node's own addresses; what is routed to it is dropped.
    case dummy
}

/// An address on an interface (what `ip addr` lists): the local address, its prefix length,
/// the peer of a point-to-point address (`IFA_ADDRESS` ≠ `IFA_LOCAL`), and its scope.
public struct InterfaceAddress: Hashable, Sendable, CustomStringConvertible {
    /// The local address.
    public var address: IPAddress
    /// The prefix length (the subnet is `address/prefixLength`, or `peer/prefixLength`).
    public var prefixLength: Int
    /// The far end of a point-to-point address (`ip addr add 10.0.0.1 peer 10.0.0.2/32`).
    public var peer: IPAddress?
    /// Linux's RT_SCOPE_*: 0 universe, 253 link (fe80::/10), 254 host (127/8, ::1).
    public var scope: UInt8

    /// Scope numbers (rtnetlink.h).
    public enum Scope {
        /// Global.
        public static let universe: UInt8 = 0
        /// On the link only.
        public static let link: UInt8 = 253
        /// This host only.
        public static let host: UInt8 = 254
    }

    /// An address; the scope defaults as Linux picks it: host for loopback addresses, link for
    /// IPv6 link-local, universe otherwise.
    public init(address: IPAddress, prefixLength: Int, peer: IPAddress? = nil, scope: UInt8? = nil) {
        self.address = address
        self.prefixLength = prefixLength
        self.peer = peer
        self.scope = scope ?? Self.defaultScope(address)
    }

    /// Linux's choice of scope for an address added without one.
    public static func defaultScope(_ address: IPAddress) -> UInt8 {
        switch address {
        case .v4(let a): return a.value >> 24 == 127 ? Scope.host : Scope.universe
        case .v6(let a):
            if a == .loopback { return Scope.host }
            return a.isLinkLocal ? Scope.link : Scope.universe
        }
    }

    /// The connected prefix: the peer's (for a point-to-point address) or the address's, masked.
    public var subnet: IPPrefix {
        IPPrefix(address: peer ?? address, length: prefixLength)!.masked
    }

    /// `address/len` or `address peer peer/len`.
    public var description: String {
        if let peer { return "\(address) peer \(peer)/\(prefixLength)" }
        return "\(address)/\(prefixLength)"
    }
}

/// Reverse-path filtering of forwarded packets, Linux's `rp_filter` values (RFC 3704).
public enum ReversePathFilter: Int, Sendable {
    /// No check.
    case off = 0
    /// The best route back to the source must leave through the interface the packet came in on.
    case strict = 1
    /// Some route back to the source must exist (any interface).
    case loose = 2
}

/// Per-interface packet and byte counters (`ip -s link`).
public struct InterfaceCounters: Sendable, Equatable {
    /// Packets received.
    public var receivedPackets = 0
    /// Bytes received.
    public var receivedBytes = 0
    /// Packets sent.
    public var sentPackets = 0
    /// Bytes sent.
    public var sentBytes = 0
    /// Received packets dropped (malformed, filtered, no route…).
    public var receiveDrops = 0
    /// Packets that could not be sent (interface down, no peer…).
    public var sendDrops = 0
    /// Creates zeroed counters.
    public init() {}
}

/// One virtual interface of srouter's stack: what the guest sees through rtnetlink and
/// SIOCGIF* ioctls, and where the forwarding plane sends packets.
public final class NetworkInterface {
    /// The interface index (`ifindex`); `lo` is 1, as on Linux.
    public let index: Int
    /// The name (`wg0`, `lo`, `dummy0`).
    public var name: String
    /// The kind.
    public let kind: InterfaceKind
    /// The MTU.
    public var mtu: Int
    /// Administratively up (IFF_UP).
    public var isUp: Bool
    /// Addresses, in the order they were added (the first of a family is the primary).
    public internal(set) var addresses: [InterfaceAddress] = []
    /// rp_filter for packets arriving here.
    public var reversePathFilter: ReversePathFilter = .off
    /// Counters.
    public internal(set) var counters = InterfaceCounters()
    /// The transmit queue length (`ip link`'s `qlen`, SIOCGIFTXQLEN, IFLA_TXQLEN), as the
    /// device kind has it on Linux: 1000 for `lo` and Ethernet-like devices
    /// (DEFAULT_TX_QUEUE_LEN), 500 for a WireGuard interface (a wireguard-go tun device:
    /// drivers/net/tun.c sets TUN_READQ_SIZE).
    public var transmitQueueLength: Int
    /// Hands an IP packet to the device; `nextHop` is the route's gateway, or the destination
    /// for a directly connected one. The bytes are valid only during the call.
    public var transmit: (_ packet: UnsafeRawBufferPointer, _ nextHop: IPAddress) -> Bool = { _, _ in false }

    /// Creates an interface (`InterfaceTable.add` assigns the index).
    init(index: Int, name: String, kind: InterfaceKind, mtu: Int, isUp: Bool) {
        self.index = index
        self.name = name
        self.kind = kind
        self.mtu = mtu
        self.isUp = isUp
        self.transmitQueueLength = kind == .wireguard ? 500 : 1000
    }

    /// The device type (`dev->type`, `<linux/if_arp.h>`), as SIOCGIFHWADDR's `sa_family` and
    /// rtnetlink's `ifi_type` report it: ARPHRD_LOOPBACK (772) for `lo`, ARPHRD_NONE
    /// (65534) for a WireGuard interface (a layer-3 tun without link-layer header), and
    /// ARPHRD_ETHER (1) for a dummy (drivers/net/dummy.c calls ether_setup).
    public var hardwareType: UInt16 {
        switch kind {
        case .loopback: 772
        case .wireguard: 65534
        case .dummy: 1
        }
    }

    /// The link-layer address (`dev->dev_addr`, `addr_len` bytes): six zero bytes for `lo`
    /// (loopback_setup sets ETH_ALEN), none for a WireGuard tun, and for a dummy a locally
    /// administered unicast MAC made from the index (Linux picks a random one,
    /// eth_hw_addr_random).
    public var hardwareAddress: [UInt8] {
        switch kind {
        case .loopback: [0, 0, 0, 0, 0, 0]
        case .wireguard: []
        case .dummy: [0x02, 0, 0, 0, UInt8(truncatingIfNeeded: index >> 8), UInt8(truncatingIfNeeded: index)]
        }
    }

    /// The Linux flags word (IFF_UP 0x1, IFF_BROADCAST 0x2, IFF_LOOPBACK 0x8,
    /// IFF_POINTOPOINT 0x10, IFF_RUNNING 0x40, IFF_NOARP 0x80, IFF_MULTICAST 0x1000,
    /// IFF_LOWER_UP 0x10000), as `dev_get_flags` reports them for `lo`, a WireGuard
    /// interface and a dummy: a WireGuard interface is a wireguard-go tun device, which is
    /// POINTOPOINT|NOARP|MULTICAST (tun_net_init for IFF_TUN); a dummy is BROADCAST|NOARP
    /// (dummy_setup clears IFF_MULTICAST). RUNNING and LOWER_UP follow IFF_UP: the devices
    /// always have carrier.
    public var linuxFlags: UInt32 {
        var flags: UInt32 = 0
        switch kind {
        case .loopback: flags = 0x8
        case .wireguard: flags = 0x10 | 0x80 | 0x1000
        case .dummy: flags = 0x2 | 0x80
        }
        if isUp { flags |= 0x1 | 0x40 | 0x10000 }
        return flags
    }

    /// The first address of `address`'s family, preferring one on the same subnet.
    public func preferredAddress(toward destination: IPAddress) -> IPAddress? {
        let sameFamily = addresses.filter { $0.address.hasSameFamily(as: destination) }
        if let onLink = sameFamily.first(where: { $0.subnet.contains(destination) }) { return onLink.address }
        if case .v6(let d) = destination, !d.isLinkLocal,
           let global = sameFamily.first(where: { $0.scope == InterfaceAddress.Scope.universe }) {
            return global.address
        }
        return sameFamily.first?.address
    }
}
