import Glibc
import LinuxABI
import Sandbox
import Testing
import Wire
@testable import GuestNetwork

/// Guest memory as a dictionary of pages of bytes: unmapped addresses fault.
final class FakeMemory: GuestAddressSpace {
    var bytes: [UInt64: UInt8] = [:]
    func map(_ data: [UInt8], at address: UInt64) { for (i, b) in data.enumerated() { bytes[address + UInt64(i)] = b } }
    func read(at address: UInt64, count: Int) throws(LinuxErrno) -> [UInt8] {
        var out: [UInt8] = []
        for i in 0..<count {
            guard let b = bytes[address + UInt64(i)] else { throw .EFAULT }
            out.append(b)
        }
        return out
    }
    func write(_ data: [UInt8], at address: UInt64) throws(LinuxErrno) {
        for i in data.indices where bytes[address + UInt64(i)] == nil { throw .EFAULT }
        map(data, at: address)
    }
}

/// sockaddr_in for 10.77.0.1:7.
let inet7: [UInt8] = [2, 0, 0, 7, 10, 77, 0, 1] + [UInt8](repeating: 0, count: 8)

@Test func bindChecksFollowInetBind() throws {
    // inet_bind: short → EINVAL before the family; AF_UNSPEC only with INADDR_ANY.
    #expect(throws: LinuxErrno.EINVAL) { try SocketAddress.decodeForBind(Array(inet7.prefix(15)), isIPv6Socket: false, kind: .stream) }
    var unspec = inet7
    unspec[0] = 0
    #expect(throws: LinuxErrno.EAFNOSUPPORT) { try SocketAddress.decodeForBind(unspec, isIPv6Socket: false, kind: .stream) }
    let any: [UInt8] = [0, 0, 0, 80] + [UInt8](repeating: 0, count: 12)
    #expect(try SocketAddress.decodeForBind(any, isIPv6Socket: false, kind: .stream).port == 80)
    // inet6_bind: SIN6_LEN_RFC2133 (24 bytes) is enough; a sockaddr_in is EINVAL by length.
    #expect(throws: LinuxErrno.EINVAL) { try SocketAddress.decodeForBind(inet7, isIPv6Socket: true, kind: .stream) }
    let endpoint = try SocketAddress.decodeForBind(inet7, isIPv6Socket: false, kind: .datagram)
    #expect(endpoint == InetEndpoint(address: .v4(IPv4Address(10, 77, 0, 1)), port: 7))
}

@Test func connectUnspecDisconnectsAndV4OnV6Datagram() throws {
    #expect(try SocketAddress.decodeForConnect([0, 0], isIPv6Socket: false, kind: .stream, v6Only: false) == .disconnect)
    #expect(throws: LinuxErrno.EINVAL) { try SocketAddress.decodeForConnect([2], isIPv6Socket: false, kind: .stream, v6Only: false) }
    // __ip6_datagram_connect takes a sockaddr_in unless IPV6_V6ONLY; tcp_v6_connect does not.
    #expect(try SocketAddress.decodeForConnect(inet7, isIPv6Socket: true, kind: .datagram, v6Only: false)
            == .endpoint(InetEndpoint(address: .v4(IPv4Address(10, 77, 0, 1)), port: 7)))
    #expect(throws: LinuxErrno.EAFNOSUPPORT) { try SocketAddress.decodeForConnect(inet7, isIPv6Socket: true, kind: .datagram, v6Only: true) }
    #expect(throws: LinuxErrno.EINVAL) { try SocketAddress.decodeForConnect(inet7, isIPv6Socket: true, kind: .stream, v6Only: false) }
}

@Test func encodeMapsIPv4OnIPv6Sockets() throws {
    let v4 = InetEndpoint(address: .v4(IPv4Address(10, 77, 0, 1)), port: 7)
    #expect(SocketAddress.encode(v4, isIPv6Socket: false) == inet7)
    let mapped = SocketAddress.encode(v4, isIPv6Socket: true)
    #expect(mapped.count == 28)
    #expect(Array(mapped[8..<24]) == [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 10, 77, 0, 1])
    let scoped = InetEndpoint(address: .v6(IPv6Address("fe80::1")!), port: 179, scopeID: 3)
    let bytes = SocketAddress.encode(scoped, isIPv6Socket: true)
    #expect(try SocketAddress.decodeForBind(bytes, isIPv6Socket: true, kind: .stream) == scoped)
}

