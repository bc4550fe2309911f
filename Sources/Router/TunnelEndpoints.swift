import Logging
import Sandbox
import Wire
import WireGuard

/// srouter's WireGuard interfaces and what answers on their addresses until the full network
/// stack lands: ICMP and ICMPv6 echo on every interface address (IPv4, IPv6, link-local), so
/// a tunnel is testable with `ping`. Other inner packets are counted and dropped.
public final class TunnelEndpoints {
    /// The interfaces, by name.
    public private(set) var interfaces: [String: WireGuardInterface] = [:]
    /// Addresses srouter answers on, per interface.
    public private(set) var localAddresses: [String: Set<IPAddress>] = [:]
    /// Echo requests answered.
    public private(set) var echoesAnswered = 0
    /// Inner packets nothing served yet.
    public private(set) var unserved = 0

    /// Creates an empty set.
    public init() {}

    /// Adds an interface whose addresses are `addresses`.
    public func add(_ interface: WireGuardInterface, addresses: [IPAddress]) {
        interfaces[interface.name] = interface
        localAddresses[interface.name] = Set(addresses)
        interface.deliver = { [weak self] packet, interface, peer in
            self?.receive(packet, on: interface, from: peer)
        }
    }

    private func receive(_ packet: [UInt8], on interface: WireGuardInterface, from peer: WireGuardKey) {
        let local = localAddresses[interface.name] ?? []
        if let reply = EchoReply.reply(to: packet, localAddresses: local) {
            echoesAnswered += 1
            interface.send(reply, toPeer: peer)
        } else {
            unserved += 1
        }
    }
}
