import Testing
import Wire
@testable import NetStack

@Suite struct SipHashTests {
    /// The reference vectors (vectors.h of the SipHash paper's code): key 00…0f, message 00…(n−1).
    @Test(arguments: [(0, UInt64(0x726f_db47_dd0e_0e31)), (1, 0x74f8_39c5_93dc_67fd), (2, 0x0d6c_8009_d9a9_4f5a),
                      (15, 0xa129_ca61_49be_45e5), (63, 0x958a_324c_eb06_4572)])
    func referenceVectors(length: Int, expected: UInt64) {
        var hash = SipHash24(k0: 0x0706_0504_0302_0100, k1: 0x0f0e_0d0c_0b0a_0908)
        hash.append(contentsOf: (0..<length).map { UInt8($0) })
        #expect(hash.finalize() == expected)
    }

    @Test func initialSequenceNumbersFollowRFC6528() {
        let isn = InitialSequenceNumbers(secret: (1, 2))
        let a = TCPFourTuple(localAddress: IPAddress("10.0.0.1")!, localPort: 179,
                             remoteAddress: IPAddress("10.0.0.2")!, remotePort: 40000)
        var b = a
        b.remotePort = 40001
        #expect(isn.initialSequenceNumber(for: a, now: 0) == isn.initialSequenceNumber(for: a, now: 0))
        #expect(isn.initialSequenceNumber(for: a, now: 0) != isn.initialSequenceNumber(for: b, now: 0))
        // M ticks once per 4 µs.
        #expect(isn.initialSequenceNumber(for: a, now: 4_000_000) &- isn.initialSequenceNumber(for: a, now: 0) == 1000)
        #expect(InitialSequenceNumbers(secret: (1, 3)).initialSequenceNumber(for: a, now: 0)
                != isn.initialSequenceNumber(for: a, now: 0))
    }
}

@Suite struct SequenceArithmeticTests {
    @Test func comparisonsWrap() {
        let high = SequenceNumber(0xffff_fff0)
        let low = high + 0x20
        #expect(low.rawValue == 0x10)
        #expect(high < low && low > high && !(low < high))
        #expect(low - high == 0x20 && high - low == -0x20)
    }

