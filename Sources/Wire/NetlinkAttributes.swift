// Netlink attributes (`struct nlattr` / `struct rtattr`, <linux/netlink.h>): type-length-value
// records aligned to 4 bytes, possibly nested. And `NetlinkWriter`, which lays out messages
// with their attributes the way the kernel's `nlmsg_put`/`nla_put` do.

/// One attribute: its type (without the `NLA_F_NESTED`/`NLA_F_NET_BYTEORDER` bits) and its
/// payload, a view into the caller's buffer.
public struct NetlinkAttribute {
    /// `NLA_F_NESTED`.
    public static let nestedFlag: UInt16 = 0x8000
    /// `NLA_F_NET_BYTEORDER`.
    public static let networkByteOrderFlag: UInt16 = 0x4000
    /// `NLA_HDRLEN`.
    public static let headerLength = 4

    /// `nla_type` without the flag bits (`NLA_TYPE_MASK`).
    public let type: UInt16
    /// Whether `NLA_F_NESTED` was set.
    public let isNested: Bool
    /// The value: `nla_len - 4` bytes.
    public let payload: UnsafeRawBufferPointer

    /// The value as a host-order (little-endian) 32-bit integer, if it has at least 4 bytes.
    public var uint32: UInt32? { payload.count >= 4 ? payload.littleEndian32(at: 0) : nil }
    /// The value as a host-order 16-bit integer, if it has at least 2 bytes.
    public var uint16: UInt16? { payload.count >= 2 ? payload.littleEndian16(at: 0) : nil }
    /// The value as one byte, if it has any.
    public var uint8: UInt8? { payload.count >= 1 ? payload.byte(at: 0) : nil }
    /// The value as a string, up to its first NUL (`nla_strscpy`).
    public var string: String {
        let end = payload.firstIndex(of: 0) ?? payload.count
        return String(decoding: payload.bytes(0, end), as: UTF8.self)
    }
    /// The value as an IPv4 (4 bytes) or IPv6 (16 bytes) address in network order.
    public var address: IPAddress? {
        switch payload.count {
        case 4: .v4(payload.ipv4Address(at: 0))
        case 16: .v6(payload.ipv6Address(at: 0))
        default: nil
        }
    }
    /// The first 16 (IPv6) or 4 (IPv4) bytes of the value as an address, as `nla_get_in6_addr` /
    /// `nla_get_in_addr` read it; nil if the value is shorter.
    public func address(ipv6: Bool) -> IPAddress? {
        if ipv6 { return payload.count >= 16 ? .v6(payload.ipv6Address(at: 0)) : nil }
        return payload.count >= 4 ? .v4(payload.ipv4Address(at: 0)) : nil
    }
    /// The attributes nested in the value.
    public var nested: NetlinkAttributes { NetlinkAttributes(payload) }
}

/// The attributes in a buffer, in order (`nla_for_each_attr`).
///
/// Iteration stops at the end or at the first attribute whose length is under 4 or runs past
/// the buffer; `error` then says why. Linux's `nla_parse` refuses such a message with EINVAL
/// ("… has an invalid length"); trailing bytes shorter than a header are ignored as the kernel
/// ignores them.
public struct NetlinkAttributes: Sequence, IteratorProtocol {
    private var rest: UnsafeRawBufferPointer
    /// Why iteration stopped early (nil: every attribute checked).
    public private(set) var error: WireError?

    /// The attributes in `buffer`.
    public init(_ buffer: UnsafeRawBufferPointer) {
        rest = buffer
    }

    /// The next attribute.
    public mutating func next() -> NetlinkAttribute? {
        guard rest.count >= NetlinkAttribute.headerLength, error == nil else { return nil }
        let length = Int(rest.littleEndian16(at: 0))
        guard length >= NetlinkAttribute.headerLength else { error = .malformed("nla_len"); return nil }
        guard length <= rest.count else { error = .truncated; return nil }
        let rawType = rest.littleEndian16(at: 2)
        let attribute = NetlinkAttribute(
            type: rawType & ~(NetlinkAttribute.nestedFlag | NetlinkAttribute.networkByteOrderFlag),
            isNested: rawType & NetlinkAttribute.nestedFlag != 0,
            payload: rest.bytes(NetlinkAttribute.headerLength, length - NetlinkAttribute.headerLength))
        rest = rest.bytes(from: Swift.min(NetlinkMessage.align(length), rest.count))
        return attribute
    }
}

/// Lays out netlink messages into a growing byte array: `begin` a message, append its fixed
/// header and attributes, `end` it (which fills in `nlmsg_len`). Nested attributes are opened
/// and closed the same way. Everything is 4-byte aligned as `nlmsg_put` and `nla_put` align it.
///
/// For control paths (dumps, acknowledgements): it allocates as the array grows.
public struct NetlinkWriter {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []
    private var messageStart: Int?
    private var nestStarts: [Int] = []

    /// An empty writer.
    public init() {}

    /// Makes room for `count` more bytes than written so far, so that a message of known
    /// size grows its buffer once rather than at every doubling.
    public mutating func reserveCapacity(_ count: Int) {
        bytes.reserveCapacity(bytes.count + count)
    }

