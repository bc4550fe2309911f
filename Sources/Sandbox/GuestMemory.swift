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
    /// range, whose bytes are nil when the call did not read them all (the guess is stale:
    /// unmapped, or too long). The first range's errors are `read(at:count:)`'s.
    public func read(at address: UInt64, count: Int,
                     guessing guess: (address: UInt64, count: Int)?) throws(LinuxErrno) -> ([UInt8], [UInt8]?) {
        guard let guess, count > 0, guess.count > 0, count <= Self.maximumTransfer,
              guess.count <= Self.maximumTransfer, address > 0, guess.address > 0,
              address &+ UInt64(count) >= address, guess.address &+ UInt64(guess.count) >= guess.address
        else { return (try read(at: address, count: count), nil) }
        var flat = [UInt8](repeating: 0, count: count + guess.count)
        let done = flat.withUnsafeMutableBytes {
            srouter_process_vm_read_segments(tid, $0.baseAddress, [address, guess.address], [count, guess.count], 2)
        }
        if done == count + guess.count { return (Array(flat[..<count]), Array(flat[count...])) }
        if done >= count { return (Array(flat[..<count]), nil) }
        if done == -Int(ESRCH) { throw LinuxErrno.ESRCH }
        return (try read(at: address, count: count), nil)
    }

    /// Reads a value of a C type laid out at `address` (e.g. `ifreq`).
    public func read<T>(_ type: T.Type, at address: UInt64) throws(LinuxErrno) -> T {
        let bytes = try read(at: address, count: MemoryLayout<T>.size)
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }

    /// Writes `bytes` at guest address `address`.
    /// - Throws: `LinuxErrno.EFAULT` for a bad range; `LinuxErrno.ESRCH` if the thread is gone.
    public func write(_ bytes: [UInt8], at address: UInt64) throws(LinuxErrno) {
        guard !bytes.isEmpty else { return }
        guard bytes.count <= Self.maximumTransfer else { throw LinuxErrno.EFAULT }
        var copy = bytes
        var failure: LinuxErrno?
        copy.withUnsafeMutableBytes { raw in
            do throws(LinuxErrno) { try transfer(raw, address: address, write: true) } catch { failure = error }
        }
        if let failure { throw failure }
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

    /// Writes each segment's bytes at its address, in order, in one `process_vm_writev` where
    /// it can (at most `SROUTER_VM_SEGMENTS_MAX` segments; more, or a refused call, go one by
    /// one): what a recvmsg writes back — data, name, the header's fields — costs one system
    /// call, not five, and a recvmmsg's one for all its messages.
    /// - Throws: `LinuxErrno.EFAULT` if any range is bad (those before it may be written, as
    ///   Linux's copies before a fault are); `LinuxErrno.ESRCH` if the thread is gone.
    public func write(segments: [(bytes: [UInt8], address: UInt64)]) throws(LinuxErrno) {
        let used = segments.filter { !$0.bytes.isEmpty }
        guard used.count > 1, used.count <= Int(SROUTER_VM_SEGMENTS_MAX) else {
            for segment in used { try write(segment.bytes, at: segment.address) }
            return
        }
        var total = 0
        for segment in used {
            guard segment.bytes.count <= Self.maximumTransfer, segment.address > 0,
                  segment.address &+ UInt64(segment.bytes.count) >= segment.address else { throw LinuxErrno.EFAULT }
            total += segment.bytes.count
        }
        let local = used.flatMap(\.bytes)
        let remote = used.map(\.address)
        let lengths = used.map { $0.bytes.count }
        let done = local.withUnsafeBytes { srouter_process_vm_write_segments(tid, $0.baseAddress, remote, lengths, used.count) }
        if done == total { return }
        if done >= 0 { throw LinuxErrno.EFAULT }  // a range runs off a mapping
        switch Int32(-done) {
        case EFAULT: throw LinuxErrno.EFAULT
        case ESRCH: throw LinuxErrno.ESRCH
        default: for segment in used { try write(segment.bytes, at: segment.address) }  // /proc/<tid>/mem
        }
    }

    /// Writes a value of a C type at `address`. (Labelled, so that an array of bytes can
    /// never be written as the array's own storage by overload resolution.)
    public func write<T>(value: T, at address: UInt64) throws(LinuxErrno) {
        let bytes = withUnsafeBytes(of: value) { Array($0) }
        try write(bytes, at: address)
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
