// TEMPORARY: stands in for helper-tcpalg's files until they merge. Not committed.
public struct SequenceNumber: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func + (a: Self, b: Int) -> Self { Self(a.rawValue &+ UInt32(truncatingIfNeeded: b)) }
    public static func - (a: Self, b: Int) -> Self { Self(a.rawValue &- UInt32(truncatingIfNeeded: b)) }
    public static func - (a: Self, b: Self) -> Int { Int(Int32(bitPattern: a.rawValue &- b.rawValue)) }
    public static func < (a: Self, b: Self) -> Bool { Int32(bitPattern: a.rawValue &- b.rawValue) < 0 }
    public static func <= (a: Self, b: Self) -> Bool { Int32(bitPattern: a.rawValue &- b.rawValue) <= 0 }
    public static func > (a: Self, b: Self) -> Bool { b < a }
    public static func >= (a: Self, b: Self) -> Bool { b <= a }
    public static func += (a: inout Self, b: Int) { a = a + b }
    public var description: String { "\(rawValue)" }
}
public struct RTTEstimator: Sendable {
    public private(set) var srtt: UInt64 = 0
    public private(set) var rttvar: UInt64 = 0
    public private(set) var rto: UInt64 = 1_000_000_000
    public private(set) var minRTT: UInt64 = .max
    public private(set) var backoffCount = 0
    var base: UInt64 = 1_000_000_000
    public init() {}
    public mutating func sample(rtt: UInt64) {
        minRTT = min(minRTT, rtt)
        if srtt == 0 { srtt = rtt; rttvar = rtt / 2 } else {
            let d = srtt > rtt ? srtt - rtt : rtt - srtt
            rttvar = (3 * rttvar + d) / 4
            srtt = (7 * srtt + rtt) / 8
        }
        base = min(max(srtt + max(1_000_000, 4 * rttvar), 200_000_000), 120_000_000_000)
        backoffCount = 0
        rto = base
    }
    public mutating func backoff() { backoffCount += 1; rto = min(rto * 2, 120_000_000_000) }
}
public protocol CongestionControl {
    var congestionWindow: Int { get }
    var slowStartThreshold: Int { get }
    var name: String { get }
    mutating func onAck(ackedBytes: Int, rtt: UInt64?, flightSize: Int, now: UInt64)
    mutating func onFastRetransmit(flightSize: Int, now: UInt64)
    mutating func onRecoveryExit(now: UInt64)
    mutating func onRetransmissionTimeout(flightSize: Int, now: UInt64)
}
public struct NewReno: CongestionControl {
    public var congestionWindow: Int
    public var slowStartThreshold = Int.max
    public let name = "reno"
    let mss: Int
    public init(maximumSegmentSize: Int) { mss = maximumSegmentSize; congestionWindow = 10 * maximumSegmentSize }
    public mutating func onAck(ackedBytes: Int, rtt: UInt64?, flightSize: Int, now: UInt64) {
        if congestionWindow < slowStartThreshold { congestionWindow += min(ackedBytes, 2 * mss) }
        else { congestionWindow += max(1, mss * mss / congestionWindow) }
    }
    public mutating func onFastRetransmit(flightSize: Int, now: UInt64) {
        slowStartThreshold = max(flightSize / 2, 2 * mss); congestionWindow = slowStartThreshold
    }
    public mutating func onRecoveryExit(now: UInt64) { congestionWindow = slowStartThreshold }
    public mutating func onRetransmissionTimeout(flightSize: Int, now: UInt64) {
        slowStartThreshold = max(flightSize / 2, 2 * mss); congestionWindow = mss
    }
}
