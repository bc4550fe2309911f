import LinuxABI
import Sandbox

/// Where guest memory is read and written: `GuestMemory`, or a fake in tests.
public protocol GuestAddressSpace {
    /// Reads `count` bytes at `address` (EFAULT for a bad range).
    func read(at address: UInt64, count: Int) throws(LinuxErrno) -> [UInt8]
    /// Writes `bytes` at `address` (EFAULT for a bad range).
    func write(_ bytes: [UInt8], at address: UInt64) throws(LinuxErrno)
    /// Writes segments `range` of `writeBack` in order (EFAULT for a bad range); one call
    /// where it can.
    func write(_ writeBack: GuestWriteBack, segments range: Range<Int>) throws(LinuxErrno)
    /// Reads each range (EFAULT for the first bad one); one call where it can.
    func read(segments: [(address: UInt64, count: Int)]) throws(LinuxErrno) -> [[UInt8]]
    /// Reads `count` bytes at `address` (its errors) and, in the same call where it can, the
    /// `guess` range, after them in the one array when it was read (`guessed`; not when the
    /// guess no longer holds).
    func read(at address: UInt64, count: Int,
              guessing guess: (address: UInt64, count: Int)?) throws(LinuxErrno) -> (bytes: [UInt8], guessed: Bool)
}

extension GuestAddressSpace {
    /// Writes every segment of `writeBack`.
    public func write(_ writeBack: GuestWriteBack) throws(LinuxErrno) {
        try write(writeBack, segments: 0..<writeBack.count)
    }

    /// The write-back of several received messages (a recvmmsg's, each closed by
    /// `GuestWriteBack.endMessage()`), in as few calls as `write(_:segments:)` allows (runs of
    /// messages of at most UIO_MAXIOV segments). Returns how many messages were written whole
    /// before the first that faults (`do_recvmmsg` reports the messages before a fault);
    /// throws that error when it is the first message's.
    public func write(messagesOf writeBack: GuestWriteBack) throws(LinuxErrno) -> Int {
        var start = 0
        while start < writeBack.messageCount {
            // A run of messages whose segments fit one call.
            let first = writeBack.segments(ofMessage: start).lowerBound
            var end = start + 1
            while end < writeBack.messageCount,
                  writeBack.segments(ofMessage: end).upperBound - first <= GuestMessageHeader.maximumVectors {
                end += 1
            }
            do throws(LinuxErrno) {
                try write(writeBack, segments: first..<writeBack.segments(ofMessage: end - 1).upperBound)
            } catch {
                // Message by message, to find the one that faults.
                for index in start..<end {
                    do throws(LinuxErrno) { try write(writeBack, segments: writeBack.segments(ofMessage: index)) } catch {
                        if index == 0 { throw error }
                        return index
                    }
                }
            }
            start = end
        }
        return writeBack.messageCount
    }

    /// The range alone: no guess is read.
    public func read(at address: UInt64, count: Int,
                     guessing guess: (address: UInt64, count: Int)?) throws(LinuxErrno) -> (bytes: [UInt8], guessed: Bool) {
        (try read(at: address, count: count), false)
    }

    /// One range after the other.
    public func read(segments: [(address: UInt64, count: Int)]) throws(LinuxErrno) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        for segment in segments { parts.append(try read(at: segment.address, count: segment.count)) }
        return parts
    }

    /// One segment after the other.
    public func write(_ writeBack: GuestWriteBack, segments range: Range<Int>) throws(LinuxErrno) {
        for index in range {
            try write(Array(writeBack.bytes[writeBack.range(ofSegment: index)]), at: writeBack.addresses[index])
        }
    }
}

extension GuestMemory: GuestAddressSpace {}

/// Where the iovec tables of recently read msghdrs were, by the msghdr's guest address. A
/// program receives into the same msghdr over and over (BIRD's netlink and BGP sockets), so
/// the next read of that msghdr can fetch its table with it, in one process_vm_readv rather
/// than two. Only a hint: a msghdr that now points elsewhere has its table read again.
public struct MessageTableHints {
    private var tables: [UInt64: (address: UInt64, count: Int)] = [:]
    /// How many msghdrs are remembered; past that the hints start afresh.
    static let capacity = 64

