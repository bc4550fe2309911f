import Glibc
import Logging
import Sandbox

/// Answers `show REPORT` and `metrics` on the control socket from the router's state:
/// `interfaces`, `peers`, `routes` (with `table`), `sockets`, `stats`, `metrics`.
public final class ControlReports {
    private let router: VirtualRouter
    private let loop: EventLoop
    /// The guest's trapped calls by name (the sandbox's notification loop), when a guest runs.
    public var trappedCalls: () -> [String: Int] = { [:] }
    /// Packets captures dropped, by interface.
    public var captureDropped: () -> [String: Int] = { [:] }

    /// Reports on `router`; long reports are written a slice per turn of `loop`.
    public init(router: VirtualRouter, loop: EventLoop) {
        self.router = router
        self.loop = loop
    }

    /// The names `show` takes.
    public static let reports = ["interfaces", "peers", "routes", "sockets", "stats", "metrics"]

    /// Serves `show` and `metrics` on `server`.
    public func register(on server: ControlServer) {
        server.register("show") { [unowned self] request, session in self.show(request, session) }
        server.register("metrics") { [unowned self] _, session in
            session.startStream("text")
            session.send(Array(self.metrics().utf8), force: true)
            session.finish()
        }
    }

    private func show(_ request: ControlRequest, _ session: ControlSession) {
        switch request.report {
        case "interfaces": session.reply(interfaces())
        case "peers": session.reply(peers())
        case "routes":
            switch RoutesReport.tables(for: request.table) {
            case .success(let tables):
                RouteReportStream(routes: RoutesReport.select(router.routing, tables: tables),
                                  interfaces: router.stack.interfaces, session: session, loop: loop).start()
            case .failure(let error): session.fail(error.description)
            }
        case "sockets": session.reply(SocketsReport(router.stack))
        case "stats": session.reply(stats())
        case "metrics":
            session.startStream("text")
            session.send(Array(metrics().utf8), force: true)
            session.finish()
        case let other?: session.fail("unknown report \"\(other)\" (\(Self.reports.joined(separator: ", ")))")
        case nil: session.fail("show needs a \"report\" (\(Self.reports.joined(separator: ", ")))")
        }
    }

    /// `show interfaces`.
    public func interfaces() -> InterfacesReport { InterfacesReport(router.stack.interfaces) }

    /// `show peers`.
    public func peers() -> PeersReport {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return PeersReport(Array(router.tunnels.values), nowSeconds: UInt64(now.tv_sec))
    }

    /// `show routes` for `tables` (nil: all).
    public func routes(tables: [UInt32]?) -> RoutesReport {
        RoutesReport(router.routing, interfaces: router.stack.interfaces, tables: tables)
    }

    /// `show stats`.
    public func stats() -> StatsReport {
        StatsReport(router: router, trappedCalls: trappedCalls(), captureDropped: captureDropped())
    }

    /// The Prometheus text.
    public func metrics() -> String {
        var counts: [MetricsReport.RouteCount] = []
        for number in router.routing.table.tableNumbers {
            for (family, ipv6) in [("inet", false), ("inet6", true)] {
                let routes = router.routing.table.routeCount(table: number, ipv6: ipv6)
                if routes > 0 { counts.append(MetricsReport.RouteCount(table: number, family: family, routes: routes)) }
            }
        }
        return MetricsReport(interfaces: interfaces(), peers: peers(), routeCounts: counts, stats: stats()).text
    }
}
