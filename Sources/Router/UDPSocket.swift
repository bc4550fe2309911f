import CSRouterLinux
import Glibc
import Sandbox
import Wire
import WireGuard

/// The UDP socket of one WireGuard interface: the only kind of socket srouter opens to the
/// outside world (DESIGN §1). Dual-stack (an AF_INET6 socket with IPV6_V6ONLY off, IPv4 peers
/// as v4-mapped addresses), falling back to AF_INET where the host has no IPv6. Datagrams move
/// in batches with recvmmsg/sendmmsg into buffers allocated once.
public final class UDPSocket {
    /// The descriptor.
    public let fd: Int32
    /// The bound port (the one asked for, or the kernel's choice for 0).
    public let port: UInt16
    private let isIPv6: Bool
    private var receiveBuffers: [UnsafeMutableRawBufferPointer]
    private var batch: [srouter_datagram]

    /// The largest datagram read whole; longer ones are counted as truncated and dropped.
    public static let maximumDatagram = 65_535
    /// Datagrams per receive call.
    public static let batchSize = 32

    /// Datagrams dropped because they did not fit a buffer.
    public private(set) var truncated = 0

    /// Binds a non-blocking socket to `port` on every address (0: any free port).
    public init(port: UInt16) throws {
        var socketFD = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                              | Int32(SOCK_CLOEXEC.rawValue), 0)
        var ipv6 = socketFD >= 0
        if ipv6 {
            var off: Int32 = 0
            setsockopt(socketFD, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
            if rc != 0 {
                let error = errno
                close(socketFD)
                if error != EADDRNOTAVAIL && error != EAFNOSUPPORT {
                    throw SystemError("bind([::]:\(port))", errno: error)
                }
                ipv6 = false
            }
        }
        if !ipv6 {
            socketFD = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                              | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard socketFD >= 0 else { throw SystemError("socket(AF_INET, SOCK_DGRAM)", errno: errno) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if rc != 0 {
                let error = errno
                close(socketFD)
                throw SystemError("bind(0.0.0.0:\(port))", errno: error)
            }
        }
        fd = socketFD
        isIPv6 = ipv6
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
        }
        self.port = Self.endpoint(from: bound)?.port ?? port
        receiveBuffers = (0..<Self.batchSize).map { _ in
            UnsafeMutableRawBufferPointer.allocate(byteCount: Self.maximumDatagram + 1, alignment: 16)
        }
        batch = receiveBuffers.map { buffer in
            var datagram = srouter_datagram()
            datagram.data = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            datagram.capacity = UInt32(buffer.count)
            return datagram
        }
    }

    deinit {
        close(fd)
        receiveBuffers.forEach { $0.deallocate() }
    }

    /// Reads every waiting datagram, in batches, calling `handler` with each one's bytes and
    /// source. Returns when the socket would block.
    public func receiveAll(_ handler: ([UInt8], Endpoint) -> Void) {
        while true {
            let count = batch.withUnsafeMutableBufferPointer {
                srouter_receive_batch(fd, $0.baseAddress, Int32($0.count))
            }
            if count <= 0 { return }
            for i in 0..<Int(count) {
                if batch[i].truncated != 0 || batch[i].length > UInt32(Self.maximumDatagram) {
                    truncated += 1
                    continue
                }
                guard let source = Self.endpoint(from: batch[i].address) else { continue }
                let bytes = Array(UnsafeRawBufferPointer(start: batch[i].data, count: Int(batch[i].length)))
                handler(bytes, source)
            }
            if Int(count) < batch.count { return }
        }
    }

    /// Sends datagrams, batched; returns how many the kernel took (the rest are dropped, as a
    /// full socket buffer drops UDP anyway).
    @discardableResult
    public func send(_ datagrams: [([UInt8], Endpoint)]) -> Int {
        var sent = 0
        var index = 0
        while index < datagrams.count {
            let chunk = datagrams[index..<min(index + Int(SROUTER_BATCH_MAX), datagrams.count)]
            // One contiguous copy per batch: the kernel reads every datagram from it.
            let arena = UnsafeMutableRawBufferPointer.allocate(
                byteCount: max(1, chunk.reduce(0) { $0 + $1.0.count }), alignment: 16)
            defer { arena.deallocate() }
            var entries: [srouter_datagram] = []
            entries.reserveCapacity(chunk.count)
            var offset = 0
            for item in chunk {
                var entry = srouter_datagram()
                guard let length = fill(&entry.address, from: item.1) else { continue }
                entry.address_length = length
                entry.length = UInt32(item.0.count)
                let target = UnsafeMutableRawBufferPointer(rebasing: arena[offset..<(offset + item.0.count)])
                target.copyBytes(from: item.0)
                entry.data = (arena.baseAddress! + offset).assumingMemoryBound(to: UInt8.self)
                offset += item.0.count
                entries.append(entry)
            }
            let n = entries.withUnsafeMutableBufferPointer {
                srouter_send_batch(fd, $0.baseAddress, Int32($0.count))
            }
            if n > 0 { sent += Int(n) }
            index += chunk.count
        }
        return sent
    }

    /// Writes `endpoint` as the socket's family wants it (v4-mapped on a dual-stack socket).
    private func fill(_ storage: inout sockaddr_storage, from endpoint: Endpoint) -> socklen_t? {
        switch (endpoint.address, isIPv6) {
        case (.v4(let a), false):
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = endpoint.port.bigEndian
            address.sin_addr.s_addr = a.value.bigEndian
            withUnsafeBytes(of: address) { source in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
            }
            return socklen_t(MemoryLayout<sockaddr_in>.size)
        case (.v6, false):
            return nil
        case (let address, true):
            var six = sockaddr_in6()
            six.sin6_family = sa_family_t(AF_INET6)
            six.sin6_port = endpoint.port.bigEndian
            let bytes: [UInt8]
            switch address {
            case .v4(let a): bytes = [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + a.octets
            case .v6(let a): bytes = a.bytes
            }
            withUnsafeMutableBytes(of: &six.sin6_addr) { $0.copyBytes(from: bytes) }
            withUnsafeBytes(of: six) { source in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
            }
            return socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
    }

    /// Reads a received address; v4-mapped IPv6 addresses become IPv4 endpoints.
    static func endpoint(from storage: sockaddr_storage) -> Endpoint? {
        var copy = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let sin = withUnsafeBytes(of: &copy) { $0.loadUnaligned(as: sockaddr_in.self) }
            return Endpoint(address: .v4(IPv4Address(UInt32(bigEndian: sin.sin_addr.s_addr))),
                            port: UInt16(bigEndian: sin.sin_port))
        case AF_INET6:
            let sin6 = withUnsafeBytes(of: &copy) { $0.loadUnaligned(as: sockaddr_in6.self) }
            let bytes = withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }
            let port = UInt16(bigEndian: sin6.sin6_port)
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
                return Endpoint(address: .v4(IPv4Address(bytes[12], bytes[13], bytes[14], bytes[15])),
                                port: port)
            }
            return IPv6Address(bytes: bytes).map { Endpoint(address: .v6($0), port: port) }
        default:
            return nil
        }
    }
}