@Test func copyOutTruncatesAndReportsTheFullLength() throws {
    let memory = FakeMemory()
    memory.map([UInt8](repeating: 0xee, count: 32), at: 0x1000)
    memory.map([8, 0, 0, 0], at: 0x2000)
    try SocketAddress.copyOut(inet7, to: memory, address: 0x1000, lengthAddress: 0x2000)
    #expect(try memory.read(at: 0x1000, count: 9) == Array(inet7.prefix(8)) + [0xee])
    #expect(try memory.read(at: 0x2000, count: 4) == [16, 0, 0, 0])
    memory.map([0xff, 0xff, 0xff, 0xff], at: 0x2000)
    #expect(throws: LinuxErrno.EINVAL) { try SocketAddress.copyOut(inet7, to: memory, address: 0x1000, lengthAddress: 0x2000) }
    #expect(throws: LinuxErrno.EFAULT) { try SocketAddress.copyOut(inet7, to: memory, address: 0x1000, lengthAddress: 0x9000) }
}

@Test func messageHeaderReadsIovecsAndRefusesTooMany() throws {
    let memory = FakeMemory()
    // msghdr at 0x100: name 0x400/16, iov 0x200 ×2, no control.
    var header = littleEndianBytes(UInt64(0x400)) + littleEndianBytes(UInt32(16)) + [0, 0, 0, 0]
    header += littleEndianBytes(UInt64(0x200)) + littleEndianBytes(UInt64(2))
    header += littleEndianBytes(UInt64(0)) + littleEndianBytes(UInt64(0)) + [UInt8](repeating: 0, count: 8)
    memory.map(header, at: 0x100)
    memory.map(littleEndianBytes(UInt64(0x300)) + littleEndianBytes(UInt64(3))
               + littleEndianBytes(UInt64(0x310)) + littleEndianBytes(UInt64(2)), at: 0x200)
    memory.map([1, 2, 3], at: 0x300)
    memory.map([4, 5], at: 0x310)
    let parsed = try GuestMessageHeader.read(from: memory, at: 0x100, forReceive: false)
    #expect(parsed.nameLength == 16 && parsed.totalLength == 5)
    #expect(try parsed.gather(from: memory, limit: 100) == [1, 2, 3, 4, 5])
    var writeBack = GuestWriteBack()
    #expect([UInt8]([9, 8, 7, 6]).withUnsafeBytes { parsed.scatter($0, into: &writeBack) } == 4)
    #expect(writeBack.count == 2)
    try memory.write(writeBack)
    #expect(try memory.read(at: 0x300, count: 3) == [9, 8, 7] && memory.read(at: 0x310, count: 1) == [6])
    memory.map(littleEndianBytes(UInt64(1025)), at: 0x118)
    #expect(throws: LinuxErrno.EMSGSIZE) { try GuestMessageHeader.read(from: memory, at: 0x100, forReceive: false) }
}

