import NetStack
import Wire

/// Links: RTM_GETLINK (dump, or one by index or name) and RTM_NEWLINK/RTM_SETLINK for up/down
/// and the MTU, laid out as Linux's `rtnl_fill_ifinfo` lays them out for `lo` and a layer-3
/// tunnel (attributes in its order; the ones only hardware has are left out).
extension RouteNetlinkServer {
    /// What Linux reports for an interface of each kind beyond `NetworkInterface`'s own
    /// fields: the MTU range and the link kind.
    struct LinkProfile {
        /// `IFLA_MIN_MTU`…`IFLA_MAX_MTU` (nil: 0 and 0, as lo and a dummy report).
        var mtuRange: ClosedRange<UInt32>?
        /// `IFLA_INFO_KIND`, if the device has one.
        var kind: String?

        init(_ kind: InterfaceKind) {
            switch kind {
            case .loopback: mtuRange = nil; self.kind = nil
            case .wireguard: mtuRange = 68...65535; self.kind = "wireguard"
            case .dummy: mtuRange = nil; self.kind = "dummy"
            }
        }
    }

    /// `IF_OPER_UNKNOWN` (what lo and a tun report while up) and `IF_OPER_DOWN`.
    enum OperationalState {
        static let unknown: UInt8 = 0
        static let down: UInt8 = 2
    }

    /// Writes one RTM_NEWLINK message's body for `interface`.
    func fillLink(_ interface: NetworkInterface, into writer: inout NetlinkWriter) {
        typealias A = InterfaceInfoRepr.Attribute
        let profile = LinkProfile(interface.kind)
        writer.appendBytes(InterfaceInfoRepr(family: 0, hardwareType: interface.hardwareType, index: Int32(interface.index),
                                             flags: interface.linuxFlags).bytes)
        writer.appendAttribute(A.name, string: interface.name)
        writer.appendAttribute(A.transmitQueueLength, uint32: UInt32(interface.transmitQueueLength))
        writer.appendAttribute(A.operationalState, uint8: interface.isUp ? OperationalState.unknown : OperationalState.down)
        writer.appendAttribute(A.linkMode, uint8: 0)
        // IFLA_NETNS_IMMUTABLE: lo cannot leave its namespace.
        writer.appendAttribute(LinkAttribute.namespaceImmutable, uint8: interface.kind == .loopback ? 1 : 0)
        writer.appendAttribute(A.mtu, uint32: UInt32(interface.mtu))
        if let range = profile.mtuRange {
            writer.appendAttribute(A.minimumMTU, uint32: range.lowerBound)
            writer.appendAttribute(A.maximumMTU, uint32: range.upperBound)
        } else {
            writer.appendAttribute(A.minimumMTU, uint32: 0)
            writer.appendAttribute(A.maximumMTU, uint32: 0)
        }
        writer.appendAttribute(A.group, uint32: 0)
        writer.appendAttribute(LinkAttribute.promiscuity, uint32: 0)
        writer.appendAttribute(LinkAttribute.allMulticast, uint32: 0)
        writer.appendAttribute(LinkAttribute.transmitQueues, uint32: 1)
        // Offload limits as lo and a tun report them (srouter segments nothing itself).
        writer.appendAttribute(LinkAttribute.gsoMaximumSegments, uint32: 65535)
        writer.appendAttribute(LinkAttribute.gsoMaximumSize, uint32: 65536)
        writer.appendAttribute(LinkAttribute.groMaximumSize, uint32: 65536)
        writer.appendAttribute(LinkAttribute.gsoIPv4MaximumSize, uint32: 65536)
        writer.appendAttribute(LinkAttribute.groIPv4MaximumSize, uint32: 65536)
        writer.appendAttribute(LinkAttribute.tsoMaximumSize, uint32: interface.kind == .loopback ? 524_280 : 65536)
        writer.appendAttribute(LinkAttribute.tsoMaximumSegments, uint32: 65535)
        writer.appendAttribute(LinkAttribute.pacingOffloadHorizon, uint32: 0)
        writer.appendAttribute(LinkAttribute.receiveQueues, uint32: 1)
        writer.appendAttribute(A.carrier, uint8: 1)
        writer.appendAttribute(LinkAttribute.carrierChanges, uint32: 0)
        writer.appendAttribute(LinkAttribute.carrierUpCount, uint32: 0)
        writer.appendAttribute(LinkAttribute.carrierDownCount, uint32: 0)
        writer.appendAttribute(LinkAttribute.headroom, uint16: 0)
        writer.appendAttribute(LinkAttribute.tailroom, uint16: 0)
        writer.appendAttribute(LinkAttribute.protocolDown, uint8: 0)
        let address = interface.hardwareAddress
        if !address.isEmpty {
            writer.appendAttribute(A.address, bytes: address)
            writer.appendAttribute(A.broadcast, bytes: interface.kind == .loopback ? address : [UInt8](repeating: 0xff, count: 6))
        }
        appendStatistics(interface.counters, into: &writer)
        // IFLA_XDP {IFLA_XDP_ATTACHED: XDP_ATTACHED_NONE}.
        writer.beginNested(LinkAttribute.xdp)
        writer.appendAttribute(2, uint8: 0)
        writer.endNested()
        if let kind = profile.kind {
            writer.beginNested(A.linkInfo)
            writer.appendAttribute(A.infoKind, string: kind)
            writer.endNested()
        }
        writer.appendAttribute(A.qdisc, string: "noqueue")
        DeviceConfiguration.appendFamilySpecific(interface, stamp: 0, into: &writer)
        // IFLA_MAP (struct rtnl_link_ifmap: no I/O memory, IRQ or DMA), then the empty
        // IFLA_DEVLINK_PORT and IFLA_DPLL_PIN nests Linux writes.
        writer.appendAttribute(LinkAttribute.map, bytes: [UInt8](repeating: 0, count: 32))
        writer.beginNested(LinkAttribute.devlinkPort, flagged: true)
        writer.endNested()
        writer.beginNested(LinkAttribute.dpllPin, flagged: true)
        writer.endNested()
    }

