import CSRouterLinux
import Glibc
import LinuxABI
import Sandbox
import Synchronization

/// A guest descriptor as `/proc/<tid>/fdinfo/<fd>` describes it.
struct GuestDescriptor: Equatable {
    /// The inode of the open file (`socket:[INODE]` for a socket): how srouter recognises its
    /// sockets whatever number, process or dup the guest reaches them through (DESIGN §3).
    var inode: UInt64
    /// The file status flags when they were read with the description (fdinfo, or
    /// `describe`); nil when `held` is there to ask.
    private var knownStatusFlags: Int32?
    /// Whether the descriptor is close-on-exec (`FD_CLOEXEC`); nil when not read (a copy of
    /// the descriptor does not carry the flag: `closeOnExec(tid:fd:)` reads it).
    var closeOnExec: Bool?
    /// srouter's copy of the file while the trapped call that described it is served
    /// (`GuestFiles.withDescriptor`), or -1. Status flags live in the open file description,
    /// which the copy shares, so they are read from it only when a call asks.
    var held: Int32 = -1

    /// A description with its flags read.
    init(inode: UInt64, statusFlags: Int32, closeOnExec: Bool?) {
        self.inode = inode
        knownStatusFlags = statusFlags
        self.closeOnExec = closeOnExec
    }

    /// A description whose flags are read from `held` on demand.
    init(inode: UInt64, held: Int32) {
        self.inode = inode
        self.held = held
    }

    /// The file status flags (`O_NONBLOCK`…), as `fcntl(F_GETFL)` reports them (0 if they
    /// cannot be read).
    var statusFlags: Int32 {
        if let knownStatusFlags { return knownStatusFlags }
        return held >= 0 ? max(0, fcntl(held, F_GETFL)) : 0
    }

    /// Whether the file is non-blocking (`O_NONBLOCK`).
    var isNonBlocking: Bool { statusFlags & Int32(O_NONBLOCK) != 0 }

    static func == (a: GuestDescriptor, b: GuestDescriptor) -> Bool {
        a.inode == b.inode && a.statusFlags == b.statusFlags && a.closeOnExec == b.closeOnExec
    }
}

/// srouter's reference to a guest file for one step of a trapped call: either the copy the
/// call's description holds (not closed here) or a transient copy of its own, closed when
/// this goes out of scope.
struct GuestFileCopy: ~Copyable {
    /// The descriptor in srouter's table.
    let fd: Int32
    /// Whether this value closes `fd`.
    private let owned: Bool

    /// Wraps `fd`; `owned` ones are closed at the end of the value's life.
    init(fd: Int32, owned: Bool) {
        self.fd = fd
        self.owned = owned
    }

    deinit { if owned { close(fd) } }
}

/// Access to the guest's descriptor table: which file a number names, transient copies of
/// guest files (`pidfd_getfd`), and injection (`SECCOMP_IOCTL_NOTIF_ADDFD`).
enum GuestFiles {
    /// The file behind guest descriptor `fd` of thread `tid` (its inode and status flags; not
    /// `closeOnExec`), nil when the guest has no such descriptor: a transient copy through a
    /// cached pidfd — pidfd_getfd, fstat, fcntl(F_GETFL), close — rather than opening and
    /// parsing `/proc/<tid>/fdinfo/<fd>` (a path walk through procfs), which stays the
    /// fallback. A trapped call that goes on to act on the file uses `withDescriptor`,
    /// which keeps the copy for the call. Closing the copy is not the file's last close
    /// (the guest holds it), but it is a close: a filesystem with a `flush` operation (NFS,
    /// FUSE) sees one, as it would from any process that had the file through SCM_RIGHTS.
    static func describe(tid: pid_t, fd: Int32) -> GuestDescriptor? {
        guard fd >= 0 else { return nil }
        let copy = duplicate(tid: tid, fd: fd)
        if copy == -EBADF { return nil }
        guard copy >= 0 else { return describeThroughProc(tid: tid, fd: fd) }
        defer { close(copy) }
        let inode = srouter_inode_of(copy)
        let flags = fcntl(copy, F_GETFL)
        guard inode >= 0, flags >= 0 else { return describeThroughProc(tid: tid, fd: fd) }
        return GuestDescriptor(inode: UInt64(inode), statusFlags: flags, closeOnExec: nil)
    }

