// FIB benchmark (not a test): srouter's FIB (RouteTable: Poptrie-like trie over interned
// attributes) beside a naive reference (a hash map per prefix, every length probed) on the
// same synthetic full table in the same run: build time, heap bytes per route, lookups per
// second (one core; single lookups, and batched lookups labelled as such), heap allocations
// per lookup, and the cost of one route change in a full table.
//
//   swift run -c release fib-benchmark [--ipv4 N] [--ipv6 N] [--lookups N] [--reps N] [--seed N] [--batch N] [--churn N]
//
// --batch: addresses per call of the batched lookup, `match(_:into:)` (as a recvmmsg batch).
// --churn: how many fresh IPv4 routes (and a quarter as many IPv6) are added one by one to
// the full table, then deleted one by one, timing each kind of change (an rtnetlink
// route write's share in the FIB).
//
// Each timed figure is the median of --reps runs (at least 3), with the minimum and maximum.
import Foundation
import MallocCounter
import NetStack
import Wire

var ipv4Count = 1_000_000
var ipv6Count = 230_000
var lookupCount = 4_000_000
var reps = 5
var churnCount = 100_000
var batchSize = 32
var seed: UInt64 = 1
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let flag = arguments.next() {
    guard let value = arguments.next().flatMap(Int.init), value > 0 else { break }
    switch flag {
    case "--ipv4": ipv4Count = value
    case "--ipv6": ipv6Count = value
    case "--lookups": lookupCount = value
    case "--reps": reps = max(3, value)
    case "--seed": seed = UInt64(value)
    case "--churn": churnCount = value
    case "--batch": batchSize = value
    default: break
    }
}

func heapBytes() -> Int { Int(malloc_counter_heap_bytes()) }

func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Median, minimum and maximum of repeated timings.
struct Timing {
    var samples: [Double]
    var median: Double { samples.sorted()[samples.count / 2] }
    var min: Double { samples.min()! }
    var max: Double { samples.max()! }
    @MainActor init(_ body: () -> Void) { samples = (0..<reps).map { _ in seconds(body) } }
}

@MainActor func rate(_ count: Int, _ timing: Timing) -> String {
    String(format: "%.1fM (%.1f–%.1f)", Double(count) / timing.median / 1e6, Double(count) / timing.max / 1e6,
           Double(count) / timing.min / 1e6)
}
func ratio(_ a: Double, _ b: Double) -> String { String(format: "%.2f×", a / b) }

var rows: [String] = []
@MainActor func row(_ figure: String, _ ours: String, _ naive: String, _ ratio: String) { rows.append("| \(figure) | \(ours) | \(naive) | \(ratio) |") }

// MARK: - Table and build

let table = SyntheticTable(ipv4Count: ipv4Count, ipv6Count: ipv6Count, seed: seed)
let routeCount = ipv4Count + ipv6Count

var fib = RouteTable()
var naive = NaiveFIB()
var ourHeap = 0, naiveHeap = 0
let ourBuild = Timing {
    fib = RouteTable()
    let before = heapBytes()
    for route in table.ipv4 { try! fib.add(route) }
    for route in table.ipv6 { try! fib.add(route) }
    ourHeap = heapBytes() - before + fib.mappedByteCount
}
let naiveBuild = Timing {
    naive = NaiveFIB()
    let before = heapBytes()
    for route in table.ipv4 { naive.add(route) }
    for route in table.ipv6 { naive.add(route) }
    naiveHeap = heapBytes() - before
}
row("table build, \(ipv4Count) IPv4 + \(ipv6Count) IPv6 routes, s", String(format: "%.2f (%.2f–%.2f)", ourBuild.median, ourBuild.min, ourBuild.max),
    String(format: "%.2f (%.2f–%.2f)", naiveBuild.median, naiveBuild.min, naiveBuild.max), ratio(ourBuild.median, naiveBuild.median))
row("heap bytes per route (mallinfo2 growth + the tries' own huge-page mappings, ÷ routes)", "\(ourHeap / routeCount)", "\(naiveHeap / routeCount)",
    ratio(Double(ourHeap), Double(naiveHeap)))
