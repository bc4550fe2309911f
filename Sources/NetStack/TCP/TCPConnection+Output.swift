import Wire

extension TCPConnection {
    /// Runs expired timers and emits whatever the connection has to send now: SYN or
    /// SYN-ACK, retransmissions, new data within the peer's and the congestion window, a FIN,
    /// a RST, or a bare ACK. Call it after `receive`, after user calls and at `nextDeadline`.
    public func poll(now: StackInstant, emit: (TCPOutgoingSegment) -> Void) {
        defer { flushEvents() }
        runTimers(now: now, emit: emit)
        if let sequence = pendingReset {
            pendingReset = nil
            var header = makeHeader(flags: [.rst], sequence: sequence, now: now)
            header.acknowledgmentNumber = 0
            header.window = 0
            header.options.timestamps = nil
            emitSegment(header, emit: emit)
        }
        switch state {
        case .closed, .listen, .timeWait:
            if state == .timeWait && ackNow { sendAck(now: now, emit: emit) }
            return
        case .synSent:
            if sndNxt == iss { sendSyn(now: now, emit: emit) }
            return
        case .synReceived:
            if sndNxt == iss {
                sendSyn(now: now, emit: emit)
                return
            }
            if ackNow { sendAck(now: now, emit: emit) }
            return
        default:
            break
        }
        var sent = false
        if retransmitFirstUnacknowledged {
            retransmitFirstUnacknowledged = false
            sent = retransmitOne(now: now, emit: emit)
        }
        if inRecovery && sackEnabled {
            if sendInRecovery(now: now, emit: emit) { sent = true }
        } else if sendData(now: now, emit: emit) {
            sent = true
        }
        if ackNow && !sent { sendAck(now: now, emit: emit) }
        armPersist(now: now)
    }

    /// The earliest time `poll` has timer work to do.
    public var nextDeadline: StackInstant? {
        [retransmitDeadline, delayedAckDeadline, keepAliveDeadline, persistDeadline, timeWaitDeadline]
            .compactMap { $0 }.min()
    }

    /// Whether a `poll` now would send something (the layer polls such connections at once).
    public var hasOutputPending: Bool {
        if ackNow || pendingReset != nil || retransmitFirstUnacknowledged { return true }
        switch state {
        case .synSent, .synReceived: return sndNxt == iss
        case .established, .closeWait, .finWait1, .closing, .lastAck:
            let unsent = sendBuffer.count - (sndNxt - sendBufferStart)
            return unsent > 0 || (finQueued && finSequence == nil)
        default: return false
        }
    }

    // MARK: - Segments

    /// SYN (active open) or SYN-ACK (passive), with our options (RFC 9293 §3.7.1; RFC 7323;
    /// RFC 2018). A SYN-ACK carries only the options the peer offered.
    func sendSyn(now: StackInstant, emit: (TCPOutgoingSegment) -> Void) {
        let passive = state == .synReceived
        var header = makeHeader(flags: passive ? [.syn, .ack] : [.syn], sequence: iss, now: now)
        var options = TCPOptions(maximumSegmentSize: UInt16(clamping: configuration.maximumSegmentSize))
        if passive {
            if windowScalingEnabled { options.windowScale = receiveWindowShift }
            options.sackPermitted = sackEnabled
            if timestampsEnabled { options.timestamps = TCPTimestamps(value: timestampClock(now), echoReply: tsRecent) }
        } else {
            if configuration.windowScaling { options.windowScale = receiveWindowShift }
            options.sackPermitted = configuration.selectiveAcknowledgments
            if configuration.timestamps { options.timestamps = TCPTimestamps(value: timestampClock(now), echoReply: 0) }
        }
        options.md5Signature = configuration.md5Key == nil ? nil : .zero
        header.options = options
        // A SYN's window is never scaled (RFC 7323 §2.2).
        let window = min(configuration.receiveBufferSize, 65535)
        header.window = UInt16(window)
        if passive {
            rcvAdvertisedEdge = rcvNxt + window
        } else {
            header.acknowledgmentNumber = 0
        }
        if retransmissions > 0 { statistics.retransmittedSegments += 1 }
        if retransmissions == 0 && !configuration.timestamps { timedSegment = (iss, now) }
        emitSegment(header, emit: emit)
        sndNxt = iss + 1
        if sndMax < sndNxt { sndMax = sndNxt }
        ackNow = false
        if retransmitDeadline == nil { retransmitDeadline = now + rttEstimator.rto }
    }

