import Wire

/// One TCP connection: RFC 9293's transmission control block and the user calls on it.
///
/// The connection is a pure state machine. Segments come in through `receive(_:payload:now:)`,
/// the clock through `now` arguments, and what it wants sent comes out of `poll(now:emit:)`
/// as `TCPOutgoingSegment`s whose data stays in the send buffer until the caller copies it.
/// `TCPLayer` owns connections, demultiplexes segments to them and runs their timers.
public final class TCPConnection {
    /// Local and remote address and port.
    public let tuple: TCPFourTuple
    /// RFC 9293 §3.3.2 state.
    public internal(set) var state: TCPState
    /// Options and limits (socket options change it).
    public var configuration: TCPConfiguration
    /// The error a failed connection reports once through SO_ERROR or the next call.
    public internal(set) var pendingError: TCPConnectionError?
    /// Called when readability, writability or the state may have changed.
    public var onEvent: ((TCPConnection) -> Void)?
    /// Counters for TCP_INFO and `srouter show sockets`.
    public internal(set) var statistics = TCPConnectionStatistics()

    // MARK: Send sequence space (RFC 9293 §3.3.1)
    /// Initial send sequence number.
    let iss: SequenceNumber
    /// Oldest unacknowledged sequence number.
    var sndUna: SequenceNumber
    /// Next sequence number to send (rewound to SND.UNA after a retransmission timeout).
    var sndNxt: SequenceNumber
    /// Highest sequence number sent so far (SND.MAX of RFC 6675; ≥ SND.NXT).
    var sndMax: SequenceNumber
    /// Peer's receive window in bytes, scale applied.
    var sndWnd = 0
    /// The largest window the peer offered (RFC 5961 §5.2's MAX.SND.WND).
    var maxSndWnd = 0
    /// Segment sequence number used for the last window update.
    var sndWl1 = SequenceNumber(0)
    /// Segment acknowledgment number used for the last window update.
    var sndWl2 = SequenceNumber(0)
    /// Whether our SYN has been acknowledged (the send buffer then starts at SND.UNA).
    var synAcknowledged = false

    // MARK: Receive sequence space
    /// Initial receive sequence number.
    var irs = SequenceNumber(0)
    /// Next sequence number expected.
    var rcvNxt = SequenceNumber(0)
    /// The right edge of the window last advertised; never moved left (RFC 9293 §3.8.6.2.2).
    var rcvAdvertisedEdge = SequenceNumber(0)

    // MARK: Negotiated options
    /// Shift applied to windows the peer sends (RFC 7323 §2.3).
    var sendWindowShift: UInt8 = 0
    /// Shift applied to windows we send.
    var receiveWindowShift: UInt8 = 0
    /// Whether both sides sent timestamps on their SYNs (RFC 7323 §3.2).
    var timestampsEnabled = false
    /// Whether both sides sent SACK-permitted (RFC 2018 §2).
    var sackEnabled = false
    /// TS.Recent (RFC 7323 §4.3).
    var tsRecent: UInt32 = 0
    /// Our per-connection timestamp offset (Linux randomizes tsval per connection).
    let timestampOffset: UInt32
    /// The MSS the peer announced (536 for IPv4 / 1220 for IPv6 when absent, RFC 9293 §3.7.1, RFC 8200 §5).
    var peerMaximumSegmentSize: Int

    // MARK: Buffers and closing
    /// Data written by the user, from SND.UNA (or ISS+1 before the SYN is acknowledged).
    lazy var sendBuffer = ByteRing(capacity: configuration.sendBufferSize)
    /// In-order data not yet read by the user.
    lazy var receiveBuffer = ByteRing(capacity: configuration.receiveBufferSize)
    /// The user closed or shut down the sending side: a FIN follows the data.
    var finQueued = false
    /// The user shut down the receiving side (data arriving is discarded).
    var receiveShutdown = false
    /// The peer's FIN has been received in sequence.
    var peerFinReceived = false
    /// Where the peer's FIN lies, once seen (possibly ahead of a hole).
    var peerFinSequence: SequenceNumber?
    /// Out-of-order data held beyond RCV.NXT (RFC 2018 SACK source).
    var outOfOrder = SequenceRanges()

    // MARK: Timers (nil: not running)
    var retransmitDeadline: StackInstant?
    var delayedAckDeadline: StackInstant?
    var keepAliveDeadline: StackInstant?
    var persistDeadline: StackInstant?
    var timeWaitDeadline: StackInstant?
    /// The deadline the layer's timer queue holds for this connection (`TCPTimerQueue`).
    var scheduledDeadline: StackInstant?
    /// Consecutive retransmission timeouts without progress.
    var retransmissions = 0
    /// Unanswered keepalive or zero-window probes.
    var probesSent = 0
    /// When data was first left unacknowledged without progress (for TCP_USER_TIMEOUT).
    var stalledSince: StackInstant?
    /// Last time anything arrived (keepalive idle time).
    var lastReceived: StackInstant

