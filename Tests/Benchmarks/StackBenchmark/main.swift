// Network stack benchmark (not a test): srouter's NetStack in one process, one core.
//
//   swift run -c release stack-benchmark [--megabytes N] [--packets N] [--repeat R]
//
// - Forwarding: IPv4/UDP packets of 64 and 1400 bytes in on one tunnel interface, out of
//   another through the real FIB (RoutingPolicy over RouteTable, with 10,000 routes besides
//   the one used): packets per second, and heap allocations per forwarded packet (goal 0).
// - TCP: a transfer between two stack instances joined by an in-memory link (MTU 1420, as
//   a WireGuard tunnel), beside the kernel's TCP over loopback in the same run, both driven
//   from one thread (non-blocking writes, then reads): Gbit/s and the ratio.
// Each figure is the median of the repetitions, with min and max.
import Foundation
import Glibc
import MallocCounter
import NetStack
import Wire

var megabytes = 200
var packets = 1_000_000
var repetitions = 3
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let flag = arguments.next() {
    guard let value = arguments.next().flatMap(Int.init), value > 0 else {
        FileHandle.standardError.write(Data("usage: stack-benchmark [--megabytes N] [--packets N] [--repeat R]\n".utf8))
        exit(2)
    }
    switch flag {
    case "--megabytes": megabytes = value
    case "--packets": packets = value
    case "--repeat": repetitions = value
    default:
        FileHandle.standardError.write(Data("stack-benchmark: unknown option \(flag)\n".utf8))
        exit(2)
    }
}

func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// Median, min and max of `values`, formatted.
func summary(_ values: [Double], _ format: String) -> String {
    let sorted = values.sorted()
    let median = sorted[sorted.count / 2]
    return "\(String(format: format, median)) (\(String(format: format, sorted.first!))–\(String(format: format, sorted.last!)))"
}

/// A one-way in-memory link: a ring of preallocated slots, so queueing a packet allocates
/// nothing. A full ring drops (counted), like a transmit queue.
final class PacketRing {
    let slotSize = 2048
    let slots: Int
    let storage: UnsafeMutableRawBufferPointer
    var lengths: [Int]
    var head = 0
    var count = 0
    var drops = 0

    init(slots: Int) {
        self.slots = slots
        storage = .allocate(byteCount: slots * slotSize, alignment: 16)
        lengths = [Int](repeating: 0, count: slots)
    }

    deinit { storage.deallocate() }

    func push(_ packet: UnsafeRawBufferPointer) -> Bool {
        guard count < slots, packet.count <= slotSize else {
            drops += 1
            return false
        }
        let slot = (head + count) % slots
        UnsafeMutableRawBufferPointer(rebasing: storage[(slot * slotSize)...]).copyMemory(from: packet)
        lengths[slot] = packet.count
        count += 1
        return true
    }

    /// Hands every queued packet (and those queued meanwhile) to `body`, oldest first.
    func drain(_ body: (UnsafeMutableRawBufferPointer) -> Void) {
        while count > 0 {
            let slot = head
            head = (head + 1) % slots
            count -= 1
            body(UnsafeMutableRawBufferPointer(rebasing: storage[(slot * slotSize)..<(slot * slotSize + lengths[slot])]))
        }
    }
}

/// A stack with one tunnel-like interface holding `address`/30 (and the connected route).
func makeStack(_ names: [(String, String)]) -> (NetworkStack, RoutingPolicy, [NetworkInterface]) {
    let routing = RoutingPolicy()
    let stack = NetworkStack(routing: routing, sequenceSource: { _, _ in (UInt32.random(in: 0...UInt32.max), 0) })
    routing.follow(stack.interfaces)
    var interfaces: [NetworkInterface] = []
    for (name, address) in names {
        let interface = try! stack.interfaces.add(name: name, kind: .wireguard, mtu: 1420)
        try! stack.interfaces.addAddress(InterfaceAddress(address: IPAddress(address)!, prefixLength: 30), to: interface)
        interfaces.append(interface)
    }
    return (stack, routing, interfaces)
}

// MARK: - Forwarding

