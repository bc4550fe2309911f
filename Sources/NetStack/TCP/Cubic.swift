import Glibc

/// CUBIC (RFC 9438), Linux's default: after a loss the window grows as
/// W(t) = C·(t − K)³ + Wmax, concave up to the previous maximum and convex beyond, with
/// β = 0.7, C = 0.4, fast convergence (§4.7), and the Reno-friendly estimate (§4.3) so it
/// is never slower than Reno. Slow start as NewReno's. Windows in bytes; t in seconds.
public struct Cubic: CongestionControl {
    /// β_cubic (§4.6).
    public static let beta = 0.7
    /// C (§5).
    public static let c = 0.4

    /// cwnd.
    public private(set) var congestionWindow: Int
    /// ssthresh.
    public private(set) var slowStartThreshold = Int.max
    /// "cubic".
    public let name = "cubic"
    private let mss: Int
    /// W_max in segments: the window before the last reduction.
    private(set) var windowMax = 0.0
    /// When the current congestion-avoidance epoch started.
    private var epochStart: StackInstant?
    /// K in seconds (§4.2).
    private(set) var k = 0.0
    /// W_est in segments: the Reno-friendly estimate (§4.3).
    private var renoEstimate = 0.0
    /// cwnd at the start of the epoch, in segments.
    private var epochWindow = 0.0

    /// A controller for segments of `maximumSegmentSize` bytes.
    public init(maximumSegmentSize: Int) {
        mss = max(1, maximumSegmentSize)
        congestionWindow = initialWindow(mss: mss)
    }

    /// Slow start, or the cubic function of the time since the epoch began, never below
    /// the Reno-friendly estimate; growth per ACK is capped at half the acknowledged bytes
    /// beyond the target, as §4.4's (target − cwnd)/cwnd per ACK.
    public mutating func onAck(ackedBytes: Int, rtt: UInt64?, flightSize: Int, now: StackInstant) {
        if congestionWindow < slowStartThreshold {
            congestionWindow += min(ackedBytes, 2 * mss)
            return
        }
        let cwnd = Double(congestionWindow) / Double(mss)
        if epochStart == nil {
            epochStart = now
            epochWindow = cwnd
            if windowMax <= cwnd {
                k = 0
                windowMax = cwnd
            } else {
                k = cbrt((windowMax - cwnd) / Self.c)
            }
            renoEstimate = cwnd
        }
        let t = Double(now &- epochStart!) / Double(StackDuration.second) + Double(rtt ?? 0) / Double(StackDuration.second)
        let target = Self.c * pow(t - k, 3) + windowMax
        // Reno-friendly region (§4.3): W_est grows by α_cubic per window of ACKs.
        let alpha = 3 * (1 - Self.beta) / (1 + Self.beta)
        renoEstimate += alpha * Double(ackedBytes) / Double(congestionWindow)
        var next = cwnd
        if renoEstimate > target {
            next = renoEstimate
        } else if target > cwnd {
            next = cwnd + min((target - cwnd) / cwnd * Double(ackedBytes) / Double(mss), 0.5 * Double(ackedBytes) / Double(mss))
        }
        congestionWindow = max(congestionWindow, Int(next * Double(mss)))
    }

    /// Multiplicative decrease by β and fast convergence (§4.6–4.7).
    public mutating func onFastRetransmit(flightSize: Int, now: StackInstant) {
        reduce()
        congestionWindow = slowStartThreshold
    }

    /// cwnd = ssthresh when recovery ends.
    public mutating func onRecoveryExit(now: StackInstant) {
        congestionWindow = max(congestionWindow, slowStartThreshold)
        epochStart = nil
    }

    /// As a loss, then cwnd = 1 SMSS (§4.8).
    public mutating func onRetransmissionTimeout(flightSize: Int, now: StackInstant) {
        reduce()
        congestionWindow = mss
    }

    private mutating func reduce() {
        let cwnd = Double(congestionWindow) / Double(mss)
        // Fast convergence: a flow whose maximum shrinks releases bandwidth sooner.
        windowMax = cwnd < windowMax ? cwnd * (1 + Self.beta) / 2 : cwnd
        slowStartThreshold = max(Int(cwnd * Self.beta * Double(mss)), 2 * mss)
        epochStart = nil
    }
}
