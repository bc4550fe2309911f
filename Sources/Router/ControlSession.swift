import CSRouterLinux
import Glibc
import Logging
import Sandbox

/// One client of the control socket: reads its request line (and any descriptors sent with
/// it), hands it to the server once, then writes what the handler queues — never blocking.
///
/// The output queue is bounded (`outputLimit`): `send` refuses bytes beyond it, so a client
/// that stops reading costs the router at most that much memory and nothing else (a capture
/// drops and counts packets instead). After `finish` the session closes once the queue has
/// drained; a client that goes away ends it at once (`onClose`).
public final class ControlSession {
    /// The connection.
    public let fd: Int32
    /// The client's credentials (SO_PEERCRED), for logs and the uid check.
    public private(set) var peer = PeerCredentials()
    /// Descriptors the client sent with its request (SCM_RIGHTS), close-on-exec. Closed with
    /// the session unless a handler takes them (`takeDescriptors`).
    public private(set) var descriptors: [Int32] = []
    /// The most bytes queued for the client; `send` refuses more (default 64 MiB, enough for
    /// a report of a full table; a capture lowers it).
    public var outputLimit = 64 << 20
    /// Called once when the session ends (client gone, finished, or closed by the server).
    public var onClose: ((ControlSession) -> Void)?
    /// Called once with the request.
    var onRequest: ((ControlRequest, ControlSession) -> Void)?

    private let loop: EventLoop
    private let logger: Logger
    private var input: [UInt8] = []
    private var output: [UInt8] = []
    private var outputHead = 0
    private var dispatched = false
    private var finishing = false
    private var closed = false
    private var watchingOutput = false
    private var inputClosed = false
    private var interest = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
    private var flushScheduled = false

    /// A session for the accepted connection `fd`, served on `loop`.
    init(fd: Int32, loop: EventLoop, logger: Logger) {
        self.fd = fd
        self.loop = loop
        self.logger = logger
        peer = PeerCredentials(of: fd)
    }

    deinit { close() }

    /// Starts reading; a client that has not sent its request line after
    /// `requestTimeoutMilliseconds` gets an error and is closed, so idle connections cannot
    /// hold every session slot.
    func start(requestTimeoutMilliseconds: UInt64) throws {
        // The socket is 0600; root may still connect. Anyone else (through a --control path
        // in a shared directory, say) is refused.
        guard peer.uid == getuid() || peer.uid == 0 else {
            logger.notice("control socket: refused a client of another user", metadata: ["uid": "\(peer.uid)"])
            throw SystemError("control client uid \(peer.uid)", errno: EPERM)
        }
        try loop.register(fd, events: interest) { [weak self] events in
            self?.ready(events)
        }
        loop.schedule(afterMilliseconds: requestTimeoutMilliseconds) { [weak self] in
            guard let self, !self.dispatched, !self.closed else { return }
            self.dispatched = true
            self.fail("no request within \(requestTimeoutMilliseconds) ms")
        }
    }

    // MARK: - Answering (for handlers)

    /// Queues a header line and `stream`'s bytes to follow; see `ControlProtocol`.
    public func reply<Result: Codable>(_ result: Result) {
        _ = send(ControlJSON.line(ControlHeader(ok: true, result: result)), force: true)
        finish()
    }

    /// Queues a header announcing `stream` (`pcap`, `text`); the handler sends its bytes.
    public func startStream(_ stream: String) {
        _ = send(ControlJSON.line(ControlHeader<ControlJSON.Empty>(ok: true, stream: stream)), force: true)
    }

    /// Queues an error header and finishes.
    public func fail(_ message: String) {
        _ = send(ControlJSON.error(message), force: true)
        finish()
    }

    /// Queues `bytes`; false (nothing queued) when that would pass `outputLimit`, unless
    /// `force`.
    @discardableResult
    public func send(_ bytes: [UInt8], force: Bool = false) -> Bool {
        bytes.withUnsafeBytes { send($0, force: force) }
    }

