import CSRouterLinux
import Glibc
import Sandbox
import Wire
import WireGuard

/// The UDP socket of one WireGuard interface: the only kind of socket srouter opens to the
/// outside world (DESIGN §1). Dual-stack (an AF_INET6 socket with IPV6_V6ONLY off, IPv4 peers
/// as v4-mapped addresses), falling back to AF_INET where the host has no IPv6. Datagrams move
/// in batches with recvmmsg/sendmmsg through buffers allocated once: received ones are handed
/// out in place, and datagrams to send are written into a free send buffer
/// (`nextSendBuffer`), queued (`queue`) and sent together (`flush`), so the transport path
/// allocates nothing.
public final class UDPSocket {
    /// The descriptor.
    public let fd: Int32
    /// The bound port (the one asked for, or the kernel's choice for 0).
    public let port: UInt16
    private let isIPv6: Bool
    private var receiveBuffers: [UnsafeMutableRawBufferPointer]
    private var batch: [srouter_datagram]
    private let sendArena: UnsafeMutableRawBufferPointer
    private let sendBatch: UnsafeMutableBufferPointer<srouter_datagram>
    private var queued = 0

    /// The largest datagram read whole; longer ones are counted as truncated and dropped.
    public static let maximumDatagram = 65_535
    /// Datagrams per receive call.
    public static let batchSize = 32
    /// Datagrams queued for one sendmmsg call at most; the queue flushes itself when full.
    public static let sendBatchSize = Int(SROUTER_BATCH_MAX)
    /// The size of each send buffer: the longest transport message (an inner packet of
    /// 65,535 bytes, padded and framed).
    public static let sendBufferLength = WireGuardDevice.maximumTransportLength

    /// Datagrams dropped because they did not fit a buffer.
    public private(set) var truncated = 0
    /// Whether runs of same-size datagrams to one endpoint go as UDP GSO messages
    /// (UDP_SEGMENT); off for good once the kernel refuses it as unsupported.
    public private(set) var segments = true
    /// Datagrams sent in batches that used UDP GSO where they could (for tests and stats).
    public private(set) var segmentedDatagrams = 0
    /// Whether UDP_GRO is on: a sender's GSO run arrives as one buffer (Linux 5.0+).
    public private(set) var coalesces = false
    /// Datagrams that arrived coalesced by UDP GRO (for tests and stats).
    public private(set) var coalescedDatagrams = 0

