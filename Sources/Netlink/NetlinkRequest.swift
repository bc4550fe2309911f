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

    /// The request's attributes after a fixed header of `headerLength` bytes, by type (a
    /// repeated type keeps its last value, as `nla_parse` does). A malformed attribute ends
    /// them: with `strict` (`nlmsg_parse_deprecated_strict`, NL_VALIDATE_TRAILING) that is
    /// EINVAL; otherwise (`nlmsg_parse_deprecated`, as the doit handlers of links, addresses
    /// and routes parse) the attributes before it count and the rest is only warned of:
    /// "bytes leftover after parsing attributes" becomes the extended ack's message
    /// (`parseWarning`) unless a later error sets its own.
    func attributeMap(_ request: NetlinkMessage, after headerLength: Int,
                      strict: Bool = false) throws -> [UInt16: NetlinkAttribute] {
        let payload = request.payload
        guard payload.count >= headerLength else { throw NetlinkFailure.invalid() }
        var map: [UInt16: NetlinkAttribute] = [:]
        var attributes = NetlinkAttributes(UnsafeRawBufferPointer(rebasing: payload[headerLength...]))
        while let attribute = attributes.next() { map[attribute.type] = attribute }
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
