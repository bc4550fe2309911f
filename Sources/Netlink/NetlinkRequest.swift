import Wire

/// Reading a request's fixed header and attributes, with the errors Linux's `nlmsg_parse`
/// gives for a short header or a malformed attribute.
extension RouteNetlinkServer {
    /// The request's fixed header, read by `parse`; EINVAL if the payload is shorter.
    func parseHeader<Header>(_ request: NetlinkMessage,
                             _ parse: (UnsafeRawBufferPointer) throws(WireError) -> Header) throws -> Header {
        do {
            return try parse(request.payload)
        } catch {
            throw NetlinkFailure.invalid()
        }
    }

    /// `rtm_ipv4_policy` and `rtm_ipv6_policy`: the integer attributes of route requests and
    /// their widths (RTA_DST, RTA_SRC, RTA_GATEWAY and RTA_PREFSRC are u32 for IPv4 only).
    /// Built once: every route request is checked against one.
    static func routePolicy(ipv6: Bool) -> [UInt16: Int] {
        ipv6 ? ipv6RoutePolicy : ipv4RoutePolicy
    }

    private static let commonRoutePolicy: [UInt16: Int] = [3: 4, 4: 4, 6: 4, 15: 4, 16: 4, 21: 2, 25: 4, 27: 1, 28: 2,
                                                            29: 2, 30: 4]
    /// DST, SRC, GATEWAY, PREFSRC and FLOW are u32 for IPv4.
    private static let ipv4RoutePolicy = commonRoutePolicy.merging([1: 4, 2: 4, 5: 4, 7: 4, 11: 4]) { $1 }
    /// RTA_PREF (u8) and RTA_EXPIRES (u32).
    private static let ipv6RoutePolicy = commonRoutePolicy.merging([20: 1, 23: 4]) { $1 }

    /// The request's attributes after a fixed header of `headerLength` bytes, by type (a
    /// repeated type keeps its last value, as `nla_parse` does). A malformed attribute ends
    /// them: with `strict` (`nlmsg_parse_deprecated_strict`, NL_VALIDATE_TRAILING) that is
    /// EINVAL; otherwise (`nlmsg_parse_deprecated`, as the doit handlers of links, addresses
    /// and routes parse) the attributes before it count and the rest is only warned of:
    /// "bytes leftover after parsing attributes" becomes the extended ack's message
    /// (`parseWarning`) unless a later error sets its own.
    func attributeMap(_ request: NetlinkMessage, after headerLength: Int, strict: Bool = false,
                      policy: [UInt16: Int] = [:]) throws -> [UInt16: NetlinkAttribute] {
        let payload = request.payload
        guard payload.count >= headerLength else { throw NetlinkFailure.invalid() }
        // Room for a route's or an address's usual attributes without growing.
        var map = [UInt16: NetlinkAttribute](minimumCapacity: 8)
        var attributes = NetlinkAttributes(UnsafeRawBufferPointer(rebasing: payload[headerLength...]))
        while let attribute = attributes.next() {
            // validate_nla: an integer attribute shorter than its type is ERANGE, reported with
            // the attribute's offset in the request and its policy.
            if let width = policy[attribute.type], attribute.payload.count < width {
                let offset = (attribute.payload.baseAddress.map { UnsafeRawPointer($0) } ?? request.buffer.baseAddress!)
                    - request.buffer.baseAddress! - NetlinkAttribute.headerLength
                throw NetlinkFailure(34, "Attribute failed policy validation", attributeOffset: UInt32(offset),
                                     policy: NetlinkAttributePolicy(unsignedBytes: width))
            }
            map[attribute.type] = attribute
        }
        if attributes.error != nil {
            if strict { throw NetlinkFailure.invalid("bytes leftover after parsing attributes") }
            parseWarning = "bytes leftover after parsing attributes"
        }
        return map
    }

    /// An address attribute of `family` (its first 4 or 16 bytes); EINVAL if shorter.
    func address(_ attribute: NetlinkAttribute?, family: UInt8) throws -> IPAddress? {
        guard let attribute else { return nil }
        guard let address = attribute.address(ipv6: family == Family.inet6) else { throw NetlinkFailure.invalid() }
        return address
    }
}
