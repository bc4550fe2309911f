import Foundation
import Glibc
import Logging
import Router
import Sandbox

/// The control socket's `exec` command: runs the client's command as a further guest of this
/// router (`ExecSession`) — same filter, same handlers, hence the same interfaces, routes,
/// sockets and rtnetlink — on the client's standard descriptors, and streams its pid and its
/// exit status back (`ControlExecEvent`). A client that goes away takes its command with it.
final class ExecService {
    private let filter: CompiledFilter
    private let loop: EventLoop
    private let logger: Logger
    private let configure: (NotificationLoop) -> Void
    private var running: [ObjectIdentifier: ExecSession] = [:]

    /// The guards of the commands running now: their descendants are guests too, refused on
    /// the control and UAPI sockets like the main guest's.
    var guardPIDs: [pid_t] { running.values.map(\.guardPID) }

    /// Serves `exec` on `control`; `configure` routes an exec'd guest's trapped calls to the
    /// main guest's handlers.
    init(control: ControlServer, filter: CompiledFilter, loop: EventLoop, logger: Logger,
         configure: @escaping (NotificationLoop) -> Void) {
        self.filter = filter
        self.loop = loop
        self.logger = logger
        self.configure = configure
        control.register("exec") { [unowned self] request, session in self.start(request, session) }
    }

    private func start(_ request: ControlRequest, _ session: ControlSession) {
        let descriptors = session.takeDescriptors()
        defer { descriptors.forEach { close($0) } }  // the launcher holds its own copies
        guard let arguments = request.arguments, !arguments.isEmpty else {
            session.fail("exec needs a command (\"arguments\")")
            return
        }
        guard descriptors.count == 3 else {
            session.fail("exec needs the client's standard input, output and error as SCM_RIGHTS descriptors (got \(descriptors.count))")
            return
        }
        let key = ObjectIdentifier(session)
        session.startStream("exec")
        do {
            let exec = try ExecSession(
                arguments: arguments, environment: request.environment ?? [], directory: request.directory,
                stdio: descriptors, filter: filter, loop: loop, logger: logger, configure: configure
            ) { [weak self, weak session] status in
                self?.running[key] = nil
                guard let session, !session.isClosed else { return }
                _ = session.send(ControlJSON.line(ControlExecEvent(exit: status)), force: true)
                session.finish()
            }
            running[key] = exec
            _ = session.send(ControlJSON.line(ControlExecEvent(pid: exec.pid)), force: true)
            session.onClose = { [weak self] _ in
                guard let self, let exec = self.running.removeValue(forKey: key) else { return }
                exec.terminate()
            }
        } catch let error as LaunchError {
            _ = session.send(ControlJSON.line(ControlExecEvent(exit: error.exitStatus, error: "\(error)")), force: true)
            session.finish()
        } catch {
            _ = session.send(ControlJSON.line(ControlExecEvent(exit: 125, error: "\(error)")), force: true)
            session.finish()
        }
    }
}
