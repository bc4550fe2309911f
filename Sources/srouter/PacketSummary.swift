import Foundation
import Wire

/// One line per captured packet, in the manner of `tcpdump -n`:
/// `12:00:01.123456 IP 10.0.0.1 > 10.0.0.2: ICMP echo request, length 64`.
enum PacketSummary {
    /// The line for `packet`, seen at `seconds`.`microseconds` (UTC).
    static func line(_ packet: ArraySlice<UInt8>, seconds: UInt32, microseconds: UInt32) -> String {
        let time = String(format: "%02d:%02d:%02d.%06d", Int(seconds) / 3600 % 24, Int(seconds) / 60 % 60,
                          Int(seconds) % 60, Int(microseconds))
        return time + " " + describe(Array(packet))
    }

    private static func describe(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { buffer -> String in
            if let v4 = try? IPv4Packet(checking: buffer) {
                let payload = v4.isFragment && v4.fragmentOffset != 0 ? nil : v4.payload
                return "IP " + transport(v4.protocolNumber, payload, "\(v4.source)", "\(v4.destination)",
                                         length: v4.totalLength)
            }
            if let v6 = try? IPv6Packet(checking: buffer) {
                return "IP6 " + transport(v6.nextHeader, v6.payload, "\(v6.source)", "\(v6.destination)",
                                          length: v6.payloadLength + IPv6Packet.headerLength)
            }
            return "unknown packet, length \(bytes.count)"
        }
    }

    private static func transport(_ number: UInt8, _ payload: UnsafeRawBufferPointer?, _ source: String,
                                  _ destination: String, length: Int) -> String {
        switch number {
        case 6:
            if let payload, let tcp = try? TCPPacket(checking: payload) {
                let flags = [(TCPFlags.syn, "S"), (.fin, "F"), (.rst, "R"), (.psh, "P"), (.ack, ".")]
                    .filter { tcp.flags.contains($0.0) }.map(\.1).joined()
                return "\(source).\(tcp.sourcePort) > \(destination).\(tcp.destinationPort): Flags [\(flags)], length \(length)"
            }
        case 17:
            if let payload, let udp = try? UDPPacket(checking: payload) {
                return "\(source).\(udp.sourcePort) > \(destination).\(udp.destinationPort): UDP, length \(length)"
            }
        case 1:
            if let payload, let icmp = try? ICMPv4Packet(checking: payload) {
                let name = [0: "echo reply", 3: "unreachable", 8: "echo request", 11: "time exceeded"][Int(icmp.type)]
                return "\(source) > \(destination): ICMP \(name ?? "type \(icmp.type)"), length \(length)"
            }
        case 58:
            if let payload, let icmp = try? ICMPv6Packet(checking: payload) {
                let name = [1: "destination unreachable", 2: "packet too big", 3: "time exceeded",
                            128: "echo request", 129: "echo reply"][Int(icmp.type)]
                return "\(source) > \(destination): ICMP6 \(name ?? "type \(icmp.type)"), length \(length)"
            }
        default:
            break
        }
        return "\(source) > \(destination): ip-proto-\(number), length \(length)"
    }
}
