import ArgumentParser
import Foundation
import GuestNetwork
import Netlink
import Logging
import Router
import Sandbox
import Wire
import WireGuard

/// `srouter run [--policy FILE] -- CMD [ARGS…]`.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run CMD as a sandboxed guest whose network srouter serves.",
        discussion: """
            srouter exits with CMD's exit status (128+N if CMD dies of signal N), \
            forwards SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 to it, and reaps \
            orphans when it runs as PID 1. If CMD daemonizes (exits 0 leaving processes \
            behind, as bird without -f does), srouter serves them until the last one \
            exits. If srouter dies, every guest process is killed.

            Each --wg file is a wg-quick configuration: a WireGuard interface named \
            after the file, whose UDP socket is the only one srouter opens outside. \
            Each --dummy NAME=ADDRESS/LENGTH[,…] is a dummy interface holding the node's \
            own addresses (srouter answers on them; what is routed to it is dropped).

            Exit status: CMD's; 127 if CMD is not found, 126 if it cannot be executed, \
            2 for a bad policy or WireGuard file, 125 if the sandbox or an interface \
            cannot be set up.
            """)

    @Option(name: .long, help: ArgumentHelp(
        "An OCI/Docker seccomp profile for the guest (default: the built-in one; see "
            + "'srouter policy default').", valueName: "file"))
    var policy: String?

    @Option(name: .customLong("wg"), help: ArgumentHelp(
        "A wg-quick configuration file: one WireGuard interface named after the file "
            + "(repeatable).", valueName: "file"))
    var wireGuardFiles: [String] = []

    @Option(name: .customLong("dummy"), help: ArgumentHelp(
        "A dummy interface holding the node's own addresses: NAME=ADDRESS/LENGTH[,ADDRESS/LENGTH…] "
            + "(repeatable).", valueName: "spec"))
    var dummyInterfaces: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "The router's name: its control socket is NAME.sock ('srouter show --router NAME'). "
            + "Default srouter, or srouter-PID when a router named srouter already runs.",
        valueName: "name"))
    var name: String?

    @Option(name: .long, help: ArgumentHelp(
        "The control socket's path (default: NAME.sock in /run/srouter, $XDG_RUNTIME_DIR/srouter "
            + "or /tmp/srouter-UID, the first writable).", valueName: "path"))
    var control: String?

    @Option(name: .long, help: ArgumentHelp(
        "Serve Prometheus metrics over HTTP on ADDR:PORT ([ADDR]:PORT for IPv6), an address of "
            + "srouter's own interfaces: reachable through the tunnels only.", valueName: "addr:port"))
    var metrics: String?

    @Option(name: .long, help: "How much to log on stderr.")
    var logLevel: Logger.Level = .notice

    @Argument(parsing: .postTerminator, help: ArgumentHelp(
        "The guest command and its arguments, after '--'.", valueName: "cmd"))
    var command: [String] = []

    func validate() throws {
        if command.isEmpty {
            throw ValidationError("missing the guest command: srouter run [options] -- CMD [ARGS…]")
        }
        if let name, name.isEmpty || name.count > 64 || name.hasPrefix(".")
            || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) {
            throw ValidationError("--name \(name): letters, digits, '.', '_' and '-' only (at most 64)")
        }
        if let metrics, MetricsEndpoint(metrics) == nil {
            throw ValidationError("--metrics \(metrics): expected ADDR:PORT or [ADDR]:PORT")
        }
    }

    func run() throws {
        Supervisor.blockSignals()
        let logger = makeLogger(level: logLevel)
        let filter: CompiledFilter
        do {
            let profile = try PolicyLoader.load(path: policy)
            filter = try FilterCompiler(profile: profile).compile()
            for warning in filter.warnings {
                logger.notice("policy: \(warning)", metadata: policy.map { ["file": "\($0)"] } ?? [:])
            }
        } catch var error as PolicyError {
            if error.file == nil { error.file = policy }
            fail("invalid policy: \(error)", status: 2)
        }

        var tunnels: [WgQuickFile] = []
        for file in wireGuardFiles {
            do {
                let parsed = try WgQuickFile.load(path: file)
                for warning in parsed.warnings { logger.notice("\(warning)") }
                if tunnels.contains(where: { $0.name == parsed.name }) {
                    fail("\(file): a second interface named \(parsed.name)", status: 2)
                }
                tunnels.append(parsed)
            } catch {
                fail("invalid WireGuard configuration: \(error)", status: 2)
            }
        }

        var dummies: [DummyInterfaceSpec] = []
        for text in dummyInterfaces {
            do {
                let spec = try DummyInterfaceSpec(parsing: text)
                if dummies.contains(where: { $0.name == spec.name }) || tunnels.contains(where: { $0.name == spec.name }) {
                    fail("--dummy \(text): a second interface named \(spec.name)", status: 2)
                }
                dummies.append(spec)
            } catch {
                fail("\(error)", status: 2)
            }
        }

        let status: Int32
        do {
            let loop = try EventLoop()
            var system = SystemRandomNumberGenerator()
            let router = VirtualRouter(loop: loop, secret: (system.next(), system.next()), logger: logger)
            var uapiServers: [UAPIServer] = []
            var services: [AnyObject] = []
            for tunnel in tunnels {
                let interface = try WireGuardInterface(
                    name: tunnel.name, privateKey: tunnel.privateKey, listenPort: tunnel.listenPort,
                    peers: try tunnel.peers.map { peer in
                        PeerConfiguration(publicKey: peer.publicKey, presharedKey: peer.presharedKey,
                                          endpoint: try peer.endpoint?.resolve(),
                                          allowedIPs: peer.allowedIPs,
                                          persistentKeepalive: peer.persistentKeepalive)
                    },
                    loop: loop, logger: logger)
                try router.attach(interface, file: tunnel)
                let uapi = UAPIConnection(interface: interface)
                uapiServers.append(try UAPIServer(
                    name: tunnel.name,
                    directories: UAPIServer.candidateDirectories(environment: ProcessInfo.processInfo.environment),
                    loop: loop, logger: logger, handler: uapi.handle))
            }
            for dummy in dummies { try router.addDummy(name: dummy.name, addresses: dummy.addresses) }
            let operations = try OperatorServices(
                router: router, name: name, controlPath: control, metrics: metrics.flatMap(MetricsEndpoint.init),
                loop: loop, logger: logger)
            let supervisor = try Supervisor(
                arguments: command,
                environment: ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }.sorted(),
                filter: filter, loop: loop, logger: logger) { notifications in
                    let sockets = SocketService(stack: router.stack, loop: loop, logger: logger, kick: router.kick)
                    let started = EventLoop.monotonicNow()
                    sockets.netlinkServer = RouteNetlinkServer(
                        interfaces: router.stack.interfaces, routing: router.routing,
                        clock: { UInt32(truncatingIfNeeded: (EventLoop.monotonicNow() - started) / 10_000_000) })
                    sockets.install(on: notifications)
                    router.afterStackRun = { [unowned sockets] in sockets.flush() }
                    let ioctls = InterfaceIoctlHandler(interfaces: router.guestInterfaces)
                    // The guest's own changes (rtnetlink) show in the ioctls' answers too.
                    let previousHook = router.stack.interfaces.onChange
                    router.stack.interfaces.onChange = { [unowned ioctls, unowned router] change in
                        previousHook?(change)
                        ioctls.interfaces = router.guestInterfaces
                    }
                    ioctls.servedSocketFamily = { [unowned sockets] in sockets.servedFamily(inode: $0) }
                    ioctls.servedSocketIoctl = { [unowned sockets] in sockets.servedIoctl($0) }
                    ioctls.install(on: notifications)
                    services.append(sockets)
                }
            operations.reports.trappedCalls = { [unowned supervisor] in supervisor.trappedCalls }
            let guardPID = supervisor.guardPID
            let isGuest = { (pid: pid_t) in ProcessAncestry.isDescendant(pid, of: guardPID) }
            operations.control?.refusesClient = isGuest
            for uapi in uapiServers { uapi.refusesClient = isGuest }
            status = try withExtendedLifetime((router, services)) { try supervisor.run() }
            operations.shutdown()
            uapiServers.forEach { $0.shutdown() }
            router.tunnels.values.forEach { $0.flushLogs() }
            router.logTotals()
        } catch let error as LaunchError {
            fail("\(error)", status: error.exitStatus)
        } catch let error as OperatorServices.SetupError {
            fail("\(error)", status: 2)
        } catch {
            fail("\(error)", status: 125)
        }
        Foundation.exit(status)
    }
}
