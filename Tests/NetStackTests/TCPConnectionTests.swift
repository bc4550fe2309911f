import Testing
import Wire
@testable import NetStack

/// One connection driven segment by segment, in smoltcp's manner: feed a segment, assert
/// the segments that come out.
final class TCPProbe {
    let local = IPAddress("10.0.0.1")!
    let remote = IPAddress("10.0.0.2")!
    var now: UInt64 = 100 * StackDuration.second
    var connection: TCPConnection!
    var out: [TCPOutgoingSegment] = []
    let iss: UInt32 = 1000
    let peerISS: UInt32 = 5000

    var tuple: TCPFourTuple { TCPFourTuple(localAddress: local, localPort: 40000, remoteAddress: remote, remotePort: 179) }

    /// Starts an active open and returns the SYN.
    func connect(_ configure: (inout TCPConfiguration) -> Void = { _ in }) -> TCPRepr {
        var configuration = TCPConfiguration()
        configure(&configuration)
        connection = TCPConnection(connecting: tuple, configuration: configuration, initialSequenceNumber: iss,
                                   timestampOffset: 0, now: now)
        return poll().first!
    }

    @discardableResult
    func poll() -> [TCPRepr] {
        out.removeAll()
        connection.poll(now: now) { out.append($0) }
        return out.map(\.header)
    }

    /// Feeds a segment from the peer and returns what the connection sends at once.
    @discardableResult
    func feed(seq: UInt32, ack: UInt32? = nil, flags: TCPFlags, window: UInt16 = 65535, options: TCPOptions = TCPOptions(),
              payload: [UInt8] = []) -> [TCPRepr] {
        var header = TCPRepr(sourcePort: 179, destinationPort: 40000, sequenceNumber: seq,
                             acknowledgmentNumber: ack ?? 0, flags: ack == nil ? flags : flags.union(.ack), window: window,
                             options: options, payloadLength: payload.count)
        header.payloadLength = payload.count
        payload.withUnsafeBytes { connection.receive(header, payload: $0, now: now) }
        return poll()
    }

    /// Completes the handshake (peer without timestamps or SACK, window scale 0 unless given).
    func establish(peerOptions: TCPOptions = TCPOptions(maximumSegmentSize: 1000),
                   _ configure: (inout TCPConfiguration) -> Void = { _ in }) {
        _ = connect(configure)
        let replies = feed(seq: peerISS, ack: iss + 1, flags: [.syn], options: peerOptions)
        precondition(connection.state == .established && replies.count == 1)
    }

    func write(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { (try? connection.send($0)) ?? -1 }
    }

    func advance(milliseconds: UInt64) { now += milliseconds * StackDuration.millisecond }
}

@Suite struct TCPConnectionTests {
    @Test func synCarriesOurOptions() {
        let probe = TCPProbe()
        let syn = probe.connect()
        #expect(syn.flags == [.syn])
        #expect(syn.sequenceNumber == probe.iss)
        #expect(syn.options.maximumSegmentSize == 1380)
        #expect(syn.options.windowScale == 4) // 512 KiB = 2^19 needs a shift of 4 to fit 16 bits
        #expect(syn.options.sackPermitted)
        #expect(syn.options.timestamps?.echoReply == 0)
        #expect(syn.window == 65535)
    }

    @Test func synAckEstablishesAndIsAcknowledged() {
        let probe = TCPProbe()
        _ = probe.connect()
        let replies = probe.feed(seq: probe.peerISS, ack: probe.iss + 1, flags: [.syn], window: 1000,
                                 options: TCPOptions(maximumSegmentSize: 1200, windowScale: 2))
        #expect(probe.connection.state == .established)
        #expect(replies.count == 1)
        #expect(replies[0].flags == [.ack])
        #expect(replies[0].acknowledgmentNumber == probe.peerISS + 1)
        #expect(probe.connection.sendMSS == 1200) // no timestamps: no 12-byte deduction
        #expect(probe.connection.sndWnd == 1000) // a SYN's window is never scaled
        #expect(!probe.connection.timestampsEnabled && !probe.connection.sackEnabled)
    }

