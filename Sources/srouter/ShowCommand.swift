import ArgumentParser
import Foundation
import Router

/// `srouter show interfaces|peers|routes|sockets|stats|metrics [--json]`.
struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a running router's interfaces, peers, routes, sockets or counters.",
        discussion: """
            Asks the router's control socket (see 'srouter run --name' and '--control'). \
            Text output reads like the Linux tools: interfaces like 'ip -br addr', peers like \
            'wg show', routes like 'ip route' (--table all: 'ip route show table all', both \
            families), sockets like 'ss -tuna'. --json prints the report as JSON with sorted \
            keys; its fields are documented in the README.

            Exit status: 0, or 1 if the router cannot be reached or refuses the request.
            """)

    /// The reports.
    enum Report: String, ExpressibleByArgument, CaseIterable {
        case interfaces, peers, routes, sockets, stats, metrics
    }

    @Argument(help: ArgumentHelp("interfaces, peers, routes, sockets, stats or metrics.", valueName: "report"))
    var report: Report

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(name: .long, help: ArgumentHelp(
        "routes: the table (a number, main, local, default or all; default main).", valueName: "table"))
    var table: String?

    @OptionGroup var selection: RouterSelection

    func run() throws {
        do {
            let client = try ControlClient(path: try selection.path())
            try client.send(ControlRequest(command: "show", report: report.rawValue, table: table))
            switch report {
            case .interfaces: try output(client.readResult(InterfacesReport.self), ShowFormat.interfaces)
            case .peers: try output(client.readResult(PeersReport.self), ShowFormat.peers)
            case .routes: try output(client.readResult(RoutesReport.self), { ShowFormat.routes($0, allTables: table == "all") })
            case .sockets: try output(client.readResult(SocketsReport.self), ShowFormat.sockets)
            case .stats: try output(client.readResult(StatsReport.self), ShowFormat.stats)
            case .metrics:
                try client.readStreamHeader("text")
                try copyStream(client)
            }
        } catch let error as ControlClientError {
            fail(error.message, status: 1)
        }
    }

    private func output<T: Codable>(_ value: T, _ text: (T) -> String) throws {
        if json { try printJSON(value) } else { print(text(value), terminator: "") }
    }
}

/// `srouter metrics`: the Prometheus text, as `show metrics` prints it.
struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a running router's metrics in Prometheus text format.",
        discussion: "The same text 'srouter run --metrics ADDR:PORT' serves inside the virtual network.")

    @OptionGroup var selection: RouterSelection

    func run() throws {
        do {
            let client = try ControlClient(path: try selection.path())
            try client.send(ControlRequest(command: "metrics"))
            try client.readStreamHeader("text")
            try copyStream(client)
        } catch let error as ControlClientError {
            fail(error.message, status: 1)
        }
    }
}

/// Copies the rest of `client`'s answer to stdout.
func copyStream(_ client: ControlClient) throws {
    while true {
        let chunk = try client.read()
        if chunk.isEmpty { return }
        FileHandle.standardOutput.write(Data(chunk))
    }
}
