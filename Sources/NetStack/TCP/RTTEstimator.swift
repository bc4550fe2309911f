/// The retransmission timeout of RFC 6298: SRTT and RTTVAR smoothed with α = 1/8 and
/// β = 1/4, RTO = SRTT + max(G, 4·RTTVAR), clamped to Linux's TCP_RTO_MIN (200 ms) and
/// TCP_RTO_MAX (120 s); 1 s before the first sample (§2.1); doubled on each timeout (§5.5)
/// until a new sample arrives. Karn's algorithm (§3: no samples from retransmitted
/// segments) is the caller's part; timestamps (RFC 7323 §4) give unambiguous samples.
public struct RTTEstimator: Sendable {
    /// TCP_RTO_MIN.
    public static let minimum: UInt64 = 200 * StackDuration.millisecond
    /// TCP_RTO_MAX.
    public static let maximum: UInt64 = 120 * StackDuration.second
    /// The RTO before any sample (RFC 6298 §2.1).
    public static let initial: UInt64 = StackDuration.second
    /// The clock granularity G (1 ms).
    public static let granularity: UInt64 = StackDuration.millisecond

    /// Smoothed RTT (0 before the first sample).
    public private(set) var srtt: UInt64 = 0
    /// RTT variation.
    public private(set) var rttvar: UInt64 = 0
    /// The timeout now, backoff included.
    public private(set) var rto: UInt64 = RTTEstimator.initial
    /// The smallest sample seen (TCP_INFO's tcpi_min_rtt).
    public private(set) var minimumRTT: UInt64 = .max
    /// Timeouts since the last sample (TCP_INFO's tcpi_backoff).
    public private(set) var backoffCount = 0

    /// An estimator with no samples.
    public init() {}

    /// Takes one RTT measurement (RFC 6298 §2.2–2.3) and clears the backoff.
    public mutating func sample(rtt: UInt64) {
        minimumRTT = min(minimumRTT, rtt)
        if srtt == 0 {
            srtt = rtt
            rttvar = rtt / 2
        } else {
            let deviation = srtt > rtt ? srtt - rtt : rtt - srtt
            rttvar = (3 * rttvar + deviation) / 4
            srtt = (7 * srtt + rtt) / 8
        }
        backoffCount = 0
        rto = min(max(srtt + max(Self.granularity, 4 * rttvar), Self.minimum), Self.maximum)
    }

    /// Doubles the timeout after it fired (RFC 6298 §5.5), up to the maximum.
    public mutating func backoff() {
        backoffCount += 1
        rto = min(rto * 2, Self.maximum)
    }
}
