/// Assigned Internet protocol numbers: IPv4's Protocol field (RFC 791 §3.1) and IPv6's Next
/// Header field (RFC 8200 §3, §4), which share one IANA registry.
public enum IPProtocolNumber {
    /// IPv6 Hop-by-Hop Options (RFC 8200 §4.3).
    public static let hopByHopOptions: UInt8 = 0
    /// ICMP (RFC 792).
    public static let icmp: UInt8 = 1
    /// TCP (RFC 9293).
    public static let tcp: UInt8 = 6
    /// UDP (RFC 768).
    public static let udp: UInt8 = 17
    /// IPv6 Routing header (RFC 8200 §4.4).
    public static let routing: UInt8 = 43
    /// IPv6 Fragment header (RFC 8200 §4.5).
    public static let fragment: UInt8 = 44
    /// Encapsulating Security Payload (RFC 4303); opaque, so an extension-header walk stops there.
    public static let encapsulatingSecurityPayload: UInt8 = 50
    /// Authentication Header (RFC 4302).
    public static let authentication: UInt8 = 51
    /// ICMPv6 (RFC 4443).
    public static let icmpv6: UInt8 = 58
    /// No Next Header (RFC 8200 §4.7).
    public static let noNextHeader: UInt8 = 59
    /// IPv6 Destination Options (RFC 8200 §4.6).
    public static let destinationOptions: UInt8 = 60
    /// OSPF (RFC 2328, RFC 5340).
    public static let ospf: UInt8 = 89
    /// Mobility header (RFC 6275).
    public static let mobility: UInt8 = 135
    /// Host Identity Protocol (RFC 7401).
    public static let hostIdentity: UInt8 = 139
    /// Shim6 (RFC 5533).
    public static let shim6: UInt8 = 140
    /// Reserved for experimentation (RFC 3692), usable as extension headers (RFC 4727).
    public static let experiment1: UInt8 = 253
    /// Reserved for experimentation (RFC 3692), usable as extension headers (RFC 4727).
    public static let experiment2: UInt8 = 254
}
