/// Answers ICMP echo requests (RFC 792) and ICMPv6 echo requests (RFC 4443 §4.1) addressed to
/// one of a set of local addresses: until srouter's full stack serves them, this makes a
/// tunnel testable with `ping` and `ping -6`, link-local addresses included.
public enum EchoReply {
    /// The reply to `packet` if it is an echo request to one of `localAddresses` with a valid
    /// checksum; `nil` otherwise. The reply swaps the addresses, sets TTL/hop limit 64, keeps
    /// identifier, sequence number and data, and carries a fresh checksum.
    public static func reply(to packet: [UInt8], localAddresses: Set<IPAddress>) -> [UInt8]? {
        guard let first = packet.first else { return nil }
        switch first >> 4 {
        case 4: return replyIPv4(packet, localAddresses)
        case 6: return replyIPv6(packet, localAddresses)
        default: return nil
        }
    }

    private static func replyIPv4(_ p: [UInt8], _ local: Set<IPAddress>) -> [UInt8]? {
        guard p.count >= 28 else { return nil }
        let headerLength = Int(p[0] & 0x0f) * 4
        let total = Int(p[2]) << 8 | Int(p[3])
        // Unfragmented ICMP (protocol 1), well-formed lengths.
        guard headerLength >= 20, total <= p.count, total >= headerLength + 8, p[9] == 1,
              p[6] & 0x3f == 0, p[7] == 0 else { return nil }
        let destination = IPv4Address(p[16], p[17], p[18], p[19])
        guard local.contains(.v4(destination)), p[headerLength] == 8, p[headerLength + 1] == 0 else {
            return nil
        }
        var icmp = Array(p[headerLength..<total])
        guard checksum(icmp) == 0 else { return nil }
        icmp[0] = 0  // echo reply
        icmp[2] = 0
        icmp[3] = 0
        let icmpSum = checksum(icmp)
        icmp[2] = UInt8(icmpSum >> 8)
        icmp[3] = UInt8(icmpSum & 0xff)
        var header: [UInt8] = [0x45, 0, UInt8((20 + icmp.count) >> 8), UInt8((20 + icmp.count) & 0xff),
                               p[4], p[5], 0, 0, 64, 1, 0, 0]
        header += Array(p[16..<20]) + Array(p[12..<16])
        let headerSum = checksum(header)
        header[10] = UInt8(headerSum >> 8)
        header[11] = UInt8(headerSum & 0xff)
        return header + icmp
    }

    private static func replyIPv6(_ p: [UInt8], _ local: Set<IPAddress>) -> [UInt8]? {
        guard p.count >= 48 else { return nil }
        let payloadLength = Int(p[4]) << 8 | Int(p[5])
        // ICMPv6 directly after the fixed header (next header 58); no extension headers.
        guard p[6] == 58, 40 + payloadLength <= p.count, payloadLength >= 8,
              let source = IPv6Address(bytes: p[8..<24]), let destination = IPv6Address(bytes: p[24..<40]),
              local.contains(.v6(destination)), p[40] == 128, p[41] == 0 else { return nil }
        var icmp = Array(p[40..<(40 + payloadLength)])
        guard checksum(pseudoHeader(source, destination, icmp.count) + icmp) == 0 else { return nil }
        icmp[0] = 129  // echo reply
        icmp[2] = 0
        icmp[3] = 0
        let sum = checksum(pseudoHeader(destination, source, icmp.count) + icmp)
        icmp[2] = UInt8(sum >> 8)
        icmp[3] = UInt8(sum & 0xff)
        let header: [UInt8] = [0x60, 0, 0, 0, p[4], p[5], 58, 64] + destination.bytes + source.bytes
        return header + icmp
    }

    /// RFC 8200 §8.1: source, destination, upper-layer length, next header 58.
    private static func pseudoHeader(_ source: IPv6Address, _ destination: IPv6Address, _ length: Int) -> [UInt8] {
        source.bytes + destination.bytes
            + [UInt8(length >> 24 & 0xff), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff),
               0, 0, 0, 58]
    }

    private static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum = InternetChecksum()
        sum.add(bytes)
        return sum.value
    }
}
