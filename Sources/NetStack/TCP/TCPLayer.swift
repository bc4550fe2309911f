import Wire

/// TCP for one stack: the connection table, listeners, and what happens to segments that
/// belong to nothing. Segments come in as checked bytes from the IP layer; segments go out
/// through the `emit` closure of `poll`, to be wrapped in IP by the caller.
public final class TCPLayer {
    /// Why the layer dropped a segment before any connection saw it.
    public struct Counters: Sendable, Equatable {
        /// Too short, bad header length or bad options.
        public var malformed = 0
        /// Checksum mismatch.
        public var badChecksum = 0
        /// Arrived with a TTL below the socket's IP_MINTTL (RFC 5082).
        public var belowMinimumTTL = 0
        /// Failed or missing RFC 2385 signature where a key is set, or a signature nobody expects.
        public var badSignature = 0
        /// Answered with a RST: no connection or listener (RFC 9293 §3.10.7.1).
        public var resetsSent = 0
        /// SYNs that pushed out an older half-open connection.
        public var synQueueEvictions = 0
        /// Creates zeroed counters.
        public init() {}
    }

    /// Drops and resets so far.
    public internal(set) var counters = Counters()
    /// Established and closing connections, by four-tuple.
    public private(set) var connections: [TCPFourTuple: TCPConnection] = [:]
    /// Listeners by port.
    private var listeners: [UInt16: [TCPListener]] = [:]
    /// Every listener, by port (`srouter show sockets`).
    public var allListeners: [TCPListener] { listeners.keys.sorted().flatMap { listeners[$0]! } }
    /// Where half-open connections point back to their listener.
    private var listenerOfHalfOpen: [ObjectIdentifier: TCPListener] = [:]
    /// Connections a poll must visit: new output or a timer.
    private var active: [ObjectIdentifier: TCPConnection] = [:]
    /// Every connection's next timer.
    private var timers = TCPTimerQueue()
    /// RSTs for segments that found nothing, waiting for the next poll.
    /// Each with the interface a link-scoped peer's segment arrived on (its RST leaves there).
    private var pendingResets: [(TCPRepr, IPAddress, IPAddress, Int?)] = []
    /// Chooses initial sequence numbers (RFC 6528) and timestamp offsets per four-tuple.
    private let sequenceSource: (TCPFourTuple, StackInstant) -> (isn: UInt32, timestampOffset: UInt32)
    private var nextEphemeral: UInt16 = 32768
    /// The MSS the path to an address allows (output interface MTU less 40 or 60 bytes);
    /// the stack sets it from routing.
    public var pathMSS: ((IPAddress) -> Int?)?

    /// The MSS to announce toward `remote`: the path's, lowered by TCP_MAXSEG.
    func announcedMSS(toward remote: IPAddress, configuration: TCPConfiguration) -> Int {
        let path = pathMSS?(remote) ?? configuration.maximumSegmentSize
        return max(88, min(path, configuration.maximumSegmentSizeClamp ?? Int.max))
    }

    /// A layer whose connections take their ISN and timestamp offset from `sequenceSource`.
    public init(sequenceSource: @escaping (TCPFourTuple, StackInstant) -> (isn: UInt32, timestampOffset: UInt32)) {
        self.sequenceSource = sequenceSource
    }

    // MARK: - Sockets

    /// Starts listening (`listen`). Binding conflicts are the socket layer's concern.
    public func listen(address: IPAddress?, port: UInt16, acceptsIPv4: Bool, acceptsIPv6: Bool, backlog: Int,
                       configuration: TCPConfiguration) -> TCPListener {
        let listener = TCPListener(localAddress: address, port: port, acceptsIPv4: acceptsIPv4,
                                   acceptsIPv6: acceptsIPv6, backlog: backlog, configuration: configuration)
        listeners[port, default: []].append(listener)
        return listener
    }

    /// Stops a listener: its half-open and unaccepted connections are reset, as Linux does
    /// when a listening socket is closed.
    public func close(_ listener: TCPListener, now: StackInstant, emit: (TCPOutgoingSegment) -> Void) {
        listeners[listener.port]?.removeAll { $0 === listener }
        if listeners[listener.port]?.isEmpty == true { listeners[listener.port] = nil }
        listener.isClosed = true
        for connection in listener.halfOpen + listener.acceptQueue {
            connection.abort(now: now, emit: emit)
            forget(connection)
        }
        listener.halfOpen.removeAll()
        listener.acceptQueue.removeAll()
    }

