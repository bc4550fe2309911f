/// The receive counter check of transport packets: a sliding window of 8192 bits (RFC 6479's
/// bitmap of 64-bit words), as Linux's WireGuard keeps it; the paper §5.4.6 requires a window
/// and recommends at least 2000 packets. A counter is accepted once; counters more than
/// `windowSize` behind the greatest accepted one are rejected as too old.
public struct ReplayWindow: Sendable {
    /// Bits in the bitmap.
    public static let totalBits = 8192
    /// How far behind the greatest accepted counter a packet may arrive (one word is kept
    /// free so that advancing never clears bits still inside the window).
    public static let windowSize: UInt64 = UInt64(totalBits - 64)
    /// REJECT_AFTER_MESSAGES (paper §6.1): 2^64 − 2^13 − 1.
    public static let rejectAfterMessages: UInt64 = UInt64.max - (1 << 13)

    private var bitmap = [UInt64](repeating: 0, count: totalBits / 64)
    /// One more than the greatest accepted counter (0: none accepted yet).
    private var greatest: UInt64 = 0

    /// An empty window.
    public init() {}

    /// Accepts `counter` if it is new and inside the window, and records it.
    public mutating func accept(_ counter: UInt64) -> Bool {
        guard counter < Self.rejectAfterMessages else { return false }
        let shifted = counter + 1  // so that 0 means "nothing yet"
        let words = UInt64(bitmap.count)
        let index = shifted >> 6
        if shifted > greatest {
            let current = greatest >> 6
            let advance = min(index - current, words)
            var i: UInt64 = 1
            while i <= advance {
                bitmap[Int((current + i) % words)] = 0
                i += 1
            }
            greatest = shifted
        } else if greatest - shifted > Self.windowSize {
            return false
        }
        let word = Int(index % words)
        let bit = UInt64(1) << (shifted & 63)
        if bitmap[word] & bit != 0 { return false }
        bitmap[word] |= bit
        return true
    }
}
