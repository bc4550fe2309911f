import NetStack
import Sandbox

/// Writes a `show routes` answer a slice at a time, so a full table (a million routes) never
/// holds the event loop for long nor sits whole in memory: the routes are encoded
/// `batchSize` at a time, one batch per loop turn, and encoding waits while the client's
/// queue is above `highWater`. The bytes are exactly the header line `ControlSession.reply`
/// would write: `{"ok":true,"result":{"routes":[…]},"version":1}` and a newline.
final class RouteReportStream {
    private let routes: [NetStack.Route]
    private let interfaces: InterfaceTable
    private let session: ControlSession
    private let loop: EventLoop
    private var next = 0

    /// Routes encoded per loop turn.
    static let batchSize = 500
    /// Encoding pauses while more than this is queued for the client.
    static let highWater = 4 << 20

    /// Starts answering `session` with `routes` (a snapshot: later FIB changes are not seen).
    init(routes: [NetStack.Route], interfaces: InterfaceTable, session: ControlSession, loop: EventLoop) {
        self.routes = routes
        self.interfaces = interfaces
        self.session = session
        self.loop = loop
    }

    /// Writes the first batch now and schedules the rest.
    func start() {
        session.send(Array("{\"ok\":true,\"result\":{\"routes\":[".utf8), force: true)
        step()
    }

    private func step() {
        guard !session.isClosed else { return }
        if session.queuedBytes > Self.highWater {
            loop.schedule(afterMilliseconds: 5) { [self] in step() }
            return
        }
        var chunk: [UInt8] = []
        let end = min(routes.count, next + Self.batchSize)
        for index in next..<end {
            if index > 0 { chunk.append(UInt8(ascii: ",")) }
            chunk += ControlJSON.line(RoutesReport.Route(routes[index], interfaces: interfaces)).dropLast()
        }
        next = end
        session.send(chunk, force: true)
        if next < routes.count {
            loop.schedule(afterMilliseconds: 0) { [self] in step() }
        } else {
            session.send(Array("]},\"version\":\(ControlProtocol.version)}\n".utf8), force: true)
            session.finish()
        }
    }
}
