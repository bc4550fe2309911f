import Wire

/// Per-source rate limit for handshake messages under load (as wireguard-go's ratelimiter
/// and Linux's `ratelimiter.c`): a token bucket per source IP address, 20 messages per
/// second with a burst of 5. Even a sender with valid cookies cannot make the responder spend
/// more than that on its DH operations, so a flood cannot starve established sessions.
public struct HandshakeRateLimiter: Sendable {
    /// Messages per second allowed per source.
    public static let packetsPerSecond: UInt64 = 20
    /// Burst allowed per source.
    public static let burst: UInt64 = 5
    /// The cost of one message in nanoseconds of budget.
    static let cost = ProtocolConstants.second / packetsPerSecond
    /// The most sources tracked (oldest entries are dropped beyond it).
    public static let maximumSources = 8192

    private var buckets: [IPAddress: (tokens: UInt64, updated: UInt64)] = [:]
    private var lastSweep: UInt64 = 0

    /// An empty limiter.
    public init() {}

    /// Whether a handshake message from `source` may be processed at time `now` (ns).
    public mutating func allow(_ source: IPAddress, now: UInt64) -> Bool {
        let capacity = Self.burst * Self.cost
        if now &- lastSweep >= ProtocolConstants.second || buckets.count >= Self.maximumSources {
            // Forget sources whose buckets have refilled: they are back to the default.
            buckets = buckets.filter { now &- $0.value.updated < capacity }
            lastSweep = now
        }
        var bucket = buckets[source] ?? (capacity, now)
        bucket.tokens = min(capacity, bucket.tokens + (now &- bucket.updated))
        bucket.updated = now
        guard bucket.tokens >= Self.cost else {
            buckets[source] = bucket
            return false
        }
        bucket.tokens -= Self.cost
        buckets[source] = bucket
        return true
    }
}
