/// What TCP_INFO reports about a connection (Linux's `tcp_get_info`), read by monitoring
/// tools (`ss -ti`) and daemons.
public struct TCPInfoSnapshot: Sendable {
    /// The MSS segments are sent with (tcpi_snd_mss).
    public var sendMSS: Int
    /// The peer's announced MSS (tcpi_rcv_mss estimate).
    public var receiveMSS: Int
    /// The MSS we announced (tcpi_advmss).
    public var advertisedMSS: Int
    /// Smoothed RTT in microseconds (tcpi_rtt).
    public var smoothedRTTMicroseconds: Int
    /// RTT variance in microseconds (tcpi_rttvar).
    public var rttVarianceMicroseconds: Int
    /// Retransmission timeout in microseconds (tcpi_rto).
    public var rtoMicroseconds: Int
    /// Congestion window in segments (tcpi_snd_cwnd).
    public var congestionWindowSegments: Int
    /// Slow-start threshold in segments (tcpi_snd_ssthresh; Int.max: infinite).
    public var slowStartThresholdSegments: Int
    /// Segments sent and not yet acknowledged (tcpi_unacked).
    public var segmentsUnacknowledged: Int
    /// Window scale we apply to the peer's windows (tcpi_snd_wscale).
    public var sendWindowScale: Int
    /// Window scale the peer applies to ours (tcpi_rcv_wscale).
    public var receiveWindowScale: Int
    /// TCPI_OPT_TIMESTAMPS 1, TCPI_OPT_SACK 2, TCPI_OPT_WSCALE 4.
    public var optionsMask: Int
    /// Path MTU (tcpi_pmtu).
    public var pathMTU: Int
}

extension TCPConnection {
    /// The figures of TCP_INFO, now.
    public var infoSnapshot: TCPInfoSnapshot {
        let mss = max(1, sendMSS)
        let overhead = tuple.remoteAddress.bitWidth == 32 ? 40 : 60
        let threshold = congestion.slowStartThreshold
        return TCPInfoSnapshot(
            sendMSS: sendMSS, receiveMSS: peerMaximumSegmentSize, advertisedMSS: configuration.maximumSegmentSize,
            smoothedRTTMicroseconds: Int(rttEstimator.srtt / 1000), rttVarianceMicroseconds: Int(rttEstimator.rttvar / 1000),
            rtoMicroseconds: Int(rttEstimator.rto / 1000),
            congestionWindowSegments: congestion.congestionWindow / mss,
            slowStartThresholdSegments: threshold == Int.max ? Int.max : threshold / mss,
            segmentsUnacknowledged: (sndNxt - sndUna + mss - 1) / mss,
            sendWindowScale: windowScalingEnabled ? Int(sendWindowShift) : 0,
            receiveWindowScale: windowScalingEnabled ? Int(receiveWindowShift) : 0,
            optionsMask: (timestampsEnabled ? 1 : 0) | (sackEnabled ? 2 : 0) | (windowScalingEnabled ? 4 : 0),
            pathMTU: (pathMSS ?? configuration.maximumSegmentSize) + overhead)
    }

    /// The MSS data is sent with now (TCP_MAXSEG on a connected socket).
    public var currentMSS: Int { sendMSS }
}