    @Test func rangesMergeDiscardAndReportSACK() {
        var ranges = SequenceRanges()
        let base = SequenceNumber(0xffff_ff00) // across the wrap
        do { let ok = ranges.insert(start: base + 100, end: base + 200); #expect(ok) }
        do { let ok = ranges.insert(start: base + 300, end: base + 400); #expect(ok) }
        do { let ok = ranges.insert(start: base + 200, end: base + 250); #expect(ok) } // adjacent: merges
        #expect(ranges.coveredBytes == 250)
        let blocks = ranges.sackBlocks(limit: 3)
        #expect(blocks.first == TCPSackBlock(left: (base + 100).rawValue, right: (base + 250).rawValue))
        let none = ranges.advance(from: base + 50)
        #expect(none == nil)
        let end = ranges.advance(from: base + 120)
        #expect(end == base + 250)
        ranges.discard(below: base + 350)
        #expect(ranges.range(containing: base + 360)?.start == base + 350)
        #expect(ranges.coveredBytes == 50)
    }

    @Test func rangeTableIsBounded() {
        var ranges = SequenceRanges()
        for i in 0..<SequenceRanges.capacity {
            do { let ok = ranges.insert(start: SequenceNumber(UInt32(i * 10)), end: SequenceNumber(UInt32(i * 10 + 5))); #expect(ok) }
        }
        do { let ok = ranges.insert(start: SequenceNumber(100_000), end: SequenceNumber(100_005)); #expect(!ok) }
        #expect(ranges.overflows == 1)
    }

    @Test func byteRingKeepsParkedBytesAcrossReads() {
        let ring = ByteRing(capacity: 16)
        #expect([UInt8](1...6).withUnsafeBytes { ring.append($0) } == 6)
        // Park 3 bytes 2 past the tail (out of order), then read the head away.
        #expect([UInt8]([9, 9, 9]).withUnsafeBytes { ring.write($0, beyondTailBy: 2) } == 3)
        var out = [UInt8](repeating: 0, count: 6)
        #expect(out.withUnsafeMutableBytes { ring.dequeue(into: $0) } == 6)
        #expect([UInt8]([7, 8]).withUnsafeBytes { ring.append($0) } == 2)
        ring.commit(3)
        var rest = [UInt8](repeating: 0, count: 5)
        #expect(rest.withUnsafeMutableBytes { ring.dequeue(into: $0) } == 5)
        #expect(rest == [7, 8, 9, 9, 9])
        // Wrapping writes and reads.
        for round in 0..<20 {
            let chunk = (0..<11).map { UInt8(truncatingIfNeeded: $0 + round) }
            #expect(chunk.withUnsafeBytes { ring.append($0) } == 11)
            var back = [UInt8](repeating: 0, count: 11)
            #expect(back.withUnsafeMutableBytes { ring.dequeue(into: $0) } == 11)
            #expect(back == chunk)
        }
    }

    /// A ring's storage comes with its first write: before it, the ring answers for its
    /// capacity, reads nothing, consumes nothing, and resizes without copying.
    @Test func byteRingWorksBeforeAndAfterItsFirstWrite() {
        let ring = ByteRing(capacity: 8)
        #expect(ring.capacity == 8 && ring.freeSpace == 8 && ring.isEmpty && !ring.isFull)
        var out = [UInt8](repeating: 0, count: 4)
        #expect(out.withUnsafeMutableBytes { ring.dequeue(into: $0) } == 0)
        ring.consume(3)
        ring.resize(capacity: 4)
        #expect(ring.capacity == 4 && ring.freeSpace == 4)
        #expect([UInt8](1...6).withUnsafeBytes { ring.append($0) } == 4)
        #expect(ring.isFull)
        ring.consume(3)
        #expect([UInt8]([5, 6, 7]).withUnsafeBytes { ring.append($0) } == 3)  // wraps
        #expect(out.withUnsafeMutableBytes { ring.dequeue(into: $0) } == 4)
        #expect(out == [4, 5, 6, 7])
        let parked = ByteRing(capacity: 8)  // the first write out of order
        #expect([UInt8]([9, 9]).withUnsafeBytes { parked.write($0, beyondTailBy: 3) } == 2)
        #expect([UInt8]([1, 2, 3]).withUnsafeBytes { parked.append($0) } == 3)
        parked.commit(2)
        var all = [UInt8](repeating: 0, count: 5)
        #expect(all.withUnsafeMutableBytes { parked.dequeue(into: $0) } == 5)
        #expect(all == [1, 2, 3, 9, 9])
    }
}

@Suite struct CongestionControlTests {
    let mss = 1000

    @Test func retransmissionTimerFollowsRFC6298() {
        var rtt = RTTEstimator()
        #expect(rtt.rto == StackDuration.second)
        rtt.sample(rtt: 100 * StackDuration.millisecond)
        // SRTT = R, RTTVAR = R/2, RTO = R + 4·R/2 = 300 ms.
        #expect(rtt.rto == 300 * StackDuration.millisecond)
        rtt.backoff()
        #expect(rtt.rto == 600 * StackDuration.millisecond)
        for _ in 0..<20 { rtt.sample(rtt: StackDuration.millisecond) }
        #expect(rtt.rto == RTTEstimator.minimum) // Linux's 200 ms floor
        for _ in 0..<20 { rtt.backoff() }
        #expect(rtt.rto == RTTEstimator.maximum)
    }

    @Test func newRenoSlowStartAvoidanceAndLoss() {
        var reno = NewReno(maximumSegmentSize: mss)
        #expect(reno.congestionWindow == 10 * mss) // RFC 6928
        reno.onAck(ackedBytes: 10 * mss, rtt: nil, flightSize: 10 * mss, now: 0)
        #expect(reno.congestionWindow == 12 * mss) // ABC: at most 2·SMSS per ACK
        reno.onFastRetransmit(flightSize: 20 * mss, now: 0)
        #expect(reno.slowStartThreshold == 10 * mss && reno.congestionWindow == 10 * mss)
        for _ in 0..<10 { reno.onAck(ackedBytes: mss, rtt: nil, flightSize: 10 * mss, now: 0) }
        #expect(reno.congestionWindow == 11 * mss) // +1 SMSS per window
        reno.onRetransmissionTimeout(flightSize: 8 * mss, now: 0)
        #expect(reno.congestionWindow == mss && reno.slowStartThreshold == 4 * mss)
    }

    @Test func cubicReducesByBetaAndRegrowsTowardWmax() {
        var cubic = Cubic(maximumSegmentSize: mss)
        for _ in 0..<90 { cubic.onAck(ackedBytes: mss, rtt: nil, flightSize: 0, now: 0) }
        #expect(cubic.congestionWindow == 100 * mss)
        cubic.onFastRetransmit(flightSize: 100 * mss, now: 0)
        #expect(cubic.congestionWindow == 70 * mss) // β = 0.7
        cubic.onRecoveryExit(now: 0)
        // K = ∛(Wmax·(1−β)/C) = ∛(100·0.3/0.4) ≈ 4.22 s: near Wmax again by then.
        var now: UInt64 = 0
        for _ in 0..<5_000 {
            now += StackDuration.millisecond
            cubic.onAck(ackedBytes: mss, rtt: 10 * StackDuration.millisecond, flightSize: 0, now: now)
        }
        #expect(abs(cubic.k - 4.217) < 0.01)
        #expect(cubic.congestionWindow > 95 * mss && cubic.congestionWindow < 110 * mss)
    }

    @Test func cubicFastConvergence() {
        var cubic = Cubic(maximumSegmentSize: mss)
        for _ in 0..<90 { cubic.onAck(ackedBytes: mss, rtt: nil, flightSize: 0, now: 0) }
        cubic.onFastRetransmit(flightSize: 0, now: 0)
        #expect(cubic.windowMax == 100)
        // A second loss below the old maximum: Wmax = cwnd·(1+β)/2 (RFC 9438 §4.7).
        cubic.onFastRetransmit(flightSize: 0, now: 0)
        #expect(abs(cubic.windowMax - 70 * 1.7 / 2) < 0.001)
        #expect(cubic.congestionWindow == 49 * mss)
    }
}
