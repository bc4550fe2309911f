import Logging
import NetStack
import Sandbox
import Wire

/// `srouter run --metrics ADDR:PORT`: serves the Prometheus text over HTTP/1.0 from a TCP
/// listener in srouter's own stack, on one of its interface addresses. It is reachable only
/// through the tunnels (and from the guest); nothing listens on the host's network.
///
/// Any `GET` gets the metrics (`/metrics` or not, as node_exporter's landing page is
/// skipped); other methods get 405. Each connection is bounded: a request head of at most
/// 8 KiB, 10 seconds to send it, at most 16 connections at once.
public final class MetricsHTTPServer {
    private let router: VirtualRouter
    private let loop: EventLoop
    private let logger: Logger
    private let metrics: () -> String
    private let listener: TCPListener
    private var clients: [ObjectIdentifier: Client] = [:]
    private var kickScheduled = false

    /// The longest request head read.
    public static let maximumRequest = 8192
    /// The most connections served at once.
    public static let maximumClients = 16

    private final class Client {
        let connection: TCPConnection
        var request: [UInt8] = []
        var response: [UInt8] = []
        var sent = 0
        var answered = false
        var timer: Int?
        init(_ connection: TCPConnection) { self.connection = connection }
    }

    /// Listens on `address`:`port` in `router`'s stack; `metrics` renders the text per request.
    public init(address: IPAddress, port: UInt16, router: VirtualRouter, loop: EventLoop, logger: Logger,
                metrics: @escaping () -> String) {
        self.router = router
        self.loop = loop
        self.logger = logger
        self.metrics = metrics
        let isV6 = address.bitWidth == 128
        listener = router.stack.tcp.listen(address: address, port: port, acceptsIPv4: !isV6, acceptsIPv6: isV6,
                                           backlog: 16, configuration: TCPConfiguration())
        listener.onEvent = { [unowned self] listener in self.accept(listener) }
        logger.info("metrics listening inside the virtual network", metadata: [
            "address": "\(isV6 ? "[\(address)]" : "\(address)"):\(port)"])
    }

    /// Connections open now.
    public var clientCount: Int { clients.count }

    private func accept(_ listener: TCPListener) {
        while let connection = listener.accept() {
            let client = Client(connection)
            guard clients.count < Self.maximumClients else {
                end(client)
                continue
            }
            let id = ObjectIdentifier(connection)
            clients[id] = client
            connection.onEvent = { [unowned self] _ in self.service(id) }
            client.timer = loop.schedule(afterMilliseconds: 10_000) { [weak self] in
                guard let self, let client = self.clients[id], !client.answered else { return }
                self.finish(id)
            }
            service(id)
        }
    }

    private func service(_ id: ObjectIdentifier) {
        guard let client = clients[id] else { return }
        let connection = client.connection
        if !client.answered {
            var chunk = [UInt8](repeating: 0, count: 2048)
            while client.request.count < Self.maximumRequest {
                let n = chunk.withUnsafeMutableBytes { connection.receive(into: $0) }
                if n == 0 { break }
                client.request += chunk.prefix(n)
            }
            if let response = Self.response(to: client.request, complete: connection.peerClosed, metrics: metrics) {
                client.response = response
                client.answered = true
            } else if client.request.count >= Self.maximumRequest || connection.state == .closed {
                finish(id)
                return
            }
        }
        if client.answered {
            while client.sent < client.response.count {
                let n = client.response[client.sent...].withUnsafeBytes { (try? connection.send($0)) ?? -1 }
                if n <= 0 { break }
                client.sent += n
            }
            if client.sent >= client.response.count || connection.state == .closed { finish(id) }
        }
        router.stack.tcp.markActive(connection)
        scheduleKick()
    }

    /// The HTTP answer to a request head (nil: incomplete and the peer may send more).
    static func response(to request: [UInt8], complete: Bool, metrics: () -> String) -> [UInt8]? {
        let text = String(decoding: request, as: UTF8.self)
        guard text.contains("\r\n\r\n") || text.contains("\n\n") || (complete && !request.isEmpty) else { return nil }
        let method = text.prefix { $0 != " " }
        guard method == "GET" || method == "HEAD" else {
            return http("405 Method Not Allowed", "text/plain", "only GET is served\n", head: false)
        }
        return http("200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics(), head: method == "HEAD")
    }

    private static func http(_ status: String, _ type: String, _ body: String, head: Bool) -> [UInt8] {
        let bytes = Array(body.utf8)
        let header = "HTTP/1.0 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(bytes.count)\r\n"
            + "Connection: close\r\n\r\n"
        return Array(header.utf8) + (head ? [] : bytes)
    }

    private func finish(_ id: ObjectIdentifier) {
        guard let client = clients.removeValue(forKey: id) else { return }
        if let timer = client.timer { loop.cancelTimer(timer) }
        end(client)
    }

    private func end(_ client: Client) {
        client.connection.onEvent = nil
        client.connection.shutdownSend()
        router.stack.tcp.release(client.connection)
        scheduleKick()
    }

    /// The stack's output runs after the current event (handlers run inside the stack).
    private func scheduleKick() {
        guard !kickScheduled else { return }
        kickScheduled = true
        loop.schedule(afterMilliseconds: 0) { [weak self] in
            guard let self else { return }
            self.kickScheduled = false
            self.router.kick()
            self.router.afterStackRun?()
        }
    }
}
