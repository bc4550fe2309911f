import Testing
@testable import Sandbox

/// The write-back keeps segments back to back, drops empty ones, and closes messages.
@Suite struct GuestWriteBackTests {
    @Test func segmentsLieBackToBackAndEmptyOnesAreDropped() {
        var writeBack = GuestWriteBack()
        writeBack.append([1, 2, 3], at: 0x100)
        writeBack.append([], at: 0x200)
        writeBack.append(littleEndian: UInt16(0x0504), at: 0x300)
        writeBack.endMessage()
        writeBack.append([6][...], at: 0x400)
        writeBack.endMessage()
        #expect(writeBack.bytes == [1, 2, 3, 4, 5, 6])
        #expect(writeBack.addresses == [0x100, 0x300, 0x400])
        #expect(writeBack.lengths == [3, 2, 1])
        #expect(writeBack.range(ofSegment: 1) == 3..<5)
        #expect(writeBack.messageCount == 2)
        #expect(writeBack.segments(ofMessage: 0) == 0..<2 && writeBack.segments(ofMessage: 1) == 2..<3)
        writeBack.removeAll()
        #expect(writeBack.count == 0 && writeBack.messageCount == 0 && writeBack.bytes.isEmpty)
    }

    @Test func aMessageWithoutSegmentsIsAnEmptyRange() {
        let writeBack = GuestWriteBack(messages: [[([1], 0x10)], [([], 0x20)], [([2], 0x30)]])
        #expect(writeBack.segments(ofMessage: 1) == 1..<1 && writeBack.segments(ofMessage: 2) == 1..<2)
    }
}
