import CSRouterLinux
import Glibc
import LinuxABI

/// Reads and writes the memory of a trapped guest thread.
///
/// `process_vm_readv`/`process_vm_writev` first (one copy, no open file); `/proc/<tid>/mem`
/// when those are refused (a container profile that denies them, a restrictive Yama scope).
/// A guest pointer is never trusted: a range outside the guest's mappings is `EFAULT`, which
/// the handler returns to the guest, exactly as Linux would for a bad user pointer.
public struct GuestMemory {
    /// The guest thread whose address space is accessed (a notification's `pid`).
    public let tid: pid_t

    /// Accesses the address space of thread `tid`.
    public init(tid: pid_t) { self.tid = tid }

    /// The largest single read or write srouter makes on a guest's behalf; longer requests
    /// from the guest are the handler's to clamp or refuse (never trust a guest length).
    public static let maximumTransfer = 1 << 20

    /// Reads `count` bytes at guest address `address`.
    /// - Throws: `LinuxErrno.EFAULT` for a bad range; `LinuxErrno.ESRCH` if the thread is gone.
    public func read(at address: UInt64, count: Int) throws(LinuxErrno) -> [UInt8] {
        guard count > 0 else { return [] }
        guard count <= Self.maximumTransfer else { throw LinuxErrno.EFAULT }
        var buffer = [UInt8](repeating: 0, count: count)
        var failure: LinuxErrno?
        buffer.withUnsafeMutableBytes { raw in
            do throws(LinuxErrno) { try transfer(raw, address: address, write: false) } catch { failure = error }
        }
        if let failure { throw failure }
        return buffer
    }