func udpPacket(size: Int) -> [UInt8] {
    let payload = [UInt8](repeating: 0x5a, count: size - 28)
    let udp = UDPRepr(sourcePort: 40000, destinationPort: 9)
        .emit(payload: payload, source: IPAddress("198.51.100.1")!, destination: IPAddress("192.0.2.7")!)
    let ip = IPv4Repr(protocolNumber: IPProtocolNumber.udp, source: IPv4Address("198.51.100.1")!,
                      destination: IPv4Address("192.0.2.7")!, timeToLive: 64, payloadLength: udp.count)
    return ip.emit(payloadLength: udp.count) + udp
}

/// Packets per second and allocations per packet for one run of `packets` packets.
func forward(size: Int, packets: Int) -> (pps: Double, allocations: Double, forwarded: Int) {
    let (stack, routing, interfaces) = makeStack([("in0", "10.0.0.2"), ("out0", "10.1.0.2")])
    let (inbound, outbound) = (interfaces[0], interfaces[1])
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<10_000 {
        let prefix = IPPrefix(address: .v4(IPv4Address(UInt32.random(in: 0x0b00_0000...0xbf00_0000, using: &generator))),
                              length: Int.random(in: 16...24, using: &generator))!.masked
        routing.addRoute(Route(destination: prefix, nextHops: [NextHop(gateway: IPAddress("10.0.0.1")!, interfaceIndex: inbound.index)]))
    }
    routing.addRoute(Route(destination: IPPrefix("192.0.2.0/24")!,
                           nextHops: [NextHop(gateway: IPAddress("10.1.0.1")!, interfaceIndex: outbound.index)]))
    var forwarded = 0
    outbound.transmit = { _, _ in
        forwarded += 1
        return true
    }
    let template = udpPacket(size: size)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
    defer { buffer.deallocate() }
    let packet = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<template.count])
    let now: StackInstant = 10 * StackDuration.second
    for _ in 0..<1000 {  // warm-up: caches, lazily built state
        template.withUnsafeBytes { packet.copyMemory(from: $0) }
        stack.receive(packet, on: inbound, now: now)
    }
    forwarded = 0
    let allocationsBefore = malloc_counter_allocations()
    let start = monotonicNanoseconds()
    for _ in 0..<packets {
        template.withUnsafeBytes { packet.copyMemory(from: $0) }  // a fresh TTL each time
        stack.receive(packet, on: inbound, now: now)
    }
    let elapsed = Double(monotonicNanoseconds() - start) / 1e9
    let allocations = Double(malloc_counter_allocations() - allocationsBefore) / Double(packets)
    return (Double(packets) / elapsed, allocations, forwarded)
}

// MARK: - TCP between two stacks

func stackTransfer(bytes: Int) -> Double {
    let (a, _, aInterfaces) = makeStack([("wg0", "10.0.0.1")])
    let (b, _, bInterfaces) = makeStack([("wg0", "10.0.0.2")])
    let toB = PacketRing(slots: 4096), toA = PacketRing(slots: 4096)
    aInterfaces[0].transmit = { packet, _ in toB.push(packet) }
    bInterfaces[0].transmit = { packet, _ in toA.push(packet) }
    func pump(_ now: StackInstant) {
        while toA.count > 0 || toB.count > 0 {
            toB.drain { b.receive($0, on: bInterfaces[0], now: now) }
            toA.drain { a.receive($0, on: aInterfaces[0], now: now) }
        }
    }
    let listener = b.tcp.listen(address: nil, port: 5001, acceptsIPv4: true, acceptsIPv6: false, backlog: 4,
                                configuration: TCPConfiguration())
    let client = a.tcp.connect(TCPFourTuple(localAddress: IPAddress("10.0.0.1")!, localPort: 40000,
                                            remoteAddress: IPAddress("10.0.0.2")!, remotePort: 5001),
                               configuration: TCPConfiguration(), now: monotonicNanoseconds())
    var server: TCPConnection?
    for _ in 0..<1000 where server == nil {
        let now = monotonicNanoseconds()
        a.poll(now: now)
        pump(now)
        b.poll(now: now)
        pump(now)
        server = listener.accept()
    }
    guard let server else { fatalError("stack-benchmark: the handshake between the stacks did not complete") }
    let chunk = [UInt8](repeating: 0xa5, count: 65536)
    var sink = [UInt8](repeating: 0, count: 65536)
    var sent = 0, received = 0
    let start = monotonicNanoseconds()
    while received < bytes {
        let now = monotonicNanoseconds()
        if sent < bytes {
            let n = chunk.withUnsafeBytes { (try? client.send(UnsafeRawBufferPointer(rebasing: $0[0..<min($0.count, bytes - sent)]))) ?? 0 }
            sent += n
            if n > 0 { a.tcp.markActive(client) }
        }
        a.poll(now: now)
        pump(now)
        var got = 0
        repeat {
            got = sink.withUnsafeMutableBytes { server.receive(into: $0) }
            received += got
        } while got > 0
        b.tcp.markActive(server)
        b.poll(now: now)
        pump(now)
        if monotonicNanoseconds() - start > 120 * 1_000_000_000 { fatalError("stack-benchmark: the transfer stalled at \(received) bytes") }
    }
    return Double(bytes * 8) / (Double(monotonicNanoseconds() - start) / 1e9) / 1e9
}