    /// No hints yet.
    public init() {}

    /// Where the table of the msghdr at `header` was last time.
    func table(of header: UInt64) -> (address: UInt64, count: Int)? { tables[header] }

    /// The msghdr at `header` had `table` (nil: none).
    mutating func record(_ table: (address: UInt64, count: Int)?, of header: UInt64) {
        guard let table else {
            tables[header] = nil
            return
        }
        if tables.count >= Self.capacity && tables[header] == nil { tables.removeAll(keepingCapacity: true) }
        tables[header] = table
    }
}

/// Little-endian loads from a byte array (the LP64 layouts of x86_64 and aarch64).
extension Array where Element == UInt8 {
    func word64(at offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(self[offset + $1]) << (8 * UInt64($1)) }
    }

    func word32(at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(self[offset + $1]) << (8 * UInt32($1)) }
    }

    func word16(at offset: Int) -> UInt16 {
        UInt16(self[offset]) | UInt16(self[offset + 1]) << 8
    }
}

/// Little-endian bytes of an integer.
func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

/// One `struct iovec`.
public struct GuestIOVector: Equatable, Sendable {
    /// iov_base.
    public var base: UInt64
    /// iov_len.
    public var length: Int
}

/// A guest's `struct msghdr` (56 bytes on LP64), read with `copy_msghdr_from_user`'s rules.
public struct GuestMessageHeader: Equatable, Sendable {
    /// sizeof(struct msghdr).
    public static let size = 56
    /// sizeof(struct mmsghdr): a msghdr and msg_len, padded.
    public static let multiStride = 64
    /// UIO_MAXIOV.
    public static let maximumVectors = 1024
    /// MAX_RW_COUNT: one call moves at most INT_MAX rounded down to a page.
    public static let maximumTransfer = Int(Int32.max) & ~4095

    /// msg_name.
    public var nameAddress: UInt64 = 0
    /// msg_namelen (clamped to sizeof(sockaddr_storage); 0 when msg_name is NULL).
    public var nameLength: Int32 = 0
    /// The iovecs.
    public var vectors: [GuestIOVector] = []
    /// msg_control.
    public var controlAddress: UInt64 = 0
    /// msg_controllen.
    public var controlLength: UInt64 = 0
    /// msg_flags.
    public var flags: Int32 = 0
    /// The words of the msghdr that `___sys_recvmsg` never writes, as read: msg_namelen as
    /// the guest set it (left alone when msg_name is NULL), the padding after it, msg_iov and
    /// the padding after msg_flags (msg_iovlen is `vectors.count`). A receive writes them
    /// back unchanged between the fields it sets, so its result is one range of guest memory
    /// (one page walk in `process_vm_writev`) rather than three; only a thread rewriting the
    /// msghdr while another is still inside the receive could tell.
    public var untouched = UntouchedWords()

    /// The msghdr words a receive leaves as they are (see `untouched`).
    public struct UntouchedWords: Equatable, Sendable {
        /// msg_namelen as read.
        public var nameLength: UInt32 = 0
        /// The 4 bytes of padding after msg_namelen.
        public var afterNameLength: UInt32 = 0
        /// msg_iov.
        public var vectorTable: UInt64 = 0
        /// The 4 bytes of padding after msg_flags.
        public var afterFlags: UInt32 = 0
        /// None read (a header built by hand).
        public init() {}
    }

    /// An empty header (tests build them by hand).
    public init() {}

    /// Reads the msghdr at `address` and its iovec array (`__copy_msghdr`, `import_iovec`):
    /// more than UIO_MAXIOV vectors is EMSGSIZE, a negative length EINVAL, a negative
    /// msg_namelen EINVAL.
    public static func read(from memory: some GuestAddressSpace, at address: UInt64,
                            forReceive: Bool) throws(LinuxErrno) -> GuestMessageHeader {
        var hints = MessageTableHints()
        return try read(from: memory, at: address, forReceive: forReceive, hints: &hints)
    }

