import Glibc
import Logging
import Sandbox
import Wire
import WireGuard

/// One WireGuard interface at run time: a `WireGuardDevice` joined to its UDP socket and to
/// srouter's event loop. Datagrams in go to the device; what it emits goes out on the socket
/// or, for inner packets, to `deliver`; its timers run from the loop.
///
/// Transport data takes the device's fast path both ways (paper §5.4.6): received datagrams
/// are decrypted in the socket's receive buffers and handed to `deliver` in place, packets
/// to send are sealed straight into the socket's send buffers. Everything sent during one
/// wakeup of the loop goes out at its end, in sendmmsg batches.
public final class WireGuardInterface {
    /// The interface name (`wg0`; from the wg-quick file name).
    public let name: String
    /// The protocol engine.
    public let device: WireGuardDevice
    /// The outside socket.
    public private(set) var socket: UDPSocket
    /// Where inner packets from peers go (srouter's network stack). The packet lies in a
    /// receive buffer, valid only during the call (the callee may change it in place).
    public var deliver: (_ packet: UnsafeMutableRawBufferPointer, _ interface: WireGuardInterface,
                         _ peer: WireGuardKey) -> Void = { _, _, _ in }

    private let loop: EventLoop
    private let logger: Logger
    private var timer: Int?
    private var timerDeadline: UInt64?
    private var sessions: [WireGuardKey: Bool] = [:]
    private var loggedCounters = DeviceCounters()
    private var countersLoggedAt: UInt64 = 0
    /// Whether anything happened since the last end of wakeup (logs and timer to update).
    private var active = false

    /// Opens the socket on `listenPort` (0: any) and starts serving on `loop`.
    public init(name: String, privateKey: WireGuardKey, listenPort: UInt16, peers: [PeerConfiguration],
                loop: EventLoop, entropy: EntropySource = SystemEntropy(), logger: Logger) throws {
        self.name = name
        self.loop = loop
        self.logger = logger
        device = WireGuardDevice(privateKey: privateKey, entropy: entropy)
        for peer in peers { device.configure(peer: peer) }
        socket = try UDPSocket(port: listenPort)
        try loop.register(socket.fd) { [weak self] _ in self?.readSocket() }
        loop.atEndOfWakeup { [weak self] in self?.endOfWakeup() }
        logger.info("interface up", metadata: ["interface": "\(name)", "port": "\(socket.port)",
                                              "public-key": "\(device.publicKey)", "peers": "\(peers.count)"])
        // Peers with an endpoint are contacted at once, as wireguard-go does on `up`.
        let now = Self.now()
        var outputs: [DeviceOutput] = []
        for peer in peers where peer.endpoint != nil {
            outputs += device.initiate(to: peer.publicKey, at: now)
        }
        handle(outputs)
        endOfWakeup()
    }

    /// Moves the interface to another UDP port (UAPI `listen_port=`, `wg set IFACE
    /// listen-port N`; 0: any free port). The new socket is bound first, so a port that is
    /// taken throws (EADDRINUSE) and leaves the old socket serving.
    public func setListenPort(_ port: UInt16) throws {
        guard port == 0 || port != socket.port else { return }
        let fresh = try UDPSocket(port: port)
        if socket.queuedCount > 0 { socket.flush() }
        loop.unregister(socket.fd)
        socket = fresh
        try loop.register(socket.fd) { [weak self] _ in self?.readSocket() }
        logger.info("listen port changed", metadata: ["interface": "\(name)", "port": "\(socket.port)"])
    }

    /// Changes the interface's private key (`WireGuardDevice.setPrivateKey`: sessions start
    /// over with the new key).
    public func setPrivateKey(_ key: WireGuardKey) {
        guard key != device.privateKey else { return }
        device.setPrivateKey(key)
        logger.info("private key changed", metadata: ["interface": "\(name)", "public-key": "\(device.publicKey)"])
    }

    /// Sends an inner packet to a given peer (a reply goes back where its request came from).
    public func send(_ packet: [UInt8], toPeer peer: WireGuardKey) {
        packet.withUnsafeBytes { seal($0, to: peer) }
    }

    /// Sends an inner packet toward `nextHop` (the route's gateway, or the destination of a
    /// directly connected route). The route picks the peer, as Linux's lwtunnel does for a
    /// multipoint interface: the only peer of a point-to-point interface, else the peer
    /// whose AllowedIPs hold the next hop most specifically, else the one whose AllowedIPs
    /// hold the packet's destination (cryptokey routing). Returns false when no peer fits.
    public func send(_ packet: UnsafeRawBufferPointer, nextHop: IPAddress, destination: IPAddress?) -> Bool {
        guard let peer = peer(for: nextHop) ?? destination.flatMap(peer(for:)) else { return false }
        seal(packet, to: peer)
        return true
    }