row("interned attribute sets", "\(fib.attributeSetCount)", "—", "—")

// MARK: - Lookups

var random = Xorshift(seed: seed ^ 0x5eed)
let uniform4 = (0..<lookupCount).map { _ in IPv4Address(UInt32(truncatingIfNeeded: random.next())) }
let inside4 = (0..<lookupCount).map { _ -> IPv4Address in
    guard case .v4(let base) = table.ipv4[Int(random.next() % UInt64(ipv4Count))].destination.address else { fatalError() }
    return IPv4Address(base.value | UInt32(truncatingIfNeeded: random.next()) & 0xff)
}
let sorted4 = uniform4.sorted()
let inside6 = (0..<lookupCount).map { _ -> IPv6Address in
    guard case .v6(let base) = table.ipv6[Int(random.next() % UInt64(ipv6Count))].destination.address else { fatalError() }
    return IPv6Address(high: base.high | random.next() & 0xffff, low: random.next())
}

let main = fib.forwardingTable(RouteTable.main)
var check = 0

/// The naive reference is ~100× slower: it runs on the first eighth of each address list.
let naiveCount = max(1, lookupCount / 8)

@MainActor func compare(_ figure: String, _ ours: @escaping () -> Void, _ theirs: @escaping () -> Void) {
    let a = Timing(ours), b = Timing(theirs)
    let ourRate = Double(lookupCount) / a.median, theirRate = Double(naiveCount) / b.median
    row(figure, rate(lookupCount, a), rate(naiveCount, b), ratio(ourRate, theirRate))
}

compare("IPv4 lookups/s, uniform random addresses, M (min–max)",
        { for a in uniform4 { check &+= main.match(a).prefixLength } },
        { for a in uniform4.prefix(naiveCount) { check &+= naive.lookup(a)?.destination.length ?? 0 } })
// The batched lookup (`ForwardingTable.match(_:into:)`): the same addresses, `batchSize` per
// call, every answer read; its figures are labelled as batched, beside the single ones.
let batchResults = UnsafeMutableBufferPointer<FIBMatch>.allocate(capacity: batchSize)
@MainActor func batched(_ list: [IPv4Address]) {
    list.withUnsafeBufferPointer { all in
        var start = 0
        while start < all.count {
            let count = min(batchSize, all.count - start)
            main.match(UnsafeBufferPointer(rebasing: all[start..<(start + count)]), into: batchResults)
            for i in 0..<count { check &+= batchResults[i].prefixLength }
            start += count
        }
    }
}
row("IPv4 lookups/s, uniform random addresses, **batched** (`match(_:into:)`, \(batchSize) per call), M (min–max)",
    rate(lookupCount, Timing { batched(uniform4) }), "—", "—")
row("IPv4 lookups/s, addresses inside table prefixes, **batched** (\(batchSize) per call), M (min–max)",
    rate(lookupCount, Timing { batched(inside4) }), "—", "—")
compare("IPv4 lookups/s, addresses inside table prefixes, M (min–max)",
        { for a in inside4 { check &+= main.match(a).prefixLength } },
        { for a in inside4.prefix(naiveCount) { check &+= naive.lookup(a)?.destination.length ?? 0 } })
compare("IPv4 lookups/s, uniform addresses in ascending order (cache-friendly), M (min–max)",
        { for a in sorted4 { check &+= main.match(a).prefixLength } },
        { for a in sorted4.prefix(naiveCount) { check &+= naive.lookup(a)?.destination.length ?? 0 } })
compare("IPv4 lookups/s, each address depending on the previous answer (latency), M (min–max)",
        { var last = 0; for a in inside4 { last = main.match(IPv4Address(a.value ^ UInt32(last & 1))).prefixLength }; check &+= last },
        { var last = 0; for a in inside4.prefix(naiveCount) { last = naive.lookup(IPv4Address(a.value ^ UInt32(last & 1)))?.destination.length ?? 0 }; check &+= last })
