import Wire

extension TCPConnection {
    /// Processes one segment for this connection (RFC 9293 §3.10.7.3–4, with RFC 5961's RST,
    /// SYN and ACK checks and RFC 7323's PAWS). The caller has verified the checksum and any
    /// MD5 signature. What must be sent in reply goes out on the next `poll`.
    public func receive(_ segment: TCPRepr, payload: UnsafeRawBufferPointer, now: StackInstant) {
        statistics.segmentsIn += 1
        defer { flushEvents() }
        switch state {
        case .closed, .listen:
            return
        case .synSent:
            receiveInSynSent(segment, payload: payload, now: now)
            return
        default:
            break
        }
        lastReceived = now
        keepAliveProbesSent = 0
        let seq = SequenceNumber(segment.sequenceNumber)
        let flags = segment.flags

        // RFC 7323 §5.3: PAWS. A segment whose TSval is older than TS.Recent is a duplicate.
        if timestampsEnabled, !flags.contains(.rst), let ts = segment.options.timestamps,
           Int32(bitPattern: ts.value &- tsRecent) < 0 {
            statistics.droppedSegments += 1
            ackNow = true
            return
        }

        // RFC 9293 §3.10.7.4 first: the sequence-number acceptability test.
        guard isAcceptable(seq: seq, length: segment.sequenceLength) else {
            statistics.droppedSegments += 1
            if !flags.contains(.rst) { ackNow = true }
            if state == .timeWait, flags.contains(.syn) { /* a new SYN in TIME-WAIT: left to the layer */ }
            return
        }

        // Second: RST (RFC 5961 §3.2). Only an exact match resets; in-window is challenged.
        if flags.contains(.rst) {
            if seq == rcvNxt {
                switch state {
                case .synReceived: enter(.closed) // passive open: the listener forgets it
                case .lastAck, .closing, .timeWait: enter(.closed)
                default: fail(.reset)
                }
            } else {
                ackNow = true // challenge ACK
            }
            return
        }

        // Fourth: SYN in a synchronized state (RFC 5961 §4): challenge ACK, drop.
        if flags.contains(.syn) {
            if state == .synReceived && seq == irs {
                ackNow = true // the peer retransmitted its SYN: send our SYN-ACK again
                sndNxt = iss
                return
            }
            ackNow = true
            return
        }

        // Fifth: segments without ACK are dropped.
        guard flags.contains(.ack) else { return }
        let ack = SequenceNumber(segment.acknowledgmentNumber)

        if state == .synReceived {
            guard sndUna < ack && ack <= sndNxt else {
                sendReset(sequence: ack) // <SEQ=SEG.ACK><CTL=RST>
                return
            }
            synAcknowledged = true
            sndUna = ack
            sndWnd = Int(segment.window) << Int(sendWindowShift)
            maxSndWnd = max(maxSndWnd, sndWnd)
            sndWl1 = seq
            sndWl2 = ack
            retransmitDeadline = nil
            retransmissions = 0
            if let ts = segment.options.timestamps, timestampsEnabled, ts.echoReply != 0 {
                rttEstimator.sample(rtt: rttFromEcho(ts.echoReply, now: now))
            }
            congestion = Self.makeCongestionControl(configuration, mss: sendMSS)
            enter(finQueued ? .finWait1 : .established)
            armKeepAlive(now: now)
        }

        if state == .timeWait {
            // A retransmitted FIN: acknowledge it and restart the 2·MSL timer (RFC 9293 §3.10.7.4).
            if flags.contains(.fin) {
                ackNow = true
                timeWaitDeadline = now + configuration.timeWaitDuration
            }
            return
        }

        guard processAck(segment, seq: seq, ack: ack, payloadLength: payload.count, now: now) else { return }

        if let ts = segment.options.timestamps, timestampsEnabled,
           seq <= rcvNxt, Int32(bitPattern: ts.value &- tsRecent) >= 0 {
            tsRecent = ts.value // RFC 7323 §4.3 (Last.ACK.sent ≈ RCV.NXT)
        }

        // Seventh: the segment text.
        var finInWindow = flags.contains(.fin)
        if payload.count > 0 {
            switch state {
            case .established, .finWait1, .finWait2:
                let before = rcvNxt
                let accepted = acceptData(seq: seq, payload: payload, now: now)
                if accepted < payload.count - max(0, before - seq) { finInWindow = false }
            default:
                break // data after the peer's FIN is ignored
            }
        }
        if finInWindow && peerFinSequence == nil { peerFinSequence = seq + payload.count }

        // Eighth: FIN, once everything before it has arrived.
        if let fin = peerFinSequence, fin == rcvNxt, !peerFinReceived {
            rcvNxt += 1
            peerFinReceived = true
            ackNow = true
            eventPending = true
            switch state {
            case .established: enter(.closeWait)
            case .finWait1: enter(.closing)
            case .finWait2: enterTimeWait(now: now)
            default: break
            }
        }
    }