    @Test func synSentRefusedByResetWithAcceptableAck() {
        let probe = TCPProbe()
        _ = probe.connect()
        probe.feed(seq: 0, flags: [.rst]) // no ACK: ignored (RFC 9293 §3.10.7.3)
        #expect(probe.connection.state == .synSent)
        probe.feed(seq: 0, ack: probe.iss + 1, flags: [.rst])
        #expect(probe.connection.state == .closed)
        #expect(probe.connection.pendingError == .refused)
    }

    @Test func synSentBadAckGetsReset() {
        let probe = TCPProbe()
        _ = probe.connect()
        let replies = probe.feed(seq: probe.peerISS, ack: 77, flags: [.syn])
        #expect(replies.count == 1)
        #expect(replies[0].flags == [.rst])
        #expect(replies[0].sequenceNumber == 77)
        #expect(probe.connection.state == .synSent)
    }

    @Test func simultaneousOpen() {
        let probe = TCPProbe()
        _ = probe.connect()
        let synAck = probe.feed(seq: probe.peerISS, flags: [.syn])
        #expect(probe.connection.state == .synReceived)
        #expect(synAck.first?.flags == [.syn, .ack])
        #expect(synAck.first?.sequenceNumber == probe.iss)
        probe.feed(seq: probe.peerISS + 1, ack: probe.iss + 1, flags: [])
        #expect(probe.connection.state == .established)
    }

    @Test func inWindowResetIsChallengedExactResetCloses() {
        let probe = TCPProbe()
        probe.establish()
        let challenge = probe.feed(seq: probe.peerISS + 100, flags: [.rst])
        #expect(probe.connection.state == .established)
        #expect(challenge.first?.flags == [.ack])
        #expect(challenge.first?.acknowledgmentNumber == probe.peerISS + 1)
        probe.feed(seq: probe.peerISS + 1, flags: [.rst])
        #expect(probe.connection.state == .closed)
        #expect(probe.connection.pendingError == .reset)
    }

    @Test func synInEstablishedGetsChallengeAck() {
        let probe = TCPProbe()
        probe.establish()
        let replies = probe.feed(seq: probe.peerISS + 10, flags: [.syn])
        #expect(replies.first?.flags == [.ack])
        #expect(probe.connection.state == .established)
    }

    @Test func ackForUnsentDataIsAnsweredAndDropped() {
        let probe = TCPProbe()
        probe.establish()
        let replies = probe.feed(seq: probe.peerISS + 1, ack: probe.iss + 500, flags: [], payload: [1, 2, 3])
        #expect(replies.first?.acknowledgmentNumber == probe.peerISS + 1) // the data was not taken
        #expect(probe.connection.bytesReadable == 0)
    }

    @Test func outOfWindowDataIsAcknowledgedNotTaken() {
        let probe = TCPProbe()
        probe.establish()
        let replies = probe.feed(seq: probe.peerISS + 1 + 10_000_000, ack: probe.iss + 1, flags: [], payload: [1])
        #expect(replies.first?.acknowledgmentNumber == probe.peerISS + 1)
        #expect(probe.connection.bytesReadable == 0)
    }

    @Test func delayedAckWaitsFortyMillisecondsUnlessTwoSegments() {
        let probe = TCPProbe()
        probe.establish()
        #expect(probe.feed(seq: probe.peerISS + 1, ack: probe.iss + 1, flags: [.psh], payload: [1, 2, 3]).isEmpty)
        probe.advance(milliseconds: 39)
        #expect(probe.poll().isEmpty)
        probe.advance(milliseconds: 1)
        #expect(probe.poll().first?.acknowledgmentNumber == probe.peerISS + 4)
        let full = [UInt8](repeating: 1, count: 1000)
        #expect(probe.feed(seq: probe.peerISS + 4, ack: probe.iss + 1, flags: [], payload: full).isEmpty)
        let replies = probe.feed(seq: probe.peerISS + 1004, ack: probe.iss + 1, flags: [], payload: full)
        #expect(replies.first?.acknowledgmentNumber == probe.peerISS + 2004)
    }