    /// The fast path out: seals `packet` into the socket's next send buffer and queues it;
    /// it leaves at the end of the wakeup (or when the queue is full).
    private func seal(_ packet: UnsafeRawBufferPointer, to peer: WireGuardKey) {
        active = true
        if case .transmit(let length, let endpoint) = device.seal(packet, to: peer, into: socket.nextSendBuffer(),
                                                                   at: Self.now()) {
            socket.queue(length: length, to: endpoint)
        }
    }

    /// The peer whose AllowedIPs hold `address` most specifically (the only peer, if one).
    public func peer(for address: IPAddress) -> WireGuardKey? {
        if device.peers.count == 1 { return device.peers.keys.first }
        var best: (key: WireGuardKey, length: Int)?
        for (key, peer) in device.peers {
            for prefix in peer.configuration.allowedIPs where prefix.contains(address) {
                if best == nil || prefix.length > best!.length { best = (key, prefix.length) }
            }
        }
        return best?.key
    }

    /// The fast path in: every waiting datagram is opened in its receive buffer and its
    /// packet delivered in place; handshake traffic goes through the device's control queue.
    private func readSocket() {
        active = true
        let now = Self.now()
        socket.receiveAll { datagram, source in
            if case .deliver(let range, let peer) = device.open(datagram, from: source, at: now) {
                deliver(UnsafeMutableRawBufferPointer(rebasing: datagram[range]), self, peer)
            }
        }
    }

    /// What the device emitted on its array path (handshakes, cookies, keepalives, timers):
    /// datagrams are queued on the socket, packets delivered.
    private func handle(_ outputs: [DeviceOutput]) {
        active = true
        for output in outputs {
            switch output {
            case .transmit(let datagram, let endpoint):
                guard datagram.count <= UDPSocket.sendBufferLength else { continue }
                let buffer = socket.nextSendBuffer()
                datagram.withUnsafeBytes { buffer.copyMemory(from: $0) }
                socket.queue(length: datagram.count, to: endpoint)
            case .deliver(let packet, let peer):
                var bytes = packet
                bytes.withUnsafeMutableBytes { deliver($0, self, peer) }
            }
        }
    }

    /// The end of a loop wakeup: the device's control traffic, then one flush of everything
    /// queued (sendmmsg batches), then logs and the timer, if anything happened.
    private func endOfWakeup() {
        while device.hasControlOutputs { handle(device.takeControlOutputs()) }
        if socket.queuedCount > 0 { socket.flush() }
        guard active else { return }
        active = false
        logSessionChanges()
        logDrops()
        rearmTimer()
    }

    /// One log line when a peer's session comes up or goes away.
    private func logSessionChanges() {
        for peer in device.peers.values {
            let up = peer.current != nil
            // A peer starts down without a log line; then every change is one.
            if sessions[peer.publicKey] ?? false != up {
                sessions[peer.publicKey] = up
                logger.info(up ? "handshake complete" : "session down", metadata: [
                    "interface": "\(name)", "peer": "\(peer.publicKey)",
                    "endpoint": "\(peer.endpoint.map(\.description) ?? "none")"])
            }
        }
    }

    /// One log line when datagrams were dropped (bad input is counted, never fatal), at most
    /// every ten seconds, with the totals by reason.
    private func logDrops(force: Bool = false) {
        let counters = device.counters
        guard counters != loggedCounters else { return }
        let now = EventLoop.monotonicNow()
        guard force || now &- countersLoggedAt >= 10 * ProtocolConstants.second else { return }
        countersLoggedAt = now
        loggedCounters = counters
        let fields = StatsReport.deviceCounters(self)
        var metadata: Logger.Metadata = ["interface": "\(name)"]
        for (key, value) in fields where value > 0 { metadata[key] = "\(value)" }
        logger.info("datagrams dropped (totals)", metadata: metadata)
    }

    /// Logs the drop totals now if they changed (at shutdown).
    public func flushLogs() { logDrops(force: true) }

    /// Keeps one loop timer at the device's next deadline.
    private func rearmTimer() {
        guard let deadline = device.nextDeadline else {
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
            self.handle(self.device.tick(at: Self.now()))
        }
    }

    /// Monotonic and wall-clock time now.
    static func now() -> DeviceTime {
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        return DeviceTime(monotonic: EventLoop.monotonicNow(), wallSeconds: UInt64(wall.tv_sec),
                          wallNanoseconds: UInt32(wall.tv_nsec))
    }
}