    /// Queues `bytes` (copied); false when that would pass `outputLimit`, unless `force`.
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, force: Bool = false) -> Bool {
        guard !closed, !finishing else { return false }
        guard force || queuedBytes + bytes.count <= outputLimit else { return false }
        output.append(contentsOf: bytes)
        scheduleFlush()
        return true
    }

    /// Bytes queued and not yet written.
    public var queuedBytes: Int { output.count - outputHead }

    /// Ends the session once everything queued is written.
    public func finish() {
        guard !closed else { return }
        finishing = true
        if queuedBytes == 0 { close() } else { scheduleFlush() }
    }

    /// Takes the descriptors the client sent: the session no longer closes them.
    public func takeDescriptors() -> [Int32] {
        defer { descriptors = [] }
        return descriptors
    }

    /// Ends the session now (unwritten bytes are dropped).
    public func close() {
        guard !closed else { return }
        closed = true
        loop.unregister(fd)
        Glibc.close(fd)
        for descriptor in descriptors { Glibc.close(descriptor) }
        descriptors = []
        output = []
        let callback = onClose
        onClose = nil
        callback?(self)
    }

    /// Whether the session has ended.
    public var isClosed: Bool { closed }

    // MARK: - I/O

    private func ready(_ events: UInt32) {
        if events & EPOLLOUT.rawValue != 0 { flush() }
        if closed { return }
        // Both directions shut (the client closed): nothing more can be delivered.
        if events & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 { return close() }
        if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0 { read() }
    }

    private func read() {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let space = srouter_cmsg_space(8 * MemoryLayout<Int32>.size)
        var control = [UInt8](repeating: 0, count: space)
        let n = chunk.withUnsafeMutableBytes { buffer in
            control.withUnsafeMutableBytes { controlBuffer -> Int in
                var vector = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                    var message = msghdr()
                    message.msg_iov = vectorPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBuffer.baseAddress
                    message.msg_controllen = controlBuffer.count
                    let n = recvmsg(fd, &message, Int32(MSG_DONTWAIT) | Int32(MSG_CMSG_CLOEXEC))
                    if n >= 0 { collectDescriptors(&message) }
                    return n
                }
            }
        }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
        if n < 0 { return close() }
        if n == 0 {
            // The client shut its sending side (`printf … | socat - UNIX:…`): the end of
            // stream ends the request line too; the answer or stream still goes out, until
            // a write fails or the client closes.
            inputClosed = true
            updateInterest()
            if !dispatched {
                guard !input.isEmpty else { return close() }
                input.append(10)
                handle()
            }
            return
        }
        guard !dispatched else { return }  // after the request, input is ignored
        input += chunk.prefix(n)
        handle()
    }

    private func handle() {
        switch ControlRequest.parse(input) {
        case .incomplete:
            return
        case .invalid(let reason):
            dispatched = true
            logger.notice("control socket: bad request", metadata: ["reason": "\(reason)", "pid": "\(peer.pid)"])
            fail(reason)
        case .request(let request, _):
            dispatched = true
            input = []
            logger.debug("control request", metadata: ["command": "\(request.command)", "pid": "\(peer.pid)"])
            onRequest?(request, self)
        }
    }

    private func collectDescriptors(_ message: inout msghdr) {
        var header = srouter_cmsg_firsthdr(&message)
        while let cmsg = header {
            if cmsg.pointee.cmsg_level == SOL_SOCKET && cmsg.pointee.cmsg_type == Int32(SCM_RIGHTS) {
                let count = (Int(cmsg.pointee.cmsg_len) - srouter_cmsg_len(0)) / MemoryLayout<Int32>.size
                let data = UnsafeRawPointer(srouter_cmsg_data(cmsg)!)
                for index in 0..<max(0, count) {
                    let descriptor = data.loadUnaligned(fromByteOffset: index * 4, as: Int32.self)
                    // Descriptors after the request are not ours to keep.
                    if dispatched || descriptors.count >= 16 { Glibc.close(descriptor) } else { descriptors.append(descriptor) }
                }
            }
            header = srouter_cmsg_nxthdr(&message, cmsg)
        }
    }

    /// Watches for input until the client shuts its side, and for room to write while bytes
    /// are queued.
    private func updateInterest() {
        guard !closed else { return }
        watchingOutput = queuedBytes > 0
        let wanted = (inputClosed ? 0 : EPOLLIN.rawValue | EPOLLRDHUP.rawValue) | (watchingOutput ? EPOLLOUT.rawValue : 0)
        guard wanted != interest else { return }
        interest = wanted
        loop.modify(fd, events: wanted)
    }

    private func scheduleFlush() {
        guard !flushScheduled, !watchingOutput else { return }
        flushScheduled = true
        // After the loop's current batch of events: a capture writes many packets at once.
        loop.schedule(afterMilliseconds: 0) { [weak self] in
            self?.flushScheduled = false
            self?.flush()
        }
    }

    private func flush() {
        guard !closed else { return }
        while queuedBytes > 0 {
            let n = output[outputHead...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if n > 0 {
                outputHead += n
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                break
            } else {
                close()
                return
            }
        }
        if outputHead == output.count {
            output.removeAll(keepingCapacity: output.count <= 1 << 20)
            outputHead = 0
        } else if outputHead > 1 << 20 {
            output.removeFirst(outputHead)
            outputHead = 0
        }
        updateInterest()
        if queuedBytes == 0 && finishing { close() }
    }
}

/// `struct ucred` (SO_PEERCRED): the client's pid, uid and gid when it connected.
public struct PeerCredentials: Sendable {
    /// The process id.
    public var pid: Int32 = 0
    /// The user id.
    public var uid: UInt32 = 0
    /// The group id.
    public var gid: UInt32 = 0

    /// Zeros.
    public init() {}

    /// The credentials of the process at the other end of the unix socket `fd` when it
    /// connected (zeros if they cannot be read).
    public init(of fd: Int32) {
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &self, &length)
    }
}