    /// tcp_cleanup_rbuf: a read sends a window update only if the window still advertised
    /// is at most half the buffer and the read at least doubles it.
    @Test func windowUpdatesOnlyWhenTheWindowReopensFromLow() {
        let probe = TCPProbe()
        probe.establish { $0.receiveBufferSize = 8000 }
        let segment = [UInt8](repeating: 7, count: 1000)
        var sink = [UInt8](repeating: 0, count: 8000)
        probe.feed(seq: probe.peerISS + 1, ack: probe.iss + 1, flags: [], payload: segment)
        let ack = probe.feed(seq: probe.peerISS + 1001, ack: probe.iss + 1, flags: [], payload: segment)
        #expect(ack.first?.acknowledgmentNumber == probe.peerISS + 2001 && ack.first?.window == 6000)
        // A reader that keeps up: 6000 of 8000 still advertised, no update of its own.
        #expect(sink.withUnsafeMutableBytes { probe.connection.receive(into: $0) } == 2000)
        #expect(probe.poll().isEmpty)
        // The peer fills the window; once the reader drains it, the update goes at once.
        for k in 0..<6 {
            probe.feed(seq: probe.peerISS + 2001 + UInt32(k * 1000), ack: probe.iss + 1, flags: [], payload: segment)
        }
        probe.poll()
        #expect(sink.withUnsafeMutableBytes { probe.connection.receive(into: $0) } == 6000)
        let update = probe.poll()
        #expect(update.count == 1 && update.first?.window == 8000)
        #expect(update.first?.acknowledgmentNumber == probe.peerISS + 8001)
    }

    @Test func nagleHoldsSmallWritesWhileDataIsInFlight() {
        let probe = TCPProbe()
        probe.establish()
        #expect(probe.write([1]) == 1)
        #expect(probe.poll().first?.payloadLength == 1)
        #expect(probe.write([2]) == 1)
        #expect(probe.poll().isEmpty)
        probe.feed(seq: probe.peerISS + 1, ack: probe.iss + 2, flags: [])
        #expect(probe.out.first?.header.payloadLength == 1) // released by the ACK
    }

    @Test func noDelaySendsAtOnce() {
        let probe = TCPProbe()
        probe.establish { $0.noDelay = true }
        _ = probe.write([1])
        _ = probe.poll()
        _ = probe.write([2])
        #expect(probe.poll().first?.payloadLength == 1)
    }

    @Test func threeDuplicateAcksTriggerFastRetransmit() {
        let probe = TCPProbe()
        probe.establish()
        _ = probe.write([UInt8](repeating: 9, count: 5000))
        let sent = probe.poll()
        #expect(sent.count == 5)
        #expect(sent.allSatisfy { $0.payloadLength == 1000 })
        probe.feed(seq: probe.peerISS + 1, ack: probe.iss + 1001, flags: [])
        probe.feed(seq: probe.peerISS + 1, ack: probe.iss + 1001, flags: [])
        probe.feed(seq: probe.peerISS + 1, ack: probe.iss + 1001, flags: [])
        let retransmitted = probe.feed(seq: probe.peerISS + 1, ack: probe.iss + 1001, flags: [])
        #expect(retransmitted.first?.sequenceNumber == probe.iss + 1001)
        #expect(probe.connection.inRecovery)
    }

    @Test func retransmissionTimeoutBacksOff() {
        let probe = TCPProbe()
        probe.establish()
        _ = probe.write([1, 2, 3])
        #expect(probe.poll().count == 1)
        let rto = probe.connection.rttEstimator.rto
        probe.now += rto - 1
        #expect(probe.poll().isEmpty)
        probe.now += 1
        let first = probe.poll()
        #expect(first.first?.sequenceNumber == probe.iss + 1)
        #expect(first.first?.payloadLength == 3)
        probe.now += rto // doubled: not yet
        #expect(probe.poll().isEmpty)
        probe.now += rto
        #expect(probe.poll().count == 1)
        #expect(probe.connection.statistics.retransmittedSegments == 2)
    }