// MARK: - The kernel's TCP over loopback, one thread

func kernelTransfer(bytes: Int) -> Double {
    let listenFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            _ = bind(listenFD, raw, length)
            _ = listen(listenFD, 4)
            _ = getsockname(listenFD, raw, &length)
        }
    }
    let clientFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = connect(clientFD, $0, length) }
    }
    let serverFD = accept(listenFD, nil, nil)
    _ = fcntl(serverFD, F_SETFL, fcntl(serverFD, F_GETFL) | O_NONBLOCK)
    defer { close(clientFD); close(serverFD); close(listenFD) }
    guard serverFD >= 0 else { fatalError("stack-benchmark: loopback accept failed") }
    var one: Int32 = 1
    _ = setsockopt(clientFD, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    let chunk = [UInt8](repeating: 0xa5, count: 65536)
    var sink = [UInt8](repeating: 0, count: 65536)
    var sent = 0, received = 0
    let start = monotonicNanoseconds()
    while received < bytes {
        if sent < bytes {
            let n = chunk.withUnsafeBytes { write(clientFD, $0.baseAddress, min($0.count, bytes - sent)) }
            if n > 0 { sent += n }
        }
        var got = 0
        repeat {
            got = sink.withUnsafeMutableBytes { read(serverFD, $0.baseAddress, $0.count) }
            if got > 0 { received += got }
        } while got > 0
    }
    return Double(bytes * 8) / (Double(monotonicNanoseconds() - start) / 1e9) / 1e9
}

// MARK: - Report

var forwarding: [Int: [(pps: Double, allocations: Double, forwarded: Int)]] = [:]
var stackRuns: [Double] = [], kernelRuns: [Double] = []
let bytes = megabytes * 1_048_576
for _ in 0..<repetitions {
    for size in [64, 1400] { forwarding[size, default: []].append(forward(size: size, packets: packets)) }
    stackRuns.append(stackTransfer(bytes: bytes))
    kernelRuns.append(kernelTransfer(bytes: bytes))
}
print("| figure | srouter | baseline in the same run | ratio |")
print("|---|---|---|---|")
for size in [64, 1400] {
    let runs = forwarding[size]!
    print("| forwarding, \(size) B IPv4/UDP, Mpps | \(summary(runs.map { $0.pps / 1e6 }, "%.2f")) | — | — |")
    print("| heap allocations per forwarded packet, \(size) B | \(summary(runs.map(\.allocations), "%.2f")) | 0 (goal) | — |")
}
let ratios = zip(stackRuns, kernelRuns).map { $0 / $1 }
print("| TCP between two stacks, one thread, Gbit/s | \(summary(stackRuns, "%.2f")) | \(summary(kernelRuns, "%.2f")) (kernel TCP over loopback) | \(summary(ratios, "%.2f"))× |")
print("")
let delivered = forwarding.values.flatMap { $0 }.allSatisfy { $0.forwarded == packets }
print("\(repetitions) repetitions; \(packets) packets per forwarding run, \(delivered ? "all" : "NOT all") forwarded; \(megabytes) MiB per TCP transfer.")
