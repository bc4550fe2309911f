import Glibc
import Logging
import NetStack
import Sandbox
import Wire
import WireGuard

/// The router srouter runs: one `NetworkStack` whose interfaces are `lo`, the WireGuard
/// tunnels and any dummy interfaces, driven by srouter's event loop. Packets a tunnel
/// decrypts go into the stack; packets the stack routes to a tunnel go out through it;
/// the stack's timers run from the loop.
public final class VirtualRouter {
    /// The stack.
    public let stack: NetworkStack
    /// The routing tables (the FIB) and the policy that reads them.
    public let routing: RoutingPolicy
    /// The tunnels, by interface index.
    public private(set) var tunnels: [Int: WireGuardInterface] = [:]

    /// Called after the stack took input or ran its timers, so the socket layer can move
    /// what changed (the guest's sockets).
    public var afterStackRun: (() -> Void)?
    /// Sees every inner packet a tunnel delivers or is given to send, with the interface
    /// index (`srouter capture`). nil when nobody captures: then a packet costs one check.
    public var tap: ((_ interfaceIndex: Int, _ packet: UnsafeRawBufferPointer) -> Void)?

    private let loop: EventLoop
    private let logger: Logger
    private var timer: Int?
    private var timerDeadline: UInt64?

    /// An empty router (just `lo`) on `loop`; `secret` keys the TCP initial sequence numbers
    /// and timestamp offsets (RFC 6528), and must come from a good random source.
    public init(loop: EventLoop, secret: (UInt64, UInt64), logger: Logger) {
        self.loop = loop
        self.logger = logger
        routing = RoutingPolicy()
        let generator = InitialSequenceNumbers(secret: secret)
        stack = NetworkStack(routing: routing, sequenceSource: { tuple, now in
            (generator.initialSequenceNumber(for: tuple, now: now), generator.timestampOffset(for: tuple))
        })
        routing.follow(stack.interfaces)
        // What a wakeup's packets set in motion runs once at its end (before the tunnels'
        // sendmmsg): a batch of segments gets one ACK and one pump of each socket, as Linux's
        // GRO and NAPI batching give, instead of one per packet.
        loop.atEndOfWakeup(first: true) { [weak self] in self?.endOfWakeup() }
    }

    /// Set when a tunnel delivered packets in this wakeup.
    private var stackRunPending = false

    /// The end of a loop wakeup that delivered packets: the sockets' pumps and the stack's
    /// output (`afterStackRun`), then the stack's timer.
    private func endOfWakeup() {
        guard stackRunPending else { return }
        stackRunPending = false
        afterStackRun?()
        rearm()
    }

    /// Adds a WireGuard tunnel as an interface named after it, with its wg-quick addresses,
    /// and routes for its peers' AllowedIPs in `file.routeTable` (as wg-quick adds them).
    @discardableResult
    public func attach(_ tunnel: WireGuardInterface, file: WgQuickFile) throws -> NetworkInterface {
        let interface = try stack.interfaces.add(name: tunnel.name, kind: .wireguard, mtu: file.mtu)
        tunnels[interface.index] = tunnel
        let index = interface.index
        interface.transmit = { [unowned tunnel, unowned self] packet, nextHop in
            self.tap?(index, packet)
            return tunnel.send(packet, nextHop: nextHop, destination: Self.destination(of: packet))
        }
        tunnel.deliver = { [weak self, unowned interface] packet, _, _ in
            guard let self else { return }
            if let tap = self.tap { tap(index, UnsafeRawBufferPointer(packet)) }
            let now = EventLoop.monotonicNow()
            self.stack.receive(packet, on: interface, now: now)  // in the tunnel's receive buffer
            if self.loop.isEndingWakeup {
                // Delivered from a tunnel's own end of wakeup (its control path), after this
                // wakeup's stack run: run it now, before that tunnel flushes.
                self.afterStackRun?()
                self.rearm()
            } else {
                self.stackRunPending = true
            }
        }
        for address in file.addresses {
            let local = address.local
            let peer = address.peer
            try stack.interfaces.addAddress(
                InterfaceAddress(address: local.address, prefixLength: peer?.length ?? local.length, peer: peer?.address),
                to: interface)
        }
        if let table = file.routeTable {
            for peer in file.peers {
                for prefix in peer.allowedIPs {
                    // wg-quick: `ip route add PREFIX dev IFACE table T` (scope link, proto boot).
                    routing.addRoute(Route(destination: prefix.masked, table: table, type: .unicast, metric: 0,
                                           nextHops: [NextHop(gateway: nil, interfaceIndex: interface.index)],
                                           protocolNumber: RouteProtocol.boot, scope: InterfaceAddress.Scope.link))
                }
            }
        }
        logger.info("interface attached", metadata: [
            "interface": "\(interface.name)", "index": "\(interface.index)", "mtu": "\(interface.mtu)",
            "addresses": "\(interface.addresses.map(\.description).joined(separator: ", "))"])
        return interface
    }

