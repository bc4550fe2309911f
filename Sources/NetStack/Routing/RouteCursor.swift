import Wire

/// A walk over the FIB's routes, taken a route at a time: what a netlink route dump reads as
/// its reader reads. Linux encodes a dump an skb at a time, each `recvmsg` resuming the walk
/// where the last one stopped (`inet_dump_fib` and `inet6_dump_fib` keep their place in the
/// `netlink_callback`), so a full table's dump never exists whole; this is that walk.
///
/// The order is `RouteTable.routes(table:ipv6:)`'s: by table, IPv4 before IPv6, then by
/// destination (address, then length), each prefix's routes as the prefix keeps them. The
/// cursor holds the sorted prefix keys of one table and family at a time (8 bytes an IPv4
/// prefix, 24 an IPv6 one), sorted when the walk enters it, and reads a prefix's routes only
/// when it reaches them: a prefix removed before then is skipped, its routes as they are
/// then are the ones given, and a prefix added to a table and family the walk has entered is
/// not seen (Linux's walk resumes at its last key, so it sees those that sort after it).
public final class RouteCursor {
    private let fib: RouteTable
    /// The tables and families not yet entered, in walk order.
    private var segments: [(table: UInt32, ipv6: Bool)]
    /// The table being walked, and its sorted keys (of one family; the other stays empty).
    private var index: TableIndex?
    private var keys4: [IPv4Address.PrefixKey] = []
    private var keys6: [IPv6Address.PrefixKey] = []
    private var position = 0
    /// The routes of the prefix reached, and how many of them have been given.
    private var pending: [Route] = []
    private var given = 0

    /// A walk over `table` (every table if nil) and one family (both if nil), as
    /// `RouteTable.routes(table:ipv6:)` would list them.
    init(fib: RouteTable, tables: [UInt32], ipv6: Bool?) {
        self.fib = fib
        segments = tables.flatMap { number in
            [false, true].filter { ipv6 == nil || ipv6 == $0 }.map { (table: number, ipv6: $0) }
        }
        segments.reverse()  // taken from the end
    }

    /// The next route, or nil when the walk is over.
    public func next() -> Route? {
        while true {
            if given < pending.count {
                given += 1
                return pending[given - 1]
            }
            if let index, let routes = routes(at: position, in: index) {
                position += 1
                pending = routes
                given = 0
                continue
            }
            guard let segment = segments.popLast() else {
                index = nil
                return nil
            }
            enter(segment)
        }
    }

    /// Starts on a table and family: its keys, sorted.
    private func enter(_ segment: (table: UInt32, ipv6: Bool)) {
        let entered = fib.tableIndex(segment.table)
        index = entered
        position = 0
        if segment.ipv6 {
            keys4 = []
            keys6 = entered.v6.sortedKeys()
        } else {
            keys6 = []
            keys4 = entered.v4.sortedKeys()
        }
    }

    /// The routes now at the key at `position` (none if it was removed since), or nil past
    /// the last key.
    private func routes(at position: Int, in index: TableIndex) -> [Route]? {
        if position < keys4.count { return index.routes(key: keys4[position], in: index.v4) }
        if position < keys6.count { return index.routes(key: keys6[position], in: index.v6) }
        return nil
    }
}

extension RouteTable {
    /// A walk over the routes `routes(table:ipv6:)` lists, a route at a time, reading each
    /// prefix when it is reached (`RouteCursor`).
    public func cursor(table: UInt32? = nil, ipv6: Bool? = nil) -> RouteCursor {
        RouteCursor(fib: self, tables: allTableNumbers.filter { table == nil || $0 == table }, ipv6: ipv6)
    }
}
