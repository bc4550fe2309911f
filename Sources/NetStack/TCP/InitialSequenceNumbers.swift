import Wire

/// Initial sequence numbers per RFC 6528 §3: ISN = M + F(localip, localport, remoteip,
/// remoteport, secretkey), with M a timer ticking every 4 µs and F SipHash-2-4 under a
/// secret the caller draws from a good random source. Also Linux's per-connection
/// timestamp offset (`secure_tcp_ts_off`), a keyed hash of the addresses, so TSvals reveal
/// neither uptime nor other connections.
public struct InitialSequenceNumbers: Sendable {
    private let k0: UInt64
    private let k1: UInt64

    /// A generator keyed by `secret`.
    public init(secret: (UInt64, UInt64)) {
        k0 = secret.0
        k1 = secret.1
    }

    /// The ISN for a connection opened at `now`.
    public func initialSequenceNumber(for tuple: TCPFourTuple, now: StackInstant) -> UInt32 {
        var hash = SipHash24(k0: k0, k1: k1)
        Self.mix(tuple.localAddress, into: &hash)
        Self.mix(tuple.remoteAddress, into: &hash)
        hash.append(littleEndian: UInt64(tuple.localPort) << 16 | UInt64(tuple.remotePort), byteCount: 4)
        let m = UInt32(truncatingIfNeeded: now / 4_000) // one tick per 4 µs
        return m &+ UInt32(truncatingIfNeeded: hash.finalize())
    }

    /// The timestamp offset for a connection between these addresses.
    public func timestampOffset(for tuple: TCPFourTuple) -> UInt32 {
        var hash = SipHash24(k0: k1, k1: k0)
        Self.mix(tuple.localAddress, into: &hash)
        Self.mix(tuple.remoteAddress, into: &hash)
        return UInt32(truncatingIfNeeded: hash.finalize() >> 32)
    }

    private static func mix(_ address: IPAddress, into hash: inout SipHash24) {
        switch address {
        case .v4(let a): hash.append(littleEndian: UInt64(a.value), byteCount: 4)
        case .v6(let a):
            hash.append(littleEndian: a.high)
            hash.append(littleEndian: a.low)
        }
    }
}