compare("IPv4 lookups/s through `lookup(_:table:) -> Route?`, inside prefixes, M (min–max)",
        { for a in inside4 { check &+= fib.lookup(.v4(a))?.destination.length ?? 0 } },
        { for a in inside4.prefix(naiveCount) { check &+= naive.lookup(a)?.destination.length ?? 0 } })
compare("IPv6 lookups/s, addresses inside table prefixes, M (min–max)",
        { for a in inside6 { check &+= main.match(a).prefixLength } },
        { for a in inside6.prefix(naiveCount) { check &+= naive.lookup(a)?.destination.length ?? 0 } })

// The memory's own limit for one load per lookup: independent random 4-byte loads from a
// 64 MiB array on huge pages (the size of the 24-bit direct array), indices from the same
// addresses.
// A fresh 2 MiB-aligned mapping, advised before it is touched, so every page faults in huge.
let mapped = mmap(nil, 66 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
let raw = UnsafeMutableRawPointer(bitPattern: (Int(bitPattern: mapped) + (2 << 20) - 1) & ~((2 << 20) - 1))!
_ = madvise(raw, 64 << 20, Int32(MADV_HUGEPAGE))
let array = raw.bindMemory(to: UInt32.self, capacity: 16 << 20)
array.initialize(repeating: 1, count: 16 << 20)
let loadTiming = Timing { for a in inside4 { check &+= Int(array[Int(a.value >> 8)]) } }
row("random 4-byte loads/s from a 64 MiB array (memory's limit at one load per lookup), M (min–max)",
    rate(lookupCount, loadTiming), "—", "—")
munmap(mapped, 66 << 20)

// The forwarding plane's call: RoutingPolicy.resolve through the rules' tables (local, main,
// default), the IPv4 table in main.
let policy = RoutingPolicy()
for route in table.ipv4 { try! policy.table.add(route) }
let resolveTiming = Timing {
    for a in inside4 {
        if case .forward(let interface, _, _, _) = policy.resolve(.v4(a), flowHash: a.value) { check &+= interface }
    }
}
row("IPv4 `RoutingPolicy.resolve` decisions/s (local, main, default tables), inside prefixes, M (min–max)",
    rate(lookupCount, resolveTiming), "—", "—")

// Allocations: one pass of each path.
@MainActor func allocations(_ count: Int, _ body: () -> Void) -> String {
    let before = malloc_counter_allocations()
    body()
    return String(format: "%.2f", Double(malloc_counter_allocations() - before) / Double(count))
}
row("heap allocations per lookup (fast path / batched / `lookup` → Route / `resolve`)",
    allocations(lookupCount) { for a in inside4 { check &+= main.match(a).prefixLength } } + " / "
        + allocations(lookupCount) { batched(inside4) } + " / "
        + allocations(lookupCount) { for a in inside4 { check &+= fib.lookup(.v4(a))?.destination.length ?? 0 } } + " / "
        + allocations(lookupCount) {
            for a in inside4 {
                if case .forward(let interface, _, _, _) = policy.resolve(.v4(a), flowHash: a.value) { check &+= interface }
            }
        },
    allocations(naiveCount) { for a in inside4.prefix(naiveCount) { check &+= naive.lookup(a)?.destination.length ?? 0 } }, "—")

// Agreement: both answer the same prefix length for every address probed.
var disagreements = 0
for a in uniform4.prefix(100_000) where main.match(a).prefixLength != (naive.lookup(a)?.destination.length ?? 0) { disagreements += 1 }
for a in inside6.prefix(100_000) where main.match(a).prefixLength != (naive.lookup(a)?.destination.length ?? 0) { disagreements += 1 }
// The batched lookup answers as the single one does.
let batchChecked = min(100_000, uniform4.count)
for start in stride(from: 0, to: batchChecked, by: batchSize) {
    let slice = uniform4[start..<min(start + batchSize, batchChecked)]
    slice.withUnsafeBufferPointer { main.match($0, into: batchResults) }
    for (i, a) in slice.enumerated() where batchResults[i] != main.match(a) { disagreements += 1 }
}

// A netlink dump's walk: every route of main, IPv4 then IPv6, in the stable order.
var dumped = 0
let dumpTime = seconds { dumped = fib.routes(table: RouteTable.main, ipv6: false).count + fib.routes(table: RouteTable.main, ipv6: true).count }
row("dump every route in order (`routes(table:ipv6:)`), s (one run)", String(format: "%.2f", dumpTime), "—", "—")

// MARK: - Changes at scale

// Fresh prefixes (not in the table) added one by one to the full table, then deleted: the
// FIB's own cost of one route change, as rtnetlink makes it.
let churnTable = SyntheticTable(ipv4Count: churnCount, ipv6Count: max(1, churnCount / 4), seed: seed ^ 0xc4a9)
let present = Set(table.ipv4.map(\.destination) + table.ipv6.map(\.destination))
let churn4 = churnTable.ipv4.filter { !present.contains($0.destination) }
let churn6 = churnTable.ipv6.filter { !present.contains($0.destination) }
@MainActor func changes(_ routes: [Route]) -> (insert: Timing, delete: Timing) {
    var deleteSamples: [Double] = []
    let inserts = Timing {
        for route in routes { try! fib.add(route) }
        deleteSamples.append(seconds {
            for route in routes { try! fib.delete(destination: route.destination, table: RouteTable.main, metric: route.metric) }
        })
    }
    var deletes = inserts
    deletes.samples = deleteSamples
    return (inserts, deletes)
}
@MainActor func microseconds(_ count: Int, _ timing: Timing) -> String {
    String(format: "%.2f (%.2f–%.2f)", timing.median / Double(count) * 1e6, timing.min / Double(count) * 1e6,
           timing.max / Double(count) * 1e6)
}
let (insert4, delete4) = changes(churn4)
let (insert6, delete6) = changes(churn6)
row("IPv4 route add into the full table, one by one (`add`), µs per route (min–max), \(churn4.count) fresh prefixes",
    microseconds(churn4.count, insert4), "—", "—")
row("IPv4 route delete from the full table, one by one (`delete`), µs per route (min–max)", microseconds(churn4.count, delete4), "—", "—")
row("IPv6 route add into the full table, one by one, µs per route (min–max), \(churn6.count) fresh prefixes",
    microseconds(churn6.count, insert6), "—", "—")
row("IPv6 route delete from the full table, one by one, µs per route (min–max)", microseconds(churn6.count, delete6), "—", "—")
// Allocations per change: one more untimed pass of each kind.
@MainActor func changeAllocations(_ routes: [Route]) -> String {
    let adds = allocations(routes.count) { for route in routes { try! fib.add(route) } }
    let deletes = allocations(routes.count) {
        for route in routes { try! fib.delete(destination: route.destination, table: RouteTable.main, metric: route.metric) }
    }
    return adds + " / " + deletes
}
row("heap allocations per route change in the full table (IPv4 add / delete, IPv6 add / delete)",
    changeAllocations(churn4) + ", " + changeAllocations(churn6), "—", "—")

// MARK: - Deletes

let deleteTime = seconds {
    for route in table.ipv4 { try! fib.delete(destination: route.destination, table: RouteTable.main, metric: route.metric) }
    for route in table.ipv6 { try! fib.delete(destination: route.destination, table: RouteTable.main, metric: route.metric) }
}
row("delete every route, s (one run)", String(format: "%.2f", deleteTime), "—", "—")

print("| figure | srouter | naive reference | ratio |")
print("|---|---|---|---|")
for line in rows { print(line) }
print("")
print("\(ipv4Count) IPv4 + \(ipv6Count) IPv6 routes (seed \(seed)), \(lookupCount) lookups per run, \(reps) runs; "
      + "ratios are srouter ÷ naive (lookups: higher is better; bytes and build time: lower is better); the naive reference looks up the first \(naiveCount) addresses of each list; \(disagreements) disagreements; "
      + "\(dumped) routes dumped, \(fib.count) routes left; checksum \(check)")
