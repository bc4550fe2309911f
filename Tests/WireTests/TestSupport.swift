import Wire

/// Bytes from hex text (whitespace ignored).
func hex(_ text: String) -> [UInt8] {
    let digits = text.utf8.compactMap { c -> UInt8? in
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }
    return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}

/// The Internet checksum of `bytes`, computed the slow way (RFC 1071 §4.1's loop, 16-bit words).
func referenceChecksum(_ bytes: [UInt8]) -> UInt16 {
    var sum: UInt32 = 0
    var i = 0
    while i + 1 < bytes.count { sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]); i += 2 }
    if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
    while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
    return ~UInt16(sum)
}

/// A small seeded generator (SplitMix64), so every random test repeats exactly.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
}

/// Packets captured from Linux 6.x and wireguard-go: the kernel wrote them onto a TUN device
/// in a private network namespace (checksums computed by the kernel, no offload), and a UDP
/// relay between two wireguard-go instances recorded the WireGuard datagrams. Python's
/// hashlib confirmed the MD5 signature (key "secret") and both mac1 values.
enum Captured {
    /// `connect()` to 10.9.0.2:179: SYN with MSS 1460, SACK-permitted, timestamps, window scale 10.
    static let tcp4Syn = hex("4500003c853d40004006a16a0a0900010a090002dce600b386d34a7200000000a002faf074060000020405b40402080a2253f3be000000000103030a")
    /// The same over IPv6 (MSS 1440).
    static let tcp6Syn = hex("600beb630028064020010db800000000000000000000000120010db8000000000000000000000002c0d200b30414b80700000000a002fd2080700000020405a00402080ac2f72e72000000000103030a")
    /// A SYN from a socket with TCP_MD5SIG (key "secret"): MD5, MSS, SACK-permitted, window
    /// scale; Linux leaves timestamps out to make room.
    static let tcp4MD5Syn = hex("4500004895b34000400690e80a0900010a090002dcf400b3465374de00000000d002fbe08c93000001011312bb5b973a8bbb9eef7bd83fd81b2d8241020404d8010104020103030a")
    /// What RFC 2385 signs for `tcp4MD5Syn` before the key: pseudo-header, fixed header with a zero checksum.
    static let tcp4MD5Signed = hex("0a0900010a09000200060034dcf400b3465374de00000000d002fbe000000000")
    /// UDP "hello" to 10.9.0.2:53 (odd length).
    static let udp4 = hex("450000210b13400040111ba50a0900010a090002ca6f0035000ddd4868656c6c6f")
    /// UDP "hello" to [2001:db8::2]:53.
    static let udp6 = hex("600f2399000d114020010db800000000000000000000000120010db80000000000000000000000028cba0035000dd39d68656c6c6f")
    /// An ICMP echo request (ping socket; id 0xb61c, seq 1, "abcdefgh").
    static let icmp4Echo = hex("45000024db01400040014bc30a0900010a0900020800b04cb61c00016162636465666768")
    /// An ICMPv6 echo request (id 0xb61d, seq 1, "abcdefgh").
    static let icmp6Echo = hex("600d410800103a4020010db800000000000000000000000120010db80000000000000000000000028000dc8bb61d00016162636465666768")
    /// Port unreachable for a UDP datagram from 10.9.0.2:5000 to 10.9.0.1:9999.
    static let icmp4PortUnreachable = hex("45c0003ce6c9000040017f230a0900010a0900020303112f000000004500002012340000401154850a0900020a0900011388270f000cd25970696e67")
    /// Time exceeded (TTL) for a forwarded datagram sent with TTL 1.
    static let icmp4TimeExceeded = hex("45c0003de6ca000040017f210a0900010a0900020b000935000000004500002112340000011193820a0900020a0900031388829a000d1ac57472616365")
    /// ICMPv6 port unreachable.
    static let icmp6PortUnreachable = hex("6002c86c003c3a4020010db800000000000000000000000120010db8000000000000000000000002010431e10000000060000000000c114020010db800000000000000000000000220010db80000000000000000000000011388270f000c8af970696e67")
    /// ICMPv6 time exceeded (hop limit).
    static let icmp6TimeExceeded = hex("6003eba1003d3a4020010db800000000000000000000000120010db8000000000000000000000002030030230000000060000000000d110120010db800000000000000000000000220010db80000000000000000000000031388829a000dd3647472616365")
    /// UDP with IP_OPTIONS record route (IHL 8: 07 0b 08 10.9.0.1, empty slot, end of list).
    static let udp4RecordRoute = hex("4800002c8b6a400040117f2d0a0900010a090002070b080a0900010000000000cfdf0007000c37f76f707473")
    /// UDP over IPv6 with a Hop-by-Hop header (Router Alert, PadN) and a Destination Options
    /// header (option 0x1e, 4 bytes).
    static let udp6HopByHopAndDestinationOptions = hex("60011ab0001c004020010db800000000000000000000000120010db80000000000000000000000023c0005020000010011001e040102030482960007000c3de06f707473")
    /// The first fragment of a 1544-byte UDP datagram over IPv6 at MTU 1280: headers only
    /// (the fragment data is cut after 64 bytes here; the payload length still says 1240).
    static let udp6FirstFragmentHead = hex("600e832204d82c4020010db800000000000000000000000120010db800000000000000000000000211000001241376158cba000906088a27000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
    /// The second fragment of that datagram, whole (offset 1232, M clear).
    static let udp6SecondFragment = hex("600e832201402c4020010db800000000000000000000000120010db8000000000000000000000002110004d024137615c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
    /// The second IPv4 fragment of a 1544-byte UDP datagram at MTU 1280 (offset 157 × 8).
    static let udp4SecondFragment = hex("450001340b14009d401159f40a0900010a090002e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")

    /// A wireguard-go handshake initiation (sender 0x97324e74, mac2 zero).
    static let wgInitiation = hex("01000000744e329705b54450d02c4401808a79dd9f455f1f0d956dd77cc6f0c26a9023fe4a68550b105814049b553b7dc2103f0287ad5b859b42cdefa17cda65b4f45bbddabe3dcafd9b522022070438688dd081a8dd8a94b63d1584a5b565ff24e3c05eeaf5f965f3ab563f66da79ef9b431a4137699e29ee521529d3a5a7ab1a1f0e1e00000000000000000000000000000000")
    /// The response (sender 0xc1a12696, receiver 0x97324e74).
    static let wgResponse = hex("020000009626a1c1744e32970441a9db3a23a757b14b0ff080b4b746e6708549b064e5d94dce949ae18b9c2cc8b4571b11b69a25d65ac879627a439440723fd08f92936017d3e7a912ee2a8800000000000000000000000000000000")
    /// The first transport message: an 84-byte ping padded to 96, sealed (receiver 0xc1a12696, counter 0).
    static let wgTransport = hex("040000009626a1c100000000000000002a45a1ad6798e942a9fb390098eaa52514c46e35bfb120dabbb34e97ccf390baacd90a5bfaa18e2397a1e20545c973007ad3bd3356055ee91b67767e2219d4e438d84c1cc535a75a2c3153a1ea12dcb74da0b2487bbb246ffc4152bda23a8478c4414ad7fa5a1edb24d13290674c947a")
}

extension Array where Element == UInt8 {
    /// Runs `body` over the array's bytes (views must not escape it).
    func view<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }
}

/// Bytes of `count` written by `body` into a zeroed buffer.
func emitted(_ count: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { body($0) }
    return out
}