    /// RFC 9293 §3.10.7.4's acceptability table, against the window we advertised.
    func isAcceptable(seq: SequenceNumber, length: Int) -> Bool {
        let window = max(0, rcvAdvertisedEdge - rcvNxt)
        if length == 0 {
            if window == 0 { return seq == rcvNxt }
            return rcvNxt <= seq && seq < rcvNxt + window
        }
        if window == 0 { return false }
        let last = seq + (length - 1)
        return (rcvNxt <= seq && seq < rcvNxt + window) || (rcvNxt <= last && last < rcvNxt + window)
            || (seq < rcvNxt && rcvNxt <= last) // overlaps the left edge (a partial retransmission)
    }

    /// The ACK part of segment processing (RFC 9293 §3.10.7.4 fifth; RFC 5961 §5.2; RFC 5681
    /// and RFC 6582 for duplicate ACKs). Returns false when the segment is to be dropped.
    func processAck(_ segment: TCPRepr, seq: SequenceNumber, ack: SequenceNumber, payloadLength: Int,
                    now: StackInstant) -> Bool {
        // RFC 5961 §5.2: an ACK older than SND.UNA − MAX.SND.WND, or for data never sent, is dropped.
        if ack > sndMax {
            ackNow = true
            statistics.droppedSegments += 1
            return false
        }
        if ack < sndUna - maxSndWnd {
            ackNow = true
            statistics.droppedSegments += 1
            return false
        }
        let window = Int(segment.window) << Int(sendWindowShift)
        if sackEnabled && !segment.options.sackBlocks.isEmpty { recordSACK(segment.options.sackBlocks, ack: ack) }
        if sndUna < ack {
            acknowledge(upTo: ack, segment: segment, now: now)
        } else if ack == sndUna && payloadLength == 0 && !segment.flags.contains(.fin)
                    && (window == sndWnd || !segment.options.sackBlocks.isEmpty) && sndMax > sndUna {
            duplicateAck(now: now)
        }
        // RFC 6675 §5 (IsLost(SND.UNA)): enough SACKed above the first hole starts recovery
        // even before three duplicate ACKs.
        if sackEnabled && !inRecovery && sndMax > sndUna && scoreboard.coveredBytes > 2 * sendMSS {
            enterRecovery(now: now)
        }
        // Window update (RFC 9293 §3.10.7.4: SND.WL1 < SEG.SEQ, or equal and SND.WL2 ≤ SEG.ACK).
        if sndWl1 < seq || (sndWl1 == seq && sndWl2 <= ack) {
            let opened = sndWnd == 0 && window > 0
            sndWnd = window
            maxSndWnd = max(maxSndWnd, window)
            sndWl1 = seq
            sndWl2 = ack
            if opened {
                persistDeadline = nil
                probesSent = 0
            }
        }
        return true
    }

