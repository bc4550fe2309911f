// rtnetlink's fixed headers (<linux/rtnetlink.h>, <linux/if_link.h>, <linux/if_addr.h>):
// `ifinfomsg` (links), `ifaddrmsg` (addresses) and `rtmsg` (routes), as values that parse from
// and emit to the bytes after a netlink header, plus the message and attribute numbers
// srouter's rtnetlink serves. Integers are in host (little-endian) order.

/// rtnetlink message types (`RTM_…`).
public enum RouteNetlinkType {
    /// `RTM_NEWLINK`.
    public static let newLink: UInt16 = 16
    /// `RTM_DELLINK`.
    public static let deleteLink: UInt16 = 17
    /// `RTM_GETLINK`.
    public static let getLink: UInt16 = 18
    /// `RTM_SETLINK`.
    public static let setLink: UInt16 = 19
    /// `RTM_NEWADDR`.
    public static let newAddress: UInt16 = 20
    /// `RTM_DELADDR`.
    public static let deleteAddress: UInt16 = 21
    /// `RTM_GETADDR`.
    public static let getAddress: UInt16 = 22
    /// `RTM_NEWROUTE`.
    public static let newRoute: UInt16 = 24
    /// `RTM_DELROUTE`.
    public static let deleteRoute: UInt16 = 25
    /// `RTM_GETROUTE`.
    public static let getRoute: UInt16 = 26
    /// `RTM_NEWNEIGH`.
    public static let newNeighbour: UInt16 = 28
    /// `RTM_GETNEIGH`.
    public static let getNeighbour: UInt16 = 30
    /// `RTM_NEWRULE`.
    public static let newRule: UInt16 = 32
    /// `RTM_GETRULE`.
    public static let getRule: UInt16 = 34
    /// `RTM_NEWNETCONF`.
    public static let newNetworkConfiguration: UInt16 = 80
    /// `RTM_GETNETCONF`.
    public static let getNetworkConfiguration: UInt16 = 82
    /// `RTM_NEWNSID`.
    public static let newNamespaceID: UInt16 = 88
    /// `RTM_GETNSID`.
    public static let getNamespaceID: UInt16 = 90
}

/// `struct ifinfomsg`: the fixed header of link messages.
public struct InterfaceInfoRepr: Equatable, Sendable {
    /// Its length, 16.
    public static let length = 16

    /// `ifi_family` (AF_UNSPEC for links).
    public var family: UInt8
    /// `ifi_type`: the ARPHRD_ hardware type (772 loopback, 65534 none: a layer-3 tunnel).
    public var hardwareType: UInt16
    /// `ifi_index`.
    public var index: Int32
    /// `ifi_flags` (`IFF_…`).
    public var flags: UInt32
    /// `ifi_change`: which flags a request changes.
    public var change: UInt32

    /// Creates a header.
    public init(family: UInt8 = 0, hardwareType: UInt16 = 0, index: Int32 = 0, flags: UInt32 = 0, change: UInt32 = 0) {
        self.family = family
        self.hardwareType = hardwareType
        self.index = index
        self.flags = flags
        self.change = change
    }

    /// Reads the header at the start of `payload`.
    public static func parse(_ payload: UnsafeRawBufferPointer) throws(WireError) -> InterfaceInfoRepr {
        guard payload.count >= length else { throw .truncated }
        return InterfaceInfoRepr(family: payload.byte(at: 0), hardwareType: payload.littleEndian16(at: 2),
                                 index: Int32(bitPattern: payload.littleEndian32(at: 4)),
                                 flags: payload.littleEndian32(at: 8), change: payload.littleEndian32(at: 12))
    }

    /// The 16 bytes of the header.
    public var bytes: [UInt8] {
        makeBytes(count: Self.length) { b in
            b.storeByte(family, at: 0)
            b.storeLittleEndian16(hardwareType, at: 2)
            b.storeLittleEndian32(UInt32(bitPattern: index), at: 4)
            b.storeLittleEndian32(flags, at: 8)
            b.storeLittleEndian32(change, at: 12)
        }
    }

