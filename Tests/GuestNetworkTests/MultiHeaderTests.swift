import LinuxABI
import Sandbox
import Testing
@testable import GuestNetwork

/// FakeMemory that counts its calls and reads several ranges in one, as GuestMemory does.
final class CountingMemory: GuestAddressSpace {
    let backing = FakeMemory()
    var calls = 0
    func read(at address: UInt64, count: Int) throws(LinuxErrno) -> [UInt8] {
        calls += 1
        return try backing.read(at: address, count: count)
    }
    func write(_ data: [UInt8], at address: UInt64) throws(LinuxErrno) {
        calls += 1
        try backing.write(data, at: address)
    }
    func read(segments: [(address: UInt64, count: Int)]) throws(LinuxErrno) -> [[UInt8]] {
        calls += 1
        var parts: [[UInt8]] = []
        for segment in segments { parts.append(try backing.read(at: segment.address, count: segment.count)) }
        return parts
    }
    /// One call, as process_vm_readv with two ranges: a guess that faults is not read.
    func read(at address: UInt64, count: Int,
              guessing guess: (address: UInt64, count: Int)?) throws(LinuxErrno) -> (bytes: [UInt8], guessed: Bool) {
        calls += 1
        let first = try backing.read(at: address, count: count)
        guard let guess, let second = try? backing.read(at: guess.address, count: guess.count) else { return (first, false) }
        return (first + second, true)
    }
}

/// A msghdr (56 bytes) with its iovec table at `vectors` (`count` entries).
private func messageHeader(vectors: UInt64, count: UInt64) -> [UInt8] {
    Array(multiHeader(name: 0, nameLength: 0, vectors: vectors, count: count).prefix(GuestMessageHeader.size))
}

@Test func aMessageHeaderReadAgainTakesItsTableInTheSameCall() throws {
    let memory = CountingMemory()
    memory.backing.map(messageHeader(vectors: 0x2000, count: 1), at: 0x1000)
    memory.backing.map(littleEndianBytes(UInt64(0x5000)) + littleEndianBytes(UInt64(100)), at: 0x2000)
    var hints = MessageTableHints()
    let first = try GuestMessageHeader.read(from: memory, at: 0x1000, forReceive: true, hints: &hints)
    #expect(memory.calls == 2)
    let again = try GuestMessageHeader.read(from: memory, at: 0x1000, forReceive: true, hints: &hints)
    #expect(memory.calls == 3)
    #expect(first == again && again.vectors == [GuestIOVector(base: 0x5000, length: 100)])
    // The table's contents changed in place: the guess reads them as they are now.
    memory.backing.map(littleEndianBytes(UInt64(0x6000)) + littleEndianBytes(UInt64(7)), at: 0x2000)
    let changed = try GuestMessageHeader.read(from: memory, at: 0x1000, forReceive: true, hints: &hints)
    #expect(changed.vectors == [GuestIOVector(base: 0x6000, length: 7)])
}

@Test func aStaleGuessIsReadAgainAndErrorsStayLinuxs() throws {
    let memory = CountingMemory()
    memory.backing.map(messageHeader(vectors: 0x2000, count: 1), at: 0x1000)
    memory.backing.map(littleEndianBytes(UInt64(0x5000)) + littleEndianBytes(UInt64(100)), at: 0x2000)
    var hints = MessageTableHints()
    _ = try GuestMessageHeader.read(from: memory, at: 0x1000, forReceive: true, hints: &hints)
    // The msghdr now points at another table with two entries.
    memory.backing.map(messageHeader(vectors: 0x3000, count: 2), at: 0x1000)
    memory.backing.map(littleEndianBytes(UInt64(0x7000)) + littleEndianBytes(UInt64(8))
                       + littleEndianBytes(UInt64(0x8000)) + littleEndianBytes(UInt64(9)), at: 0x3000)
    let moved = try GuestMessageHeader.read(from: memory, at: 0x1000, forReceive: true, hints: &hints)
    #expect(moved.vectors == [GuestIOVector(base: 0x7000, length: 8), GuestIOVector(base: 0x8000, length: 9)])
    // It points at unmapped memory: EFAULT, as import_iovec gives, whatever was guessed.
    memory.backing.map(messageHeader(vectors: 0x9000, count: 1), at: 0x1000)
    #expect(throws: LinuxErrno.EFAULT) {
        try GuestMessageHeader.read(from: memory, at: 0x1000, forReceive: true, hints: &hints)
    }
    // A guessed table that is no longer mapped, with the msghdr still pointing at it: EFAULT.
    memory.backing.map(messageHeader(vectors: 0x2000, count: 1), at: 0x1000)
    _ = try GuestMessageHeader.read(from: memory, at: 0x1000, forReceive: true, hints: &hints)
    for i in 0..<16 { memory.backing.bytes[0x2000 + UInt64(i)] = nil }
    #expect(throws: LinuxErrno.EFAULT) {
        try GuestMessageHeader.read(from: memory, at: 0x1000, forReceive: true, hints: &hints)
    }
}

