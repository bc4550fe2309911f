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

            --learn FILE runs the guest with every system call allowed (srouter's \
            refusals aside) and recorded, then writes the minimal seccomp profile that \
            runs the same workload when given back as --policy FILE.

            --config FILE reads the same settings from a file ([Router] WireGuard, \
            Policy, LogLevel, Name, Control, Metrics; [Dummy] Name, Address; see README). \
            Options on the command line add to it; single-valued ones given there win.

            Exit status: CMD's; 127 if CMD is not found, 126 if it cannot be executed, \
            2 for a bad policy or WireGuard file, 125 if the sandbox or an interface \
            cannot be set up.
            """)

    @Option(name: .long, help: ArgumentHelp(
        "srouter's configuration file (as a container mounts at /etc/srouter/srouter.conf).",
        valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp(
        "An OCI/Docker seccomp profile for the guest (default: the built-in one; see "
            + "'srouter policy default').", valueName: "file"))
    var policy: String?

    @Option(name: .long, help: ArgumentHelp(
        "Record the guest's system calls and write a minimal seccomp profile for --policy.",
        valueName: "file"))
    var learn: String?

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

    @Option(name: .long, help: "How much to log on stderr (default: notice).")
    var logLevel: Logger.Level?

    @Argument(parsing: .postTerminator, help: ArgumentHelp(
        "The guest command and its arguments, after '--'.", valueName: "cmd"))
    var command: [String] = []

    func validate() throws {
        if command.isEmpty {
            throw ValidationError("missing the guest command: srouter run [options] -- CMD [ARGS…]")
        }
        if learn != nil && policy != nil {
            throw ValidationError("--learn records a new policy: it cannot run under --policy")
        }
        if let name, !Self.isRouterName(name) {
            throw ValidationError("--name \(name): letters, digits, '.', '_' and '-' only (at most 64)")
        }
        if let metrics, MetricsEndpoint(metrics) == nil {
            throw ValidationError("--metrics \(metrics): expected ADDR:PORT or [ADDR]:PORT")
        }
    }

    /// A router name: 1–64 of letters, digits, '.', '_', '-', not starting with '.'.
    static func isRouterName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && !name.hasPrefix(".")
            && name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) })
    }

    func run() throws {
        Supervisor.blockSignals()
        var settings = RouterConfiguration()
        if let config {
            do {
                settings = try RouterConfiguration.load(path: config)
            } catch {
                fail("invalid configuration: \(error)", status: 2)
            }
        }
        var level = logLevel ?? .notice
        if logLevel == nil, let name = settings.logLevel {
            guard let parsed = Logger.Level(rawValue: name) else {
                let place = "\(config ?? ""):\(settings.logLevelLine)"
                fail("invalid configuration: \(place): LogLevel: '\(name)' is not one of "
                     + Logger.Level.allCases.map(\.rawValue).joined(separator: ", "), status: 2)
            }
            level = parsed
        }
        let logger = makeLogger(level: level)
        let policy = self.policy ?? settings.policy
        if self.name == nil, let (name, line) = settings.name, !Self.isRouterName(name) {
            fail("invalid configuration: \(config ?? ""):\(line): Name: '\(name)': letters, digits, '.', '_' and '-' only (at most 64)", status: 2)
        }
        if self.metrics == nil, let (metrics, line) = settings.metrics, MetricsEndpoint(metrics) == nil {
            fail("invalid configuration: \(config ?? ""):\(line): Metrics: '\(metrics)': expected ADDR:PORT or [ADDR]:PORT", status: 2)
        }
        let name = self.name ?? settings.name?.value
        let control = self.control ?? settings.control
        let metrics = self.metrics ?? settings.metrics?.value
        if learn != nil, let policy {
            fail("--learn records a new policy: it cannot run under \(policy) (from \(config ?? "--policy"))", status: 2)
        }
        let learner = learn.map { _ in PolicyLearner() }
        let filter: CompiledFilter
        do {
            let profile = try PolicyLoader.load(path: policy)
            var compiler = learner == nil ? FilterCompiler(profile: profile) : FilterCompiler.learning()
            compiler.notifiesDenials = learner == nil  // denied calls are logged (DenialLogger)
            filter = try compiler.compile()
            for warning in filter.warnings {
                logger.notice("policy: \(warning)", metadata: policy.map { ["file": "\($0)"] } ?? [:])
            }
        } catch var error as PolicyError {
            if error.file == nil { error.file = policy }
            fail("invalid policy: \(error)", status: 2)
        }
        // Calls the guest makes that no handler serves: recorded (--learn), or denials to log.
        let fallback: SyscallHandler = learner ?? DenialLogger(table: filter.denials, logger: logger)

        var tunnels: [WgQuickFile] = []
        for file in settings.wireGuardFiles + wireGuardFiles {
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
        for spec in settings.dummies {
            if tunnels.contains(where: { $0.name == spec.name }) {
                fail("\(config ?? ""): [Dummy] \(spec.name): a second interface named \(spec.name)", status: 2)
            }
            dummies.append(spec)
        }
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
            // The main guest's handlers; `srouter exec` commands are served by the same ones.
            var sharedSockets: SocketService?
            var sharedIoctls: InterfaceIoctlHandler?
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
                    notifications.fallbackHandler = fallback
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
                    sharedSockets = sockets
                    sharedIoctls = ioctls
                }
            operations.reports.trappedCalls = { [unowned supervisor] in supervisor.trappedCalls }
            let exec = operations.control.map { control in
                ExecService(control: control, filter: filter, loop: loop, logger: logger) { notifications in
                    sharedSockets?.install(on: notifications)
                    notifications.fallbackHandler = fallback
                    sharedIoctls?.install(on: notifications)
                }
            }
            let guardPID = supervisor.guardPID
            // The main guest's processes and every exec'd command's are guests alike.
            let isGuest = { [weak exec] (pid: pid_t) in
                ([guardPID] + (exec?.guardPIDs ?? [])).contains { ProcessAncestry.isDescendant(pid, of: $0) }
            }
            operations.control?.refusesClient = isGuest
            for uapi in uapiServers { uapi.refusesClient = isGuest }
            status = try withExtendedLifetime((router, services, exec)) {
                let status = try supervisor.run()
                // What the guest's closed sockets still hold goes out first (bounded: under a
                // container runtime's stop timeout).
                try router.drainTCP(withinMilliseconds: 3000)
                return status
            }
            operations.shutdown()
            uapiServers.forEach { $0.shutdown() }
            router.tunnels.values.forEach { $0.flushLogs() }
            router.logTotals()
            logger.info("trapped calls", metadata: ["total": "\(supervisor.trappedCalls.values.reduce(0, +))"])
            for case let sockets as SocketService in services where sockets.netlinkWork.requests > 0 {
                let work = sockets.netlinkWork
                logger.info("rtnetlink totals", metadata: [
                    "datagrams": "\(work.requests)", "work-ns": "\(work.nanoseconds)"])
            }
            if let learn, let learner {
                let names = PolicyLearner.allowedCalls(observed: Array(learner.seen.keys) + Array(supervisor.trappedCalls.keys))
                do {
                    try PolicyLearner.profileJSON(allowing: names).write(toFile: learn, atomically: true, encoding: .utf8)
                } catch {
                    fail("--learn \(learn): cannot write the profile: \(error.localizedDescription)", status: 125)
                }
                logger.notice("learned a policy", metadata: [
                    "file": "\(learn)", "syscalls": "\(names.count)", "guest-status": "\(status)"])
            }
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
