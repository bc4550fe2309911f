import Wire
import Testing
@testable import WireGuard

/// The timers of paper §6, driven event by event with explicit time.
@Suite struct PeerTimerTests {
    let s = ProtocolConstants.second

    @Test func retransmissionWithJitterUntilTheHandshakeCompletes() {
        var timers = PeerTimers()
        timers.handshakeInitiated(now: 0, jitter: 100)
        #expect(timers.deadline(.retransmitHandshake) == 5 * s + 100)
        #expect(timers.expire(now: 5 * s).isEmpty)
        #expect(timers.expire(now: 5 * s + 100) == [.retransmitHandshake])
        #expect(!timers.isArmed(.retransmitHandshake))
        timers.handshakeInitiated(now: 6 * s, jitter: ProtocolConstants.rekeyTimeoutJitterMax + 5)
        #expect(timers.deadline(.retransmitHandshake)! <= 6 * s + 5 * s + ProtocolConstants.rekeyTimeoutJitterMax)
        #expect(timers.handshakeAttempts == 2)
        timers.handshakeComplete()
        #expect(!timers.isArmed(.retransmitHandshake) && timers.handshakeAttempts == 0)
        #expect(PeerTimers.maximumHandshakeAttempts == 18)
    }

    @Test func keepaliveAfterReceivingWithoutSending() {
        var timers = PeerTimers()
        timers.dataReceived(now: 0)
        timers.dataReceived(now: 3 * s)  // already armed: not pushed back
        #expect(timers.deadline(.sendKeepalive) == 10 * s)
        timers.anyAuthenticatedPacketSent()  // we answered: no keepalive needed
        #expect(!timers.isArmed(.sendKeepalive))
        timers.dataReceived(now: 20 * s)
        #expect(timers.expire(now: 30 * s) == [.sendKeepalive])
    }

    @Test func newHandshakeWhenSentDataGetsNoAnswer() {
        var timers = PeerTimers()
        timers.dataSent(now: 0)
        #expect(timers.deadline(.newHandshake) == 15 * s)
        timers.anyAuthenticatedPacketReceived()
        #expect(!timers.isArmed(.newHandshake))
        timers.dataSent(now: 100 * s)
        #expect(timers.expire(now: 115 * s) == [.newHandshake])
    }

    @Test func persistentKeepaliveAndKeyErasure() {
        var timers = PeerTimers()
        timers.anyAuthenticatedPacketTraversal(now: 0)
        #expect(!timers.isArmed(.persistentKeepalive))  // off by default
        timers.persistentKeepaliveInterval = 25
        timers.anyAuthenticatedPacketTraversal(now: 0)
        #expect(timers.deadline(.persistentKeepalive) == 25 * s)
        timers.sessionDerived(now: 0)
        #expect(timers.deadline(.zeroKeyMaterial) == 540 * s)
        #expect(Set(timers.expire(now: 540 * s)) == [.persistentKeepalive, .zeroKeyMaterial])
        #expect(timers.nextDeadline == nil)
    }
}

/// Keypair limits: counters, REKEY_AFTER_TIME for initiators, REJECT_AFTER_TIME for all.
@Suite struct KeypairTests {
    let s = ProtocolConstants.second

    func keypair(initiator: Bool, created: UInt64 = 0) -> Keypair {
        Keypair(keys: .init(sending: [UInt8](repeating: 1, count: 32),
                            receiving: [UInt8](repeating: 2, count: 32), localIndex: 1,
                            remoteIndex: 2, isInitiator: initiator), created: created)
    }

    @Test func countersAndAge() {
        let pair = keypair(initiator: true)
        #expect(pair.nextSendingCounter(now: 0) == 0)
        #expect(pair.nextSendingCounter(now: 1) == 1)
        #expect(!pair.wantsRekeyOnSend(now: 119 * s))
        #expect(pair.wantsRekeyOnSend(now: 120 * s))
        #expect(!pair.wantsRekeyOnReceive(now: 164 * s))
        #expect(pair.wantsRekeyOnReceive(now: 165 * s))
        #expect(pair.nextSendingCounter(now: 180 * s) == nil)
        #expect(!pair.isUsable(now: 180 * s))
    }

    @Test func respondersDoNotRekeyByAge() {
        let pair = keypair(initiator: false)
        #expect(!pair.wantsRekeyOnSend(now: 170 * s))
        #expect(!pair.wantsRekeyOnReceive(now: 170 * s))
    }
}

/// The per-address token bucket: burst 5, then 20 per second.
@Suite struct HandshakeRateLimiterTests {
    @Test func burstThenSteadyRate() {
        var limiter = HandshakeRateLimiter()
        let a = IPAddress("198.18.1.1")!, b = IPAddress("198.18.1.2")!
        let allowed = (0..<10).filter { _ in limiter.allow(a, now: 1_000) }.count
        #expect(allowed == 5)
        let otherSource = limiter.allow(b, now: 1_000)  // another source has its own bucket
        #expect(otherSource)
        let tooSoon = limiter.allow(a, now: 1_000 + ProtocolConstants.second / 40)
        #expect(!tooSoon)
        let refilled = limiter.allow(a, now: 1_000 + ProtocolConstants.second / 20)
        #expect(refilled)
        // Over one second at most burst + 20 get through.
        var passed = 0
        for step in 0..<1000 where limiter.allow(a, now: 2 * ProtocolConstants.second + UInt64(step) * 1_000_000) {
            passed += 1
        }
        #expect(passed <= 25 && passed >= 20)
    }
}
