import Foundation
import Glibc
import WireGuard

/// One router of `srouter lab`: its addresses, keys, files and `srouter run` process.
struct LabRouter {
    /// r1 or r2.
    var name: String
    /// Its AS number.
    var asNumber: Int
    /// Its WireGuard UDP port on 127.0.0.1.
    var port: UInt16
    /// Its WireGuard key pair.
    var privateKey: WireGuardKey
    /// Its public key.
    var publicKey: WireGuardKey
    /// Its tunnel address (IPv4) and link-local address (the BGP session's).
    var tunnel4: String
    var linkLocal: String
    /// Its own prefixes and the address in each it answers on.
    var prefix4: String
    var address4: String
    var prefix6: String
    var address6: String
    /// Its directory (configurations, BIRD's control socket, logs).
    var directory: String
    /// Its WireGuard interface, named for the other router.
    var interface: String
}

/// The two routers of `srouter lab` and the steps that show them working.
final class LabTopology: @unchecked Sendable {
    /// r1 and r2.
    private(set) var routers: [LabRouter]
    private let templates: String
    private var processes: [Process] = []
    private let lock = NSLock()
    private var stopped = false

    /// Chooses ports and keys and writes both routers' files under `work` from `templates`.
    init(work: String, templates: String) throws {
        self.templates = templates
        var routers: [LabRouter] = []
        for index in 1...2 {
            let key = Curve25519.generatePrivateKey(using: SystemEntropy())
            let other = 3 - index
            routers.append(LabRouter(
                name: "r\(index)", asNumber: 4_242_420_000 + index, port: try LabSupport.freeUDPPort(),
                privateKey: key, publicKey: Curve25519.publicKey(of: key),
                tunnel4: "10.99.0.\(index)", linkLocal: "fe80::\(index)",
                prefix4: "172.20.\(index).0/24", address4: "172.20.\(index).1",
                prefix6: "fd20:\(index)::/48", address6: "fd20:\(index)::1",
                directory: "\(work)/r\(index)", interface: "lab-r\(other)"))
        }
        self.routers = routers
        for (index, router) in routers.enumerated() {
            try write(router, peer: routers[1 - index])
        }
    }

    private func write(_ router: LabRouter, peer: LabRouter) throws {
        try FileManager.default.createDirectory(atPath: router.directory, withIntermediateDirectories: true)
        let fields: [String: String] = [
            "NAME": router.name, "AS": "\(router.asNumber)", "PEER_AS": "\(peer.asNumber)", "PEER_NAME": peer.name,
            "ROUTER_ID": router.tunnel4, "INTERFACE": router.interface, "DIR": router.directory,
            "LOCAL_LL": router.linkLocal, "PEER_LL": peer.linkLocal, "TUNNEL4": router.tunnel4,
            "PEER_TUNNEL4": peer.tunnel4, "PREFIX4": router.prefix4, "PREFIX6": router.prefix6,
            "ADDRESS4": router.address4, "ADDRESS6": router.address6, "PEER_PREFIX4": peer.prefix4,
            "PEER_PREFIX6": peer.prefix6, "PORT": "\(router.port)", "PEER_PORT": "\(peer.port)",
            "PRIVATE_KEY": router.privateKey.base64, "PEER_PUBLIC_KEY": peer.publicKey.base64,
        ]
        for (template, file, mode) in [("bird.conf.in", "bird.conf", 0o644), ("guest.sh.in", "guest.sh", 0o755),
                                        ("wg.conf.in", "\(router.interface).conf", 0o600)] {
            var text = try String(contentsOfFile: "\(templates)/\(template)", encoding: .utf8)
            for (key, value) in fields { text = text.replacingOccurrences(of: "@\(key)@", with: value) }
            try LabSupport.write(text, to: "\(router.directory)/\(file)", mode: mode_t(mode))
        }
        try LabSupport.write("", to: "\(router.directory)/watch", mode: 0o644)
        if let ping = LabSupport.which("ping") {
            // Debian's ping carries cap_net_raw, which no_new_privs refuses to execute: a copy
            // without it uses ICMP datagram sockets, as an unprivileged ping does.
            try LabSupport.copyWithoutCapabilities(ping, to: "\(router.directory)/ping")
        }
    }