    // MARK: ACK policy
    /// An ACK must go out on the next poll.
    var ackNow = false
    /// Bytes received in order since the last ACK we sent (Linux ACKs every second full segment).
    var unacknowledgedBytes = 0

    // MARK: Loss recovery and congestion control
    /// RTO estimator (RFC 6298).
    var rttEstimator = RTTEstimator()
    /// Congestion control (RFC 5681/9438).
    var congestion: any CongestionControl
    /// The segment being timed without timestamps (Karn's algorithm, RFC 6298 §3).
    var timedSegment: (sequence: SequenceNumber, sentAt: StackInstant)?
    /// Duplicate ACKs in a row (RFC 5681 §3.2).
    var duplicateAcks = 0
    /// In fast recovery until SND.UNA passes `recoveryPoint` (RFC 6582 §3.2).
    var inRecovery = false
    /// RFC 6582's "recover".
    var recoveryPoint = SequenceNumber(0)
    /// The peer's SACKed ranges above SND.UNA: the scoreboard of RFC 6675 §3.
    var scoreboard = SequenceRanges()
    /// HighRxt (RFC 6675 §2): the highest sequence number retransmitted in this recovery.
    var highRetransmitted = SequenceNumber(0)
    /// Bytes retransmitted in this recovery and not yet acknowledged: with the SACKed
    /// forward edge they estimate the pipe (the FACK form of RFC 6675's SetPipe).
    var retransmittedInFlight = 0
    /// Whether the event handler should be told after this call.
    var eventPending = false
    /// The next poll retransmits the segment at SND.UNA (fast retransmit, partial ACK).
    var retransmitFirstUnacknowledged = false
    /// A RST to send on the next poll, with this sequence number (a bad ACK in SYN states).
    var pendingReset: SequenceNumber?
    /// The sequence number our FIN took, once sent.
    var finSequence: SequenceNumber?
    /// Whether both sides sent the window-scale option (RFC 7323 §2.2).
    var windowScalingEnabled = false
    /// Keepalive probes sent without an answer.
    var keepAliveProbesSent = 0
    /// An ICMP-reported error kept until the connection times out, then reported instead of
    /// ETIMEDOUT (Linux's sk_err_soft).
    var softError: TCPConnectionError?
    /// The MSS the path allows, once an ICMP "fragmentation needed" / "packet too big"
    /// lowered it (RFC 1191, RFC 8201): the reported MTU less the IP and TCP headers.
    var pathMSS: Int?
    /// The layer will abort this connection on its next poll (accept queue overflow).
    var abortPending = false

    /// An active open (RFC 9293 §3.10.1): the connection starts in SYN-SENT and its SYN goes
    /// out on the next `poll`.
    public init(connecting tuple: TCPFourTuple, configuration: TCPConfiguration,
                initialSequenceNumber: UInt32, timestampOffset: UInt32, now: StackInstant) {
        self.tuple = tuple
        self.configuration = configuration
        state = .synSent
        iss = SequenceNumber(initialSequenceNumber)
        sndUna = iss
        sndNxt = iss
        sndMax = iss
        self.timestampOffset = timestampOffset
        peerMaximumSegmentSize = Self.defaultPeerMSS(tuple)
        lastReceived = now
        congestion = Self.makeCongestionControl(configuration, mss: configuration.maximumSegmentSize)
        receiveWindowShift = configuration.windowScaling ? Self.windowShift(for: configuration.receiveBufferSize) : 0
    }

    /// A passive open: `syn` arrived for a listener; the connection starts in SYN-RECEIVED and
    /// its SYN-ACK goes out on the next `poll` (RFC 9293 §3.10.7.2). Buffers are allocated only
    /// when the handshake completes, so half-open connections cost little.
    public init(accepting syn: TCPRepr, tuple: TCPFourTuple, configuration: TCPConfiguration,
                initialSequenceNumber: UInt32, timestampOffset: UInt32, now: StackInstant) {
        self.tuple = tuple
        self.configuration = configuration
        state = .synReceived
        iss = SequenceNumber(initialSequenceNumber)
        sndUna = iss
        sndNxt = iss
        sndMax = iss
        self.timestampOffset = timestampOffset
        peerMaximumSegmentSize = Self.defaultPeerMSS(tuple)
        lastReceived = now
        congestion = Self.makeCongestionControl(configuration, mss: configuration.maximumSegmentSize)
        irs = SequenceNumber(syn.sequenceNumber)
        rcvNxt = irs + 1
        rcvAdvertisedEdge = rcvNxt
        adoptSynOptions(syn)
        sndWnd = Int(syn.window) // a SYN's window is never scaled (RFC 7323 §2.2)
        maxSndWnd = sndWnd
        sndWl1 = irs
        sndWl2 = iss
    }

