import Foundation
import Glibc
import Logging
import NetStack
import Sandbox
import Testing
import Wire
@testable import Router

/// The reports built from a router's state, and their Prometheus text.
@Suite struct ReportsTests {
    private func router() throws -> VirtualRouter {
        let router = VirtualRouter(loop: try EventLoop(), secret: (1, 2), logger: Logger(label: "test"))
        try router.addDummy(name: "dn42", addresses: [InterfaceAddress(address: IPAddress("172.20.0.1")!, prefixLength: 32)])
        router.routing.addRoute(Route(destination: IPPrefix("10.1.0.0/16")!, table: 100, metric: 5,
                                      nextHops: [NextHop(gateway: IPAddress("fe80::2")!, interfaceIndex: 2)],
                                      protocolNumber: RouteProtocol.bird))
        return router
    }

    @Test func interfacesInIndexOrderWithTheirAddresses() throws {
        let report = InterfacesReport(try router().stack.interfaces)
        #expect(report.interfaces.map(\.name) == ["lo", "dn42"])
        #expect(report.interfaces.map(\.state) == ["UNKNOWN", "UP"])
        #expect(report.interfaces[0].addresses == ["127.0.0.1/8", "::1/128"])
        #expect(report.interfaces[1].addresses == ["172.20.0.1/32"])
    }

    @Test func routesOfOneTableOrAll() throws {
        let r = try router()
        let table100 = RoutesReport(r.routing, interfaces: r.stack.interfaces, tables: [100])
        #expect(table100.routes == [RoutesReport.Route(
            table: 100, family: "inet", destination: "10.1.0.0/16", type: "unicast",
            nextHops: [RoutesReport.NextHop(gateway: "fe80::2", device: "dn42", weight: 1)],
            metric: 5, proto: "bird", scope: "global", source: nil, mtu: nil)])
        let all = RoutesReport(r.routing, interfaces: r.stack.interfaces, tables: nil)
        #expect(all.routes.contains { $0.table == 255 && $0.type == "local" && $0.destination == "172.20.0.1/32" })
        #expect(all.routes.firstIndex { $0.family == "inet6" }! > all.routes.lastIndex { $0.family == "inet" }!)
        #expect(RoutesReport(r.routing, interfaces: r.stack.interfaces, tables: [254]).routes.allSatisfy { $0.table == 254 })
    }

    @Test func metricsAreWellFormedPrometheusText() throws {
        let r = try router()
        let reports = ControlReports(router: r, loop: try EventLoop())
        reports.trappedCalls = { ["socket": 3, "recvmsg": 10] }
        let text = reports.metrics()
        var typed: Set<String> = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") { typed.insert(String(line.split(separator: " ")[2])) }
            if line.hasPrefix("#") { continue }
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            #expect(typed.contains(name), "\(line)")
            #expect(Int(line.split(separator: " ").last!) != nil, "\(line)")
        }
        #expect(text.contains("srouter_interface_up{interface=\"dn42\",kind=\"dummy\"} 1\n"))
        #expect(text.contains("srouter_routes{family=\"inet\",table=\"100\"} 1\n"))
        #expect(text.contains("srouter_trapped_calls_total{syscall=\"recvmsg\"} 10\n"))
        #expect(text.contains("srouter_packets_dropped_total{reason=\"no-route\"} 0\n"))
        #expect(!text.contains("srouter_packets_dropped_total{reason=\"forwarded\"}"))
    }

    @Test func labelValuesAreEscaped() {
        #expect(MetricsReport.escape("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
    }
}

/// `show routes` written a slice per loop turn: the same JSON line as a whole report, for a
/// table too big to encode in one turn.
@Suite struct RouteReportStreamTests {
    @Test func aBigTableArrivesWholeAndEqualToTheReport() throws {
        let loop = try EventLoop()
        let router = VirtualRouter(loop: loop, secret: (1, 2), logger: Logger(label: "test"))
        try router.addDummy(name: "d", addresses: [InterfaceAddress(address: IPAddress("10.0.0.1")!, prefixLength: 8)])
        for n in 0..<1800 {
            router.routing.addRoute(Route(destination: IPPrefix(address: .v4(IPv4Address(0x0b00_0000 | UInt32(n) << 8)), length: 24)!,
                                          nextHops: [NextHop(gateway: IPAddress("10.0.0.2")!, interfaceIndex: 2)]))
        }
        let path = NSTemporaryDirectory() + "srouter-routes-\(getpid()).sock"
        let server = try ControlServer(path: path, name: "x", directories: [], loop: loop, logger: Logger(label: "test"))
        defer { server.shutdown() }
        let reports = ControlReports(router: router, loop: loop)  // the server's handlers do not keep it
        reports.register(on: server)
        let fd = connectedClient(path, sending: "{\"command\":\"show\",\"report\":\"routes\"}\n")
        defer { close(fd) }
        #expect(fd >= 0)
        var received: [UInt8] = []
        for _ in 0..<100 where received.last != 10 {
            loop.schedule(afterMilliseconds: 10) { loop.stop() }
            try loop.run()
            received += readAvailable(fd)
        }
        let expected = ControlJSON.line(ControlHeader(ok: true, result: RoutesReport(
            router.routing, interfaces: router.stack.interfaces, tables: [254])))
        #expect(received.count == expected.count)
        #expect(received == expected)
        let decoded = try JSONDecoder().decode(ControlHeader<RoutesReport>.self, from: Data(received))
        #expect(decoded.result?.routes.count == 1801)
        withExtendedLifetime(reports) {}
    }
}