    /// Whether nothing has been written.
    public var isEmpty: Bool { bytes.isEmpty }

    /// Starts a message with `header` (its length is filled in by `end`).
    public mutating func begin(_ header: NetlinkHeader) {
        precondition(messageStart == nil, "NetlinkWriter.begin: a message is already open")
        pad()
        messageStart = bytes.count
        appendHeader(header, length: 0)
    }

    /// Ends the open message: `nlmsg_len` becomes its length (without trailing padding), and the
    /// writer pads to the next 4-byte boundary.
    public mutating func end() {
        guard let start = messageStart else { preconditionFailure("NetlinkWriter.end: no open message") }
        precondition(nestStarts.isEmpty, "NetlinkWriter.end: a nested attribute is still open")
        storeLength32(bytes.count - start, at: start)
        messageStart = nil
        pad()
    }

    /// Drops the open message (a dump entry that did not fit, say).
    public mutating func cancel() {
        guard let start = messageStart else { return }
        bytes.removeSubrange(start...)
        messageStart = nil
        nestStarts.removeAll()
    }

    /// The length of the open message so far.
    public var openMessageLength: Int { messageStart.map { bytes.count - $0 } ?? 0 }

    /// Appends a 16-byte netlink header with `length` (an echoed request's header).
    public mutating func appendHeader(_ header: NetlinkHeader, length: Int) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: NetlinkMessage.headerLength))
        bytes.withUnsafeMutableBytes { raw in
            header.emit(into: UnsafeMutableRawBufferPointer(rebasing: raw[start...]), length: length)
        }
    }

    /// Appends raw bytes (a fixed header such as `ifinfomsg`, emitted by its `Repr`).
    public mutating func appendBytes<C: Collection>(_ data: C) where C.Element == UInt8 {
        bytes.append(contentsOf: data)
    }

    /// Appends a host-order 32-bit integer.
    public mutating func appendInt32(_ value: Int32) {
        appendUInt32(UInt32(bitPattern: value))
    }

    /// Appends a host-order 32-bit integer.
    public mutating func appendUInt32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Pads with zeros to a 4-byte boundary.
    public mutating func pad() {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }

    /// Appends an attribute with `payload` as its value (`nla_put`).
    public mutating func appendAttribute<C: Collection>(_ type: UInt16, bytes payload: C) where C.Element == UInt8 {
        let length = NetlinkAttribute.headerLength + payload.count
        precondition(length <= Int(UInt16.max), "NetlinkWriter: attribute over 65535 bytes")
        appendUInt16(UInt16(length))
        appendUInt16(type)
        bytes.append(contentsOf: payload)
        pad()
    }

    /// Appends a host-order 32-bit attribute (`nla_put_u32`).
    public mutating func appendAttribute(_ type: UInt16, uint32 value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { appendAttribute(type, bytes: $0) }
    }

    /// Appends a host-order 16-bit attribute (`nla_put_u16`).
    public mutating func appendAttribute(_ type: UInt16, uint16 value: UInt16) {
        withUnsafeBytes(of: value.littleEndian) { appendAttribute(type, bytes: $0) }
    }

    /// Appends a one-byte attribute (`nla_put_u8`).
    public mutating func appendAttribute(_ type: UInt16, uint8 value: UInt8) {
        appendAttribute(type, bytes: CollectionOfOne(value))
    }

    /// Appends a NUL-terminated string attribute (`nla_put_string`).
    public mutating func appendAttribute(_ type: UInt16, string: String) {
        appendAttribute(type, bytes: Array(string.utf8) + [0])
    }

    /// Appends an address attribute in network order (4 or 16 bytes).
    public mutating func appendAttribute(_ type: UInt16, address: IPAddress) {
        switch address {
        case .v4(let a): withUnsafeBytes(of: a.value.bigEndian) { appendAttribute(type, bytes: $0) }
        case .v6(let a):
            withUnsafeBytes(of: (a.high.bigEndian, a.low.bigEndian)) { appendAttribute(type, bytes: $0) }
        }
    }

    /// Opens a nested attribute (`nla_nest_start`; `NLA_F_NESTED` is set only if asked, as
    /// most rtnetlink nests go without it).
    public mutating func beginNested(_ type: UInt16, flagged: Bool = false) {
        nestStarts.append(bytes.count)
        appendUInt16(0)
        appendUInt16(flagged ? type | NetlinkAttribute.nestedFlag : type)
    }

    /// Closes the innermost nested attribute (`nla_nest_end`).
    public mutating func endNested() {
        guard let start = nestStarts.popLast() else { preconditionFailure("NetlinkWriter.endNested: nothing open") }
        let length = bytes.count - start
        precondition(length <= Int(UInt16.max), "NetlinkWriter: nested attribute over 65535 bytes")
        bytes.withUnsafeMutableBytes { $0.storeLittleEndian16(UInt16(length), at: start) }
    }

    private mutating func appendUInt16(_ value: UInt16) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private mutating func storeLength32(_ value: Int, at offset: Int) {
        bytes.withUnsafeMutableBytes { $0.storeLittleEndian32(UInt32(value), at: offset) }
    }
}