    /// One link as `inet6_fill_ifinfo` writes it: name, hardware address, MTU, operational
    /// state and IFLA_PROTINFO with the device's IPv6 settings.
    func fillInet6Link(_ interface: NetworkInterface, into writer: inout NetlinkWriter) {
        typealias A = InterfaceInfoRepr.Attribute
        writer.appendBytes(InterfaceInfoRepr(family: Family.inet6, hardwareType: interface.hardwareType,
                                             index: Int32(interface.index), flags: interface.linuxFlags).bytes)
        writer.appendAttribute(A.name, string: interface.name)
        if !interface.hardwareAddress.isEmpty { writer.appendAttribute(A.address, bytes: interface.hardwareAddress) }
        writer.appendAttribute(A.mtu, uint32: UInt32(interface.mtu))
        writer.appendAttribute(A.operationalState, uint8: interface.isUp ? OperationalState.unknown : OperationalState.down)
        writer.beginNested(LinkAttribute.protocolInfo)
        DeviceConfiguration.appendInet6(interface, stamp: 0, into: &writer)
        writer.endNested()
    }

    /// `IFLA_STATS64` (`struct rtnl_link_stats64`, 25 counters) and `IFLA_STATS` (24 of 32
    /// bits): packets, bytes, errors (0) and drops each way.
    private func appendStatistics(_ counters: InterfaceCounters, into writer: inout NetlinkWriter) {
        let first: [UInt64] = [UInt64(counters.receivedPackets), UInt64(counters.sentPackets),
                               UInt64(counters.receivedBytes), UInt64(counters.sentBytes), 0, 0,
                               UInt64(counters.receiveDrops), UInt64(counters.sendDrops)]
        var wide: [UInt8] = []
        var narrow: [UInt8] = []
        for index in 0..<25 {
            let value = index < first.count ? first[index] : 0
            withUnsafeBytes(of: value.littleEndian) { wide.append(contentsOf: $0) }
            if index < 24 {
                withUnsafeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian) { narrow.append(contentsOf: $0) }
            }
        }
        writer.appendAttribute(LinkAttribute.statistics64, bytes: wide)
        writer.appendAttribute(InterfaceInfoRepr.Attribute.stats, bytes: narrow)
    }

    /// RTM_GETLINK with NLM_F_DUMP: every interface in index order. With strict checking the
    /// header must be a whole `ifinfomsg` with zero type, flags and change and no index
    /// (`rtnl_valid_dump_ifinfo_req`).
    func dumpLinks(_ request: NetlinkMessage, settings: NetlinkSocketSettings, into dump: inout DumpWriter) throws {
        if settings.strictCheck {
            guard request.payload.count >= InterfaceInfoRepr.length,
                  let header = try? InterfaceInfoRepr.parse(request.payload) else {
                throw NetlinkFailure.invalid("Invalid header for link dump")
            }
            // __ifi_pad (byte 1), ifi_type, ifi_flags and ifi_change must be zero.
            guard request.payload[request.payload.startIndex + 1] == 0, header.hardwareType == 0, header.flags == 0,
                  header.change == 0 else {
                throw NetlinkFailure.invalid("Invalid values in header for link dump request")
            }
            guard header.index == 0 else {
                throw NetlinkFailure.invalid("Filter by device index not supported for link dumps")
            }
        }
        let family = request.family ?? Family.unspecified
        for interface in interfaces.all {
            dump.add(type: RouteNetlinkType.newLink) { writer in
                // AF_INET6 has its own link dump (`inet6_dump_ifinfo`), as `ip -6 addr` asks.
                if family == Family.inet6 {
                    fillInet6Link(interface, into: &writer)
                } else {
                    fillLink(interface, into: &writer)
                }
            }
        }
    }

    /// RTM_GETLINK for one link, by `ifi_index` or else `IFLA_IFNAME` (`rtnl_getlink`):
    /// EINVAL without either, ENODEV if there is no such link.
    func getLink(_ request: NetlinkMessage, settings: NetlinkSocketSettings) throws -> [UInt8] {
        let interface = try linkTarget(request)
        var writer = NetlinkWriter()
        writer.begin(NetlinkHeader(type: RouteNetlinkType.newLink, sequence: request.sequence, portID: settings.portID))
        fillLink(interface, into: &writer)
        writer.end()
        return writer.bytes
    }

    /// The link a request names: `ifi_index` if nonzero, else `IFLA_IFNAME`.
    private func linkTarget(_ request: NetlinkMessage) throws -> NetworkInterface {
        let header = try parseHeader(request, InterfaceInfoRepr.parse)
        if header.index != 0 {
            guard let interface = interfaces[Int(header.index)] else { throw NetlinkFailure.noDevice() }
            return interface
        }
        let attributes = try attributeMap(request, after: InterfaceInfoRepr.length)
        guard let name = attributes[InterfaceInfoRepr.Attribute.name]?.string else {
            throw NetlinkFailure.invalid()
        }
        guard let interface = interfaces[name] else { throw NetlinkFailure.noDevice() }
        return interface
    }

    /// RTM_NEWLINK / RTM_SETLINK on an existing link: `IFF_UP` through `ifi_flags` and
    /// `ifi_change` (0 changes every flag, as `rtnl_dev_combine_flags`), and `IFLA_MTU` within
    /// the device's range (EINVAL outside it). Creating links is not served (EOPNOTSUPP, as a
    /// kernel without the link kind answers).
    func setLink(_ request: NetlinkMessage) throws {
        let header = try parseHeader(request, InterfaceInfoRepr.parse)
        let attributes = try attributeMap(request, after: InterfaceInfoRepr.length)
        let named = header.index != 0 || attributes[InterfaceInfoRepr.Attribute.name] != nil
        let interface: NetworkInterface
        do {
            // rtnl_newlink without a device to name is ENODEV (iproute2 probes with one);
            // rtnl_setlink's is EINVAL.
            guard named || request.type == RouteNetlinkType.setLink else { throw NetlinkFailure.noDevice() }
            interface = try linkTarget(request)
        } catch let failure as NetlinkFailure where failure.errno == 19 && request.type == RouteNetlinkType.newLink {
            if request.flags.contains(.create) { throw NetlinkFailure(95, "Unknown device type") }
            throw failure
        }
        if request.type == RouteNetlinkType.newLink && request.flags.contains(.exclusive)
            && request.flags.contains(.create) {
            throw NetlinkFailure(17)  // EEXIST: the link is there
        }
        var mtu: Int?
        if let value = attributes[InterfaceInfoRepr.Attribute.mtu] {
            guard let requested = value.uint32 else { throw NetlinkFailure.invalid() }
            if let range = LinkProfile(interface.kind).mtuRange, !range.contains(requested) {
                throw NetlinkFailure.invalid(requested < range.lowerBound
                    ? "mtu less than device minimum" : "mtu greater than device maximum")
            }
            mtu = Int(requested)
        }
        let change = header.change == 0 ? UInt32.max : header.change
        let up: UInt32 = 0x1
        var isUp: Bool?
        if (header.flags != 0 || header.change != 0) && change & up != 0 {
            isUp = header.flags & up != 0
        }
        if isUp != nil && isUp != interface.isUp || mtu != nil && mtu != interface.mtu {
            interfaces.update(interface, isUp: isUp, mtu: mtu)
        }
    }

    /// Link attributes the fill writes beyond `InterfaceInfoRepr.Attribute`.
    enum LinkAttribute {
        /// `IFLA_STATS64`.
        static let statistics64: UInt16 = 23
        /// `IFLA_PROMISCUITY`.
        static let promiscuity: UInt16 = 30
        /// `IFLA_NUM_TX_QUEUES`.
        static let transmitQueues: UInt16 = 31
        /// `IFLA_NUM_RX_QUEUES`.
        static let receiveQueues: UInt16 = 32
        /// `IFLA_CARRIER_CHANGES`.
        static let carrierChanges: UInt16 = 35
        /// `IFLA_PROTO_DOWN`.
        static let protocolDown: UInt16 = 39
        /// `IFLA_ALLMULTI`.
        static let allMulticast: UInt16 = 61
        /// `IFLA_GSO_MAX_SEGS`.
        static let gsoMaximumSegments: UInt16 = 40
        /// `IFLA_GSO_MAX_SIZE`.
        static let gsoMaximumSize: UInt16 = 41
        /// `IFLA_GRO_MAX_SIZE`.
        static let groMaximumSize: UInt16 = 58
        /// `IFLA_TSO_MAX_SIZE`.
        static let tsoMaximumSize: UInt16 = 59
        /// `IFLA_TSO_MAX_SEGS`.
        static let tsoMaximumSegments: UInt16 = 60
        /// `IFLA_GSO_IPV4_MAX_SIZE`.
        static let gsoIPv4MaximumSize: UInt16 = 63
        /// `IFLA_GRO_IPV4_MAX_SIZE`.
        static let groIPv4MaximumSize: UInt16 = 64
        /// `IFLA_PROTINFO`.
        static let protocolInfo: UInt16 = 12
        /// `IFLA_MAP`.
        static let map: UInt16 = 14
        /// `IFLA_XDP`.
        static let xdp: UInt16 = 43
        /// `IFLA_CARRIER_UP_COUNT`.
        static let carrierUpCount: UInt16 = 47
        /// `IFLA_CARRIER_DOWN_COUNT`.
        static let carrierDownCount: UInt16 = 48
        /// `IFLA_DEVLINK_PORT`.
        static let devlinkPort: UInt16 = 62
        /// `IFLA_DPLL_PIN`.
        static let dpllPin: UInt16 = 65
        /// `IFLA_MAX_PACING_OFFLOAD_HORIZON`.
        static let pacingOffloadHorizon: UInt16 = 66
        /// `IFLA_NETNS_IMMUTABLE`.
        static let namespaceImmutable: UInt16 = 67
        /// `IFLA_HEADROOM`.
        static let headroom: UInt16 = 68
        /// `IFLA_TAILROOM`.
        static let tailroom: UInt16 = 69
    }
}