    /// Link attributes (`IFLA_…`).
    public enum Attribute {
        /// `IFLA_ADDRESS`: the hardware address.
        public static let address: UInt16 = 1
        /// `IFLA_BROADCAST`.
        public static let broadcast: UInt16 = 2
        /// `IFLA_IFNAME`.
        public static let name: UInt16 = 3
        /// `IFLA_MTU`.
        public static let mtu: UInt16 = 4
        /// `IFLA_LINK`.
        public static let link: UInt16 = 5
        /// `IFLA_QDISC`.
        public static let qdisc: UInt16 = 6
        /// `IFLA_STATS`.
        public static let stats: UInt16 = 7
        /// `IFLA_TXQLEN`.
        public static let transmitQueueLength: UInt16 = 13
        /// `IFLA_OPERSTATE`.
        public static let operationalState: UInt16 = 16
        /// `IFLA_LINKMODE`.
        public static let linkMode: UInt16 = 17
        /// `IFLA_LINKINFO` (nested: `IFLA_INFO_KIND`…).
        public static let linkInfo: UInt16 = 18
        /// `IFLA_EXT_MASK`: what a GETLINK request asks for (RTEXT_FILTER_…).
        public static let extensionMask: UInt16 = 29
        /// `IFLA_GROUP`.
        public static let group: UInt16 = 27
        /// `IFLA_CARRIER`.
        public static let carrier: UInt16 = 33
        /// `IFLA_MIN_MTU`.
        public static let minimumMTU: UInt16 = 50
        /// `IFLA_MAX_MTU`.
        public static let maximumMTU: UInt16 = 51
        /// `IFLA_INFO_KIND`, inside `IFLA_LINKINFO`.
        public static let infoKind: UInt16 = 1
    }
}

/// `struct ifaddrmsg`: the fixed header of address messages.
public struct InterfaceAddressRepr: Equatable, Sendable {
    /// Its length, 8.
    public static let length = 8

    /// `ifa_family`.
    public var family: UInt8
    /// `ifa_prefixlen`.
    public var prefixLength: UInt8
    /// `ifa_flags` (the low 8 bits of `IFA_F_…`; `IFA_FLAGS` carries all 32).
    public var flags: UInt8
    /// `ifa_scope` (`RT_SCOPE_…`).
    public var scope: UInt8
    /// `ifa_index`.
    public var index: UInt32

    /// Creates a header.
    public init(family: UInt8, prefixLength: UInt8 = 0, flags: UInt8 = 0, scope: UInt8 = 0, index: UInt32 = 0) {
        self.family = family
        self.prefixLength = prefixLength
        self.flags = flags
        self.scope = scope
        self.index = index
    }

    /// Reads the header at the start of `payload`.
    public static func parse(_ payload: UnsafeRawBufferPointer) throws(WireError) -> InterfaceAddressRepr {
        guard payload.count >= length else { throw .truncated }
        return InterfaceAddressRepr(family: payload.byte(at: 0), prefixLength: payload.byte(at: 1),
                                    flags: payload.byte(at: 2), scope: payload.byte(at: 3),
                                    index: payload.littleEndian32(at: 4))
    }

    /// The 8 bytes of the header.
    public var bytes: [UInt8] {
        makeBytes(count: Self.length) { b in
            b.storeByte(family, at: 0)
            b.storeByte(prefixLength, at: 1)
            b.storeByte(flags, at: 2)
            b.storeByte(scope, at: 3)
            b.storeLittleEndian32(index, at: 4)
        }
    }

    /// Address attributes (`IFA_…`).
    public enum Attribute {
        /// `IFA_ADDRESS`: the peer's address on point-to-point links, else the local one.
        public static let address: UInt16 = 1
        /// `IFA_LOCAL`: the local address.
        public static let local: UInt16 = 2
        /// `IFA_LABEL`: the interface name (IPv4).
        public static let label: UInt16 = 3
        /// `IFA_BROADCAST`.
        public static let broadcast: UInt16 = 4
        /// `IFA_CACHEINFO` (`struct ifa_cacheinfo`).
        public static let cacheInfo: UInt16 = 6
        /// `IFA_FLAGS`: all 32 bits of `IFA_F_…`.
        public static let flags: UInt16 = 8
        /// `IFA_RT_PRIORITY`.
        public static let routePriority: UInt16 = 9
        /// `IFA_PROTO`.
        public static let proto: UInt16 = 11
    }
}

/// `struct rtmsg`: the fixed header of route messages.
public struct RouteRepr: Equatable, Sendable {
    /// Its length, 12.
    public static let length = 12