    /// As `read(from:at:forReceive:)`, fetching the iovec table in the same call as the
    /// msghdr when `hints` knows where this msghdr's table was last time and it is still
    /// there (the msghdr read with it must point at the same table, or it is read again).
    public static func read(from memory: some GuestAddressSpace, at address: UInt64, forReceive: Bool,
                            hints: inout MessageTableHints) throws(LinuxErrno) -> GuestMessageHeader {
        let guess = hints.table(of: address)
        let (raw, guessed) = try memory.read(at: address, count: size, guessing: guess)
        let (header, table) = try fields(raw, at: 0)
        hints.record(table, of: address)
        guard let table else { return header }
        if let guess, guessed, guess == table { return try withVectors(header, raw, at: size) }
        return try withVectors(header, try memory.read(at: table.address, count: table.count), at: 0)
    }

    /// The fields of the msghdr at `offset` of `raw`, and where its iovec table is (nil: no
    /// vectors): `__copy_msghdr`'s checks.
    private static func fields(_ raw: [UInt8], at offset: Int) throws(LinuxErrno)
        -> (GuestMessageHeader, table: (address: UInt64, count: Int)?) {
        var header = GuestMessageHeader()
        header.nameAddress = raw.word64(at: offset)
        header.nameLength = Int32(bitPattern: raw.word32(at: offset + 8))
        if header.nameAddress == 0 { header.nameLength = 0 }
        if header.nameLength < 0 { throw .EINVAL }
        header.nameLength = min(header.nameLength, 128)
        let vectorAddress = raw.word64(at: offset + 16)
        let vectorCount = raw.word64(at: offset + 24)
        header.controlAddress = raw.word64(at: offset + 32)
        header.controlLength = raw.word64(at: offset + 40)
        header.flags = Int32(bitPattern: raw.word32(at: offset + 48))
        header.untouched.nameLength = raw.word32(at: offset + 8)
        header.untouched.afterNameLength = raw.word32(at: offset + 12)
        header.untouched.vectorTable = vectorAddress
        header.untouched.afterFlags = raw.word32(at: offset + 52)
        guard vectorCount <= UInt64(maximumVectors) else { throw .EMSGSIZE }
        return (header, vectorCount > 0 ? (vectorAddress, Int(vectorCount) * 16) : nil)
    }

    /// `header` with the iovecs of the table at `offset` of `raw`, which runs to its end
    /// (`import_iovec`: a negative length is EINVAL, the total is clamped to MAX_RW_COUNT).
    private static func withVectors(_ header: GuestMessageHeader, _ raw: [UInt8], at offset: Int) throws(LinuxErrno)
        -> GuestMessageHeader {
        var header = header
        var total = 0
        let count = (raw.count - offset) / 16
        header.vectors.reserveCapacity(count)
        for index in 0..<count {
            let length = Int64(bitPattern: raw.word64(at: offset + index * 16 + 8))
            guard length >= 0 else { throw .EINVAL }
            let clamped = Int(min(length, Int64(maximumTransfer - total)))
            total += clamped
            header.vectors.append(GuestIOVector(base: raw.word64(at: offset + index * 16), length: clamped))
        }
        return header
    }

    /// Reads `count` mmsghdr entries (`__sys_sendmmsg`/`do_recvmmsg` clamp to UIO_MAXIOV):
    /// the entries in one read and their iovec tables in one more. Anything that goes wrong
    /// on that path reads again entry by entry, header then table, so the error is the one
    /// Linux's walk through the entries meets first.
    public static func readMulti(from memory: some GuestAddressSpace, at address: UInt64, count: Int,
                                 forReceive: Bool) throws(LinuxErrno) -> [GuestMessageHeader] {
        let clamped = min(max(count, 0), maximumVectors)
        if clamped > 1, let headers = try? readMultiBatched(from: memory, at: address, count: clamped) {
            return headers
        }
        var headers: [GuestMessageHeader] = []
        for index in 0..<clamped {
            headers.append(try read(from: memory, at: address + UInt64(index * multiStride), forReceive: forReceive))
        }
        return headers
    }

