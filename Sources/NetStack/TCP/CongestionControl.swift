/// A congestion controller: it owns cwnd and ssthresh and is told about ACKs, the start
/// and end of fast recovery, and retransmission timeouts. Windows are in bytes.
public protocol CongestionControl {
    /// cwnd.
    var congestionWindow: Int { get }
    /// ssthresh.
    var slowStartThreshold: Int { get }
    /// The name TCP_CONGESTION reports ("reno", "cubic").
    var name: String { get }
    /// New data acknowledged outside recovery; `rtt` is the sample this ACK gave, if any.
    mutating func onAck(ackedBytes: Int, rtt: UInt64?, flightSize: Int, now: StackInstant)
    /// Fast retransmit: loss detected by duplicate ACKs or SACK; enter recovery.
    mutating func onFastRetransmit(flightSize: Int, now: StackInstant)
    /// Recovery ended (the ACK covered the recovery point).
    mutating func onRecoveryExit(now: StackInstant)
    /// The retransmission timer fired.
    mutating func onRetransmissionTimeout(flightSize: Int, now: StackInstant)
}

/// The initial window of RFC 6928: min(10·MSS, max(2·MSS, 14600)).
func initialWindow(mss: Int) -> Int { min(10 * mss, max(2 * mss, 14600)) }

/// NewReno (RFC 5681, RFC 6582): slow start with appropriate byte counting (RFC 3465,
/// L = 2·SMSS), congestion avoidance of one SMSS per window, halving on loss, one SMSS
/// after a timeout.
public struct NewReno: CongestionControl {
    /// cwnd.
    public private(set) var congestionWindow: Int
    /// ssthresh (unbounded at first).
    public private(set) var slowStartThreshold = Int.max
    /// "reno".
    public let name = "reno"
    private let mss: Int
    private var avoidanceCredit = 0

    /// A controller for segments of `maximumSegmentSize` bytes, starting at the initial window.
    public init(maximumSegmentSize: Int) {
        mss = max(1, maximumSegmentSize)
        congestionWindow = initialWindow(mss: mss)
    }

    /// Slow start below ssthresh, else +1 SMSS per cwnd of acknowledged bytes (RFC 5681 §3.1).
    public mutating func onAck(ackedBytes: Int, rtt: UInt64?, flightSize: Int, now: StackInstant) {
        if congestionWindow < slowStartThreshold {
            congestionWindow += min(ackedBytes, 2 * mss)
        } else {
            avoidanceCredit += ackedBytes
            if avoidanceCredit >= congestionWindow {
                avoidanceCredit -= congestionWindow
                congestionWindow += mss
            }
        }
    }

    /// ssthresh = max(FlightSize / 2, 2·SMSS) (RFC 5681 §3.2 eq. 4); cwnd = ssthresh.
    public mutating func onFastRetransmit(flightSize: Int, now: StackInstant) {
        slowStartThreshold = max(flightSize / 2, 2 * mss)
        congestionWindow = slowStartThreshold
    }

    /// cwnd = ssthresh (RFC 6582 §3.2 step 6).
    public mutating func onRecoveryExit(now: StackInstant) { congestionWindow = slowStartThreshold }

    /// ssthresh as on loss; cwnd = 1 SMSS (RFC 5681 §3.1, the loss window).
    public mutating func onRetransmissionTimeout(flightSize: Int, now: StackInstant) {
        slowStartThreshold = max(flightSize / 2, 2 * mss)
        congestionWindow = mss
    }
}