/// An mmsghdr (64 bytes) with its iovec table at `vectors` (`count` entries).
private func multiHeader(name: UInt64, nameLength: Int32, vectors: UInt64, count: UInt64) -> [UInt8] {
    var bytes = littleEndianBytes(name) + littleEndianBytes(nameLength) + [0, 0, 0, 0]
    bytes += littleEndianBytes(vectors) + littleEndianBytes(count)
    bytes += littleEndianBytes(UInt64(0)) + littleEndianBytes(UInt64(0)) + [UInt8](repeating: 0, count: 8)
    return bytes + [UInt8](repeating: 0, count: 8)  // msg_len and padding
}

/// Three mmsghdr entries at 0x1000: two with iovecs, one without.
private func threeEntries(in memory: FakeMemory) {
    memory.map(multiHeader(name: 0x4000, nameLength: 12, vectors: 0x2000, count: 2)
               + multiHeader(name: 0, nameLength: 99, vectors: 0, count: 0)
               + multiHeader(name: 0x4100, nameLength: 200, vectors: 0x3000, count: 1), at: 0x1000)
    memory.map(littleEndianBytes(UInt64(0x5000)) + littleEndianBytes(UInt64(100))
               + littleEndianBytes(UInt64(0x6000)) + littleEndianBytes(UInt64(50)), at: 0x2000)
    memory.map(littleEndianBytes(UInt64(0x7000)) + littleEndianBytes(UInt64(8)), at: 0x3000)
}

@Test func readMultiTakesTwoReadsAndMatchesTheWalkEntryByEntry() throws {
    let memory = CountingMemory()
    threeEntries(in: memory.backing)
    let batched = try GuestMessageHeader.readMulti(from: memory, at: 0x1000, count: 3, forReceive: true)
    #expect(memory.calls == 2)
    let walked = try (0..<3).map { index throws(LinuxErrno) in
        try GuestMessageHeader.read(from: memory.backing, at: 0x1000 + UInt64(index * 64), forReceive: true)
    }
    #expect(batched == walked)
    #expect(batched[0].vectors == [GuestIOVector(base: 0x5000, length: 100), GuestIOVector(base: 0x6000, length: 50)])
    #expect(batched[1].nameLength == 0 && batched[1].vectors.isEmpty)
    #expect(batched[2].nameLength == 128)
}

@Test func readMultiErrorsAreTheFirstTheWalkMeets() throws {
    // Entry 1's iovec table is unmapped, entry 2 has a negative msg_namelen: the walk meets
    // entry 1's EFAULT first.
    let memory = CountingMemory()
    threeEntries(in: memory.backing)
    memory.backing.map(multiHeader(name: 0x4000, nameLength: 12, vectors: 0x9000, count: 1)
                       + multiHeader(name: 0x4000, nameLength: -1, vectors: 0, count: 0), at: 0x1040)
    #expect(throws: LinuxErrno.EFAULT) {
        try GuestMessageHeader.readMulti(from: memory, at: 0x1000, count: 3, forReceive: true)
    }
    // With entry 1 fixed, entry 2's EINVAL.
    memory.backing.map(multiHeader(name: 0x4000, nameLength: 12, vectors: 0x3000, count: 1), at: 0x1040)
    #expect(throws: LinuxErrno.EINVAL) {
        try GuestMessageHeader.readMulti(from: memory, at: 0x1000, count: 3, forReceive: true)
    }
    // More than UIO_MAXIOV vectors in entry 0: EMSGSIZE.
    memory.backing.map(multiHeader(name: 0, nameLength: 0, vectors: 0x2000, count: 1025), at: 0x1000)
    #expect(throws: LinuxErrno.EMSGSIZE) {
        try GuestMessageHeader.readMulti(from: memory, at: 0x1000, count: 1, forReceive: true)
    }
}

@Test func messagesAreWrittenBackTogetherUpToTheFirstFault() throws {
    let memory = CountingMemory()
    memory.backing.map([UInt8](repeating: 0, count: 64), at: 0x1000)
    let good: [(bytes: [UInt8], address: UInt64)] = [([1, 2], 0x1000), ([3], 0x1010)]
    let alsoGood: [(bytes: [UInt8], address: UInt64)] = [([4], 0x1020)]
    let bad: [(bytes: [UInt8], address: UInt64)] = [([5], 0x1030), ([6], 0x9000)]
    #expect(try memory.write(messagesOf: GuestWriteBack(messages: [good, alsoGood])) == 2)
    #expect(try memory.backing.read(at: 0x1000, count: 2) == [1, 2])
    #expect(try memory.backing.read(at: 0x1020, count: 1) == [4])
    // A fault in the third message: the two before it count.
    #expect(try memory.write(messagesOf: GuestWriteBack(messages: [good, alsoGood, bad])) == 2)
    // A fault in the first: its error.
    #expect(throws: LinuxErrno.EFAULT) { try memory.write(messagesOf: GuestWriteBack(messages: [bad, good])) }
    #expect(try memory.write(messagesOf: GuestWriteBack(messages: [])) == 0)
}