    /// Whether guest descriptor `fd` of thread `tid` is close-on-exec (fdinfo's `flags`);
    /// false if it cannot be read.
    static func closeOnExec(tid: pid_t, fd: Int32) -> Bool {
        describeThroughProc(tid: tid, fd: fd)?.closeOnExec ?? false
    }

    /// Reads `/proc/<tid>/fdinfo/<fd>`; nil when the guest has no such descriptor.
    static func describeThroughProc(tid: pid_t, fd: Int32) -> GuestDescriptor? {
        guard fd >= 0 else { return nil }
        let handle = open("/proc/\(tid)/fdinfo/\(fd)", O_RDONLY | O_CLOEXEC)
        guard handle >= 0 else { return nil }
        defer { close(handle) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 512) { buffer in
            let count = read(handle, buffer.baseAddress, buffer.count)
            guard count > 0 else { return nil }
            return parse(fdinfo: UnsafeBufferPointer(rebasing: buffer[..<count]))
        }
    }

    /// Parses fdinfo text: `flags:` is octal (with O_CLOEXEC, 02000000, for a close-on-exec
    /// descriptor), `ino:` decimal (Linux ≥ 5.10). Byte by byte, without strings: every
    /// trapped call on a socket reads one.
    static func parse<C: Collection>(fdinfo text: C) -> GuestDescriptor? where C.Element == UInt8 {
        var flags: Int64?
        var inode: UInt64?
        for line in text.split(separator: UInt8(ascii: "\n")) {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let key = line[..<colon]
            let value = line[line.index(after: colon)...].drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            if key.elementsEqual("flags".utf8) {
                flags = parseNumber(value, radix: 8).map { Int64(truncatingIfNeeded: $0) }
            } else if key.elementsEqual("ino".utf8) {
                inode = parseNumber(value, radix: 10)
            }
        }
        guard let flags, let inode else { return nil }
        let cloexec = Int64(O_CLOEXEC)
        return GuestDescriptor(inode: inode, statusFlags: Int32(truncatingIfNeeded: flags & ~cloexec),
                               closeOnExec: flags & cloexec != 0)
    }