    @Test func simultaneousCloseGoesThroughClosing() {
        let probe = TCPProbe()
        probe.establish()
        probe.connection.shutdownSend()
        let fin = probe.poll()
        #expect(fin.first?.flags == [.ack, .fin])
        #expect(probe.connection.state == .finWait1)
        probe.feed(seq: probe.peerISS + 1, ack: probe.iss + 1, flags: [.fin])
        #expect(probe.connection.state == .closing)
        probe.feed(seq: probe.peerISS + 2, ack: probe.iss + 2, flags: [])
        #expect(probe.connection.state == .timeWait)
        probe.now += 60 * StackDuration.second
        probe.poll()
        #expect(probe.connection.state == .closed)
    }

    @Test func passiveCloseThroughLastAck() {
        let probe = TCPProbe()
        probe.establish()
        probe.feed(seq: probe.peerISS + 1, ack: probe.iss + 1, flags: [.fin])
        #expect(probe.connection.state == .closeWait)
        #expect(probe.out.first?.header.acknowledgmentNumber == probe.peerISS + 2)
        probe.connection.shutdownSend()
        #expect(probe.poll().first?.flags == [.ack, .fin])
        #expect(probe.connection.state == .lastAck)
        probe.feed(seq: probe.peerISS + 2, ack: probe.iss + 2, flags: [])
        #expect(probe.connection.state == .closed)
        #expect(probe.connection.pendingError == nil)
    }

    @Test func windowScaleAppliesAfterTheHandshake() {
        let probe = TCPProbe()
        _ = probe.connect()
        probe.feed(seq: probe.peerISS, ack: probe.iss + 1, flags: [.syn], window: 100,
                   options: TCPOptions(maximumSegmentSize: 1000, windowScale: 4))
        probe.feed(seq: probe.peerISS + 1, ack: probe.iss + 1, flags: [], window: 100)
        #expect(probe.connection.sndWnd == 1600)
        #expect(probe.connection.receiveWindowShift == 4)
    }

    @Test func pawsDropsOldTimestamps() {
        let probe = TCPProbe()
        probe.establish(peerOptions: TCPOptions(maximumSegmentSize: 1000, timestamps: TCPTimestamps(value: 500, echoReply: 0)))
        #expect(probe.connection.timestampsEnabled)
        probe.feed(seq: probe.peerISS + 1, ack: probe.iss + 1, flags: [],
                   options: TCPOptions(timestamps: TCPTimestamps(value: 400, echoReply: 0)), payload: [1])
        #expect(probe.connection.bytesReadable == 0)
        #expect(probe.connection.statistics.droppedSegments == 1)
        #expect(probe.out.first?.header.options.timestamps?.echoReply == 500)
    }

    @Test func keepaliveProbesThenTimesOut() {
        let probe = TCPProbe()
        probe.establish {
            $0.keepAlive = true
            $0.keepAliveIdle = 10 * StackDuration.second
            $0.keepAliveInterval = StackDuration.second
            $0.keepAliveCount = 2
        }
        probe.poll()
        probe.now += 10 * StackDuration.second
        let first = probe.poll()
        #expect(first.first?.sequenceNumber == probe.iss) // SND.UNA − 1
        #expect(first.first?.payloadLength == 0)
        probe.now += StackDuration.second
        #expect(probe.poll().count == 1)
        probe.now += StackDuration.second
        let reset = probe.poll()
        #expect(reset.first?.flags.contains(.rst) == true)
        #expect(probe.connection.pendingError == .timedOut)
    }

    @Test func zeroWindowProbeUsesOldSequence() {
        let probe = TCPProbe()
        probe.establish()
        probe.feed(seq: probe.peerISS + 1, ack: probe.iss + 1, flags: [], window: 0)
        _ = probe.write([1, 2, 3])
        #expect(probe.poll().isEmpty)
        probe.now += probe.connection.rttEstimator.rto
        let probes = probe.poll()
        #expect(probes.count == 1)
        #expect(probes.first?.sequenceNumber == probe.iss)
        probe.feed(seq: probe.peerISS + 1, ack: probe.iss + 1, flags: [], window: 1000)
        #expect(probe.out.first?.header.payloadLength == 3)
    }
}
