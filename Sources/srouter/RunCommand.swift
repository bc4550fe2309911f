import ArgumentParser
import Foundation
import Logging
import Sandbox

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

            Exit status: CMD's; 127 if CMD is not found, 126 if it cannot be executed, \
            2 for a bad policy, 125 if the sandbox cannot be set up.
            """)

    @Option(name: .long, help: ArgumentHelp(
        "An OCI/Docker seccomp profile for the guest (default: the built-in one; see "
            + "'srouter policy default').", valueName: "file"))
    var policy: String?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .notice

    @Argument(parsing: .postTerminator, help: ArgumentHelp(
        "The guest command and its arguments, after '--'.", valueName: "cmd"))
    var command: [String] = []

    func validate() throws {
        if command.isEmpty {
            throw ValidationError("missing the guest command: srouter run [options] -- CMD [ARGS…]")
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

        let status: Int32
        do {
            let loop = try EventLoop()
            let supervisor = try Supervisor(
                arguments: command,
                environment: ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }.sorted(),
                filter: filter, loop: loop, logger: logger)
            status = try supervisor.run()
        } catch let error as LaunchError {
            fail("\(error)", status: error.exitStatus)
        } catch {
            fail("\(error)", status: 125)
        }
        Foundation.exit(status)
    }
}
