import Glibc
import LinuxABI

/// A failed system call of srouter's own (not the guest's): the call's name and its errno.
///
/// In the manner of SwiftNIO's `IOError`: the function name travels with the error so that a
/// log line says which call failed, e.g. `pidfd_getfd: Operation not permitted (EPERM)`.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    /// The system call or library function that failed.
    public var function: String
    /// Its error number.
    public var errno: LinuxErrno

    /// Wraps a failure of `function` with the error number `errno`.
    public init(_ function: String, errno: Int32) {
        self.function = function
        self.errno = LinuxErrno(rawValue: errno)
    }

    /// `function: strerror (ENAME)`.
    public var description: String {
        "\(function): \(String(cString: strerror(errno.rawValue))) (\(errno.name))"
    }
}

/// Calls `body` until it does not fail with `EINTR`; throws `SystemError` for any other
/// failure (a result of -1 with `errno` set).
@discardableResult
func retryingEINTR<T: BinaryInteger>(_ function: String, _ body: () -> T) throws -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let error = Glibc.errno
        if error == EINTR { continue }
        throw SystemError(function, errno: error)
    }
}

/// Converts a C shim result (a value ≥ 0, or -errno) into a value or a thrown `SystemError`.
@discardableResult
func checkingNegativeErrno(_ function: String, _ result: Int32) throws -> Int32 {
    if result < 0 { throw SystemError(function, errno: -result) }
    return result
}