    /// Starts `srouter run --wg … -- sh guest.sh` for both routers.
    func start() throws {
        let srouter = LabSupport.executablePath()
        for router in routers {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: srouter)
            // debug: srouter's exit line counts the guest's trapped calls.
            process.arguments = ["run", "--log-level", "debug", "--wg", "\(router.directory)/\(router.interface).conf",
                                 "--", "sh", "\(router.directory)/guest.sh"]
            process.currentDirectoryURL = URL(fileURLWithPath: router.directory)
            let log = "\(router.directory)/srouter.log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            try process.run()
            lock.withLock { processes.append(process) }
        }
    }

    /// The steps: handshake, BGP, routes in each FIB, a ping across. Prints each; whether all
    /// worked.
    func runSteps(timeout: Double) -> Bool {
        let (r1, r2) = (routers[0], routers[1])
        guard step("WireGuard handshake r1 ⇄ r2 over 127.0.0.1", timeout: timeout, {
            self.routers.allSatisfy { LabSupport.read("\($0.directory)/srouter.log").contains("handshake complete") }
        }) else { return false }
        guard step("BGP r1 ⇄ r2 Established (\(r1.linkLocal) ⇄ \(r2.linkLocal), direct, extended next hop)",
                   timeout: timeout, {
            self.routers.enumerated().allSatisfy { index, router in
                LabSupport.output(["birdc", "-s", "\(router.directory)/bird.ctl", "show", "protocols",
                                   self.routers[1 - index].name]).contains("Established")
            }
        }) else { return false }
        guard step("routes exchanged and installed in each router's FIB by BIRD's protocol kernel",
                   timeout: timeout, {
            self.routers.enumerated().allSatisfy { index, router in
                let peer = self.routers[1 - index]
                let routes = LabSupport.read("\(router.directory)/routes")
                return routes.contains(peer.prefix4) && routes.contains(peer.prefix6)
            }
        }) else { return false }
        for router in routers {
            try? FileManager.default.removeItem(atPath: "\(router.directory)/watch")
            for line in LabSupport.read("\(router.directory)/routes").split(separator: "\n") {
                LabSupport.say("    \(router.name)'s FIB: \(line.trimmingCharacters(in: .whitespaces))")
            }
        }
        try? LabSupport.write(r1.address4, to: "\(r2.directory)/ping.request", mode: 0o644)
        guard step("ping \(r1.address4) from \(r2.address4), inside r2, across both FIBs and the tunnel",
                   timeout: timeout, {
            LabSupport.read("\(r2.directory)/ping.out").contains("status ")
        }) else { return false }
        let result = LabSupport.read("\(r2.directory)/ping.out")
        for line in result.split(separator: "\n") where !line.hasPrefix("status") && !line.isEmpty {
            LabSupport.say("    \(line)")
        }
        guard result.contains("status 0") else {
            LabSupport.say("  ✗ the ping failed")
            return false
        }
        return true
    }

    /// Waits for `done` (polled every quarter second) up to `timeout` seconds; prints the step.
    private func step(_ title: String, timeout: Double, _ done: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if done() {
                LabSupport.say("  ✓ \(title)")
                return true
            }
            if lock.withLock({ processes.contains { !$0.isRunning } }) { break }
            usleep(250_000)
        }
        LabSupport.say("  ✗ \(title): not within \(Int(timeout)) s")
        return false
    }

    /// Stops both routers: SIGTERM (srouter stops BIRD first), SIGKILL after 5 s. Idempotent.
    func stop() {
        let running: [Process] = lock.withLock {
            guard !stopped else { return [] }
            stopped = true
            return processes
        }
        for process in running where process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(5)
        for process in running {
            while process.isRunning && Date() < deadline { usleep(50_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }

    /// The routers' logs (srouter's and BIRD's), for a failed lab.
    func printLogs() {
        for router in routers {
            for file in ["srouter.log", "bird.log"] {
                LabSupport.say("--- \(router.name)/\(file)")
                LabSupport.say(LabSupport.read("\(router.directory)/\(file)").split(separator: "\n").suffix(20)
                    .joined(separator: "\n"))
            }
        }
    }
}
