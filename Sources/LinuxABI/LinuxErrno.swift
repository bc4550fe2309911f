/// An error number as a Linux guest sees it: the value a system call returns negated.
///
/// srouter answers the guest's trapped system calls with these, and they must be the values
/// Linux would return in the same situation (DESIGN §3, "Errno fidelity"). The names are the
/// C names from `<asm-generic/errno-base.h>` and `<asm-generic/errno.h>`; the values are the
/// x86_64 and aarch64 ones (identical on both).
public struct LinuxErrno: RawRepresentable, Hashable, Sendable, Error, CustomStringConvertible {
    /// The positive error number, as in `errno`.
    public var rawValue: Int32

    /// Wraps a positive error number.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `EPERM` 1: Operation not permitted.
    public static let EPERM = LinuxErrno(rawValue: 1)
    /// `ENOENT` 2: No such file or directory.
    public static let ENOENT = LinuxErrno(rawValue: 2)
    /// `ESRCH` 3: No such process.
    public static let ESRCH = LinuxErrno(rawValue: 3)
    /// `EINTR` 4: Interrupted system call.
    public static let EINTR = LinuxErrno(rawValue: 4)
    /// `EIO` 5: Input/output error.
    public static let EIO = LinuxErrno(rawValue: 5)
    /// `E2BIG` 7: Argument list too long.
    public static let E2BIG = LinuxErrno(rawValue: 7)
    /// `ENOEXEC` 8: Exec format error.
    public static let ENOEXEC = LinuxErrno(rawValue: 8)
    /// `EBADF` 9: Bad file descriptor.
    public static let EBADF = LinuxErrno(rawValue: 9)
    /// `ECHILD` 10: No child processes.
    public static let ECHILD = LinuxErrno(rawValue: 10)
    /// `EAGAIN` 11: Resource temporarily unavailable (also `EWOULDBLOCK`).
    public static let EAGAIN = LinuxErrno(rawValue: 11)
    /// `ENOMEM` 12: Cannot allocate memory.
    public static let ENOMEM = LinuxErrno(rawValue: 12)
    /// `EACCES` 13: Permission denied.
    public static let EACCES = LinuxErrno(rawValue: 13)
    /// `EFAULT` 14: Bad address — a guest pointer that does not point into its memory.
    public static let EFAULT = LinuxErrno(rawValue: 14)
    /// `EBUSY` 16: Device or resource busy.
    public static let EBUSY = LinuxErrno(rawValue: 16)
    /// `EEXIST` 17: File exists.
    public static let EEXIST = LinuxErrno(rawValue: 17)
    /// `ENODEV` 19: No such device.
    public static let ENODEV = LinuxErrno(rawValue: 19)
    /// `ENOTDIR` 20: Not a directory.
    public static let ENOTDIR = LinuxErrno(rawValue: 20)
    /// `EISDIR` 21: Is a directory.
    public static let EISDIR = LinuxErrno(rawValue: 21)
    /// `EINVAL` 22: Invalid argument.
    public static let EINVAL = LinuxErrno(rawValue: 22)
    /// `ENFILE` 23: Too many open files in system.
    public static let ENFILE = LinuxErrno(rawValue: 23)
    /// `EMFILE` 24: Too many open files.
    public static let EMFILE = LinuxErrno(rawValue: 24)
    /// `ENOTTY` 25: Inappropriate ioctl for device.
    public static let ENOTTY = LinuxErrno(rawValue: 25)
    /// `ENOSPC` 28: No space left on device.
    public static let ENOSPC = LinuxErrno(rawValue: 28)
    /// `EPIPE` 32: Broken pipe.
    public static let EPIPE = LinuxErrno(rawValue: 32)
    /// `ERANGE` 34: Numerical result out of range.
    public static let ERANGE = LinuxErrno(rawValue: 34)
    /// `ENAMETOOLONG` 36: File name too long.
    public static let ENAMETOOLONG = LinuxErrno(rawValue: 36)
    /// `ENOSYS` 38: Function not implemented.
    public static let ENOSYS = LinuxErrno(rawValue: 38)
    /// `ELOOP` 40: Too many levels of symbolic links.
    public static let ELOOP = LinuxErrno(rawValue: 40)
    /// `ENOTSOCK` 88: Socket operation on non-socket.
    public static let ENOTSOCK = LinuxErrno(rawValue: 88)
    /// `EDESTADDRREQ` 89: Destination address required.
    public static let EDESTADDRREQ = LinuxErrno(rawValue: 89)
    /// `EMSGSIZE` 90: Message too long.
    public static let EMSGSIZE = LinuxErrno(rawValue: 90)
    /// `EPROTOTYPE` 91: Protocol wrong type for socket.
    public static let EPROTOTYPE = LinuxErrno(rawValue: 91)
    /// `ENOPROTOOPT` 92: Protocol not available.
    public static let ENOPROTOOPT = LinuxErrno(rawValue: 92)
    /// `EPROTONOSUPPORT` 93: Protocol not supported.
    public static let EPROTONOSUPPORT = LinuxErrno(rawValue: 93)
    /// `ESOCKTNOSUPPORT` 94: Socket type not supported.
    public static let ESOCKTNOSUPPORT = LinuxErrno(rawValue: 94)
    /// `EOPNOTSUPP` 95: Operation not supported (also `ENOTSUP`).
    public static let EOPNOTSUPP = LinuxErrno(rawValue: 95)
    /// `EAFNOSUPPORT` 97: Address family not supported by protocol.
    public static let EAFNOSUPPORT = LinuxErrno(rawValue: 97)
    /// `EADDRINUSE` 98: Address already in use.
    public static let EADDRINUSE = LinuxErrno(rawValue: 98)
    /// `EADDRNOTAVAIL` 99: Cannot assign requested address.
    public static let EADDRNOTAVAIL = LinuxErrno(rawValue: 99)
    /// `ENETDOWN` 100: Network is down.
    public static let ENETDOWN = LinuxErrno(rawValue: 100)
    /// `ENETUNREACH` 101: Network is unreachable.
    public static let ENETUNREACH = LinuxErrno(rawValue: 101)
    /// `ECONNABORTED` 103: Software caused connection abort.
    public static let ECONNABORTED = LinuxErrno(rawValue: 103)
    /// `ECONNRESET` 104: Connection reset by peer.
    public static let ECONNRESET = LinuxErrno(rawValue: 104)
    /// `ENOBUFS` 105: No buffer space available.
    public static let ENOBUFS = LinuxErrno(rawValue: 105)
    /// `EISCONN` 106: Transport endpoint is already connected.
    public static let EISCONN = LinuxErrno(rawValue: 106)
    /// `ENOTCONN` 107: Transport endpoint is not connected.
    public static let ENOTCONN = LinuxErrno(rawValue: 107)
    /// `ETIMEDOUT` 110: Connection timed out.
    public static let ETIMEDOUT = LinuxErrno(rawValue: 110)
    /// `ECONNREFUSED` 111: Connection refused.
    public static let ECONNREFUSED = LinuxErrno(rawValue: 111)
    /// `EHOSTUNREACH` 113: No route to host.
    public static let EHOSTUNREACH = LinuxErrno(rawValue: 113)
    /// `EALREADY` 114: Operation already in progress.
    public static let EALREADY = LinuxErrno(rawValue: 114)
    /// `EINPROGRESS` 115: Operation now in progress.
    public static let EINPROGRESS = LinuxErrno(rawValue: 115)

