/// TCP_INFO's `struct tcp_info` (Linux 6.7+, 248 bytes): what `tcp_get_info` fills and tools
/// such as `ss -ti` read. Fields srouter does not track stay zero, as Linux leaves them for
/// features that are off.
public struct TCPInfoValues: Equatable, Sendable {
    /// sizeof(struct tcp_info) in Linux 6.7 and later.
    public static let size = 248

    /// tcpi_state (TCP_ESTABLISHED 1 … TCP_LISTEN 10).
    public var state: UInt8 = 0
    /// tcpi_options (TCPI_OPT_TIMESTAMPS 1, SACK 2, WSCALE 4).
    public var options: UInt8 = 0
    /// tcpi_snd_wscale.
    public var sendWindowScale: UInt8 = 0
    /// tcpi_rcv_wscale.
    public var receiveWindowScale: UInt8 = 0
    /// tcpi_delivery_rate_app_limited (byte 7, bit 0): tcp_init_sock starts every socket
    /// app-limited, so a fresh one reports 1 until rate samples say otherwise.
    public var deliveryRateAppLimited = false
    /// tcpi_rto (µs).
    public var rto: UInt32 = 0
    /// tcpi_snd_mss.
    public var sendMSS: UInt32 = 0
    /// tcpi_rcv_mss.
    public var receiveMSS: UInt32 = 0
    /// tcpi_unacked (on a listener: the accept queue's length).
    public var unacked: UInt32 = 0
    /// tcpi_sacked (on a listener: the backlog).
    public var sacked: UInt32 = 0
    /// tcpi_pmtu.
    public var pathMTU: UInt32 = 0
    /// tcpi_rtt (µs).
    public var rtt: UInt32 = 0
    /// tcpi_rttvar (µs).
    public var rttVariance: UInt32 = 0
    /// tcpi_snd_ssthresh.
    public var sendSlowStartThreshold: UInt32 = 0
    /// tcpi_snd_cwnd.
    public var sendCongestionWindow: UInt32 = 0
    /// tcpi_advmss.
    public var advertisedMSS: UInt32 = 0
    /// tcpi_total_retrans.
    public var totalRetransmissions: UInt32 = 0
    /// tcpi_bytes_acked.
    public var bytesAcked: UInt64 = 0
    /// tcpi_bytes_received.
    public var bytesReceived: UInt64 = 0
    /// tcpi_segs_out.
    public var segmentsOut: UInt32 = 0
    /// tcpi_segs_in.
    public var segmentsIn: UInt32 = 0

    /// Zeroes.
    public init() {}

    /// The structure's bytes.
    public func encode() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.size)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            let bytes = littleEndianBytes(value)
            out.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
        }
        out[0] = state
        out[5] = options
        out[6] = (sendWindowScale & 0xf) | (receiveWindowScale & 0xf) << 4
        out[7] = deliveryRateAppLimited ? 1 : 0
        put(rto, at: 8)
        put(sendMSS, at: 16)
        put(receiveMSS, at: 20)
        put(unacked, at: 24)
        put(sacked, at: 28)
        put(pathMTU, at: 60)
        put(rtt, at: 68)
        put(rttVariance, at: 72)
        put(sendSlowStartThreshold, at: 76)
        put(sendCongestionWindow, at: 80)
        put(advertisedMSS, at: 84)
        put(UInt32(3), at: 88)  // tcpi_reordering: net.ipv4.tcp_reordering
        put(totalRetransmissions, at: 100)
        put(bytesAcked, at: 120)
        put(bytesReceived, at: 128)
        put(segmentsOut, at: 136)
        put(segmentsIn, at: 140)
        return out
    }
}
