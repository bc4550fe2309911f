import Foundation
import Glibc
import LinuxABI
import Testing
@testable import Sandbox

/// The socket-call answers follow Linux's order of checks (`__sys_socket` → `__sock_create`).
@Suite struct SocketCallHandlerTests {
    let handler = SocketCallHandler()

    func socket(_ family: Int32, _ type: Int32) -> SyscallAnswer {
        handler.socket(SyscallNotification(id: 1, tid: getpid(), number: 41,
                                           arguments: [UInt64(UInt32(bitPattern: family)),
                                                       UInt64(UInt32(bitPattern: type)), 0]))
    }

    @Test func unixRunsNatively() {
        #expect(socket(AF_UNIX, 1) == .continueNatively)
    }

    @Test func otherFamiliesAreNotSupportedYet() {
        #expect(socket(AF_INET, 1) == .error(.EAFNOSUPPORT))
        #expect(socket(AF_INET6, 2) == .error(.EAFNOSUPPORT))
        #expect(socket(AF_NETLINK, 3) == .error(.EAFNOSUPPORT))
    }

    @Test func linuxChecksFlagsThenFamilyThenType() {
        #expect(socket(AF_INET, 1 | 0x100) == .error(.EINVAL))  // unknown flag
        #expect(socket(4242, 1 | 0x100) == .error(.EINVAL))  // flags before family
        #expect(socket(4242, 1) == .error(.EAFNOSUPPORT))
        #expect(socket(-1, 1) == .error(.EAFNOSUPPORT))
        #expect(socket(AF_INET, 12) == .error(.EINVAL))  // type ≥ SOCK_MAX
        #expect(socket(AF_INET, 1 | Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
                == .error(.EAFNOSUPPORT))
    }

    @Test func socketpairOfInetIsNotSupportedAsInLinux() {
        let pair = { (family: Int32) in
            self.handler.socketpair(SyscallNotification(id: 1, tid: getpid(), number: 53,
                                                        arguments: [UInt64(family), 1, 0, 0]))
        }
        #expect(pair(AF_UNIX) == .continueNatively)
        #expect(pair(AF_INET) == .error(.EOPNOTSUPP))
        #expect(pair(AF_INET6) == .error(.EOPNOTSUPP))
        #expect(pair(45) == .error(.EAFNOSUPPORT))
    }
}

/// Guest memory access, tried on srouter's own test process (process_vm_readv on ourselves).
@Suite struct GuestMemoryTests {
    @Test func readsAndWrites() throws {
        var value: UInt64 = 0x1122_3344_5566_7788
        let address = withUnsafeMutablePointer(to: &value) { UInt64(UInt(bitPattern: $0)) }
        let memory = GuestMemory(tid: getpid())
        #expect(try memory.read(UInt64.self, at: address) == 0x1122_3344_5566_7788)
        try memory.write(value: UInt64(42), at: address)
        #expect(withUnsafePointer(to: &value) { $0.pointee } == 42)
    }