    /// Adds a dummy interface holding the node's own addresses.
    @discardableResult
    public func addDummy(name: String, addresses: [InterfaceAddress]) throws -> NetworkInterface {
        let interface = try stack.interfaces.add(name: name, kind: .dummy, mtu: 1500)
        for address in addresses { try stack.interfaces.addAddress(address, to: interface) }
        logger.info("dummy interface", metadata: [
            "interface": "\(interface.name)", "index": "\(interface.index)",
            "addresses": "\(interface.addresses.map(\.description).joined(separator: ", "))"])
        return interface
    }

    /// Logs the stack's totals (forwarded, delivered, and drops by reason, when nonzero, with
    /// TCP's: below IP_MINTTL per RFC 5082, failed RFC 2385 signatures, resets sent): one line
    /// at shutdown, so an operator sees what crossed the router.
    /// After the guest has exited: runs `loop` until every TCP connection has delivered what
    /// its socket queued and its FIN (`TCPLayer.hasDataToDeliver`), or `milliseconds` pass.
    /// Linux keeps sending a closed socket's data after its process exits; without this, a
    /// guest that writes a file and exits would lose its tail with srouter.
    public func drainTCP(withinMilliseconds milliseconds: UInt64) throws {
        let deadline = EventLoop.monotonicNow() + milliseconds * 1_000_000
        func check() {
            if !stack.tcp.hasDataToDeliver || EventLoop.monotonicNow() >= deadline {
                loop.stop()
                return
            }
            _ = loop.schedule(afterMilliseconds: 20) { check() }
        }
        _ = loop.schedule(afterMilliseconds: 1) { check() }
        kick()
        try loop.run()
        if stack.tcp.hasDataToDeliver {
            logger.notice("stopped with TCP data undelivered after \(milliseconds) ms")
        }
    }

    public func logTotals() {
        let fields = StatsReport.stackCounters(stack.counters)
            + StatsReport.tcpCounters(stack.tcp.counters).map { ("tcp-\($0.0)", $0.1) }
        var metadata: Logger.Metadata = [:]
        for (key, value) in fields where value > 0 { metadata[key] = "\(value)" }
        logger.info("stack totals", metadata: metadata)
    }

    /// The interfaces as the guest's socket ioctls (SIOCGIF…) show them.
    public var guestInterfaces: [GuestInterface] {
        stack.interfaces.all.map { interface in
            let v4 = interface.addresses.compactMap { entry -> GuestInterface.IPv4Address? in
                guard case .v4(let a) = entry.address else { return nil }
                var peer: UInt32?
                if case .v4(let p)? = entry.peer { peer = p.value.bigEndian }
                return GuestInterface.IPv4Address(local: a.value.bigEndian, prefixLength: entry.prefixLength, peer: peer)
            }
            return GuestInterface(index: Int32(interface.index), name: interface.name,
                                  flags: Int16(truncatingIfNeeded: interface.linuxFlags), mtu: Int32(interface.mtu),
                                  ipv4Addresses: v4, hardwareType: interface.hardwareType,
                                  hardwareAddress: interface.hardwareAddress,
                                  transmitQueueLength: Int32(interface.transmitQueueLength))
        }
    }

    /// Runs the stack's output and timers now and re-arms the loop timer (after user calls).
    public func kick() {
        stack.poll(now: EventLoop.monotonicNow())
        rearm()
    }

    private func rearm() {
        guard let deadline = stack.nextDeadline else {
            if let timer { loop.cancelTimer(timer) }
            timer = nil
            timerDeadline = nil
            return
        }
        if timerDeadline == deadline { return }
        if let timer { loop.cancelTimer(timer) }
        let now = EventLoop.monotonicNow()
        timerDeadline = deadline
        timer = loop.schedule(afterMilliseconds: deadline > now ? (deadline - now + 999_999) / 1_000_000 : 0) {
            [weak self] in
            guard let self else { return }
            self.timer = nil
            self.timerDeadline = nil
            self.kick()
            self.afterStackRun?()
        }
    }

    /// The destination address of an IP packet (for cryptokey routing), if it parses.
    static func destination(of packet: UnsafeRawBufferPointer) -> IPAddress? {
        if let v4 = try? IPv4Packet(checking: packet) { return .v4(v4.destination) }
        if let v6 = try? IPv6Packet(checking: packet) { return .v6(v6.destination) }
        return nil
    }
}