    /// The unsigned number `digits` spell in `radix` (at most 10), up to the first blank;
    /// nil if empty, not a number, or over 64 bits.
    private static func parseNumber<C: Collection>(_ digits: C, radix: UInt64) -> UInt64? where C.Element == UInt8 {
        var value: UInt64 = 0
        var any = false
        for byte in digits {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") { break }
            guard byte >= UInt8(ascii: "0") else { return nil }
            let digit = UInt64(byte - UInt8(ascii: "0"))
            guard digit < radix else { return nil }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: radix)
            let (sum, carry) = shifted.addingReportingOverflow(digit)
            guard !overflow, !carry else { return nil }
            value = sum
            any = true
        }
        return any ? value : nil
    }

    /// srouter's reference to guest descriptor `fd` of thread `tid`, for acting on the
    /// guest's end of a socket (drain filler, take a datagram, accept): the copy held for the
    /// trapped call being served when there is one, else a transient copy. Keep it no longer
    /// than the step that needs it: while it is open srouter cannot see the guest close the file.
    static func copy(tid: pid_t, fd: Int32) throws(LinuxErrno) -> GuestFileCopy {
        if let held = heldCopies.withLock({ $0[HeldKey(tid: tid, fd: fd)] }) {
            return GuestFileCopy(fd: held, owned: false)
        }
        let copy = duplicate(tid: tid, fd: fd)
        guard copy >= 0 else { throw LinuxErrno(rawValue: -copy) }
        return GuestFileCopy(fd: copy, owned: true)
    }

    /// Describes guest descriptor `fd` of thread `tid` and holds srouter's copy of it while
    /// `body` serves the call: the call's later steps (`copy(tid:fd:)`) use it instead of
    /// copying the descriptor again, and the status flags are read only if asked — a
    /// trapped call costs pidfd_getfd, fstat and close, not six calls. Linux itself holds
    /// the file for the length of a call (`fdget`), so a guest thread that closes or
    /// replaces the number meanwhile changes nothing for this call, as natively. nil to
    /// `body`: no such descriptor. Nested calls for the same thread and number share the
    /// outer call's copy.
    static func withDescriptor<R>(tid: pid_t, fd: Int32, _ body: (GuestDescriptor?) -> R) -> R {
        guard fd >= 0 else { return body(nil) }
        let key = HeldKey(tid: tid, fd: fd)
        if let held = heldCopies.withLock({ $0[key] }) {
            let inode = srouter_inode_of(held)
            return body(inode >= 0 ? GuestDescriptor(inode: UInt64(inode), held: held) : describe(tid: tid, fd: fd))
        }
        let copy = duplicate(tid: tid, fd: fd)
        if copy == -EBADF { return body(nil) }
        guard copy >= 0 else { return body(describeThroughProc(tid: tid, fd: fd)) }
        defer { close(copy) }
        let inode = srouter_inode_of(copy)
        guard inode >= 0 else { return body(describeThroughProc(tid: tid, fd: fd)) }
        heldCopies.withLock { $0[key] = copy }
        defer { heldCopies.withLock { if $0[key] == copy { $0[key] = nil } } }
        return body(GuestDescriptor(inode: UInt64(inode), held: copy))
    }

    /// The guest's descriptor number `fd` now names another file (srouter replaced it):
    /// later steps of the call must not act on the copy held for the old one.
    static func forgetHeld(fd: Int32) {
        heldCopies.withLock { held in
            for key in held.keys where key.fd == fd { held[key] = nil }
        }
    }

    /// A thread and one of its descriptor numbers.
    private struct HeldKey: Hashable {
        var tid: pid_t
        var fd: Int32
    }

    /// The copies `withDescriptor` holds, by thread and number.
    private static let heldCopies = Mutex<[HeldKey: Int32]>([:])

    /// Thread pidfds by tid (`pidfd_open(PIDFD_THREAD)`), kept between calls: a thread that
    /// traps once traps again. A pidfd names one thread, never a later one given the same
    /// tid, so a stale entry only fails (ESRCH) and is replaced. Cleared past `pidfdLimit`.
    private static let pidfds = Mutex<[pid_t: Int32]>([:])
    /// How many pidfds the cache holds at most.
    static let pidfdLimit = 256

    /// pidfd_getfd of guest descriptor `fd` through thread `tid`'s cached pidfd: the copy or
    /// -errno (EBADF: no such descriptor; ESRCH: the thread is gone).
    private static func duplicate(tid: pid_t, fd: Int32) -> Int32 {
        pidfds.withLock { cache in
            if let pidfd = cache[tid] {
                let copy = srouter_pidfd_getfd(pidfd, fd)
                if copy != -ESRCH { return copy }
                close(pidfd)
                cache[tid] = nil
            }
            let pidfd = srouter_pidfd_open(tid, UInt32(SROUTER_PIDFD_THREAD))
            guard pidfd >= 0 else { return pidfd }
            if cache.count >= pidfdLimit {
                for stale in cache.values { close(stale) }
                cache.removeAll()
            }
            cache[tid] = pidfd
            return srouter_pidfd_getfd(pidfd, fd)
        }
    }

    /// Installs `fd` in the guest. With `answering`, the kernel also answers notification
    /// `id` with the new descriptor number (`SECCOMP_ADDFD_FLAG_SEND`), atomically; `target`
    /// replaces that guest descriptor number instead of taking the lowest free one
    /// (`SECCOMP_ADDFD_FLAG_SETFD`, as dup2 does). Returns the guest's number or -errno.
    static func inject(_ fd: Int32, listener: Int32, id: UInt64, closeOnExec: Bool, answering: Bool,
                       target: Int32? = nil) -> Int32 {
        var request = seccomp_notif_addfd()
        request.id = id
        request.srcfd = UInt32(fd)
        request.newfd = UInt32(target ?? 0)
        request.newfd_flags = closeOnExec ? UInt32(O_CLOEXEC) : 0
        request.flags = (answering ? srouter_seccomp_addfd_flag_send : 0)
            | (target != nil ? srouter_seccomp_addfd_flag_setfd : 0)
        if let target { forgetHeld(fd: target) }
        return srouter_notif_addfd(listener, &request)
    }

    /// Sets or clears `O_NONBLOCK` on an open file (shared by every descriptor of it).
    static func setNonBlocking(_ fd: Int32, _ nonBlocking: Bool) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0 else { return }
        _ = fcntl(fd, F_SETFL, nonBlocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK)
    }
}
