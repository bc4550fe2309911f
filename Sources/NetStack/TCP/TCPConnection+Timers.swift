extension TCPConnection {
    /// Runs the timers that are due at `now`: TIME-WAIT expiry, retransmission (RFC 6298 §5.4–5.7),
    /// the zero-window probe (RFC 9293 §3.8.6.1), the delayed ACK and keepalive (RFC 9293 §3.8.4).
    func runTimers(now: StackInstant, emit: (TCPOutgoingSegment) -> Void) {
        if let deadline = timeWaitDeadline, now >= deadline {
            timeWaitDeadline = nil
            enter(.closed)
            return
        }
        if let deadline = retransmitDeadline, now >= deadline {
            retransmissionTimeout(now: now)
            if state == .closed { return }
        }
        if let deadline = persistDeadline, now >= deadline {
            persistDeadline = nil
            probesSent += 1
            sendProbe(now: now, emit: emit)
            rttEstimator.backoff()
        }
        if let deadline = delayedAckDeadline, now >= deadline {
            delayedAckDeadline = nil
            ackNow = true
        }
        keepAliveTimer(now: now, emit: emit)
    }

    /// The retransmission timer fired: give up after the configured retries (ETIMEDOUT, as
    /// Linux after tcp_syn_retries / tcp_retries2), else back off, collapse the congestion
    /// window (RFC 5681 §3.1) and resend from SND.UNA.
    func retransmissionTimeout(now: StackInstant) {
        retransmitDeadline = nil
        let limit = state == .synSent || state == .synReceived ? configuration.synRetries : configuration.dataRetries
        let userTimedOut = configuration.userTimeout > 0 && stalledSince.map { now &- $0 >= configuration.userTimeout } ?? false
        if retransmissions >= limit || userTimedOut {
            if state == .synReceived { enter(.closed) } else { fail(softError ?? .timedOut) }
            return
        }
        retransmissions += 1
        rttEstimator.backoff()
        if state.isSynchronized {
            congestion.onRetransmissionTimeout(flightSize: sndMax - sndUna, now: now)
            inRecovery = false
            retransmittedInFlight = 0
            duplicateAcks = 0
            retransmitFirstUnacknowledged = false
        }
        timedSegment = nil
        sndNxt = sndUna
    }

    /// Arms the persist timer when the peer's window is closed with data waiting and nothing
    /// in flight to elicit a window update.
    func armPersist(now: StackInstant) {
        let unsent = sendBuffer.count - (sndNxt - sendBufferStart)
        if sndWnd == 0 && unsent > 0 && sndNxt == sndUna {
            if persistDeadline == nil { persistDeadline = now + rttEstimator.rto }
        } else {
            persistDeadline = nil
        }
    }

    /// A zero-window or keepalive probe: an ACK carrying the already acknowledged sequence
    /// number SND.UNA − 1, which the peer must answer with an ACK (Linux's tcp_xmit_probe_skb).
    func sendProbe(now: StackInstant, emit: (TCPOutgoingSegment) -> Void) {
        let header = makeHeader(flags: [.ack], sequence: sndUna - 1, now: now)
        emitSegment(header, emit: emit)
    }

    /// SO_KEEPALIVE: after TCP_KEEPIDLE of silence, a probe every TCP_KEEPINTVL; after
    /// TCP_KEEPCNT unanswered probes the connection is reset and fails with ETIMEDOUT.
    func keepAliveTimer(now: StackInstant, emit: (TCPOutgoingSegment) -> Void) {
        guard configuration.keepAlive, state == .established || state == .closeWait else {
            keepAliveDeadline = nil
            return
        }
        guard let deadline = keepAliveDeadline else {
            armKeepAlive(now: now)
            return
        }
        guard now >= deadline else { return }
        let idle = now &- lastReceived
        if idle < configuration.keepAliveIdle && keepAliveProbesSent == 0 {
            keepAliveDeadline = lastReceived + configuration.keepAliveIdle
            return
        }
        if keepAliveProbesSent >= configuration.keepAliveCount {
            abort(now: now, emit: emit)
            pendingError = .timedOut
            return
        }
        keepAliveProbesSent += 1
        sendProbe(now: now, emit: emit)
        keepAliveDeadline = now + configuration.keepAliveInterval
    }

    /// Starts the keepalive timer from the last arrival, if SO_KEEPALIVE is on.
    func armKeepAlive(now: StackInstant) {
        guard configuration.keepAlive else { return }
        keepAliveDeadline = lastReceived + configuration.keepAliveIdle
    }
}
