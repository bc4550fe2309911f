// Netlink messages (RFC 3549 §2.3.2; Linux's <linux/netlink.h>): the 16-byte `nlmsghdr`, the
// batches a datagram carries, and `NLMSG_ERROR` acknowledgements. Netlink integers are in the
// host's byte order; srouter runs on little-endian Linux (x86_64, aarch64), so they are read
// and written little-endian.

/// A read-only view of one netlink message (`struct nlmsghdr` and its payload) in a buffer the
/// caller owns.
///
/// `init(checking:)` checks the length field against the buffer, so no accessor traps
/// afterwards. The view must not outlive the buffer.
public struct NetlinkMessage {
    /// Byte offsets of `struct nlmsghdr`'s fields.
    public enum Field {
        /// `nlmsg_len`: header and payload, without the padding after them.
        public static let length = 0
        /// `nlmsg_type`.
        public static let type = 4
        /// `nlmsg_flags`.
        public static let flags = 6
        /// `nlmsg_seq`.
        public static let sequence = 8
        /// `nlmsg_pid`: the sender's port id (0 from the kernel).
        public static let portID = 12
        /// The payload (`NLMSG_HDRLEN`).
        public static let payload = 16
    }

    /// `NLMSG_HDRLEN`.
    public static let headerLength = 16

    /// `NLMSG_ALIGN`: messages and attributes start on 4-byte boundaries.
    @inline(__always) public static func align(_ length: Int) -> Int { (length + 3) & ~3 }

    /// The message: exactly `nlmsg_len` bytes.
    public let buffer: UnsafeRawBufferPointer

    /// Checks that `buffer` starts with a whole message: a 16-byte header whose length field is
    /// at least 16 and fits in the buffer (`nlmsg_ok`). The view covers `nlmsg_len` bytes.
    public init(checking buffer: UnsafeRawBufferPointer) throws(WireError) {
        guard buffer.count >= Self.headerLength else { throw .truncated }
        let length = Int(buffer.littleEndian32(at: Field.length))
        guard length >= Self.headerLength else { throw .malformed("nlmsg_len") }
        guard length <= buffer.count else { throw .truncated }
        self.buffer = buffer.bytes(0, length)
    }

    /// `nlmsg_len`.
    public var length: Int { buffer.count }
    /// `nlmsg_type`.
    public var type: UInt16 { buffer.littleEndian16(at: Field.type) }
    /// `nlmsg_flags`.
    public var flags: NetlinkFlags { NetlinkFlags(rawValue: buffer.littleEndian16(at: Field.flags)) }
    /// `nlmsg_seq`.
    public var sequence: UInt32 { buffer.littleEndian32(at: Field.sequence) }
    /// `nlmsg_pid`.
    public var portID: UInt32 { buffer.littleEndian32(at: Field.portID) }
    /// The payload after the header.
    public var payload: UnsafeRawBufferPointer { buffer.bytes(from: Field.payload) }
    /// The family byte every rtnetlink request starts with (`struct rtgenmsg`); nil for an
    /// empty payload.
    public var family: UInt8? { buffer.count > Field.payload ? buffer.byte(at: Field.payload) : nil }
    /// The header as values.
    public var header: NetlinkHeader {
        NetlinkHeader(type: type, flags: flags, sequence: sequence, portID: portID)
    }
}

/// The messages of one netlink datagram, in order (`NLMSG_OK`/`NLMSG_NEXT`).
///
/// Iteration stops at the end of the buffer or at the first message that does not check;
/// `error` then tells why (Linux's `netlink_rcv_skb` stops at the same point and ignores
/// what follows).
public struct NetlinkMessages: Sequence, IteratorProtocol {
    private var rest: UnsafeRawBufferPointer
    /// Why iteration stopped early (nil: the buffer held only whole messages).
    public private(set) var error: WireError?

    /// The messages in `buffer`.
    public init(_ buffer: UnsafeRawBufferPointer) {
        rest = buffer
    }

