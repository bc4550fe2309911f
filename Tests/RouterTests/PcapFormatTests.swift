import Testing
@testable import Router

/// The pcap file srouter capture writes: the header bytes libpcap expects, records, and the
/// client's reader splitting a stream cut at any point.
@Suite struct PcapFormatTests {
    @Test func fileHeaderIsLibpcapsForRawIP() {
        // Little-endian host: d4 c3 b2 a1, version 2.4, zone 0, sigfigs 0, snaplen 65535, DLT 101.
        #expect(PcapFormat.fileHeader() == [
            0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0xff, 0xff, 0, 0, 101, 0, 0, 0,
        ])
    }

    @Test func recordHeaderCarriesTimeAndLengths() {
        let bytes = PcapFormat.withRecordHeader(seconds: 0x0102_0304, microseconds: 999_999, length: 84) { Array($0) }
        #expect(bytes == [4, 3, 2, 1, 0x3f, 0x42, 0x0f, 0, 84, 0, 0, 0, 84, 0, 0, 0])
        let big = PcapFormat.withRecordHeader(seconds: 0, microseconds: 0, length: 70000) { Array($0) }
        #expect(Array(big[8..<16]) == [0xff, 0xff, 0, 0, 0x70, 0x11, 1, 0])
    }

    @Test func readerSplitsAStreamCutAnywhere() {
        let packets: [[UInt8]] = [[0x45] + [UInt8](repeating: 1, count: 19), [0x60] + [UInt8](repeating: 2, count: 47), []]
        var stream = PcapFormat.fileHeader()
        for (index, packet) in packets.enumerated() {
            PcapFormat.withRecordHeader(seconds: UInt32(index), microseconds: 7, length: packet.count) { stream += $0 }
            stream += packet
        }
        for cut in 0...stream.count {
            var reader = PcapStreamReader()
            var records: [PcapStreamReader.Record] = []
            reader.append(Array(stream[..<cut]))
            while let record = reader.nextRecord() { records.append(record) }
            reader.append(Array(stream[cut...]))
            while let record = reader.nextRecord() { records.append(record) }
            #expect(reader.fileHeader == PcapFormat.fileHeader())
            #expect(records.map { Array($0.packet) } == packets)
            #expect(records.map(\.seconds) == [0, 1, 2])
            #expect(records.allSatisfy { $0.microseconds == 7 })
        }
    }

    @Test func readerHoldsBackAPartialRecord() {
        var reader = PcapStreamReader()
        reader.append(PcapFormat.fileHeader())
        PcapFormat.withRecordHeader(seconds: 1, microseconds: 2, length: 10) { reader.append(Array($0)) }
        reader.append([1, 2, 3])
        #expect(reader.nextRecord() == nil)
        reader.append([4, 5, 6, 7, 8, 9, 10])
        #expect(reader.nextRecord().map { Array($0.packet) } == Array(1...10))
    }
}
