import Wire

/// A peer's UDP endpoint: where its WireGuard datagrams come from and go to.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// The IP address.
    public var address: IPAddress
    /// The UDP port.
    public var port: UInt16

    /// Creates an endpoint.
    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// `192.0.2.1:51820` or `[2001:db8::1]:51820`, as `wg show` prints endpoints.
    public var description: String {
        switch address {
        case .v4(let a): "\(a):\(port)"
        case .v6(let a): "[\(a)]:\(port)"
        }
    }

    /// The address and port bytes that a cookie is bound to (paper §5.4.7, `A_m`).
    public var cookieSource: [UInt8] {
        let addressBytes: [UInt8]
        switch address {
        case .v4(let a): addressBytes = a.octets
        case .v6(let a): addressBytes = a.bytes
        }
        return addressBytes + [UInt8(port >> 8), UInt8(port & 0xff)]
    }
}