    /// `rtm_family`.
    public var family: UInt8
    /// `rtm_dst_len`: the destination prefix length.
    public var destinationLength: UInt8
    /// `rtm_src_len`.
    public var sourceLength: UInt8
    /// `rtm_tos`.
    public var tos: UInt8
    /// `rtm_table` (the low 8 bits; `RTA_TABLE` carries all 32).
    public var table: UInt8
    /// `rtm_protocol` (`RTPROT_…`: 2 kernel, 3 boot, 4 static, 12 BIRD).
    public var protocolNumber: UInt8
    /// `rtm_scope` (`RT_SCOPE_…`: 0 universe, 253 link, 254 host).
    public var scope: UInt8
    /// `rtm_type` (`RTN_…`).
    public var type: UInt8
    /// `rtm_flags` (`RTM_F_…`, `RTNH_F_…`).
    public var flags: UInt32

    /// Creates a header.
    public init(family: UInt8, destinationLength: UInt8 = 0, sourceLength: UInt8 = 0, tos: UInt8 = 0, table: UInt8 = 0,
                protocolNumber: UInt8 = 0, scope: UInt8 = 0, type: UInt8 = 0, flags: UInt32 = 0) {
        self.family = family
        self.destinationLength = destinationLength
        self.sourceLength = sourceLength
        self.tos = tos
        self.table = table
        self.protocolNumber = protocolNumber
        self.scope = scope
        self.type = type
        self.flags = flags
    }

    /// Reads the header at the start of `payload`.
    public static func parse(_ payload: UnsafeRawBufferPointer) throws(WireError) -> RouteRepr {
        guard payload.count >= length else { throw .truncated }
        return RouteRepr(family: payload.byte(at: 0), destinationLength: payload.byte(at: 1),
                         sourceLength: payload.byte(at: 2), tos: payload.byte(at: 3), table: payload.byte(at: 4),
                         protocolNumber: payload.byte(at: 5), scope: payload.byte(at: 6), type: payload.byte(at: 7),
                         flags: payload.littleEndian32(at: 8))
    }

    /// The 12 bytes of the header.
    public var bytes: [UInt8] {
        makeBytes(count: Self.length) { b in
            for (offset, value) in [family, destinationLength, sourceLength, tos, table, protocolNumber, scope, type]
                .enumerated() {
                b.storeByte(value, at: offset)
            }
            b.storeLittleEndian32(flags, at: 8)
        }
    }

    /// Route types (`RTN_…`).
    public enum RouteType {
        /// `RTN_UNICAST`.
        public static let unicast: UInt8 = 1
        /// `RTN_LOCAL`.
        public static let local: UInt8 = 2
        /// `RTN_BROADCAST`.
        public static let broadcast: UInt8 = 3
        /// `RTN_MULTICAST`.
        public static let multicast: UInt8 = 5
        /// `RTN_BLACKHOLE`.
        public static let blackhole: UInt8 = 6
        /// `RTN_UNREACHABLE`.
        public static let unreachable: UInt8 = 7
        /// `RTN_PROHIBIT`.
        public static let prohibit: UInt8 = 8
    }

    /// Route attributes (`RTA_…`).
    public enum Attribute {
        /// `RTA_DST`.
        public static let destination: UInt16 = 1
        /// `RTA_SRC`.
        public static let source: UInt16 = 2
        /// `RTA_IIF`.
        public static let inputInterface: UInt16 = 3
        /// `RTA_OIF`.
        public static let outputInterface: UInt16 = 4
        /// `RTA_GATEWAY`.
        public static let gateway: UInt16 = 5
        /// `RTA_PRIORITY`: the metric.
        public static let priority: UInt16 = 6
        /// `RTA_PREFSRC`.
        public static let preferredSource: UInt16 = 7
        /// `RTA_METRICS` (nested `RTAX_…`).
        public static let metrics: UInt16 = 8
        /// `RTA_MULTIPATH` (`struct rtnexthop` records).
        public static let multipath: UInt16 = 9
        /// `RTA_TABLE`.
        public static let table: UInt16 = 15
        /// `RTA_PREF` (IPv6 router preference).
        public static let preference: UInt16 = 20
        /// `RTA_VIA` (`struct rtvia`: a gateway of another family).
        public static let via: UInt16 = 18
    }
}

/// One `struct rtnexthop` of RTA_MULTIPATH: flags (`RTNH_F_…`), `rtnh_hops` (the weight
/// minus one), the device, and the next hop's own attributes (RTA_GATEWAY, RTA_VIA).
public struct RouteNextHopRecord {
    /// The record header's length.
    public static let headerLength = 8
    /// `rtnh_flags`.
    public let flags: UInt8
    /// `rtnh_hops`.
    public let hops: UInt8
    /// `rtnh_ifindex`.
    public let interfaceIndex: Int32
    /// The attributes after the header.
    public let attributes: UnsafeRawBufferPointer
}

