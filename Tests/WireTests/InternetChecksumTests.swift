import Testing
import Wire

/// RFC 1071 §3's example, odd lengths, and split accumulation.
@Suite struct InternetChecksumTests {
    @Test func rfc1071Example() {
        var sum = InternetChecksum()
        sum.add([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7] as [UInt8])
        // The folded sum is 0xddf2; the checksum its complement.
        #expect(sum.value == ~UInt16(0xddf2))
    }

    @Test func oddLengthsPadWithZeroAndSplitsDoNotMatter() {
        let bytes: [UInt8] = [0x45, 0x00, 0x00, 0x1c, 0xab, 0xcd, 0x40]
        var whole = InternetChecksum()
        whole.add(bytes)
        var split = InternetChecksum()
        split.add(bytes.prefix(3))
        split.add(bytes.dropFirst(3))
        #expect(whole.value == split.value)
        var padded = InternetChecksum()
        padded.add(bytes + [0])
        #expect(whole.value == padded.value)
    }

    @Test func aCorrectChecksumVerifiesToZero() {
        var header: [UInt8] = [0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                               0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7]
        var sum = InternetChecksum()
        sum.add(header)
        #expect(sum.value == 0xb861)  // the well-known example header
        header[10] = 0xb8
        header[11] = 0x61
        var check = InternetChecksum()
        check.add(header)
        #expect(check.value == 0)
    }
}