    /// Reads `count` bytes at `address` and, in the same process_vm_readv, the `guess`
    /// range, returned after them in one array when the call read them all (`guessed`);
    /// otherwise (the guess is stale: unmapped, or too long) the array holds the first range
    /// alone. The first range's errors are `read(at:count:)`'s.
    public func read(at address: UInt64, count: Int,
                     guessing guess: (address: UInt64, count: Int)?) throws(LinuxErrno) -> (bytes: [UInt8], guessed: Bool) {
        guard let guess, count > 0, guess.count > 0, count <= Self.maximumTransfer,
              guess.count <= Self.maximumTransfer, address > 0, guess.address > 0,
              address &+ UInt64(count) >= address, guess.address &+ UInt64(guess.count) >= guess.address
        else { return (try read(at: address, count: count), false) }
        var flat = [UInt8](repeating: 0, count: count + guess.count)
        let done = flat.withUnsafeMutableBytes { local in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2) { remote in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: 2) { lengths in
                    remote[0] = address
                    remote[1] = guess.address
                    lengths[0] = count
                    lengths[1] = guess.count
                    return srouter_process_vm_read_segments(tid, local.baseAddress, remote.baseAddress,
                                                            lengths.baseAddress, 2)
                }
            }
        }
        if done == count + guess.count { return (flat, true) }
        if done >= count {
            flat.removeLast(guess.count)
            return (flat, false)
        }
        if done == -Int(ESRCH) { throw LinuxErrno.ESRCH }
        return (try read(at: address, count: count), false)
    }

    /// Reads a value of a C type laid out at `address` (e.g. `ifreq`).
    public func read<T>(_ type: T.Type, at address: UInt64) throws(LinuxErrno) -> T {
        let bytes = try read(at: address, count: MemoryLayout<T>.size)
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }

    /// Writes `bytes` at guest address `address`.
    /// - Throws: `LinuxErrno.EFAULT` for a bad range; `LinuxErrno.ESRCH` if the thread is gone.
    public func write(_ bytes: [UInt8], at address: UInt64) throws(LinuxErrno) {
        var failure: LinuxErrno?
        bytes.withUnsafeBytes { raw in
            do throws(LinuxErrno) { try write(raw, at: address) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes the bytes of `raw` at guest address `address` (its errors are
    /// `write(_:at:)`'s), straight from the caller's buffer.
    private func write(_ raw: UnsafeRawBufferPointer, at address: UInt64) throws(LinuxErrno) {
        guard !raw.isEmpty else { return }
        guard raw.count <= Self.maximumTransfer else { throw LinuxErrno.EFAULT }
        // process_vm_writev only reads the local buffer.
        try transfer(UnsafeMutableRawBufferPointer(mutating: raw), address: address, write: true)
    }

    /// Reads each range, in one `process_vm_readv` where it can (at most
    /// `SROUTER_VM_SEGMENTS_MAX` ranges; more, or a call that fails, go one by one, so the
    /// first bad range is the one that throws): a recvmmsg's iovec tables cost one call, not
    /// one per message.
    /// - Throws: `LinuxErrno.EFAULT` for a bad range; `LinuxErrno.ESRCH` if the thread is gone.
    public func read(segments: [(address: UInt64, count: Int)]) throws(LinuxErrno) -> [[UInt8]] {
        let total = segments.reduce(0) { $0 &+ max(0, $1.count) }
        let plausible = segments.count > 1 && segments.count <= Int(SROUTER_VM_SEGMENTS_MAX)
            && total <= Self.maximumTransfer
            && segments.allSatisfy { $0.count >= 0 && $0.address > 0 && $0.address &+ UInt64($0.count) >= $0.address }
        if plausible {
            var flat = [UInt8](repeating: 0, count: total)
            let remote = segments.map(\.address)
            let lengths = segments.map(\.count)
            let done = flat.withUnsafeMutableBytes {
                srouter_process_vm_read_segments(tid, $0.baseAddress, remote, lengths, segments.count)
            }
            if done == total {
                var parts: [[UInt8]] = []
                parts.reserveCapacity(segments.count)
                var offset = 0
                for segment in segments {
                    parts.append(Array(flat[offset..<(offset + segment.count)]))
                    offset += segment.count
                }
                return parts
            }
            if done == -Int(ESRCH) { throw LinuxErrno.ESRCH }
        }
        var parts: [[UInt8]] = []
        for segment in segments { parts.append(try read(at: segment.address, count: segment.count)) }
        return parts
    }

    /// Writes segments `range` of `writeBack`, in order, in one `process_vm_writev` straight
    /// from its buffers where it can (at most `SROUTER_VM_SEGMENTS_MAX` segments; more, or a
    /// refused call, go one by one): what a recvmsg writes back — data, name, the header's
    /// fields — costs one system call, not five, and a recvmmsg's one for all its messages.
    /// - Throws: `LinuxErrno.EFAULT` if any range is bad (those before it may be written, as
    ///   Linux's copies before a fault are); `LinuxErrno.ESRCH` if the thread is gone.
    public func write(_ writeBack: GuestWriteBack, segments range: Range<Int>) throws(LinuxErrno) {
        guard range.count > 1, range.count <= Int(SROUTER_VM_SEGMENTS_MAX) else {
            try writeOneByOne(writeBack, segments: range)
            return
        }
        var total = 0
        for index in range {
            let address = writeBack.addresses[index], count = writeBack.lengths[index]
            guard count <= Self.maximumTransfer, address > 0, address &+ UInt64(count) >= address else {
                throw LinuxErrno.EFAULT
            }
            total += count
        }
        let first = writeBack.starts[range.lowerBound]
        let done = writeBack.bytes.withUnsafeBytes { local in
            writeBack.addresses.withUnsafeBufferPointer { remote in
                writeBack.lengths.withUnsafeBufferPointer { lengths in
                    srouter_process_vm_write_segments(tid, local.baseAddress.map { $0 + first }, remote.baseAddress.map { $0 + range.lowerBound },
                                                      lengths.baseAddress.map { $0 + range.lowerBound }, range.count)
                }
            }
        }
        if done == total { return }
        if done >= 0 { throw LinuxErrno.EFAULT }  // a range runs off a mapping
        switch Int32(-done) {
        case EFAULT: throw LinuxErrno.EFAULT
        case ESRCH: throw LinuxErrno.ESRCH
        default: try writeOneByOne(writeBack, segments: range)  // /proc/<tid>/mem
        }
    }

    /// Segments `range` of `writeBack`, each with `write(_:at:)`'s checks and fallback.
    private func writeOneByOne(_ writeBack: GuestWriteBack, segments range: Range<Int>) throws(LinuxErrno) {
        var failure: LinuxErrno?
        writeBack.bytes.withUnsafeBytes { raw in
            for index in range {
                do throws(LinuxErrno) {
                    try write(UnsafeRawBufferPointer(rebasing: raw[writeBack.range(ofSegment: index)]),
                              at: writeBack.addresses[index])
                } catch {
                    failure = error
                    return
                }
            }
        }
        if let failure { throw failure }
    }

    /// Writes a value of a C type at `address`. (Labelled, so that an array of bytes can
    /// never be written as the array's own storage by overload resolution.)
    public func write<T>(value: T, at address: UInt64) throws(LinuxErrno) {
        var failure: LinuxErrno?
        withUnsafeBytes(of: value) { raw in
            do throws(LinuxErrno) { try write(raw, at: address) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    private func transfer(_ raw: UnsafeMutableRawBufferPointer, address: UInt64,
                          write: Bool) throws(LinuxErrno) {
        // A range that wraps around the address space is never valid.
        guard address > 0, address &+ UInt64(raw.count) >= address else {
            throw LinuxErrno.EFAULT
        }
        let done = write ? srouter_process_vm_write(tid, raw.baseAddress, raw.count, address)
                         : srouter_process_vm_read(tid, raw.baseAddress, raw.count, address)
        if done == raw.count { return }
        if done >= 0 { throw LinuxErrno.EFAULT }  // partial: the range runs off a mapping
        switch Int32(-done) {
        case EFAULT: throw LinuxErrno.EFAULT
        case ESRCH: throw LinuxErrno.ESRCH
        default: try transferThroughProc(raw, address: address, write: write)
        }
    }

    /// The fallback: pread/pwrite on `/proc/<tid>/mem` (EIO there means an unmapped range).
    private func transferThroughProc(_ raw: UnsafeMutableRawBufferPointer, address: UInt64,
                                     write: Bool) throws(LinuxErrno) {
        let fd = open("/proc/\(tid)/mem", (write ? O_RDWR : O_RDONLY) | O_CLOEXEC)
        if fd < 0 { throw errno == ENOENT ? LinuxErrno.ESRCH : LinuxErrno.EFAULT }
        defer { close(fd) }
        guard address <= UInt64(Int64.max) else { throw LinuxErrno.EFAULT }
        let done = write ? pwrite(fd, raw.baseAddress, raw.count, off_t(address))
                         : pread(fd, raw.baseAddress, raw.count, off_t(address))
        if done != raw.count { throw LinuxErrno.EFAULT }
    }
}