    /// New data acknowledged: free it, sample the RTT, grow the window, restart or stop the
    /// retransmission timer (RFC 6298 §5.2–5.3), and move the closing states along.
    func acknowledge(upTo ack: SequenceNumber, segment: TCPRepr, now: StackInstant) {
        let acked = ack - sndUna
        let finAcknowledged = finSequence.map { ack == $0 + 1 } ?? false
        let dataAcked = min(acked - (finAcknowledged ? 1 : 0), sendBuffer.count)
        let flight = sndMax - sndUna
        sendBuffer.consume(dataAcked)
        sndUna = ack
        scoreboard.discard(below: ack)
        retransmittedInFlight = max(0, retransmittedInFlight - acked)
        if sndNxt < sndUna { sndNxt = sndUna }
        statistics.bytesAcked += dataAcked
        retransmissions = 0
        probesSent = 0
        stalledSince = nil
        eventPending = true

        // RTT: timestamps echo when present (RFC 7323 §4), else the timed segment (Karn).
        var rtt: UInt64?
        if timestampsEnabled, let ts = segment.options.timestamps, ts.echoReply != 0 {
            rtt = rttFromEcho(ts.echoReply, now: now)
        } else if let timed = timedSegment, timed.sequence < ack {
            rtt = now &- timed.sentAt
            timedSegment = nil
        }
        if let rtt { rttEstimator.sample(rtt: rtt) }

        if inRecovery {
            if ack >= recoveryPoint {
                inRecovery = false
                retransmittedInFlight = 0
                congestion.onRecoveryExit(now: now)
            } else if !sackEnabled {
                // RFC 6582 §3.2 step 5: a partial ACK retransmits the next unacknowledged segment.
                retransmitFirstUnacknowledged = true
            }
        } else {
            congestion.onAck(ackedBytes: acked, rtt: rtt, flightSize: flight, now: now)
        }
        duplicateAcks = 0
        retransmitDeadline = sndMax > sndUna ? now + rttEstimator.rto : nil

        if finAcknowledged {
            switch state {
            case .finWait1: enter(.finWait2)
            case .closing: enterTimeWait(now: now)
            case .lastAck: enter(.closed)
            default: break
            }
        }
    }

    /// A duplicate ACK (RFC 5681 §3.2): the third starts fast retransmit and recovery.
    func duplicateAck(now: StackInstant) {
        duplicateAcks += 1
        guard duplicateAcks == 3, !inRecovery else { return }
        enterRecovery(now: now)
    }

    /// Fast recovery: halve the window (RFC 5681 §3.2, RFC 9438 §4.6) and retransmit — the
    /// first unacknowledged segment (NewReno), or the holes the scoreboard shows (RFC 6675).
    func enterRecovery(now: StackInstant) {
        inRecovery = true
        recoveryPoint = sndMax
        congestion.onFastRetransmit(flightSize: sndMax - sndUna, now: now)
        timedSegment = nil
        highRetransmitted = sndUna
        retransmittedInFlight = 0
        if !sackEnabled { retransmitFirstUnacknowledged = true }
    }

    /// Adds the peer's SACK blocks to the scoreboard (RFC 2018 §3): only blocks within
    /// (SND.UNA, SND.MAX]; others are D-SACKs or bogus and are ignored.
    func recordSACK(_ blocks: TCPSackBlocks, ack: SequenceNumber) {
        let floor = sndUna < ack ? ack : sndUna
        for block in blocks {
            let left = SequenceNumber(block.left), right = SequenceNumber(block.right)
            guard left < right, floor < right, right <= sndMax else { continue }
            _ = scoreboard.insert(start: floor < left ? left : floor, end: right)
        }
    }

