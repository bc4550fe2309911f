/// Why the stack dropped packets, and what it did with the rest (`srouter show stats`,
/// Prometheus). A malformed or refused packet is counted here and never stops anything.
public struct StackCounters: Sendable, Equatable {
    /// Not a valid IPv4/IPv6 packet (version, lengths, header checksum, extension headers).
    public var malformed = 0
    /// A martian source (multicast, broadcast, loopback from outside, unspecified).
    public var martianSource = 0
    /// Arrived on an interface that is down.
    public var interfaceDown = 0
    /// Not for us and forwarding is off.
    public var notForwarded = 0
    /// TTL or hop limit ran out (time exceeded sent, rate permitting).
    public var timeExceeded = 0
    /// No route (network unreachable).
    public var noRoute = 0
    /// Unreachable or prohibit routes.
    public var rejected = 0
    /// Blackhole routes.
    public var blackholed = 0
    /// Larger than the next hop's MTU with DF set, or IPv6 (packet too big sent).
    public var tooBig = 0
    /// Failed the reverse-path filter.
    public var reversePathFiltered = 0
    /// Link-local addresses must not be forwarded (RFC 4291 §2.5.6).
    public var linkLocalNotForwarded = 0
    /// The output interface could not take it (down, no peer for the next hop).
    public var transmitFailed = 0
    /// Fragments (no reassembly for this case), or reassembly failures.
    public var fragmentsDropped = 0
    /// Forwarded.
    public var forwarded = 0
    /// Delivered to a local protocol.
    public var delivered = 0
    /// No socket or protocol for a local packet (port/protocol unreachable sent).
    public var unreachablePort = 0
    /// ICMP errors sent.
    public var icmpErrorsSent = 0
    /// ICMP errors suppressed by rate limiting.
    public var icmpRateLimited = 0
    /// Echo requests answered.
    public var echoRepliesSent = 0
    /// Creates zeroed counters.
    public init() {}
}