    /// The next message, or nil at the end or at a malformed one.
    public mutating func next() -> NetlinkMessage? {
        guard !rest.isEmpty, error == nil else { return nil }
        do {
            let message = try NetlinkMessage(checking: rest)
            let advance = Swift.min(NetlinkMessage.align(message.length), rest.count)
            rest = rest.bytes(from: advance)
            return message
        } catch {
            self.error = error
            return nil
        }
    }
}

/// `nlmsg_flags` (`NLM_F_…`). The upper byte means different things for GET, NEW and DELETE
/// requests and for ACKs, so several names share a bit.
public struct NetlinkFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt16
    /// Creates flags from their bits.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// `NLM_F_REQUEST`: a request (to the kernel).
    public static let request = NetlinkFlags(rawValue: 0x01)
    /// `NLM_F_MULTI`: part of a multipart answer, ended by `NLMSG_DONE`.
    public static let multi = NetlinkFlags(rawValue: 0x02)
    /// `NLM_F_ACK`: acknowledge with an `NLMSG_ERROR` of 0.
    public static let ack = NetlinkFlags(rawValue: 0x04)
    /// `NLM_F_ECHO`: echo this request to the requester.
    public static let echo = NetlinkFlags(rawValue: 0x08)
    /// `NLM_F_DUMP_INTR`: the dump was inconsistent.
    public static let dumpInterrupted = NetlinkFlags(rawValue: 0x10)
    /// `NLM_F_DUMP_FILTERED`: the dump was filtered as asked.
    public static let dumpFiltered = NetlinkFlags(rawValue: 0x20)

    // GET requests
    /// `NLM_F_ROOT`: the whole table.
    public static let root = NetlinkFlags(rawValue: 0x100)
    /// `NLM_F_MATCH`: every entry that matches.
    public static let match = NetlinkFlags(rawValue: 0x200)
    /// `NLM_F_DUMP` (`ROOT | MATCH`).
    public static let dump: NetlinkFlags = [.root, .match]

    // NEW requests
    /// `NLM_F_REPLACE`: replace an existing entry.
    public static let replace = NetlinkFlags(rawValue: 0x100)
    /// `NLM_F_EXCL`: fail if the entry exists.
    public static let exclusive = NetlinkFlags(rawValue: 0x200)
    /// `NLM_F_CREATE`: create the entry if it does not exist.
    public static let create = NetlinkFlags(rawValue: 0x400)
    /// `NLM_F_APPEND`: add at the end of the list.
    public static let append = NetlinkFlags(rawValue: 0x800)

    // ACKs
    /// `NLM_F_CAPPED`: the echoed request is only its header.
    public static let capped = NetlinkFlags(rawValue: 0x100)
    /// `NLM_F_ACK_TLVS`: extended-ack attributes follow.
    public static let acknowledgementAttributes = NetlinkFlags(rawValue: 0x200)
}

/// The control message types every netlink family shares (`NLMSG_…`).
public enum NetlinkControlType {
    /// `NLMSG_NOOP`.
    public static let noop: UInt16 = 1
    /// `NLMSG_ERROR`: an error or, with error 0, an acknowledgement.
    public static let error: UInt16 = 2
    /// `NLMSG_DONE`: the end of a multipart answer.
    public static let done: UInt16 = 3
    /// `NLMSG_OVERRUN`.
    public static let overrun: UInt16 = 4
    /// `NLMSG_MIN_TYPE`: types below this are control messages.
    public static let minimumFamilyType: UInt16 = 0x10
}

/// A netlink header as values; `nlmsg_len` is computed when the message is written.
public struct NetlinkHeader: Equatable, Sendable {
    /// `nlmsg_type`.
    public var type: UInt16
    /// `nlmsg_flags`.
    public var flags: NetlinkFlags
    /// `nlmsg_seq`.
    public var sequence: UInt32
    /// `nlmsg_pid`.
    public var portID: UInt32

    /// Creates a header.
    public init(type: UInt16, flags: NetlinkFlags = [], sequence: UInt32 = 0, portID: UInt32 = 0) {
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
    }