/// The `struct rtnexthop` records of an RTA_MULTIPATH value (`rtnh_ok`/`rtnh_next`). Iteration
/// stops at the end or at a record whose length is under 8 or past the end (`error`).
public struct RouteNextHopRecords: Sequence, IteratorProtocol {
    private var rest: UnsafeRawBufferPointer
    /// Why iteration stopped early.
    public private(set) var error: WireError?

    /// The records in `buffer`.
    public init(_ buffer: UnsafeRawBufferPointer) {
        rest = buffer
    }

    /// The next record.
    public mutating func next() -> RouteNextHopRecord? {
        guard !rest.isEmpty, error == nil else { return nil }
        guard rest.count >= RouteNextHopRecord.headerLength else { error = .truncated; return nil }
        let length = Int(rest.littleEndian16(at: 0))
        guard length >= RouteNextHopRecord.headerLength else { error = .malformed("rtnh_len"); return nil }
        guard length <= rest.count else { error = .truncated; return nil }
        let record = RouteNextHopRecord(flags: rest.byte(at: 2), hops: rest.byte(at: 3),
                                        interfaceIndex: Int32(bitPattern: rest.littleEndian32(at: 4)),
                                        attributes: rest.bytes(RouteNextHopRecord.headerLength,
                                                               length - RouteNextHopRecord.headerLength))
        rest = rest.bytes(from: Swift.min(NetlinkMessage.align(length), rest.count))
        return record
    }
}

/// `struct rtvia` (RTA_VIA): a gateway of another family than the route's — an IPv6 next hop
/// of an IPv4 route (RFC 8950).
public enum RouteVia {
    /// The address in an RTA_VIA value: family (AF_INET 2 or AF_INET6 10), then 4 or 16
    /// bytes; nil if the family is another or the address is short.
    public static func parse(_ payload: UnsafeRawBufferPointer) -> IPAddress? {
        guard payload.count >= 2 else { return nil }
        switch payload.littleEndian16(at: 0) {
        case 2 where payload.count >= 6: return .v4(payload.ipv4Address(at: 2))
        case 10 where payload.count >= 18: return .v6(payload.ipv6Address(at: 2))
        default: return nil
        }
    }

    /// The RTA_VIA value for `address`.
    public static func bytes(_ address: IPAddress) -> [UInt8] {
        switch address {
        case .v4(let a):
            makeBytes(count: 6) { b in b.storeLittleEndian16(2, at: 0); b.storeIPv4Address(a, at: 2) }
        case .v6(let a):
            makeBytes(count: 18) { b in b.storeLittleEndian16(10, at: 0); b.storeIPv6Address(a, at: 2) }
        }
    }
}

extension NetlinkWriter {
    /// Appends one `struct rtnexthop` whose attributes `body` writes (inside RTA_MULTIPATH).
    public mutating func appendNextHopRecord(flags: UInt8, hops: UInt8, interfaceIndex: Int32,
                                             _ body: (inout NetlinkWriter) -> Void) {
        var attributes = NetlinkWriter()
        body(&attributes)
        let header = makeBytes(count: RouteNextHopRecord.headerLength) { b in
            b.storeLittleEndian16(UInt16(RouteNextHopRecord.headerLength + attributes.bytes.count), at: 0)
            b.storeByte(flags, at: 2)
            b.storeByte(hops, at: 3)
            b.storeLittleEndian32(UInt32(bitPattern: interfaceIndex), at: 4)
        }
        appendBytes(header)
        appendBytes(attributes.bytes)
    }
}

/// `struct tcmsg`, the fixed header of traffic-control messages (qdiscs, classes, filters,
/// chains): family, padding, `tcm_ifindex`, handle, parent, info.
public enum TrafficControlHeader {
    /// Its length, 20.
    public static let length = 20

    /// `tcm_ifindex` of the header at the start of `payload`; nil if the payload is shorter
    /// than the index's end.
    public static func interfaceIndex(_ payload: UnsafeRawBufferPointer) -> Int32? {
        payload.count >= 8 ? Int32(bitPattern: payload.littleEndian32(at: 4)) : nil
    }
}
