import LinuxABI
import Testing

/// The errno table must agree with the C library's numbers and names.
@Suite struct LinuxErrnoTests {
    @Test func namesRoundTrip() {
        for value in Int32(1)...Int32(133) {
            let errno = LinuxErrno(rawValue: value)
            if let back = LinuxErrno(name: errno.name) {
                #expect(back == errno, "\(errno.name)")
            } else {
                #expect(errno.name == "errno \(value)")
            }
        }
    }

    @Test func valuesMatchLinux() {
        #expect(LinuxErrno.EAFNOSUPPORT.rawValue == 97)
        #expect(LinuxErrno.EINPROGRESS.rawValue == 115)
        #expect(LinuxErrno.EFAULT.name == "EFAULT")
        #expect(LinuxErrno(name: "ENOSYS") == .ENOSYS)
        #expect(LinuxErrno(name: "EBOGUS") == nil)
    }
}
