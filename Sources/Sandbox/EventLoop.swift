import CSRouterLinux
import Glibc

/// A single-threaded epoll reactor: file descriptors with handlers, and one-shot timers.
///
/// srouter's supervisor runs everything on one of these — the seccomp listener, the signalfd,
/// the guard's pipe — so no handler may block: a guest call that cannot be answered yet stays
/// pending and is answered from a later event (DESIGN §3, "Blocking calls").
public final class EventLoop {
    /// What a ready descriptor reported (`EPOLLIN`, `EPOLLOUT`, `EPOLLHUP`…).
    public typealias Handler = (_ events: UInt32) -> Void

    private let epoll: Int32
    private var handlers: [Int32: Handler] = [:]
    private var timers: [(deadline: UInt64, id: Int, action: () -> Void)] = []
    private var nextTimerID = 0
    private var running = false
    private var wakeupEnds: [() -> Void] = []
    /// Whether the end-of-wakeup actions are running: work that would wait for them (see
    /// `atEndOfWakeup(first:)`) must be done at once then.
    public private(set) var isEndingWakeup = false

    /// Creates the epoll instance.
    public init() throws {
        epoll = try retryingEINTR("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
    }

    deinit { close(epoll) }

    /// Calls `handler` whenever `fd` is ready for `events` (level-triggered).
    public func register(_ fd: Int32, events: UInt32 = EPOLLIN.rawValue,
                         handler: @escaping Handler) throws {
        var event = epoll_event(events: events, data: epoll_data_t(fd: fd))
        try retryingEINTR("epoll_ctl(ADD)") { epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) }
        handlers[fd] = handler
    }

    /// Changes the events `fd` is watched for (its handler stays).
    public func modify(_ fd: Int32, events: UInt32) {
        var event = epoll_event(events: events, data: epoll_data_t(fd: fd))
        _ = epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event)
    }

    /// Stops watching `fd` (call before closing it).
    public func unregister(_ fd: Int32) {
        handlers[fd] = nil
        _ = epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nil)
    }

    /// Runs `action` once, `milliseconds` from now. Returns an id for `cancelTimer`.
    @discardableResult
    public func schedule(afterMilliseconds milliseconds: UInt64,
                         _ action: @escaping () -> Void) -> Int {
        nextTimerID += 1
        let deadline = Self.now() + milliseconds * 1_000_000
        // In deadline order, after the timers due at the same time (they fire first), in
        // place: a timer costs no sort and, once the array has grown, no allocation.
        let index = timers.lastIndex { $0.deadline <= deadline }.map { $0 + 1 } ?? 0
        timers.insert((deadline, nextTimerID, action), at: index)
        return nextTimerID
    }

    /// Runs `action` at the end of every wakeup, after the ready descriptors' handlers and the
    /// due timers: where work they queued goes out in one batch (e.g. one sendmmsg for the
    /// datagrams of a whole wakeup).
    /// With `first`, `action` runs before those registered so far: work that queues what
    /// the others flush (a stack run that queues datagrams before the sockets' sendmmsg).
    public func atEndOfWakeup(first: Bool = false, _ action: @escaping () -> Void) {
        if first { wakeupEnds.insert(action, at: 0) } else { wakeupEnds.append(action) }
    }

    /// Cancels a timer that has not fired.
    public func cancelTimer(_ id: Int) {
        timers.removeAll { $0.id == id }
    }

    /// Dispatches events until `stop()` is called from a handler.
    public func run() throws {
        running = true
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while running {
            let timeout = nextTimeout()
            let count = epoll_wait(epoll, &events, Int32(events.count), timeout)
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemError("epoll_wait", errno: errno)
            }
            for event in events.prefix(Int(count)) {
                handlers[event.data.fd]?(event.events)
                if !running { break }
            }
            fireTimers()
            isEndingWakeup = true
            for action in wakeupEnds { action() }  // after a stop too: what was queued leaves
            isEndingWakeup = false
        }
    }

    /// Makes `run()` return after the current handler (and the end-of-wakeup actions).
    public func stop() { running = false }

    private func nextTimeout() -> Int32 {
        guard let first = timers.first else { return -1 }
        let now = Self.now()
        if first.deadline <= now { return 0 }
        return Int32(min((first.deadline - now + 999_999) / 1_000_000, UInt64(Int32.max)))
    }

    private func fireTimers() {
        let now = Self.now()
        while let first = timers.first, first.deadline <= now, running {
            timers.removeFirst()
            first.action()
        }
    }

    /// CLOCK_MONOTONIC in nanoseconds: the clock of the loop's timers.
    public static func monotonicNow() -> UInt64 { now() }

    /// CLOCK_MONOTONIC in nanoseconds.
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
