import Logging
import LinuxABI

/// Answers the calls a policy denies by errno, once `FilterCompiler.notifiesDenials` makes
/// them trap, with the errno the policy gives (`DenialTable`), and logs them: one line per
/// denied call naming the system call, the guest's thread and the errno — the first
/// `loggedPerCall` times for each call, then every `summaryEvery`th with the count, so a
/// guest that retries in a loop cannot flood the log. Installed as the notification loop's
/// fallback handler (every call routed elsewhere is served there first).
public final class DenialLogger: SyscallHandler {
    /// How many denials of one system call are logged one by one.
    public static let loggedPerCall = 5
    /// After those, one line every this many.
    public static let summaryEvery = 1000

    private let table: DenialTable
    private let logger: Logger
    /// Denials so far, by system call name.
    public private(set) var counts: [String: Int] = [:]

    /// Answers by `table`, logging to `logger`.
    public init(table: DenialTable, logger: Logger) {
        self.table = table
        self.logger = logger
    }

    /// The policy's errno for the call, and a log line.
    public func handle(_ notification: SyscallNotification, loop: NotificationLoop) -> SyscallAnswer {
        guard let errno = table.errnoByCall[notification.number] ?? table.defaultErrno else {
            return .error(.ENOSYS)  // not a denial: a filter/loop mismatch, refused as before
        }
        let name = SyscallTable.name(of: notification.number)
        let count = (counts[name] ?? 0) + 1
        counts[name] = count
        if count <= Self.loggedPerCall || count % Self.summaryEvery == 0 {
            logger.notice("denied a system call", metadata: [
                "syscall": "\(name)", "tid": "\(notification.tid)",
                "errno": "\(LinuxErrno(rawValue: errno))", "times": "\(count)"])
        }
        return .error(LinuxErrno(rawValue: errno))
    }
}