    /// Writes the header with `length` as `nlmsg_len` at the start of `buffer` (16 bytes).
    public func emit(into buffer: UnsafeMutableRawBufferPointer, length: Int) {
        typealias F = NetlinkMessage.Field
        precondition(buffer.count >= NetlinkMessage.headerLength, "NetlinkHeader.emit: buffer under 16 bytes")
        buffer.storeLittleEndian32(UInt32(length), at: F.length)
        buffer.storeLittleEndian16(type, at: F.type)
        buffer.storeLittleEndian16(flags.rawValue, at: F.flags)
        buffer.storeLittleEndian32(sequence, at: F.sequence)
        buffer.storeLittleEndian32(portID, at: F.portID)
    }
}

/// An `NLMSG_ERROR` message (`struct nlmsgerr`): a negative errno, or 0 for an
/// acknowledgement, then the request's header — its whole payload too unless the flags say
/// `NLM_F_CAPPED` — then, with `NLM_F_ACK_TLVS`, extended-ack attributes (`NLMSGERR_ATTR_…`).
public struct NetlinkErrorRepr: Equatable, Sendable {
    /// `NLMSGERR_ATTR_MSG`: a NUL-terminated message for the user.
    public static let messageAttribute: UInt16 = 1
    /// `NLMSGERR_ATTR_OFFS`: the offset of the offending attribute in the request.
    public static let offsetAttribute: UInt16 = 2

    /// 0 (acknowledgement) or a negative errno.
    public var error: Int32
    /// The request's header as it arrived (with its own `nlmsg_len`).
    public var request: NetlinkHeader
    /// The request's `nlmsg_len`.
    public var requestLength: Int
    /// The request's payload when not capped (empty when capped).
    public var requestPayload: [UInt8]
    /// `NLMSGERR_ATTR_MSG`, if any.
    public var message: String?
    /// `NLMSGERR_ATTR_OFFS`: the offending attribute's offset from the request's start.
    public var attributeOffset: UInt32?
    /// `NLMSGERR_ATTR_POLICY`: the policy the attribute failed.
    public var policy: NetlinkAttributePolicy?

    /// `NLMSGERR_ATTR_POLICY`.
    public static let policyAttribute: UInt16 = 4

    /// Creates an error or acknowledgement.
    public init(error: Int32, request: NetlinkHeader, requestLength: Int, requestPayload: [UInt8] = [],
                message: String? = nil, attributeOffset: UInt32? = nil, policy: NetlinkAttributePolicy? = nil) {
        self.error = error
        self.request = request
        self.requestLength = requestLength
        self.requestPayload = requestPayload
        self.message = message
        self.attributeOffset = attributeOffset
        self.policy = policy
    }

    /// Parses an `NLMSG_ERROR` message: the echoed request is whole unless `NLM_F_CAPPED`.
    public static func parse(_ message: NetlinkMessage) throws(WireError) -> NetlinkErrorRepr {
        guard message.type == NetlinkControlType.error else { throw .malformed("nlmsg_type") }
        let payload = message.payload
        guard payload.count >= 4 + NetlinkMessage.headerLength else { throw .truncated }
        let error = Int32(bitPattern: payload.littleEndian32(at: 0))
        let echoed = payload.bytes(from: 4)
        let requestLength = Int(echoed.littleEndian32(at: NetlinkMessage.Field.length))
        let header = NetlinkHeader(type: echoed.littleEndian16(at: NetlinkMessage.Field.type),
                                   flags: NetlinkFlags(rawValue: echoed.littleEndian16(at: NetlinkMessage.Field.flags)),
                                   sequence: echoed.littleEndian32(at: NetlinkMessage.Field.sequence),
                                   portID: echoed.littleEndian32(at: NetlinkMessage.Field.portID))
        var consumed = NetlinkMessage.headerLength
        var requestPayload: [UInt8] = []
        if !message.flags.contains(.capped) {
            guard requestLength >= NetlinkMessage.headerLength else { throw .malformed("nlmsg_len") }
            guard echoed.count >= requestLength else { throw .truncated }
            requestPayload = Array(echoed.bytes(NetlinkMessage.headerLength, requestLength - NetlinkMessage.headerLength))
            consumed = Swift.min(NetlinkMessage.align(requestLength), echoed.count)
        }
        var text: String?
        var offset: UInt32?
        if message.flags.contains(.acknowledgementAttributes) {
            var attributes = NetlinkAttributes(echoed.bytes(from: consumed))
            while let attribute = attributes.next() {
                if attribute.type == messageAttribute { text = attribute.string }
                if attribute.type == offsetAttribute { offset = attribute.uint32 }
            }
            if let error = attributes.error { throw error }
        }
        return NetlinkErrorRepr(error: error, request: header, requestLength: requestLength,
                                requestPayload: requestPayload, message: text, attributeOffset: offset)
    }

