import ArgumentParser
import CSRouterLinux
import Foundation
import Glibc
import Router

/// `srouter exec [--router NAME | --control PATH] -- CMD [ARGS…]`.
struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run CMD inside a running router: its network, its policy.",
        discussion: """
            CMD runs as a further guest of the router: under the same seccomp policy, with \
            the same interfaces, addresses, routes and sockets as the daemon it serves — \
            'srouter exec -- ping 172.20.1.1' crosses its tunnels, 'srouter exec -- ip route' \
            shows its FIB, 'srouter exec -- birdc show protocols' talks to its BIRD. CMD gets \
            this command's standard input, output and error and working directory, and this \
            environment (its PATH finds CMD). SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 are \
            passed on to it; if this command dies, CMD is killed with everything it started.

            Exit status: CMD's (128+N if it died of signal N), 127 if CMD is not found, 126 \
            if it cannot be executed, 125 if it could not be started, 1 if the router cannot \
            be reached.
            """)

    @OptionGroup var selection: RouterSelection

    @Argument(parsing: .postTerminator, help: ArgumentHelp(
        "The command and its arguments, after '--'.", valueName: "cmd"))
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("missing the command: srouter exec [options] -- CMD [ARGS…]") }
    }

    func run() throws {
        let status: Int32
        do {
            status = try execute()
        } catch let error as ControlClientError {
            fail(error.message, status: 1)
        }
        Foundation.exit(status)
    }

    private func execute() throws -> Int32 {
        let client = try ControlClient(path: try selection.path())
        let environment = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }.sorted()
        try client.send(ControlRequest(command: "exec", arguments: command, environment: environment,
                                       directory: FileManager.default.currentDirectoryPath),
                        descriptors: [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO])
        try client.readStreamHeader("exec")
        // Signals reach the command directly: same uid (or root), and its pid comes first.
        let forwarded = [SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2]
        // A shell starts background commands with SIGINT ignored, and an ignored signal never
        // reaches a signalfd: take the default disposition back, then block them all.
        for signo in forwarded { signal(signo, SIG_DFL) }
        _ = forwarded.withUnsafeBufferPointer { srouter_block_signals($0.baseAddress, Int32($0.count)) }
        let signals = forwarded.withUnsafeBufferPointer { srouter_signalfd($0.baseAddress, Int32($0.count)) }
        defer { if signals >= 0 { close(signals) } }
        var pid: pid_t = 0
        var pending = client.takeBuffered()  // the pid line may have come with the header
        while true {
            while let newline = pending.firstIndex(of: 10) {
                let line = Array(pending[..<newline])
                pending.removeFirst(newline + 1)
                guard let event = try? JSONDecoder().decode(ControlExecEvent.self, from: Data(line)) else { continue }
                if let started = event.pid { pid = started }
                if let message = event.error { FileHandle.standardError.write(Data("srouter: \(message)\n".utf8)) }
                if let exit = event.exit { return exit }
            }
            var fds = [pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, -1) >= 0 || errno == EINTR else {
                throw ControlClientError(message: "poll: \(String(cString: strerror(errno)))")
            }
            if fds[1].revents & Int16(POLLIN) != 0 {
                var signo: Int32 = 0, sender: pid_t = 0, code: Int32 = 0
                while srouter_signalfd_read(signals, &signo, &sender, &code) == 0 {
                    if pid > 0 { kill(pid, signo) }
                }
            }
            guard fds[0].revents != 0 else { continue }
            let chunk = try client.read(timeout: nil)
            if chunk.isEmpty {
                throw ControlClientError(message: "the router closed the connection before the command's exit status")
            }
            pending += chunk
        }
    }
}
