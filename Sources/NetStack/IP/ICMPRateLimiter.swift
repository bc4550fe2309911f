import Wire

/// ICMP error rate limiting as Linux does it: a global token bucket
/// (net.ipv4.icmp_msgs_per_sec = 1000, icmp_msgs_burst = 50) and a per-destination bucket
/// (net.ipv4.icmp_ratelimit = 1000 ms per token, a burst of 6 — XRLIM_BURST_FACTOR).
/// Echo replies and IPv6 packet-too-big are not limited (Linux's icmp_ratemask and
/// icmpv6_xrlim_allow), so PMTU discovery never starves. The per-destination table holds
/// at most `maximumDestinations` entries; beyond that the stalest is replaced.
public struct ICMPRateLimiter: Sendable {
    /// Tokens the global bucket refills per second.
    public var messagesPerSecond = 1000
    /// The global bucket's depth.
    public var burst = 50
    /// Time to earn one per-destination token (icmp_ratelimit, 1 s).
    public var perDestinationInterval: UInt64 = StackDuration.second
    /// Per-destination depth.
    public var perDestinationBurst = 6
    /// The most destinations tracked.
    public let maximumDestinations: Int

    private var globalTokens: Int
    private var globalStamp: UInt64 = 0
    private var destinations: [IPAddress: (tokens: Int, stamp: UInt64)] = [:]
    /// Errors suppressed.
    public private(set) var suppressed = 0

    /// A limiter with Linux's defaults.
    public init(maximumDestinations: Int = 4096) {
        self.maximumDestinations = maximumDestinations
        globalTokens = 50
    }

    /// Whether an ICMP error to `destination` may be sent at `now`; takes a token if so.
    public mutating func allow(to destination: IPAddress, now: StackInstant) -> Bool {
        // Global bucket.
        let elapsed = now &- globalStamp
        if elapsed > 0 {
            let earned = Int(min(elapsed, StackDuration.second) * UInt64(messagesPerSecond) / StackDuration.second)
            if earned > 0 {
                globalTokens = min(burst, globalTokens + earned)
                globalStamp = now
            }
        }
        guard globalTokens > 0 else {
            suppressed += 1
            return false
        }
        // Per-destination bucket.
        var entry = destinations[destination] ?? (perDestinationBurst, now)
        let earned = Int((now &- entry.stamp) / perDestinationInterval)
        if earned > 0 {
            entry.tokens = min(perDestinationBurst, entry.tokens + earned)
            entry.stamp = now
        }
        guard entry.tokens > 0 else {
            suppressed += 1
            destinations[destination] = entry
            return false
        }
        entry.tokens -= 1
        if destinations[destination] == nil && destinations.count >= maximumDestinations {
            if let stalest = destinations.min(by: { $0.value.stamp < $1.value.stamp })?.key {
                destinations[stalest] = nil
            }
        }
        destinations[destination] = entry
        globalTokens -= 1
        return true
    }

    /// Destinations currently tracked.
    public var trackedDestinations: Int { destinations.count }
}