    /// Whether the request is echoed as a header only (acknowledgements always are; errors
    /// are with `NETLINK_CAP_ACK`), as `netlink_ack` decides.
    public func isCapped(capAcknowledgements: Bool) -> Bool { error == 0 || capAcknowledgements }

    /// Appends the whole `NLMSG_ERROR` message to `writer` as `netlink_ack` lays it out: the
    /// request's sequence number, `portID` (the requester's port id, not the request header's
    /// pid field), `NLM_F_CAPPED` when capped, `NLM_F_ACK_TLVS` when a message is attached
    /// (only with `NETLINK_EXT_ACK`), then the message, the offending attribute's offset and
    /// its policy.
    public func append(to writer: inout NetlinkWriter, portID: UInt32, capAcknowledgements: Bool) {
        let capped = isCapped(capAcknowledgements: capAcknowledgements)
        // The header, the error and the echoed header (and payload) in one allocation.
        writer.reserveCapacity(2 * NetlinkMessage.headerLength + 4
                               + (capped ? 0 : NetlinkMessage.align(requestPayload.count)))
        var flags: NetlinkFlags = capped ? .capped : []
        if message != nil || attributeOffset != nil { flags.insert(.acknowledgementAttributes) }
        writer.begin(NetlinkHeader(type: NetlinkControlType.error, flags: flags, sequence: request.sequence,
                                   portID: portID))
        writer.appendInt32(error)
        writer.appendHeader(request, length: requestLength)
        if !capped {
            writer.appendBytes(requestPayload)
            writer.pad()
        }
        if let message { writer.appendAttribute(Self.messageAttribute, string: message) }
        if let attributeOffset { writer.appendAttribute(Self.offsetAttribute, uint32: attributeOffset) }
        if let policy {
            writer.beginNested(Self.policyAttribute, flagged: true)
            policy.append(to: &writer)
            writer.endNested()
        }
        writer.end()
    }
}

/// An integer attribute's policy as `netlink_policy_dump_write_attr` describes it in an
/// extended ack: NL_POLICY_TYPE_ATTR_MIN_VALUE_U, MAX_VALUE_U, then TYPE.
public struct NetlinkAttributePolicy: Equatable, Sendable {
    /// `NL_ATTR_TYPE_U8`, `_U16`, `_U32`.
    public var type: UInt32
    /// The allowed range.
    public var minimum: UInt64
    public var maximum: UInt64

    /// An unsigned integer of `bytes` bytes (1, 2 or 4), any value.
    public init(unsignedBytes bytes: Int) {
        switch bytes {
        case 1: type = 2; maximum = 0xff
        case 2: type = 3; maximum = 0xffff
        default: type = 4; maximum = 0xffff_ffff
        }
        minimum = 0
    }

    /// Appends the description.
    public func append(to writer: inout NetlinkWriter) {
        withUnsafeBytes(of: minimum.littleEndian) { writer.appendAttribute(4, bytes: $0) }
        withUnsafeBytes(of: maximum.littleEndian) { writer.appendAttribute(5, bytes: $0) }
        writer.appendAttribute(1, uint32: type)
    }
}
