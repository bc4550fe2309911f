/// NetStack never reads a clock: every entry point that depends on time takes `now`, a
/// monotonic instant in nanoseconds (`CLOCK_MONOTONIC`, as `EventLoop.monotonicNow()` gives),
/// so TCP, reassembly and rate limits can be driven step by step in tests.
public typealias StackInstant = UInt64

/// Durations in the same unit as `StackInstant`.
public enum StackDuration {
    /// One millisecond in nanoseconds.
    public static let millisecond: UInt64 = 1_000_000
    /// One second in nanoseconds.
    public static let second: UInt64 = 1_000_000_000
}