@Test func receiveResultIsOneRangeThatKeepsWhatLinuxLeaves() throws {
    // msghdr at 0x100 with non-zero padding: name 0x400/16 (or NULL/77), iov 0x200 ×1,
    // control 0x500/40, flags 0x55; then an mmsghdr's msg_len at 0x138.
    func header(name: UInt64, nameLength: UInt32) -> [UInt8] {
        littleEndianBytes(name) + littleEndianBytes(nameLength) + [0xa1, 0xa2, 0xa3, 0xa4]
            + littleEndianBytes(UInt64(0x200)) + littleEndianBytes(UInt64(1))
            + littleEndianBytes(UInt64(0x500)) + littleEndianBytes(UInt64(40))
            + littleEndianBytes(UInt32(0x55)) + [0xb1, 0xb2, 0xb3, 0xb4] + [0xee, 0xee, 0xee, 0xee, 0xc1, 0xc2, 0xc3, 0xc4]
    }
    for (name, nameLength, expectedLength) in [(UInt64(0x400), UInt32(16), UInt32(12)), (0, 77, 77)] {
        let memory = FakeMemory()
        memory.map(header(name: name, nameLength: nameLength), at: 0x100)
        memory.map(littleEndianBytes(UInt64(0x300)) + littleEndianBytes(UInt64(8)), at: 0x200)
        let parsed = try GuestMessageHeader.read(from: memory, at: 0x100, forReceive: true)
        var writeBack = GuestWriteBack()
        GuestMessageHeader.appendResult(of: parsed, nameLength: 12, controlLength: 0, flags: Int32(MSG_TRUNC),
                                        at: 0x100, to: &writeBack)
        writeBack.append(littleEndian: UInt32(36), at: 0x138)
        // One range from msg_namelen on, continued by msg_len.
        #expect(writeBack.count == 2 && writeBack.addresses == [0x108, 0x138] && writeBack.lengths == [48, 4])
        try memory.write(writeBack)
        // msg_namelen only with a name (move_addr_to_user); msg_controllen and msg_flags set;
        // the padding, msg_iov and msg_iovlen as they were; the mmsghdr's padding untouched.
        var expected = header(name: name, nameLength: expectedLength)
        expected.replaceSubrange(40..<48, with: littleEndianBytes(UInt64(0)))
        expected.replaceSubrange(48..<52, with: littleEndianBytes(UInt32(MSG_TRUNC)))
        expected.replaceSubrange(56..<60, with: littleEndianBytes(UInt32(36)))
        #expect(try memory.read(at: 0x100, count: 64) == expected)
    }
}

@Test func controlMessagesRoundTripAndTruncate() throws {
    let pktinfo = ControlMessage.ipPacketInfo(interfaceIndex: 2, specificDestination: IPv4Address(10, 77, 0, 2),
                                             destination: IPv4Address(10, 77, 0, 2))
    let ttl = ControlMessage.ipTimeToLive(64)
    let encoded = ControlMessages.encode([pktinfo, ttl], capacity: 64)
    #expect(!encoded.truncated && encoded.bytes.count == 56)  // CMSG_SPACE(12) + CMSG_SPACE(4)
    #expect(try ControlMessages.parse(encoded.bytes) == [pktinfo, ttl])
    let short = ControlMessages.encode([pktinfo, ttl], capacity: 40)
    #expect(short.truncated && short.bytes.count == 32)  // no room for the second header
    // ip_cmsg_send: IP_TTL out of range and a header longer than the buffer are EINVAL.
    #expect(throws: LinuxErrno.EINVAL) { try ControlMessages.sendControl([.ipTimeToLive(0)], isIPv6Socket: false) }
    #expect(throws: LinuxErrno.EINVAL) { try ControlMessages.parse(littleEndianBytes(UInt64(99)) + [UInt8](repeating: 0, count: 8)) }
    #expect(try ControlMessages.sendControl([.ipTimeToLive(7)], isIPv6Socket: false).timeToLive == 7)
}

/// An AF_INET6 socket sending to a v4-mapped destination goes through `ip_cmsg_send` with
/// allow_ipv6: IPV6_PKTINFO must carry a v4-mapped address, other SOL_IPV6 messages are
/// ignored, SOL_IP ones apply.
@Test func mappedDestinationsUseTheIPv4ControlRules() throws {
    let mapped = IPv6Address(high: 0, low: 0xffff_0a4d_0002)
    let pktinfo = ControlMessage.ipv6PacketInfo(address: mapped, interfaceIndex: 2)
    let control = try ControlMessages.sendControl([pktinfo], isIPv6Socket: true, ipv4Destination: true)
    #expect(control.sourceAddress == .v4(IPv4Address(10, 77, 0, 2)))
    #expect(control.interfaceIndex == 2)
    let foreign = ControlMessage.ipv6PacketInfo(address: IPv6Address("2001:db8::1")!, interfaceIndex: 0)
    #expect(throws: LinuxErrno.EINVAL) {
        try ControlMessages.sendControl([foreign], isIPv6Socket: true, ipv4Destination: true)
    }
    // IPV6_HOPLIMIT 256 and IPV6_TCLASS 256 are out of range, but skipped on the IPv4 path.
    let ignored = try ControlMessages.sendControl([.ipv6HopLimit(256), .ipv6TrafficClass(256)], isIPv6Socket: true,
                                                  ipv4Destination: true)
    #expect(ignored == SendControl())
    #expect(throws: LinuxErrno.EINVAL) {
        try ControlMessages.sendControl([.ipv6HopLimit(256)], isIPv6Socket: true, ipv4Destination: false)
    }
    #expect(try ControlMessages.sendControl([.ipTimeToLive(9)], isIPv6Socket: true, ipv4Destination: true).timeToLive == 9)
    // ip6_datagram_send_ctl skips SOL_IP messages.
    #expect(try ControlMessages.sendControl([.ipTimeToLive(0)], isIPv6Socket: true, ipv4Destination: false) == SendControl())
}