    /// Starts an active open (`connect`) on a four-tuple the socket layer chose.
    public func connect(_ tuple: TCPFourTuple, configuration: TCPConfiguration, now: StackInstant) -> TCPConnection {
        var configuration = configuration
        configuration.maximumSegmentSize = announcedMSS(toward: tuple.remoteAddress, configuration: configuration)
        let numbers = sequenceSource(tuple, now)
        let connection = TCPConnection(connecting: tuple, configuration: configuration,
                                       initialSequenceNumber: numbers.isn,
                                       timestampOffset: numbers.timestampOffset, now: now)
        connections[tuple] = connection
        markActive(connection)
        return connection
    }

    /// Whether a four-tuple is in use (connect's EADDRNOTAVAIL check).
    public func isInUse(_ tuple: TCPFourTuple) -> Bool { connections[tuple] != nil }

    /// A free ephemeral port (Linux's ip_local_port_range 32768–60999) for `local` → `remote`.
    public func ephemeralPort(local: IPAddress, remote: IPAddress, remotePort: UInt16,
                              isTaken: (UInt16) -> Bool) -> UInt16? {
        for _ in 0..<(60999 - 32768 + 1) {
            let port = nextEphemeral
            nextEphemeral = nextEphemeral >= 60999 ? 32768 : nextEphemeral + 1
            let tuple = TCPFourTuple(localAddress: local, localPort: port, remoteAddress: remote, remotePort: remotePort)
            if connections[tuple] == nil && !isTaken(port) { return port }
        }
        return nil
    }

    /// The user is done with `connection` (its socket closed): it stays only as long as the
    /// protocol needs (FIN exchange, TIME-WAIT), then disappears.
    public func release(_ connection: TCPConnection) {
        connection.onEvent = nil
        if connection.state == .closed { forget(connection) } else { markActive(connection) }
    }

    /// Asks the next poll to visit `connection` (after a user call changed what it may send).
    public func markActive(_ connection: TCPConnection) {
        active[ObjectIdentifier(connection)] = connection
    }

    // MARK: - Segments in

    /// A segment for this host: `segment` is the TCP header and data, `source`/`destination`
    /// the IP addresses, `timeToLive` the received TTL or hop limit.
    /// `interfaceIndex` is the interface it arrived on: a listener bound to a device takes
    /// only SYNs from it, and a connection to a link-local peer answers through it.
    public func receive(_ segment: UnsafeRawBufferPointer, source: IPAddress, destination: IPAddress,
                        timeToLive: UInt8, interfaceIndex: Int = 0, now: StackInstant) {
        let repr: TCPRepr
        do {
            let packet = try TCPPacket(checking: segment)
            if !packet.checksumIsValid(source: source, destination: destination) {
                counters.badChecksum += 1
                return
            }
            repr = try TCPRepr.parse(packet, source: source, destination: destination, verifyChecksum: false)
        } catch {
            counters.malformed += 1
            return
        }
        let payload = UnsafeRawBufferPointer(rebasing: segment[(segment.count - repr.payloadLength)...])
        let tuple = TCPFourTuple(localAddress: destination, localPort: repr.destinationPort,
                                 remoteAddress: source, remotePort: repr.sourcePort)
        if let connection = connections[tuple] {
            if connection.state == .timeWait, repr.flags.contains(.syn), !repr.flags.contains(.ack),
               SequenceNumber(repr.sequenceNumber) > connection.rcvNxt, listener(for: tuple, interfaceIndex: interfaceIndex) != nil {
                // Linux lets a new SYN above the old RCV.NXT reuse a TIME-WAIT pair.
                connection.enter(.closed)
                forget(connection)
            } else {
                guard admits(segment, repr: repr, tuple: tuple, key: connection.configuration.md5Key,
                             minimumTTL: connection.configuration.minimumTimeToLive, timeToLive: timeToLive)
                else { return }
                connection.receive(repr, payload: payload, now: now)
                afterInput(connection)
                return
            }
        }
        guard let listener = listener(for: tuple, interfaceIndex: interfaceIndex) else {
            guard admits(segment, repr: repr, tuple: tuple, key: nil, minimumTTL: 0, timeToLive: timeToLive) else { return }
            resetUnknown(repr, tuple: tuple, interfaceIndex: interfaceIndex)
            return
        }
        guard admits(segment, repr: repr, tuple: tuple, key: listener.md5Keys[source],
                     minimumTTL: listener.configuration.minimumTimeToLive, timeToLive: timeToLive) else { return }
        receiveOnListener(listener, repr, tuple: tuple, interfaceIndex: interfaceIndex, now: now)
    }