    @Test func segmentsAreWrittenInOneCallOrEFAULT() throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        let base = UInt64(UInt(bitPattern: buffer.baseAddress!))
        let memory = GuestMemory(tid: getpid())
        try memory.writeAll(GuestWriteBack([([1, 2, 3], base), ([], base + 8), ([9], base + 20), ([7, 7], base + 40)]))
        #expect(Array(buffer[0..<4]) == [1, 2, 3, 0])
        #expect(buffer[20] == 9 && buffer[40] == 7 && buffer[41] == 7 && buffer[42] == 0)
        // A bad range anywhere is EFAULT (what precedes it may be written, as in Linux).
        #expect(throws: LinuxErrno.EFAULT) { try memory.writeAll(GuestWriteBack([([5], base), ([6], 16)])) }
        #expect(throws: LinuxErrno.EFAULT) { try memory.writeAll(GuestWriteBack([([5], base), ([6], UInt64.max)])) }
        // 1024 segments go in one call, more one by one, with the same result.
        try memory.writeAll(GuestWriteBack((0..<64).map { ([UInt8($0)], base + UInt64($0)) } + [([0xff], base)]))
        #expect(buffer[0] == 0xff && buffer[1] == 1 && buffer[63] == 63)
        var segments: [(bytes: [UInt8], address: UInt64)] = []
        for i in 0..<1024 { segments.append(([UInt8(i % 64) ^ 0x80], base + UInt64(i % 64))) }
        segments.append(([0xfe], base))
        try memory.writeAll(GuestWriteBack(segments))
        #expect(buffer[0] == 0xfe && buffer[1] == 0x81 && buffer[63] == 0xbf)
    }

    @Test func segmentsAreReadInOneCallOrEFAULT() throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        defer { buffer.deallocate() }
        for i in 0..<64 { buffer[i] = UInt8(i) }
        let base = UInt64(UInt(bitPattern: buffer.baseAddress!))
        let memory = GuestMemory(tid: getpid())
        let parts = try memory.read(segments: [(base + 4, 3), (base, 0), (base + 60, 4), (base + 1, 1)])
        #expect(parts == [[4, 5, 6], [], [60, 61, 62, 63], [1]])
        #expect(throws: LinuxErrno.EFAULT) { try memory.read(segments: [(base, 4), (16, 4)]) }
        #expect(throws: LinuxErrno.EFAULT) { try memory.read(segments: [(base, 4), (UInt64.max - 1, 4)]) }
        // More than 1024 ranges: one by one, the same bytes.
        var ranges: [(address: UInt64, count: Int)] = []
        for i in 0..<1100 { ranges.append((base + UInt64(i % 64), 1)) }
        let many = try memory.read(segments: ranges)
        #expect(many.count == 1100 && many[1099] == [UInt8(1099 % 64)])
    }

    @Test func rangesThatContinueOneAnotherGoAsOneAndStillFault() throws {
        // Two pages, the second unmapped: ranges joined across the boundary must still fault.
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapped = mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
        defer { munmap(mapped, 2 * page) }
        let base = UInt64(UInt(bitPattern: mapped))
        let memory = GuestMemory(tid: getpid())
        // Adjacent segments (one joined range) beside a separate one: each byte where it belongs.
        try memory.writeAll(GuestWriteBack([([1, 2], base + 8), ([3], base + 10), ([4, 5, 6], base + 11), ([9], base + 40)]))
        #expect(try memory.read(at: base + 8, count: 6) == [1, 2, 3, 4, 5, 6])
        #expect(try memory.read(segments: [(base + 8, 2), (base + 10, 4), (base + 40, 1)]) == [[1, 2], [3, 4, 5, 6], [9]])
        munmap(mapped + page, page)
        let edge = base + UInt64(page) - 2
        #expect(throws: LinuxErrno.EFAULT) { try memory.writeAll(GuestWriteBack([([1, 2], edge), ([3], edge + 2)])) }
        #expect(throws: LinuxErrno.EFAULT) { try memory.read(segments: [(edge, 2), (edge + 2, 1)]) }
        // What precedes the fault may be written, as in Linux.
        #expect(try memory.read(segments: [(edge - 2, 2), (edge, 2)]) == [[0, 0], [1, 2]])
    }

    @Test func badPointersAreEFAULT() {
        let memory = GuestMemory(tid: getpid())
        #expect(throws: LinuxErrno.EFAULT) { try memory.read(at: 0, count: 8) }
        #expect(throws: LinuxErrno.EFAULT) { try memory.read(at: 8, count: 8) }
        #expect(throws: LinuxErrno.EFAULT) { try memory.read(at: UInt64.max - 3, count: 8) }
        #expect(throws: LinuxErrno.EFAULT) { try memory.write([1, 2, 3], at: 16) }
        #expect(throws: LinuxErrno.EFAULT) {
            try memory.read(at: 0x1000, count: GuestMemory.maximumTransfer + 1)
        }
    }

    @Test func aGoneThreadIsESRCH() {
        // pid_max is at most 2^22: this thread id cannot exist.
        #expect(throws: LinuxErrno.ESRCH) { try GuestMemory(tid: 4_194_304 + 7).read(at: 4096, count: 1) }
    }
}

/// Exit statuses and command lookup, as a shell reports them.
@Suite struct ProcessConventionTests {
    @Test func exitCodes() {
        #expect(Supervisor.exitCode(fromWaitStatus: 0) == 0)
        #expect(Supervisor.exitCode(fromWaitStatus: 1 << 8) == 1)
        #expect(Supervisor.exitCode(fromWaitStatus: 15) == 143)
        #expect(Supervisor.exitCode(fromWaitStatus: 9 | 0x80) == 137)  // core dumped
    }

    @Test func commandLookup() throws {
        #expect(try GuestLauncher.resolve("sh", path: "/nonexistent:/bin") == "/bin/sh")
        #expect(try GuestLauncher.resolve("/bin/sh") == "/bin/sh")
        #expect(throws: LaunchError.self) { try GuestLauncher.resolve("no-such-command-srouter", path: "/bin") }
        let plain = NSTemporaryDirectory() + "srouter-not-executable-\(getpid())"
        FileManager.default.createFile(atPath: plain, contents: Data("#!/bin/sh\n".utf8),
                                       attributes: [.posixPermissions: 0o644])
        defer { unlink(plain) }
        #expect(throws: LaunchError.self) { try GuestLauncher.resolve(plain) }
        #expect(throws: LaunchError.self) { try GuestLauncher.resolve("/tmp") }
        do {
            _ = try GuestLauncher.resolve("no-such-command-srouter", path: "/bin")
        } catch let error as LaunchError {
            #expect(error.exitStatus == 127)
            #expect(error.description == "no-such-command-srouter: command not found")
        }
    }
}

extension GuestMemory {
    /// Every segment of `writeBack`.
    func writeAll(_ writeBack: GuestWriteBack) throws(LinuxErrno) {
        try write(writeBack, segments: 0..<writeBack.count)
    }
}
