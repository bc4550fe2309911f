import Logging
import NetStack
import Sandbox

/// One log line for route changes, summarised: at most one every `interval` milliseconds,
/// with what was added and removed since the last line and the FIB's total —
/// `routes changed added=120 removed=3 total=140` — so a daemon installing a full
/// table logs a line every few seconds, not one per route.
public final class RouteChangeLog {
    private let routing: RoutingPolicy
    private let loop: EventLoop
    private let logger: Logger
    private let interval: UInt64
    private var added = 0
    private var removed = 0
    private var pending = false

    /// Follows `routing`'s changes (chained after any hook already there).
    public init(routing: RoutingPolicy, loop: EventLoop, logger: Logger, intervalMilliseconds: UInt64 = 5000) {
        self.routing = routing
        self.loop = loop
        self.logger = logger
        interval = intervalMilliseconds
        let previous = routing.onChange
        routing.onChange = { [weak self] change in
            previous?(change)
            self?.note(change)
        }
    }

    private func note(_ change: RouteChange) {
        // Routes Linux itself adds for addresses (proto kernel) are not news.
        guard change.route.protocolNumber != RouteProtocol.kernel else { return }
        switch change {
        case .added: added += 1
        case .removed: removed += 1
        }
        guard !pending else { return }
        pending = true
        loop.schedule(afterMilliseconds: interval) { [weak self] in self?.flush() }
    }

    /// Logs what changed since the last line, if anything.
    public func flush() {
        pending = false
        guard added + removed > 0 else { return }
        logger.info("routes changed", metadata: [
            "added": "\(added)", "removed": "\(removed)", "total": "\(routing.table.count)"])
        added = 0
        removed = 0
    }
}