    /// RFC 2385 and RFC 5082 admission: a key demands a valid signature, no key refuses a
    /// signed segment (Linux's tcp_inbound_md5_hash), and IP_MINTTL drops low TTLs.
    private func admits(_ segment: UnsafeRawBufferPointer, repr: TCPRepr, tuple: TCPFourTuple, key: [UInt8]?,
                        minimumTTL: UInt8, timeToLive: UInt8) -> Bool {
        if timeToLive < minimumTTL {
            counters.belowMinimumTTL += 1
            return false
        }
        switch (key, repr.options.md5Signature) {
        case (nil, nil):
            return true
        case (nil, .some), (.some, nil):
            counters.badSignature += 1
            return false
        case (.some(let key), .some):
            guard TCPSignature.verify(segment, source: tuple.remoteAddress, destination: tuple.localAddress, key: key) else {
                counters.badSignature += 1
                return false
            }
            return true
        }
    }

    private func listener(for tuple: TCPFourTuple, interfaceIndex: Int) -> TCPListener? {
        guard let all = listeners[tuple.localPort] else { return nil }
        let candidates = all.filter { $0.configuration.interfaceIndex.map { $0 == interfaceIndex } ?? true }
        return candidates.first { $0.localAddress == tuple.localAddress }
            ?? candidates.first { $0.localAddress == nil && $0.matches(tuple.localAddress) }
    }

    /// RFC 9293 §3.10.7.2 (LISTEN): RST ignored, ACK answered with RST, SYN opens a half-open
    /// connection in the listener's bounded SYN queue.
    private func receiveOnListener(_ listener: TCPListener, _ repr: TCPRepr, tuple: TCPFourTuple, interfaceIndex: Int,
                                   now: StackInstant) {
        if repr.flags.contains(.rst) { return }
        if repr.flags.contains(.ack) {
            resetUnknown(repr, tuple: tuple, interfaceIndex: interfaceIndex)
            return
        }
        guard repr.flags.contains(.syn), !repr.flags.contains(.fin) else { return }
        if listener.halfOpen.count >= listener.maximumHalfOpen {
            let oldest = listener.halfOpen.removeFirst()
            oldest.enter(.closed)
            forget(oldest)
            listener.evictedHalfOpen += 1
            counters.synQueueEvictions += 1
        }
        var configuration = listener.configuration
        configuration.md5Key = listener.md5Keys[tuple.remoteAddress]
        if tuple.remoteAddress.isLinkScoped && interfaceIndex != 0 { configuration.interfaceIndex = interfaceIndex }
        configuration.maximumSegmentSize = announcedMSS(toward: tuple.remoteAddress, configuration: configuration)
        let numbers = sequenceSource(tuple, now)
        let connection = TCPConnection(accepting: repr, tuple: tuple, configuration: configuration,
                                       initialSequenceNumber: numbers.isn,
                                       timestampOffset: numbers.timestampOffset, now: now)
        listener.halfOpen.append(connection)
        listenerOfHalfOpen[ObjectIdentifier(connection)] = listener
        connections[tuple] = connection
        markActive(connection)
    }

    /// A segment for no connection gets a RST (RFC 9293 §3.10.7.1), unless it is one.
    private func resetUnknown(_ repr: TCPRepr, tuple: TCPFourTuple, interfaceIndex: Int) {
        guard !repr.flags.contains(.rst) else { return }
        var reset: TCPRepr
        if repr.flags.contains(.ack) {
            reset = TCPRepr(sourcePort: tuple.localPort, destinationPort: tuple.remotePort,
                            sequenceNumber: repr.acknowledgmentNumber, acknowledgmentNumber: 0, flags: [.rst], window: 0)
        } else {
            reset = TCPRepr(sourcePort: tuple.localPort, destinationPort: tuple.remotePort, sequenceNumber: 0,
                            acknowledgmentNumber: repr.sequenceNumber &+ UInt32(repr.sequenceLength),
                            flags: [.rst, .ack], window: 0)
        }
        reset.payloadLength = 0
        let scope = tuple.remoteAddress.isLinkScoped && interfaceIndex != 0 ? interfaceIndex : nil
        pendingResets.append((reset, tuple.localAddress, tuple.remoteAddress, scope))
        counters.resetsSent += 1
    }

