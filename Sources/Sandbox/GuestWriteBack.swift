/// What a trapped receive writes back into guest memory — the data over the iovecs, the
/// name, the control messages, the msghdr's fields, an mmsghdr's msg_len — as segments laid
/// out the way `process_vm_writev` takes them: every segment's bytes back to back in one
/// buffer, beside the remote address and length of each. `GuestMemory.write(_:)` hands the
/// three buffers to the system call as they are.
///
/// A receive path builds one of these per call instead of an array of byte arrays, and keeps
/// it afterwards (`removeAll()` keeps the capacity): in steady state a route change's ACK is
/// written back without one allocation. A recvmmsg's messages go into one write-back, each
/// closed by `endMessage()`, so that `write(messagesOf:)` can report the messages written
/// before the first that faults, as `do_recvmmsg` does.
public struct GuestWriteBack {
    /// Every segment's bytes, back to back, in the order they are written.
    public private(set) var bytes: [UInt8] = []
    /// Each segment's guest address.
    public private(set) var addresses: [UInt64] = []
    /// Each segment's length (never 0: empty segments are not kept, as nothing is written).
    public private(set) var lengths: [Int] = []
    /// Where each segment's bytes start in `bytes`.
    public private(set) var starts: [Int] = []
    /// The number of segments at the end of each message closed by `endMessage()`.
    public private(set) var messageEnds: [Int] = []

    /// An empty write-back.
    public init() {}

    /// A write-back of `segments`, in order, as one message (empty ones are dropped).
    public init(_ segments: [(bytes: [UInt8], address: UInt64)]) {
        for segment in segments { append(segment.bytes, at: segment.address) }
    }

    /// A write-back of several messages, each a list of segments.
    public init(messages: [[(bytes: [UInt8], address: UInt64)]]) {
        for message in messages {
            for segment in message { append(segment.bytes, at: segment.address) }
            endMessage()
        }
    }

    /// The number of segments.
    public var count: Int { addresses.count }

    /// The number of messages closed by `endMessage()`.
    public var messageCount: Int { messageEnds.count }

    /// Empties it, keeping the buffers for the next receive.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        addresses.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        messageEnds.removeAll(keepingCapacity: true)
    }

    /// Appends a segment: `data` to be written at `address`. Empty data adds nothing.
    public mutating func append(_ data: UnsafeRawBufferPointer, at address: UInt64) {
        guard !data.isEmpty else { return }
        starts.append(bytes.count)
        bytes.append(contentsOf: data)
        addresses.append(address)
        lengths.append(data.count)
    }

    /// Appends a segment of the bytes of `data`.
    public mutating func append(_ data: [UInt8], at address: UInt64) {
        data.withUnsafeBytes { append($0, at: address) }
    }

    /// Appends a segment of the bytes of `data`.
    public mutating func append(_ data: ArraySlice<UInt8>, at address: UInt64) {
        data.withUnsafeBytes { append($0, at: address) }
    }

    /// Appends a segment holding `value` as the guest's C type of that width holds it
    /// (little-endian on x86_64 and aarch64).
    public mutating func append<T: FixedWidthInteger>(littleEndian value: T, at address: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { append($0, at: address) }
    }

    /// Closes the message whose segments were appended since the last one closed.
    public mutating func endMessage() {
        messageEnds.append(count)
    }

    /// Where segment `index`'s bytes are in `bytes`.
    public func range(ofSegment index: Int) -> Range<Int> { starts[index]..<(starts[index] + lengths[index]) }

    /// The segments of message `index` (closed by `endMessage()`).
    public func segments(ofMessage index: Int) -> Range<Int> {
        (index == 0 ? 0 : messageEnds[index - 1])..<messageEnds[index]
    }
}
