import Glibc
import Logging
import NetStack

/// `srouter capture IFACE`: copies a WireGuard interface's inner packets, both ways, to
/// control-socket clients as a pcap stream (`PcapFormat`).
///
/// Nothing is done per packet while nobody captures (the router's `tap` is nil). A client
/// that reads too slowly fills its bounded queue (`queueLimit`); further packets are dropped
/// for it and counted (`dropped`, `srouter show stats`), never waited for.
public final class PacketCapture {
    private struct Client {
        let session: ControlSession
        let interfaceIndex: Int
        var remaining: Int?
    }

    private let router: VirtualRouter
    private let logger: Logger
    private var clients: [ObjectIdentifier: Client] = [:]
    /// Packets dropped because a client's queue was full, by interface name.
    public private(set) var dropped: [String: Int] = [:]
    /// The most bytes queued for one capture client.
    public static let queueLimit = 4 << 20

    /// Captures on `router`'s interfaces.
    public init(router: VirtualRouter, logger: Logger) {
        self.router = router
        self.logger = logger
    }

    /// Serves `capture` requests on `server`.
    public func register(on server: ControlServer) {
        server.register("capture") { [unowned self] request, session in self.start(request, session) }
    }

    /// Clients capturing now.
    public var clientCount: Int { clients.count }

    private func start(_ request: ControlRequest, _ session: ControlSession) {
        guard let name = request.interface else { return session.fail("capture needs an \"interface\"") }
        guard let interface = router.stack.interfaces[name] else { return session.fail("no interface \"\(name)\"") }
        guard router.tunnels[interface.index] != nil else {
            return session.fail("\(name) is not a WireGuard interface (capture sees tunnels' inner packets)")
        }
        if let count = request.count, count <= 0 { return session.fail("count must be positive") }
        session.outputLimit = Self.queueLimit
        session.startStream("pcap")
        session.send(PcapFormat.fileHeader(), force: true)
        let id = ObjectIdentifier(session)
        clients[id] = Client(session: session, interfaceIndex: interface.index, remaining: request.count)
        session.onClose = { [weak self] _ in self?.remove(id) }
        logger.info("capture started", metadata: ["interface": "\(name)", "pid": "\(session.peer.pid)"])
        updateTap()
    }

    private func remove(_ id: ObjectIdentifier) {
        guard let client = clients.removeValue(forKey: id) else { return }
        let name = router.stack.interfaces[client.interfaceIndex]?.name ?? "#\(client.interfaceIndex)"
        logger.info("capture stopped", metadata: ["interface": "\(name)", "dropped": "\(dropped[name] ?? 0)"])
        updateTap()
    }

    private func updateTap() {
        router.tap = clients.isEmpty ? nil : { [unowned self] index, packet in self.record(index, packet) }
    }

    private func record(_ index: Int, _ packet: UnsafeRawBufferPointer) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        for (id, client) in clients where client.interfaceIndex == index {
            let kept = PcapFormat.capturedLength(packet.count)
            let session = client.session
            let fits = session.queuedBytes + PcapFormat.recordHeaderLength + kept <= Self.queueLimit
            if fits {
                _ = PcapFormat.withRecordHeader(seconds: UInt32(truncatingIfNeeded: now.tv_sec),
                                            microseconds: UInt32(now.tv_nsec / 1000), length: packet.count) {
                    session.send($0, force: true)
                }
                session.send(UnsafeRawBufferPointer(rebasing: packet[..<kept]), force: true)
            } else {
                let name = router.stack.interfaces[index]?.name ?? "#\(index)"
                dropped[name, default: 0] += 1
            }
            if let remaining = client.remaining, fits {
                if remaining <= 1 {
                    session.onClose = nil
                    remove(id)
                    session.finish()
                } else {
                    clients[id]?.remaining = remaining - 1
                }
            }
        }
    }
}
