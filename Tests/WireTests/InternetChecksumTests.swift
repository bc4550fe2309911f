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

    @Test func fastPathMatchesTheWordByWordLoopAtEveryLengthAndAlignment() {
        var rng = SplitMix64(state: 1)
        for length in 0..<300 {
            let bytes = rng.bytes(length + 7)
            for start in 0..<8 {
                let piece = Array(bytes[start..<(start + length)])
                var sum = InternetChecksum()
                bytes.withUnsafeBytes { sum.add(UnsafeRawBufferPointer(rebasing: $0[start..<(start + length)])) }
                #expect(sum.value == referenceChecksum(piece))
            }
            // Split at every point: pieces of odd length carry their last byte over.
            let whole = Array(bytes.prefix(length))
            let cut = length == 0 ? 0 : rng.below(length)
            var split = InternetChecksum()
            split.add(whole[..<cut])
            split.add(whole[cut...])
            #expect(split.value == referenceChecksum(whole))
        }
        // All ones and all zeros: the fold keeps 0xffff and 0 apart.
        #expect(referenceChecksum([UInt8](repeating: 0xff, count: 64)) == 0)
        var ones = InternetChecksum()
        ones.add([UInt8](repeating: 0xff, count: 64))
        #expect(ones.value == 0)
        var zeros = InternetChecksum()
        zeros.add([UInt8](repeating: 0, count: 64))
        #expect(zeros.value == 0xffff)
    }

    @Test func wordsAfterAnOddByteAreSplitAcrossWords() {
        var a = InternetChecksum()
        a.add([0x12] as [UInt8])
        a.add(word: 0x3456)
        a.add(doubleWord: 0x789a_bcde)
        a.add(quadWord: 0x0102_0304_0506_0708)
        let expected = referenceChecksum([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 1, 2, 3, 4, 5, 6, 7, 8])
        #expect(a.value == expected)
    }

    /// RFC 1624 §4's example (a header word changing from 0x5555 to 0x3285), and random
    /// single-word changes against a full recomputation.
    @Test func incrementalUpdate() {
        #expect(InternetChecksum.adjusted(0xdd2f, replacing: 0x5555, with: 0x3285) == 0x0000)
        var rng = SplitMix64(state: 2)
        for _ in 0..<2000 {
            var words = (0..<10).map { _ in UInt16(truncatingIfNeeded: rng.next()) }
            let bytes = { (w: [UInt16]) in w.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] } }
            let before = referenceChecksum(bytes(words))
            let index = rng.below(10)
            let old = words[index]
            words[index] = UInt16(truncatingIfNeeded: rng.next())
            let after = referenceChecksum(bytes(words))
            let adjusted = InternetChecksum.adjusted(before, replacing: old, with: words[index])
            #expect(adjusted == after)
        }
    }
}