    /// The socket buffers asked for, each way: wireguard-go's 7 MiB. The kernel's default
    /// (`net.core.rmem_default`, 208 KiB) holds under a hundred full-size datagrams, which a
    /// peer's burst overruns while srouter's loop is busy elsewhere (UDP `RcvbufErrors`,
    /// lost segments the peer's TCP must retransmit).
    public static let socketBufferSize: Int32 = 7 << 20

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
        Self.enlargeBuffers(socketFD)
        coalesces = srouter_enable_udp_gro(socketFD) == 0
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
        sendArena = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.sendBatchSize * Self.sendBufferLength,
                                                           alignment: 16)
        sendBatch = UnsafeMutableBufferPointer<srouter_datagram>.allocate(capacity: Self.sendBatchSize)
        sendBatch.initialize(repeating: srouter_datagram())
        for i in 0..<Self.sendBatchSize {
            sendBatch[i].data = (sendArena.baseAddress! + i * Self.sendBufferLength).assumingMemoryBound(to: UInt8.self)
            sendBatch[i].capacity = UInt32(Self.sendBufferLength)
        }
    }

    /// Sets both socket buffers to `socketBufferSize` as wireguard-go does: SO_RCVBUFFORCE
    /// and SO_SNDBUFFORCE where srouter holds CAP_NET_ADMIN, else SO_RCVBUF and SO_SNDBUF,
    /// which Linux caps at `net.core.rmem_max` / `wmem_max` (`sk_setsockopt`).
    static func enlargeBuffers(_ fd: Int32) {
        for (forced, plain) in [(SO_RCVBUFFORCE, SO_RCVBUF), (SO_SNDBUFFORCE, SO_SNDBUF)] {
            var size = socketBufferSize
            let length = socklen_t(MemoryLayout<Int32>.size)
            if setsockopt(fd, SOL_SOCKET, forced, &size, length) != 0 {
                _ = setsockopt(fd, SOL_SOCKET, plain, &size, length)
            }
        }
    }

    deinit {
        close(fd)
        receiveBuffers.forEach { $0.deallocate() }
        sendArena.deallocate()
        sendBatch.deallocate()
    }

    /// Reads every waiting datagram, in batches, calling `handler` with each one's bytes (in
    /// the socket's receive buffer, valid until the handler returns; the handler may change
    /// them, e.g. decrypt in place) and source. With UDP GRO (`coalesces`), a buffer that holds
    /// a sender's run of datagrams is handed out a datagram at a time. Returns when the socket
    /// would block.
    public func receiveAll(_ handler: (UnsafeMutableRawBufferPointer, Endpoint) -> Void) {
        while true {
            let count = batch.withUnsafeMutableBufferPointer {
                coalesces ? srouter_receive_batch_coalesced(fd, $0.baseAddress, Int32($0.count))
                    : srouter_receive_batch(fd, $0.baseAddress, Int32($0.count))
            }
            if count <= 0 { return }
            for i in 0..<Int(count) {
                if batch[i].truncated != 0 || batch[i].length > UInt32(Self.maximumDatagram) {
                    truncated += 1
                    continue
                }
                guard let source = Self.endpoint(from: batch[i].address) else { continue }
                let length = Int(batch[i].length)
                let segment = coalesces && batch[i].segment_size > 0 ? Int(batch[i].segment_size) : length
                var offset = 0
                repeat {
                    let size = min(segment, length - offset)
                    handler(UnsafeMutableRawBufferPointer(start: batch[i].data + offset, count: size), source)
                    offset += size
                } while offset < length
                if segment < length { coalescedDatagrams += (length + segment - 1) / segment }
            }
            if Int(count) < batch.count { return }
        }
    }

    // MARK: - Sending

    /// Datagrams queued and not yet flushed.
    public var queuedCount: Int { queued }

    /// The free send buffer (`sendBufferLength` bytes) for the next datagram: write it there,
    /// then `queue` it. Flushes the queue first when it is full.
    public func nextSendBuffer() -> UnsafeMutableRawBufferPointer {
        if queued == Self.sendBatchSize { flush() }
        return UnsafeMutableRawBufferPointer(start: sendBatch[queued].data, count: Self.sendBufferLength)
    }

    /// Queues the first `length` bytes of the buffer `nextSendBuffer` returned, for
    /// `endpoint`. Returns false (nothing queued) when this socket cannot reach the endpoint's
    /// family (an IPv6 peer on an IPv4-only host).
    @discardableResult
    public func queue(length: Int, to endpoint: Endpoint) -> Bool {
        precondition(queued < Self.sendBatchSize && length <= Self.sendBufferLength, "UDPSocket.queue: no buffer")
        guard let addressLength = fill(&sendBatch[queued].address, from: endpoint) else { return false }
        sendBatch[queued].address_length = addressLength
        sendBatch[queued].length = UInt32(length)
        queued += 1
        return true
    }

    /// Sends the queued datagrams with sendmmsg and empties the queue; runs to one endpoint
    /// that share a size go as one UDP GSO message each while `segments` holds. A datagram
    /// the kernel refuses (a full socket buffer, an unreachable address) is skipped and
    /// dropped, as UDP drops anyway — a refused run is tried again datagram by datagram
    /// first; returns how many the kernel took.
    @discardableResult
    public func flush() -> Int {
        var offset = 0
        var sent = 0
        while offset < queued {
            let rest = sendBatch.baseAddress! + offset
            var failedRun: Int32 = 0
            var failedSegmented: Int32 = 0
            let n = segments
                ? srouter_send_batch_segmented(fd, rest, Int32(queued - offset), &failedRun, &failedSegmented)
                : srouter_send_batch(fd, rest, Int32(queued - offset))
            if n > 0 {
                sent += Int(n)
                offset += Int(n)
                if segments && failedRun == 0 { segmentedDatagrams += Int(n) }
            } else if segments && failedSegmented != 0 {
                // A kernel or a device without UDP GSO (EIO: no checksum offload) never takes
                // one: send without. Any other refusal is this run's (a datagram longer than
                // the path MTU is EINVAL segmented): its datagrams go one by one.
                if n == -EIO || n == -EOPNOTSUPP || n == -ENOPROTOOPT || n == -ENOSYS { segments = false; continue }
                sent += sendEach(rest, count: Int(failedRun))
                offset += Int(failedRun)
            } else {
                offset += 1  // this one failed: drop it, keep the rest
            }
        }
        queued = 0
        return sent
    }

    /// Sends `count` datagrams at `first` one sendmmsg entry each, dropping the refused ones;
    /// returns how many the kernel took.
    private func sendEach(_ first: UnsafeMutablePointer<srouter_datagram>, count: Int) -> Int {
        var offset = 0
        var sent = 0
        while offset < count {
            let n = srouter_send_batch(fd, first + offset, Int32(count - offset))
            if n > 0 {
                sent += Int(n)
                offset += Int(n)
            } else {
                offset += 1
            }
        }
        return sent
    }

    /// Sends datagrams, batched, through the send buffers (after what was queued before);
    /// returns how many of these the kernel took (the rest are dropped, as a full socket buffer
    /// drops UDP anyway). For rare traffic: handshakes, cookie replies, keepalives.
    @discardableResult
    public func send(_ datagrams: [([UInt8], Endpoint)]) -> Int {
        if queued > 0 { flush() }
        var sent = 0
        for (bytes, endpoint) in datagrams where bytes.count <= Self.sendBufferLength {
            if queued == Self.sendBatchSize { sent += flush() }
            let buffer = nextSendBuffer()
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
            queue(length: bytes.count, to: endpoint)
        }
        return sent + flush()
    }

    /// Writes `endpoint` as the socket's family wants it (v4-mapped on a dual-stack socket),
    /// without allocating.
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
            let v6: IPv6Address
            switch address {
            case .v4(let a): v6 = IPv6Address(high: 0, low: 0xffff_0000_0000 | UInt64(a.value))  // ::ffff:a.b.c.d
            case .v6(let a): v6 = a
            }
            withUnsafeMutableBytes(of: &six.sin6_addr) { raw in
                raw.storeBytes(of: v6.high.bigEndian, toByteOffset: 0, as: UInt64.self)
                raw.storeBytes(of: v6.low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            withUnsafeBytes(of: six) { source in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
            }
            return socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
    }

    /// Reads a received address, without allocating; v4-mapped IPv6 addresses (RFC 4291
    /// §2.5.5.2) become IPv4 endpoints.
    static func endpoint(from storage: sockaddr_storage) -> Endpoint? {
        var copy = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let sin = withUnsafeBytes(of: &copy) { $0.loadUnaligned(as: sockaddr_in.self) }
            return Endpoint(address: .v4(IPv4Address(UInt32(bigEndian: sin.sin_addr.s_addr))),
                            port: UInt16(bigEndian: sin.sin_port))
        case AF_INET6:
            let sin6 = withUnsafeBytes(of: &copy) { $0.loadUnaligned(as: sockaddr_in6.self) }
            let address = withUnsafeBytes(of: sin6.sin6_addr) { raw in
                IPv6Address(high: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                            low: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            let port = UInt16(bigEndian: sin6.sin6_port)
            if address.high == 0 && address.low >> 32 == 0xffff {
                return Endpoint(address: .v4(IPv4Address(UInt32(truncatingIfNeeded: address.low))), port: port)
            }
            return Endpoint(address: .v6(address), port: port)
        default:
            return nil
        }
    }
}