@Test func optionValuesFollowEachLevel() throws {
    // do_ip_setsockopt reads a byte from a short value; the other levels want an int.
    #expect(try SocketOptionValue.integer([5], level: 0, name: 2) == 5)
    #expect(throws: LinuxErrno.EINVAL) { try SocketOptionValue.integer([], level: 0, name: 2) }
    #expect(throws: LinuxErrno.EINVAL) { try SocketOptionValue.integer([1, 0], level: 6, name: 1) }
    let memory = FakeMemory()
    memory.map([0, 0, 0, 0], at: 0x10)
    memory.map([1, 0, 0, 0], at: 0x20)
    try SocketOptionValue.copyOutInteger(64, level: 0, name: 2, to: memory, valueAddress: 0x10, lengthAddress: 0x20)
    #expect(try memory.read(at: 0x10, count: 1) == [64] && memory.read(at: 0x20, count: 4) == [1, 0, 0, 0])
    #expect(TCPInfoValues().encode().count == 248)
}

@Test func parsersAreTotal() {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<20_000 {
        let count = Int.random(in: 0..<300, using: &generator)
        let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
        _ = try? SocketAddress.decodeForBind(bytes, isIPv6Socket: Bool.random(), kind: .datagram)
        _ = try? SocketAddress.decodeForConnect(bytes, isIPv6Socket: Bool.random(), kind: .stream, v6Only: Bool.random())
        _ = try? SocketAddress.decodeForSend(bytes, isIPv6Socket: Bool.random(), kind: .raw, v6Only: false)
        _ = try? ControlMessages.parse(bytes)
        _ = try? SocketOptionValue.md5Signature(bytes, extended: true,
                                                family: bytes.count >= 2 ? UInt16(bytes[0]) | UInt16(bytes[1]) << 8 : 2)
        _ = try? SocketOptionValue.timeout(bytes, newLayout: false)
        _ = GuestFiles.parse(fdinfo: bytes)
        let memory = FakeMemory()
        memory.map(bytes, at: 0x1000)
        _ = try? GuestMessageHeader.read(from: memory, at: 0x1000, forReceive: true)
    }
}

@Test func fdinfoGivesInodeAndFlags() {
    let text = Array("pos:\t0\nflags:\t02004002\nmnt_id:\t8\nino:\t123456\n".utf8)
    let descriptor = GuestFiles.parse(fdinfo: text)
    #expect(descriptor?.inode == 123456)
    #expect(descriptor?.closeOnExec == true)
    #expect(descriptor?.isNonBlocking == true)
    let plain = GuestFiles.parse(fdinfo: Array("flags: 02\nino:  77 \n".utf8))
    #expect(plain == GuestDescriptor(inode: 77, statusFlags: 2, closeOnExec: false))
    // Not octal, not a number, over 64 bits, or missing: no descriptor.
    #expect(GuestFiles.parse(fdinfo: Array("flags:\t09\nino:\t1\n".utf8)) == nil)
    #expect(GuestFiles.parse(fdinfo: Array("flags:\t02\nino:\tx\n".utf8)) == nil)
    #expect(GuestFiles.parse(fdinfo: Array("flags:\t02\nino:\t18446744073709551616\n".utf8)) == nil)
    #expect(GuestFiles.parse(fdinfo: Array("flags:\t02\n".utf8)) == nil)
    #expect(GuestFiles.parse(fdinfo: Array("flags:\t\nino:\t5\n".utf8)) == nil)
}
