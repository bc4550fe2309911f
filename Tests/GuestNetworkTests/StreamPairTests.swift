import CSRouterLinux
import Glibc
import Testing

/// The AF_UNIX stream-pair behaviour StreamPump relies on, checked against the kernel: a
/// peek offset that reads stay consistent with, EOF seen past it, the writer's send-buffer
/// memory through sock_diag, and one epoll edge for a read and a write made together.
@Suite struct StreamPairTests {
    /// A non-blocking stream pair: (guest, host).
    private func pair() -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds) == 0)
        return (fds[0], fds[1])
    }

    private func write(_ fd: Int32, _ text: String) {
        let n = text.utf8CString.withUnsafeBytes { send(fd, $0.baseAddress, text.utf8.count, Int32(MSG_NOSIGNAL)) }
        #expect(n == text.utf8.count)
    }

    private func read(_ fd: Int32, _ count: Int, flags: Int32 = 0) -> String? {
        var buffer = [UInt8](repeating: 0, count: count)
        let n = recv(fd, &buffer, count, flags | Int32(MSG_DONTWAIT))
        return n < 0 ? nil : String(decoding: buffer[0..<n], as: UTF8.self)
    }

    @Test func peekOffsetFollowsReadsAndSeesEOF() {
        let (guest, host) = pair()
        defer { close(guest); close(host) }
        var zero: Int32 = 0
        #expect(setsockopt(host, SOL_SOCKET, SO_PEEK_OFF, &zero, 4) == 0)
        write(guest, "abc")
        #expect(read(host, 2, flags: Int32(MSG_PEEK)) == "ab")
        write(guest, "def")
        #expect(read(host, 100, flags: Int32(MSG_PEEK)) == "cdef")  // after what was peeked
        #expect(read(host, 100, flags: Int32(MSG_PEEK)) == nil)  // EAGAIN: all offered
        #expect(read(host, 2) == "ab")  // a read starts at the head, and moves the offset back
        var offset: Int32 = -1
        var length = socklen_t(4)
        #expect(getsockopt(host, SOL_SOCKET, SO_PEEK_OFF, &offset, &length) == 0 && offset == 4)
        _ = shutdown(guest, Int32(SHUT_WR))
        #expect(read(host, 100, flags: Int32(MSG_PEEK)) == "")  // EOF past what is queued
        #expect(read(host, 100) == "cdef")
    }

    @Test func sendMemoryIsTheWritersUnreadSkbs() {
        let (guest, host) = pair()
        defer { close(guest); close(host) }
        let inode = UInt64(srouter_inode_of(guest))
        var allocated: UInt32 = 99
        var limit: UInt32 = 0
        #expect(srouter_unix_send_memory(inode, &allocated, &limit) == 0)
        #expect(allocated == 0 && limit > 0)
        write(guest, "ping")
        #expect(srouter_unix_send_memory(inode, &allocated, &limit) == 0)
        #expect(allocated > 4)  // an skb's truesize, far more than its 4 bytes
        _ = read(host, 4)
        #expect(srouter_unix_send_memory(inode, &allocated, &limit) == 0 && allocated == 0)
        #expect(srouter_unix_send_memory(0, &allocated, &limit) < 0)
    }

    @Test func readThenWriteGivesTheWriterOneEdge() {
        let (guest, host) = pair()
        defer { close(guest); close(host) }
        let ep = epoll_create1(Int32(EPOLL_CLOEXEC))
        defer { close(ep) }
        var event = epoll_event(events: EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLET.rawValue, data: epoll_data_t(fd: guest))
        #expect(epoll_ctl(ep, EPOLL_CTL_ADD, guest, &event) == 0)
        var ready = [epoll_event](repeating: epoll_event(), count: 4)
        #expect(epoll_wait(ep, &ready, 4, 0) == 1)  // the edge of registering a writable file
        write(guest, "ping")
        #expect(epoll_wait(ep, &ready, 4, 0) == 0)  // a write wakes only the reader
        var discard = [UInt8](repeating: 0, count: 16)
        var read = 0
        var written = 0
        "pong".utf8CString.withUnsafeBytes { reply in
            srouter_read_then_write(host, &discard, 4, reply.baseAddress, 4, &read, &written)
        }
        #expect(read == 4 && written == 4)
        #expect(epoll_wait(ep, &ready, 4, 0) == 1)
        #expect(ready[0].events == EPOLLIN.rawValue | EPOLLOUT.rawValue)
        #expect(epoll_wait(ep, &ready, 4, 0) == 0)  // and no second edge
        #expect(self.read(guest, 16) == "pong")
    }
}
