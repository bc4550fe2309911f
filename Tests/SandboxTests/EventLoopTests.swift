import Glibc
import Testing
@testable import Sandbox

/// The supervisor's reactor: descriptor handlers and one-shot timers.
@Suite struct EventLoopTests {
    @Test func dispatchesReadableDescriptors() throws {
        let loop = try EventLoop()
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        var received: [UInt8] = []
        try loop.register(fds[0]) { _ in
            var byte: UInt8 = 0
            _ = read(fds[0], &byte, 1)
            received.append(byte)
            if received.count == 3 { loop.stop() }
        }
        for value: UInt8 in [7, 8, 9] {
            var byte = value
            _ = write(fds[1], &byte, 1)
        }
        try loop.run()
        #expect(received == [7, 8, 9])
    }

    @Test func timersFireInDeadlineOrderAndCancelledOnesDoNot() throws {
        let loop = try EventLoop()
        var fired: [String] = []
        loop.schedule(afterMilliseconds: 30) { fired.append("late"); loop.stop() }
        loop.schedule(afterMilliseconds: 1) { fired.append("early") }
        let cancelled = loop.schedule(afterMilliseconds: 10) { fired.append("cancelled") }
        loop.cancelTimer(cancelled)
        try loop.run()
        #expect(fired == ["early", "late"])
    }

    @Test func wakeupEndsRunInOrderFirstOnesFirstAndSayWhenTheyRun() throws {
        let loop = try EventLoop()
        var order: [String] = []
        loop.atEndOfWakeup { order.append("flush \(loop.isEndingWakeup)") }
        loop.atEndOfWakeup(first: true) { order.append("stack run \(loop.isEndingWakeup)") }
        loop.schedule(afterMilliseconds: 1) {
            order.append("timer \(loop.isEndingWakeup)")
            loop.stop()
        }
        try loop.run()
        #expect(order == ["timer false", "stack run true", "flush true"])
        #expect(!loop.isEndingWakeup)
    }

    @Test func unregisteredDescriptorsAreNotDispatched() throws {
        let loop = try EventLoop()
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        var calls = 0
        try loop.register(fds[0]) { _ in calls += 1 }
        loop.unregister(fds[0])
        var byte: UInt8 = 1
        _ = write(fds[1], &byte, 1)
        loop.schedule(afterMilliseconds: 20) { loop.stop() }
        try loop.run()
        #expect(calls == 0)
    }
}