    // MARK: - User calls

    /// Queues data for sending (the `write`/`send` call); returns how many bytes were taken,
    /// 0 when the buffer is full. Throws once the sending side is shut down (EPIPE) or the
    /// connection failed (its error).
    public func send(_ bytes: UnsafeRawBufferPointer) throws(TCPConnectionError) -> Int {
        if let error = pendingError { throw error }
        guard !finQueued else { throw .brokenPipe }
        switch state {
        case .established, .closeWait: return sendBuffer.append(bytes)
        default: throw .brokenPipe
        }
    }

    /// Reads in-order data (the `read`/`recv` call); returns 0 at end of stream.
    /// `peek` leaves the data queued (MSG_PEEK).
    public func receive(into destination: UnsafeMutableRawBufferPointer, peek: Bool = false) -> Int {
        guard state != .synSent, state != .synReceived, state != .listen else { return 0 }
        let n = peek ? receiveBuffer.read(into: destination, at: 0) : receiveBuffer.dequeue(into: destination)
        if n > 0 && !peek { considerWindowUpdate() }
        return n
    }

    /// Bytes ready to read (FIONREAD).
    public var bytesReadable: Int { state.isSynchronized || state == .closed ? receiveBufferCount : 0 }
    private var receiveBufferCount: Int { state == .synSent || state == .synReceived ? 0 : receiveBuffer.count }

    /// Bytes written but not yet acknowledged (SIOCOUTQ).
    public var bytesUnacknowledged: Int { state.isSynchronized ? sendBuffer.count : 0 }

    /// Whether a read would not block: data, end of stream, or an error (EPOLLIN).
    public var isReadable: Bool {
        pendingError != nil || receiveBufferCount > 0 || peerFinReceived || receiveShutdown || state == .closed
    }

    /// Whether a write would not block (EPOLLOUT): connected, and at least a third of the send
    /// buffer free as Linux's `sk_stream_is_writeable` asks, or the connection failed.
    public var isWritable: Bool {
        if pendingError != nil { return true }
        switch state {
        case .established, .closeWait:
            return !finQueued && sendBuffer.freeSpace >= max(1, sendBuffer.capacity / 3)
        default:
            return false
        }
    }

    /// Whether the peer has sent its FIN (EPOLLRDHUP).
    public var peerClosed: Bool { peerFinReceived }

    /// Closes the sending side (`shutdown(SHUT_WR)`, or `close` without unread data): a FIN
    /// follows the queued data (RFC 9293 §3.10.4).
    public func shutdownSend() {
        switch state {
        case .synSent, .listen, .closed:
            enter(.closed)
        case .synReceived, .established:
            finQueued = true
            if state == .established { enter(.finWait1) }
        case .closeWait:
            finQueued = true
            enter(.lastAck)
        default:
            break
        }
    }

    /// `shutdown(SHUT_RD)`: reads return end of stream; arriving data is still acknowledged.
    public func shutdownReceive() {
        receiveShutdown = true
        eventPending = true
    }

    /// Aborts (RFC 9293 §3.10.5; `close` with unread data or SO_LINGER 0): a RST goes out if
    /// the connection was synchronized, and the connection is closed at once.
    public func abort(now: StackInstant, emit: (TCPOutgoingSegment) -> Void) {
        if state.isSynchronized || state == .synReceived, state != .timeWait {
            var header = makeHeader(flags: [.rst, .ack], sequence: sndNxt, now: now)
            header.options = TCPOptions()
            header.window = 0
            emitSegment(header, emit: emit)
        }
        enter(.closed)
    }

    /// Path MTU discovery (RFC 1191 §6.3, RFC 8201 §5.2): an ICMP error reported `mtu` for
    /// this path; lower the MSS (never below 536 − 40, IPv4's minimum datagram) and resend
    /// what was lost at once.
    public func pathMTUChanged(to mtu: Int) {
        let headers = tuple.remoteAddress.bitWidth == 32 ? 40 : 60
        let floor = tuple.remoteAddress.bitWidth == 32 ? 536 : 1280
        let mss = max(floor, mtu) - headers
        guard mss < (pathMSS ?? configuration.maximumSegmentSize) else { return }
        pathMSS = mss
        if sndMax > sndUna {
            sndNxt = sndUna // the oversized segments were dropped on the way
            retransmitFirstUnacknowledged = false
        }
    }