    /// Moves a connection whose handshake completed to its listener's accept queue, and
    /// forgets closed ones.
    private func afterInput(_ connection: TCPConnection) {
        let id = ObjectIdentifier(connection)
        if let listener = listenerOfHalfOpen[id], connection.state != .synReceived {
            listenerOfHalfOpen[id] = nil
            listener.halfOpen.removeAll { $0 === connection }
            if connection.state != .closed {
                if listener.acceptQueue.count > listener.backlog {
                    listener.acceptQueueOverflows += 1
                    connection.abortPending = true
                } else {
                    listener.acceptQueue.append(connection)
                    listener.onEvent?(listener)
                }
            }
        }
        markActive(connection)
    }

    private func forget(_ connection: TCPConnection) {
        let id = ObjectIdentifier(connection)
        if connections[connection.tuple] === connection { connections[connection.tuple] = nil }
        active[id] = nil
        timers.cancel(connection)
        if let listener = listenerOfHalfOpen.removeValue(forKey: id) {
            listener.halfOpen.removeAll { $0 === connection }
        }
    }

    /// An ICMP error quoting one of our segments (`quotedHeader`: at least its first 8
    /// bytes, ports and sequence number). "Fragmentation needed" and "packet too big" feed
    /// path MTU discovery; hard errors during the handshake fail a connect (Linux's
    /// tcp_v4_err: ECONNREFUSED is not taken from ICMP, unreachables are soft errors
    /// reported once the connection times out).
    public func receiveICMPError(mtu: Int?, unreachable: TCPConnectionError?, quotedHeader: UnsafeRawBufferPointer,
                                 local: IPAddress, remote: IPAddress) {
        guard let ports = TCPPacket.quotedPorts(quotedHeader) else { return }
        let tuple = TCPFourTuple(localAddress: local, localPort: ports.source, remoteAddress: remote, remotePort: ports.destination)
        guard let connection = connections[tuple] else { return }
        if let mtu {
            connection.pathMTUChanged(to: mtu)
            markActive(connection)
        } else if let unreachable, connection.state == .synSent {
            connection.softError = unreachable
        }
    }

    // MARK: - Segments out and timers

    /// Emits everything due at `now`: RSTs for strays, then each active connection's output
    /// and expired timers.
    public func poll(now: StackInstant, emit: (TCPOutgoingSegment) -> Void) {
        for (header, local, remote, interfaceIndex) in pendingResets {
            emit(TCPOutgoingSegment(header: header, source: local, destination: remote, timeToLive: 64,
                                    typeOfService: 0, md5Key: nil, interfaceIndex: interfaceIndex))
        }
        pendingResets.removeAll(keepingCapacity: true)
        var visit = active
        active.removeAll(keepingCapacity: true)
        timers.takeDue(now) { visit[ObjectIdentifier($0)] = $0 }
        for (_, connection) in visit {
            if connection.abortPending {
                connection.abortPending = false
                connection.abort(now: now, emit: emit)
            } else {
                connection.poll(now: now, emit: emit)
            }
            // Closed connections leave the table at once, so the four-tuple is free again;
            // the socket that owns one keeps reading its final state and error.
            if connection.state == .closed { forget(connection) } else { timers.reschedule(connection) }
        }
    }

    /// The earliest timer among all connections. Every change to a connection's timers
    /// passes through a poll (input and user calls mark it active), which reschedules it.
    public var nextDeadline: StackInstant? {
        timers.earliest()
    }

    /// Whether some connection still has data or a FIN to deliver: ESTABLISHED or CLOSE-WAIT
    /// (its socket not yet closed, or closed with data queued), FIN-WAIT-1, CLOSING, LAST-ACK.
    /// srouter keeps running while this holds after its guest exits, as Linux keeps sending
    /// what a closed socket queued after its process has gone.
    public var hasDataToDeliver: Bool {
        connections.values.contains {
            switch $0.state {
            case .established, .closeWait, .finWait1, .closing, .lastAck: true
            default: false
            }
        }
    }

    /// Timer entries held, stale ones included (tests check the bound).
    var timerEntryCount: Int { timers.entryCount }
}