    /// Sends new (or, after a timeout rewound SND.NXT, old) data: as much as the send window,
    /// the congestion window, Nagle (RFC 9293 §3.7.4) and sender-side SWS avoidance
    /// (§3.8.6.2.1) allow, ending with the FIN once the user has closed. Returns whether
    /// anything was sent.
    func sendData(now: StackInstant, maximumSegments: Int = Int.max, ignoreCongestionWindow: Bool = false,
                  emit: (TCPOutgoingSegment) -> Void) -> Bool {
        switch state {
        case .established, .closeWait, .finWait1, .closing, .lastAck: break
        default: return false
        }
        var sent = false
        var segments = 0
        while segments < maximumSegments {
            // Resending after a timeout skips what the peer has SACKed (RFC 6675 §5.1).
            if sndNxt < sndMax, let sacked = scoreboard.range(containing: sndNxt) {
                sndNxt = sacked.end
                continue
            }
            let offset = sndNxt - sendBufferStart
            let available = sendBuffer.count - offset
            let inFlight = sndNxt - sndUna
            let window = ignoreCongestionWindow ? sndWnd : min(sndWnd, congestion.congestionWindow)
            let room = max(0, window - inFlight)
            let length = max(0, min(available, sendMSS, room))
            let finDue = finQueued && offset + length == sendBuffer.count
                && (finSequence == nil || finSequence == sndNxt + length)
            if length == 0 && !finDue { break }
            if length < available || (length < sendMSS && !finDue) {
                // A short segment waits while data is in flight (Nagle), unless TCP_NODELAY;
                // a window-limited one waits for the window to open unless it is at least half
                // the largest window or nothing is in flight (which would wait forever).
                let nagleHolds = !configuration.noDelay && inFlight > 0 && length < sendMSS
                let swsHolds = length < available && length < sendMSS && length < maxSndWnd / 2 && inFlight > 0
                if (nagleHolds && length == available) || swsHolds { break }
                if length == 0 { break }
            }
            var flags: TCPFlags = [.ack]
            if length > 0 && offset + length == sendBuffer.count { flags.insert(.psh) }
            if finDue && length == available { flags.insert(.fin) }
            var header = makeHeader(flags: flags, sequence: sndNxt, now: now)
            header.payloadLength = length
            let isRetransmission = sndNxt < sndMax
            if isRetransmission {
                statistics.retransmittedSegments += 1
            } else if timedSegment == nil && !timestampsEnabled && length > 0 {
                timedSegment = (sndNxt, now)
            }
            emitSegment(header, payloadOffset: offset, emit: emit)
            if flags.contains(.fin) { finSequence = sndNxt + length }
            sndNxt += length + (flags.contains(.fin) ? 1 : 0)
            if sndMax < sndNxt { sndMax = sndNxt }
            if retransmitDeadline == nil { retransmitDeadline = now + rttEstimator.rto }
            if stalledSince == nil { stalledSince = now }
            sent = true
            segments += 1
            if flags.contains(.fin) { break }
        }
        return sent
    }

    /// Sending during SACK-based recovery (RFC 6675 §5): while the pipe — data beyond the
    /// highest SACKed byte plus retransmissions still out — is below the congestion window,
    /// retransmit the next hole below the highest SACKed byte, else send new data.
    func sendInRecovery(now: StackInstant, emit: (TCPOutgoingSegment) -> Void) -> Bool {
        var sent = false
        for _ in 0..<1024 {
            let highestSacked = scoreboard.highestEnd.map { sndUna < $0 ? $0 : sndUna } ?? sndUna
            let pipe = max(0, sndMax - highestSacked) + retransmittedInFlight
            guard pipe < congestion.congestionWindow else { break }
            var start = highRetransmitted < sndUna ? sndUna : highRetransmitted
            if let sacked = scoreboard.range(containing: start) { start = sacked.end }
            if start < highestSacked {
                let limit = scoreboard.nextStart(after: start) ?? highestSacked
                let length = min(sendMSS, limit - start, sendBuffer.count - (start - sendBufferStart))
                guard length > 0 else { break }
                var header = makeHeader(flags: [.ack], sequence: start, now: now)
                header.payloadLength = length
                statistics.retransmittedSegments += 1
                emitSegment(header, payloadOffset: start - sendBufferStart, emit: emit)
                highRetransmitted = start + length
                retransmittedInFlight += length
                if retransmitDeadline == nil { retransmitDeadline = now + rttEstimator.rto }
                sent = true
                continue
            }
            guard sendData(now: now, maximumSegments: 1, ignoreCongestionWindow: true, emit: emit) else { break }
            sent = true
        }
        return sent
    }