    // MARK: - Helpers shared by the extensions

    /// The sequence number of the first byte in the send buffer.
    var sendBufferStart: SequenceNumber { synAcknowledged ? sndUna : iss + 1 }

    /// The effective send MSS: the smaller of both sides' MSS and the path MTU's, less the
    /// options every data segment carries now — timestamps (RFC 7323 §3.2), the MD5
    /// signature (RFC 2385), SACK blocks (RFC 2018) — as RFC 6691 asks and Linux's
    /// tcp_current_mss does.
    var sendMSS: Int {
        var options = TCPOptions()
        if timestampsEnabled { options.timestamps = TCPTimestamps(value: 0, echoReply: 0) }
        if configuration.md5Key != nil { options.md5Signature = .zero }
        if sackEnabled && !outOfOrder.isEmpty { options.sackBlocks = outOfOrder.sackBlocks(limit: timestampsEnabled ? 3 : 4) }
        let mss = min(peerMaximumSegmentSize, configuration.maximumSegmentSize, pathMSS ?? Int.max)
        return max(64, mss - options.bufferLength)
    }

    /// Moves to `newState`, stopping the timers the new state does not use.
    func enter(_ newState: TCPState) {
        guard newState != state else { return }
        state = newState
        eventPending = true
        switch newState {
        case .closed:
            retransmitDeadline = nil
            delayedAckDeadline = nil
            keepAliveDeadline = nil
            persistDeadline = nil
            timeWaitDeadline = nil
        case .timeWait:
            retransmitDeadline = nil
            keepAliveDeadline = nil
            persistDeadline = nil
        default:
            break
        }
    }

    /// Fails the connection with `error` (reset, timeout): closed, error pending.
    func fail(_ error: TCPConnectionError) {
        pendingError = error
        enter(.closed)
    }

    /// Reads the options of the peer's SYN: MSS, window scale, SACK-permitted, timestamps.
    func adoptSynOptions(_ syn: TCPRepr) {
        if let mss = syn.options.maximumSegmentSize, mss > 0 { peerMaximumSegmentSize = Int(mss) }
        windowScalingEnabled = configuration.windowScaling && syn.options.windowScale != nil
        if configuration.windowScaling, let shift = syn.options.windowScale {
            sendWindowShift = min(shift, 14) // RFC 7323 §2.3: larger shifts are treated as 14
            receiveWindowShift = Self.windowShift(for: configuration.receiveBufferSize)
        } else {
            sendWindowShift = 0
            receiveWindowShift = 0
        }
        sackEnabled = configuration.selectiveAcknowledgments && syn.options.sackPermitted
        if configuration.timestamps, let ts = syn.options.timestamps {
            timestampsEnabled = true
            tsRecent = ts.value
        } else {
            timestampsEnabled = false
        }
    }

    /// The smallest shift that lets `bufferSize` be advertised in 16 bits (RFC 7323 §2.2).
    static func windowShift(for bufferSize: Int) -> UInt8 {
        var shift: UInt8 = 0
        while shift < 14 && bufferSize >> Int(shift) > 65535 { shift += 1 }
        return shift
    }

    static func defaultPeerMSS(_ tuple: TCPFourTuple) -> Int {
        if case .v6 = tuple.remoteAddress { return 1220 }
        return 536
    }

    /// The controller TCP_CONGESTION names: "reno", else CUBIC (Linux's default).
    static func makeCongestionControl(_ configuration: TCPConfiguration, mss: Int) -> any CongestionControl {
        configuration.congestionControl == "reno" ? NewReno(maximumSegmentSize: mss) : Cubic(maximumSegmentSize: mss)
    }

    /// Tells the event handler, if anything changed.
    func flushEvents() {
        guard eventPending else { return }
        eventPending = false
        onEvent?(self)
    }
}

/// What TCP_INFO and `srouter show sockets` report about a connection.
public struct TCPConnectionStatistics: Sendable {
    /// Segments received.
    public var segmentsIn = 0
    /// Segments sent.
    public var segmentsOut = 0
    /// Data bytes acknowledged by the peer.
    public var bytesAcked = 0
    /// Data bytes received in order.
    public var bytesReceived = 0
    /// Segments retransmitted.
    public var retransmittedSegments = 0
    /// Segments dropped as unacceptable (out of window, bad ACK, PAWS).
    public var droppedSegments = 0
    /// Creates zeroed counters.
    public init() {}
}
