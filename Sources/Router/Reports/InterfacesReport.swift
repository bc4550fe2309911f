import NetStack

/// `srouter show interfaces`: every interface of the stack, as `ip -br addr` and `ip -s link`
/// see them.
public struct InterfacesReport: Codable, Sendable, Equatable {
    /// The interfaces by index.
    public var interfaces: [Interface]

    /// One interface.
    public struct Interface: Codable, Sendable, Equatable {
        /// The name (`lo`, `wg0`).
        public var name: String
        /// The index (`lo` is 1).
        public var index: Int
        /// `loopback`, `wireguard` or `dummy`.
        public var kind: String
        /// `UP` or `DOWN`, as `ip -br` prints it (`UNKNOWN` for lo, as Linux reports it).
        public var state: String
        /// The MTU.
        public var mtu: Int
        /// Addresses as `ip addr` writes them: `10.0.0.1/24`, `10.0.0.1 peer 10.0.0.2/32`.
        public var addresses: [String]
        /// Packets and bytes received and sent, and drops each way (`ip -s link`).
        public var rxPackets: Int, rxBytes: Int, txPackets: Int, txBytes: Int, rxDropped: Int, txDropped: Int
    }

    /// The report for `interfaces`.
    public init(_ interfaces: InterfaceTable) {
        self.interfaces = interfaces.all.sorted { $0.index < $1.index }.map { interface in
            let c = interface.counters
            return Interface(
                name: interface.name, index: interface.index, kind: interface.kind.rawValue,
                state: interface.isUp ? (interface.kind == .loopback ? "UNKNOWN" : "UP") : "DOWN",
                mtu: interface.mtu, addresses: interface.addresses.map(\.description),
                rxPackets: c.receivedPackets, rxBytes: c.receivedBytes, txPackets: c.sentPackets,
                txBytes: c.sentBytes, rxDropped: c.receiveDrops, txDropped: c.sendDrops)
        }
    }
}