    /// Retransmits one segment from SND.UNA (fast retransmit, RFC 5681 §3.2; NewReno's partial
    /// ACK, RFC 6582 §3.2), without moving SND.NXT.
    func retransmitOne(now: StackInstant, emit: (TCPOutgoingSegment) -> Void) -> Bool {
        guard sndMax > sndUna else { return false }
        let length = min(sendMSS, sendBuffer.count, sndMax - sndUna)
        var flags: TCPFlags = [.ack]
        if let fin = finSequence, sndUna + length == fin { flags.insert(.fin) }
        if length == 0 && !flags.contains(.fin) { return false }
        var header = makeHeader(flags: flags, sequence: sndUna, now: now)
        header.payloadLength = length
        statistics.retransmittedSegments += 1
        emitSegment(header, payloadOffset: 0, emit: emit)
        retransmitDeadline = now + rttEstimator.rto
        return true
    }

    /// A bare ACK (with SACK blocks when data is missing).
    func sendAck(now: StackInstant, emit: (TCPOutgoingSegment) -> Void) {
        let header = makeHeader(flags: [.ack], sequence: sndNxt, now: now)
        emitSegment(header, emit: emit)
    }

    /// A header from this connection's ports with ACK = RCV.NXT, our window, timestamps and
    /// the MD5 placeholder; sending any segment with ACK clears the pending-ACK state.
    func makeHeader(flags: TCPFlags, sequence: SequenceNumber, now: StackInstant) -> TCPRepr {
        var header = TCPRepr(sourcePort: tuple.localPort, destinationPort: tuple.remotePort,
                             sequenceNumber: sequence.rawValue, acknowledgmentNumber: rcvNxt.rawValue,
                             flags: flags, window: 0)
        if flags.contains(.ack) && !flags.contains(.syn) {
            header.window = advertiseWindow()
            ackNow = false
            unacknowledgedBytes = 0
            delayedAckDeadline = nil
        }
        if timestampsEnabled && !flags.contains(.syn) {
            header.options.timestamps = TCPTimestamps(value: timestampClock(now), echoReply: tsRecent)
        }
        if sackEnabled && !outOfOrder.isEmpty && flags.contains(.ack) && !flags.contains(.syn) {
            header.options.sackBlocks = outOfOrder.sackBlocks(limit: timestampsEnabled ? 3 : 4)
        }
        if configuration.md5Key != nil { header.options.md5Signature = .zero }
        return header
    }

    /// The window to advertise, scaled, moving the advertised right edge only rightwards
    /// (RFC 9293 §3.8.6.2.2: no shrinking, and receiver-side SWS avoidance).
    func advertiseWindow() -> UInt16 {
        let capacity = receiveBuffer.capacity
        let free = receiveShutdown ? capacity : receiveBuffer.freeSpace
        let current = max(0, rcvAdvertisedEdge - rcvNxt)
        var window = free
        if window <= current {
            window = current
        } else if window - current < min(capacity / 2, sendMSS) {
            window = current
        }
        let scaled = min(window >> Int(receiveWindowShift), 65535)
        let edge = rcvNxt + (scaled << Int(receiveWindowShift))
        if rcvAdvertisedEdge < edge { rcvAdvertisedEdge = edge }
        return UInt16(scaled)
    }

    /// After the user reads: a window update goes at once only if the window still
    /// advertised is at most half the buffer and the read at least doubles it (Linux's
    /// tcp_cleanup_rbuf: "lots" means "at least twice"); otherwise the next ACK carries the
    /// larger window. A reader that keeps up costs no ACKs of its own.
    func considerWindowUpdate() {
        let current = max(0, rcvAdvertisedEdge - rcvNxt)
        guard 2 * current <= receiveBuffer.capacity else { return }
        let available = receiveBuffer.freeSpace
        if available > 0 && available >= 2 * current && available - current >= sendMSS {
            ackNow = true
        }
    }

    /// Queues a RST for the next poll.
    func sendReset(sequence: SequenceNumber) {
        pendingReset = sequence
    }

    func emitSegment(_ header: TCPRepr, payloadOffset: Int = 0, emit: (TCPOutgoingSegment) -> Void) {
        statistics.segmentsOut += 1
        emit(TCPOutgoingSegment(header: header, source: tuple.localAddress, destination: tuple.remoteAddress,
                                timeToLive: configuration.timeToLive, typeOfService: configuration.typeOfService,
                                md5Key: configuration.md5Key, interfaceIndex: configuration.interfaceIndex,
                                payloadRing: header.payloadLength > 0 ? sendBuffer : nil,
                                payloadOffset: payloadOffset))
    }
}