    private static let names: [Int32: String] = [
        1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 7: "E2BIG", 8: "ENOEXEC",
        9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT",
        16: "EBUSY", 17: "EEXIST", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL",
        23: "ENFILE", 24: "EMFILE", 25: "ENOTTY", 28: "ENOSPC", 32: "EPIPE", 34: "ERANGE",
        36: "ENAMETOOLONG", 38: "ENOSYS", 40: "ELOOP", 88: "ENOTSOCK", 89: "EDESTADDRREQ",
        90: "EMSGSIZE", 91: "EPROTOTYPE", 92: "ENOPROTOOPT", 93: "EPROTONOSUPPORT",
        94: "ESOCKTNOSUPPORT", 95: "EOPNOTSUPP", 97: "EAFNOSUPPORT", 98: "EADDRINUSE",
        99: "EADDRNOTAVAIL", 100: "ENETDOWN", 101: "ENETUNREACH", 103: "ECONNABORTED",
        104: "ECONNRESET", 105: "ENOBUFS", 106: "EISCONN", 107: "ENOTCONN", 110: "ETIMEDOUT",
        111: "ECONNREFUSED", 113: "EHOSTUNREACH", 114: "EALREADY", 115: "EINPROGRESS",
    ]

    /// The C name (`"EAFNOSUPPORT"`), or `"errno N"` for a number without one here.
    public var name: String { Self.names[rawValue] ?? "errno \(rawValue)" }

    /// Looks an error up by its C name (`"EPERM"`); `nil` for a name not listed here.
    public init?(name: String) {
        guard let entry = Self.names.first(where: { $0.value == name }) else { return nil }
        self.rawValue = entry.key
    }

    /// The C name, e.g. `EAFNOSUPPORT`.
    public var description: String { name }
}
