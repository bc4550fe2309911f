import Foundation
import Logging
import Router
import Sandbox
import Wire

/// `--metrics ADDR:PORT` parsed: `10.0.0.1:9100` or `[fd00::1]:9100`.
struct MetricsEndpoint {
    /// The address (one of srouter's interfaces').
    var address: IPAddress
    /// The TCP port.
    var port: UInt16

    /// Parses `ADDR:PORT` or `[ADDR]:PORT`; nil for anything else.
    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port != 0 else {
            return nil
        }
        var host = text[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = host.dropFirst().dropLast()
        } else if host.contains(":") {
            return nil
        }
        guard let address = IPAddress(String(host)) else { return nil }
        self.address = address
        self.port = port
    }
}

/// What `srouter run` serves to the operator beside the guest: the control socket with its
/// reports and captures, the route-change log, and the optional metrics listener.
final class OperatorServices {
    /// A setting that cannot work (exit status 2).
    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    /// nil when no default place could be used (a read-only container): routing goes on.
    let control: ControlServer?
    /// `show` and `metrics`.
    let reports: ControlReports
    /// `capture`.
    let capture: PacketCapture
    /// The route-change log line.
    let routeLog: RouteChangeLog
    /// `--metrics ADDR:PORT`'s listener.
    let metricsServer: MetricsHTTPServer?

    /// The router's name when `--name` is not given.
    static let defaultName = "srouter"

    /// `name` nil: `defaultName`, or `srouter-PID` (with a notice) when a router of that name
    /// already runs, so that unnamed routers can run side by side. A control socket that
    /// cannot be made anywhere by default is a warning; one asked for (`--name` taken,
    /// `--control` unusable) is an error.
    init(router: VirtualRouter, name: String?, controlPath: String?, metrics: MetricsEndpoint?,
         loop: EventLoop, logger: Logger) throws {
        if let metrics, !router.stack.interfaces.isLocal(metrics.address) {
            throw SetupError(description: "--metrics \(metrics.address): not an address of srouter's interfaces "
                + "(the metrics listener lives in the virtual network)")
        }
        let directories = ControlServer.candidateDirectories(environment: ProcessInfo.processInfo.environment)
        do {
            control = try ControlServer(path: controlPath, name: name ?? Self.defaultName, directories: directories,
                                        loop: loop, logger: logger)
        } catch let error as SystemError where name == nil && controlPath == nil {
            if error.errno == .EADDRINUSE {
                let unique = "\(Self.defaultName)-\(getpid())"
                logger.notice("a router named \(Self.defaultName) is already running: this one is \(unique) (srouter show --router \(unique))")
                control = try ControlServer(path: nil, name: unique, directories: directories, loop: loop, logger: logger)
            } else {
                logger.warning("no control socket (srouter show will not reach this router): \(error)")
                control = nil
            }
        }
        let reports = ControlReports(router: router, loop: loop)
        let capture = PacketCapture(router: router, logger: logger)
        reports.captureDropped = { [unowned capture] in capture.dropped }
        if let control {
            reports.register(on: control)
            capture.register(on: control)
        }
        self.reports = reports
        self.capture = capture
        routeLog = RouteChangeLog(routing: router.routing, loop: loop, logger: logger)
        metricsServer = metrics.map { endpoint in
            MetricsHTTPServer(address: endpoint.address, port: endpoint.port, router: router, loop: loop,
                              logger: logger) { [unowned reports] in reports.metrics() }
        }
    }

    /// Removes the control socket and logs the last route summary.
    func shutdown() {
        control?.shutdown()
        routeLog.flush()
    }
}
