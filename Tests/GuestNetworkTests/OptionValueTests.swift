import LinuxABI
import Testing
import Wire

@testable import GuestNetwork

/// A `struct tcp_md5sig` for `family` with a key of `keyLength` bytes.
private func md5Request(family: UInt16, keyLength: UInt16) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: 216)
    bytes[0] = UInt8(family & 0xff)
    bytes[1] = UInt8(family >> 8)
    if family == 2 { bytes.replaceSubrange(4..<8, with: [10, 77, 0, 1]) }
    bytes[130] = UInt8(keyLength & 0xff)
    bytes[131] = UInt8(keyLength >> 8)
    return bytes
}

@Test func md5SignatureWantsTheSocketsFamily() throws {
    // tcp_v4_parse_md5_keys / tcp_v6_parse_md5_keys: another family is EINVAL.
    let v4 = md5Request(family: 2, keyLength: 10)
    #expect(try SocketOptionValue.md5Signature(v4, extended: false, family: 2).key.count == 10)
    #expect(throws: LinuxErrno.EINVAL) { try SocketOptionValue.md5Signature(v4, extended: false, family: 10) }
    #expect(throws: LinuxErrno.EINVAL) {
        try SocketOptionValue.md5Signature(md5Request(family: 2, keyLength: 81), extended: false, family: 2)
    }
    #expect(throws: LinuxErrno.EINVAL) { try SocketOptionValue.md5Signature(Array(v4.prefix(100)), extended: false, family: 2) }
}

@Test func getLengthRulesDifferByLevel() throws {
    let memory = FakeMemory()
    memory.map([0, 0, 0, 0], at: 0x10)
    memory.map(littleEndianBytes(Int32(-1)), at: 0x20)
    // do_tcp_getsockopt and sk_getsockopt refuse a negative length; IPv6 reads it unsigned.
    #expect(throws: LinuxErrno.EINVAL) {
        try SocketOptionValue.copyOutInteger(1, level: 6, name: 1, to: memory, valueAddress: 0x10, lengthAddress: 0x20)
    }
    #expect(throws: LinuxErrno.EINVAL) {
        try SocketOptionValue.copyOutInteger(1, level: 1, name: 1, to: memory, valueAddress: 0x10, lengthAddress: 0x20)
    }
    try SocketOptionValue.copyOutInteger(7, level: 41, name: 16, to: memory, valueAddress: 0x10, lengthAddress: 0x20)
    #expect(try memory.read(at: 0x10, count: 4) == [7, 0, 0, 0] && memory.read(at: 0x20, count: 4) == [4, 0, 0, 0])
}

@Test func boundDeviceNameNeedsIFNAMSIZ() throws {
    // sock_getbindtodevice: a bound socket's name needs 16 bytes of room, else EINVAL.
    let memory = FakeMemory()
    memory.map([UInt8](repeating: 0, count: 16), at: 0x100)
    memory.map([4, 0, 0, 0], at: 0x200)
    let name = Array("wg0".utf8) + [0]
    #expect(throws: LinuxErrno.EINVAL) {
        try SocketOptionValue.copyOutBytes(name, minimumLength: 16, to: memory, valueAddress: 0x100, lengthAddress: 0x200)
    }
    memory.map([16, 0, 0, 0], at: 0x200)
    try SocketOptionValue.copyOutBytes(name, minimumLength: 16, to: memory, valueAddress: 0x100, lengthAddress: 0x200)
    #expect(try memory.read(at: 0x100, count: 4) == name && memory.read(at: 0x200, count: 4) == [4, 0, 0, 0])
}

@Test func tcpInfoCarriesTheAppLimitedBit() {
    var info = TCPInfoValues()
    info.state = 7
    info.deliveryRateAppLimited = true
    let bytes = info.encode()
    #expect(Array(bytes.prefix(8)) == [7, 0, 0, 0, 0, 0, 0, 1])
}
