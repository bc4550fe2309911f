import ArgumentParser
import Foundation
import Glibc
import WireGuard

/// `srouter lab`: two srouter routers on this machine's loopback, each running stock BIRD 2
/// as its guest, joined by a WireGuard tunnel over 127.0.0.1 and peering over BGP on the
/// tunnel's IPv6 link-local addresses. It shows the tunnel and the session coming up, the
/// routes each router learns and installs in its FIB, and a ping from one router's prefix to
/// the other's across them, then stops both. No root, no network namespace, no outside
/// network. The configurations are `Guest/examples/lab/*.in`.
struct Lab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Two routers on loopback, BIRD on each, BGP over WireGuard: srouter's demo.",
        discussion: """
            Starts two 'srouter run' routers (r1, AS 4242420001; r2, AS 4242420002) whose \
            WireGuard tunnel runs over 127.0.0.1, each with BIRD 2 as its guest, and prints \
            what happens: the handshake, the BGP session, the routes exchanged and installed \
            in each router's FIB, and a ping from 172.20.2.1 (r2) to 172.20.1.1 (r1) across \
            them. Then it stops both routers. Needs bird2 (apt-get install bird2).

            Exit status: 0 if every step worked, 1 if one did not (the routers' logs are \
            printed), 2 if BIRD or the lab's templates are missing.
            """)

    @Option(name: .long, help: ArgumentHelp("Keep the lab's files (keys, configurations, logs) in DIR.",
                                             valueName: "DIR"))
    var directory: String?

    @Option(name: .long, help: ArgumentHelp("Give up on a step after this many seconds.", valueName: "SECONDS"))
    var timeout: Double = 45

    @Option(name: .long, help: ArgumentHelp("The lab's templates (default: Guest/examples/lab of srouter's sources).",
                                             valueName: "DIR"))
    var examples: String?

    @Option(name: .long, help: ArgumentHelp(
        "Keep both routers running this many seconds after the steps, then stop them "
            + "(Tests/Benchmarks/bird-steady-state.sh counts their trapped calls).", valueName: "SECONDS"))
    var hold: Double = 0

    func run() throws {
        guard let bird = LabSupport.which("bird"), LabSupport.which("birdc") != nil else {
            LabSupport.say("srouter lab needs BIRD 2 (bird and birdc): apt-get install bird2")
            throw ExitCode(2)
        }
        guard let templates = LabSupport.templateDirectory(examples) else {
            LabSupport.say("srouter lab: cannot find the lab's templates (Guest/examples/lab); give --examples DIR")
            throw ExitCode(2)
        }
        let work = try directory.map { path -> String in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            return path
        } ?? LabSupport.temporaryDirectory()
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: work) } }
        let lab = try LabTopology(work: work, templates: templates)
        LabSupport.say("srouter lab: r1 (AS 4242420001) and r2 (AS 4242420002), BIRD \(LabSupport.version(of: bird))")
        LabSupport.say("  WireGuard r1 127.0.0.1:\(lab.routers[0].port) ⇄ r2 127.0.0.1:\(lab.routers[1].port); files in \(work)")
        try lab.start()
        let stopOnSignal = LabSupport.onTerminationSignal { lab.stop() }
        defer { withExtendedLifetime(stopOnSignal) { lab.stop() } }
        let succeeded = lab.runSteps(timeout: timeout)
        if succeeded && hold > 0 {
            LabSupport.say("  … holding both routers for \(Int(hold)) s")
            Thread.sleep(forTimeInterval: hold)
        }
        lab.stop()
        if succeeded {
            LabSupport.say("done: both routers stopped cleanly")
        } else {
            lab.printLogs()
            throw ExitCode(1)
        }
    }
}