    /// Puts in-window data into the receive buffer; returns the bytes accepted (after trimming
    /// what was already received and what lies beyond the window). In-order data extends
    /// the stream (and may fill a hole, releasing held data); out-of-order data is parked at
    /// its offset in the buffer's free space and remembered for SACK (RFC 2018), and is
    /// answered with an immediate duplicate ACK (RFC 5681 §4.2).
    func acceptData(seq: SequenceNumber, payload: UnsafeRawBufferPointer, now: StackInstant) -> Int {
        let skip = max(0, rcvNxt - seq)
        guard skip < payload.count else {
            ackNow = true // an entire duplicate: tell the peer where we are
            return 0
        }
        let start = seq + skip
        if receiveShutdown {
            guard start == rcvNxt else { return 0 }
            let n = payload.count - skip // shut down for reading: acknowledged and discarded
            rcvNxt += n
            ackNow = true
            return n
        }
        let bufferEnd = rcvNxt + receiveBuffer.freeSpace
        let windowEnd = rcvAdvertisedEdge < bufferEnd ? rcvAdvertisedEdge : bufferEnd
        let room = windowEnd - start
        guard room > 0 else {
            ackNow = true
            return 0
        }
        let fresh = UnsafeRawBufferPointer(rebasing: payload[skip..<min(payload.count, skip + room)])
        if start > rcvNxt {
            let written = receiveBuffer.write(fresh, beyondTailBy: start - rcvNxt)
            if written == 0 || !outOfOrder.insert(start: start, end: start + written) { return 0 }
            ackNow = true
            return written
        }
        let taken = receiveBuffer.append(fresh)
        rcvNxt += taken
        statistics.bytesReceived += taken
        if let end = outOfOrder.advance(from: rcvNxt) {
            let released = end - rcvNxt
            receiveBuffer.commit(released)
            statistics.bytesReceived += released
            rcvNxt = end
            ackNow = true // a hole was filled: acknowledge at once (RFC 5681 §4.2)
        }
        if taken > 0 { eventPending = true }
        unacknowledgedBytes += taken
        // Linux acknowledges at once when more than one full segment is unacknowledged,
        // otherwise within the delayed-ACK timeout (40 ms, TCP_DELACK_MIN).
        if unacknowledgedBytes >= 2 * sendMSS || taken < fresh.count || !outOfOrder.isEmpty {
            ackNow = true
        } else if delayedAckDeadline == nil {
            delayedAckDeadline = now + 40 * StackDuration.millisecond
        }
        return taken
    }

    /// SYN-SENT (RFC 9293 §3.10.7.3).
    func receiveInSynSent(_ segment: TCPRepr, payload: UnsafeRawBufferPointer, now: StackInstant) {
        let flags = segment.flags
        let ack = SequenceNumber(segment.acknowledgmentNumber)
        var ackAcceptable = false
        if flags.contains(.ack) {
            guard iss < ack && ack <= sndMax else {
                if !flags.contains(.rst) { sendReset(sequence: ack) }
                return
            }
            ackAcceptable = true
        }
        if flags.contains(.rst) {
            if ackAcceptable { fail(.refused) }
            return
        }
        guard flags.contains(.syn) else { return }
        lastReceived = now
        irs = SequenceNumber(segment.sequenceNumber)
        rcvNxt = irs + 1
        rcvAdvertisedEdge = rcvNxt
        adoptSynOptions(segment)
        sndWnd = Int(segment.window)
        maxSndWnd = sndWnd
        sndWl1 = irs
        sndWl2 = ack
        ackNow = true
        if ackAcceptable {
            synAcknowledged = true
            sndUna = ack
            retransmitDeadline = nil
            retransmissions = 0
            if let ts = segment.options.timestamps, timestampsEnabled, ts.echoReply != 0 {
                rttEstimator.sample(rtt: rttFromEcho(ts.echoReply, now: now))
            } else if let timed = timedSegment {
                rttEstimator.sample(rtt: now &- timed.sentAt)
            }
            timedSegment = nil
            congestion = Self.makeCongestionControl(configuration, mss: sendMSS)
            enter(.established)
            armKeepAlive(now: now)
        } else {
            // Simultaneous open (RFC 9293 §3.5, figure 8): SYN-ACK from SYN-RECEIVED.
            enter(.synReceived)
            sndNxt = iss
        }
    }

    /// The RTT a timestamp echo reveals (our TSval clock ticks in milliseconds).
    func rttFromEcho(_ echo: UInt32, now: StackInstant) -> UInt64 {
        let elapsed = timestampClock(now) &- echo
        return UInt64(max(1, elapsed)) * StackDuration.millisecond
    }

    /// Our TSval at `now`: a millisecond clock plus the per-connection offset (Linux, TCP_TS_HZ 1000).
    func timestampClock(_ now: StackInstant) -> UInt32 {
        UInt32(truncatingIfNeeded: now / StackDuration.millisecond) &+ timestampOffset
    }

    func enterTimeWait(now: StackInstant) {
        enter(.timeWait)
        timeWaitDeadline = now + configuration.timeWaitDuration
    }
}