    /// `readMulti`'s two reads; throws on anything that needs the walk entry by entry.
    private static func readMultiBatched(from memory: some GuestAddressSpace, at address: UInt64,
                                         count: Int) throws(LinuxErrno) -> [GuestMessageHeader] {
        // The last entry's msg_len and padding are read too; a fault there takes the slow path.
        let raw = try memory.read(at: address, count: count * multiStride)
        var parsed: [(GuestMessageHeader, table: (address: UInt64, count: Int)?)] = []
        parsed.reserveCapacity(count)
        for index in 0..<count { parsed.append(try fields(raw, at: index * multiStride)) }
        let ranges = parsed.compactMap(\.table)
        let tables = try memory.read(segments: ranges)
        var headers: [GuestMessageHeader] = []
        headers.reserveCapacity(count)
        var next = 0
        for (header, table) in parsed {
            if table == nil {
                headers.append(header)
            } else {
                headers.append(try withVectors(header, tables[next], at: 0))
                next += 1
            }
        }
        return headers
    }

    /// The bytes the iovecs describe.
    public var totalLength: Int { vectors.reduce(0) { $0 + $1.length } }

    /// Gathers the data to send, at most `limit` bytes.
    public func gather(from memory: some GuestAddressSpace, limit: Int) throws(LinuxErrno) -> [UInt8] {
        var data: [UInt8] = []
        for vector in vectors where vector.length > 0 && data.count < limit {
            data += try memory.read(at: vector.base, count: min(vector.length, limit - data.count))
        }
        return data
    }

    /// Appends to `writeBack` where received `bytes` go over the iovecs, in order, and
    /// returns how many fit.
    public func scatter(_ bytes: UnsafeRawBufferPointer, into writeBack: inout GuestWriteBack) -> Int {
        var offset = 0
        for vector in vectors where offset < bytes.count && vector.length > 0 {
            let count = min(vector.length, bytes.count - offset)
            writeBack.append(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]), at: vector.base)
            offset += count
        }
        return offset
    }

    /// Appends to `writeBack` what `___sys_recvmsg` writes back into the msghdr at
    /// `address`: msg_namelen (only when msg_name is set, as `move_addr_to_user` is only
    /// called then), msg_controllen and msg_flags, as one segment from msg_namelen through the
    /// msghdr's end with the words between them as `header` read them (`untouched`); an
    /// mmsghdr's msg_len, appended next, continues it.
    public static func appendResult(of header: GuestMessageHeader, nameLength: Int32, controlLength: UInt64,
                                    flags: Int32, at address: UInt64, to writeBack: inout GuestWriteBack) {
        let kept = header.untouched
        let nameLengthField = (header.nameAddress != 0 ? UInt32(bitPattern: nameLength) : kept.nameLength).littleEndian,
            afterNameLength = kept.afterNameLength.littleEndian,
            vectorTable = kept.vectorTable.littleEndian, vectorCount = UInt64(header.vectors.count).littleEndian,
            control = header.controlAddress.littleEndian, controlLength = controlLength.littleEndian,
            outFlags = flags.littleEndian, afterFlags = kept.afterFlags.littleEndian
        // msg_namelen at 8 … the padding ending the 56-byte msghdr: 48 bytes, no holes.
        withUnsafeBytes(of: (nameLengthField, afterNameLength, vectorTable, vectorCount, control, controlLength,
                             outFlags, afterFlags)) {
            writeBack.append(UnsafeRawBufferPointer(rebasing: $0[0..<48]), at: address + 8)
        }
    }

    /// Writes msg_len of entry `index` of an mmsghdr array.
    public static func writeMessageLength(_ length: UInt32, to memory: some GuestAddressSpace, at address: UInt64,
                                          index: Int) throws(LinuxErrno) {
        try memory.write(littleEndianBytes(length), at: address + UInt64(index * multiStride + size))
    }
}
