/// Answers ICMP echo requests (RFC 792) and ICMPv6 echo requests (RFC 4443 §4.1) addressed to
/// one of a set of local addresses: until srouter's full stack serves them, this makes a
/// tunnel testable with `ping` and `ping -6`, link-local addresses included.
public enum EchoReply {
    /// The reply to `packet` if it is an echo request to one of `localAddresses` with valid
    /// checksums; `nil` otherwise. The reply swaps the addresses, sets TTL/hop limit 64, keeps
    /// identifier, sequence number and data, and carries fresh checksums. IPv4 requests must
    /// be unfragmented; IPv6 requests must carry ICMPv6 directly after the fixed header.
    public static func reply(to packet: [UInt8], localAddresses: Set<IPAddress>) -> [UInt8]? {
        packet.withUnsafeBytes { raw in
            switch raw.first.map({ $0 >> 4 }) {
            case 4: replyIPv4(raw, localAddresses)
            case 6: replyIPv6(raw, localAddresses)
            default: nil
            }
        }
    }

    private static func replyIPv4(_ raw: UnsafeRawBufferPointer, _ local: Set<IPAddress>) -> [UInt8]? {
        guard let packet = try? IPv4Packet(checking: raw), let ip = try? IPv4Repr.parse(packet),
              ip.protocolNumber == IPProtocolNumber.icmp, !packet.isFragment, local.contains(.v4(ip.destination)),
              let icmp = try? ICMPv4Packet(checking: packet.payload), let request = try? ICMPv4Repr.parse(icmp),
              case .echoRequest(let identifier, let sequenceNumber) = request.message else { return nil }
        var replyIP = IPv4Repr(protocolNumber: IPProtocolNumber.icmp, source: ip.destination, destination: ip.source,
                               timeToLive: 64, payloadLength: icmp.buffer.count)
        replyIP.identification = ip.identification
        let replyICMP = ICMPv4Repr(message: .echoReply(identifier: identifier, sequenceNumber: sequenceNumber),
                                   payloadLength: request.payloadLength)
        return makeBytes(count: replyIP.bufferLength) { out in
            let headerLength = replyIP.headerLength
            replyIP.emit(into: out)
            let body = UnsafeMutableRawBufferPointer(rebasing: out[headerLength...])
            body.copy(icmp.data, to: ICMPv4Packet.headerLength, count: icmp.data.count)
            replyICMP.emit(into: body)
        }
    }

    private static func replyIPv6(_ raw: UnsafeRawBufferPointer, _ local: Set<IPAddress>) -> [UInt8]? {
        guard let packet = try? IPv6Packet(checking: raw), packet.nextHeader == IPProtocolNumber.icmpv6,
              local.contains(.v6(packet.destination)), let icmp = try? ICMPv6Packet(checking: packet.payload),
              let request = try? ICMPv6Repr.parse(icmp, source: packet.source, destination: packet.destination),
              case .echoRequest(let identifier, let sequenceNumber) = request.message else { return nil }
        let replyIP = IPv6Repr(nextHeader: IPProtocolNumber.icmpv6, source: packet.destination, destination: packet.source,
                               hopLimit: 64, payloadLength: icmp.buffer.count)
        let replyICMP = ICMPv6Repr(message: .echoReply(identifier: identifier, sequenceNumber: sequenceNumber),
                                   payloadLength: request.payloadLength)
        return makeBytes(count: replyIP.bufferLength) { out in
            replyIP.emit(into: out)
            let body = UnsafeMutableRawBufferPointer(rebasing: out[IPv6Packet.headerLength...])
            body.copy(icmp.data, to: ICMPv6Packet.headerLength, count: icmp.data.count)
            replyICMP.emit(into: body, source: replyIP.source, destination: replyIP.destination)
        }
    }
}
