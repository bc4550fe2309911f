import Wire

/// What a longest-prefix match found: the trie's leaf, naming the interned attributes of the
/// best route of the matched prefix and that prefix's length. Small and trivially copied, so
/// the forwarding hot path pays no reference counting until it needs the attributes.
@frozen
public struct FIBMatch: Equatable, Sendable {
    /// The trie leaf (0: nothing matched).
    @usableFromInline let leaf: UInt32

    /// A match of `leaf`.
    @usableFromInline init(leaf: UInt32) { self.leaf = leaf }

    /// Whether a route matched.
    @inline(__always) public var found: Bool { leaf != 0 }
    /// The matched prefix length (0 when nothing matched).
    public var prefixLength: Int { Int(leaf & 0xff) }
    /// The interned attribute set's index (nil when nothing matched): equal indices, equal
    /// attributes, while the table is unchanged.
    public var attributesIndex: Int? { leaf == 0 ? nil : Int(leaf >> 8) - 1 }
}

/// One table of a `RouteTable`, resolved once, for allocation-free longest-prefix matches on
/// the forwarding hot path: a lookup reads the table's direct array and a node or two of its
/// trie (`Poptrie`) and returns a `FIBMatch`. It follows later changes to the table. `match`
/// is inlinable, so the direct-array step compiles into the caller's loop (the trie's types
/// are `@usableFromInline` for it) and only a lookup that reaches a node makes a call.
public struct ForwardingTable {
    /// The table's IPv4 index (never replaced, so held directly: one load nearer the trie).
    @usableFromInline let v4: PrefixIndex<IPv4Address>
    /// The table's IPv6 index.
    @usableFromInline let v6: PrefixIndex<IPv6Address>
    private let pool: AttributePool

    init(index: TableIndex, pool: AttributePool) {
        v4 = index.v4
        v6 = index.v6
        self.pool = pool
    }

    /// The longest match for an IPv4 address (inlined into the caller: the stack's hot path).
    @inlinable
    public func match(_ address: IPv4Address) -> FIBMatch { FIBMatch(leaf: v4.match(address)) }

    /// The longest match for an IPv6 address.
    @inlinable
    public func match(_ address: IPv6Address) -> FIBMatch { FIBMatch(leaf: v6.match(address)) }

    /// The longest match for each of `addresses`, into `results` (at least as many): a batch
    /// of packets, as a `recvmmsg` brings them, looked up at once. The direct-array loads of
    /// the whole batch are issued before any branch on their values, so they overlap in
    /// memory however the answers fall; the same answers as `match` one by one, nothing
    /// allocated.
    @inlinable
    public func match(_ addresses: UnsafeBufferPointer<IPv4Address>, into results: UnsafeMutableBufferPointer<FIBMatch>) {
        Self.batch(addresses, into: results, v4.match)
    }

    /// The longest match for each of `addresses`, into `results` (at least as many), as the
    /// IPv4 batch does it.
    @inlinable
    public func match(_ addresses: UnsafeBufferPointer<IPv6Address>, into results: UnsafeMutableBufferPointer<FIBMatch>) {
        Self.batch(addresses, into: results, v6.match)
    }

    /// Runs a family's batch lookup into `results`, seen as the trie's leaves (`FIBMatch`
    /// is one `UInt32`).
    @inlinable
    static func batch<A>(_ addresses: UnsafeBufferPointer<A>, into results: UnsafeMutableBufferPointer<FIBMatch>,
                         _ lookup: (UnsafeBufferPointer<A>, UnsafeMutablePointer<UInt32>) -> Void) {
        precondition(results.count >= addresses.count, "FIB batch: fewer results than addresses")
        guard let base = results.baseAddress, addresses.count > 0 else { return }
        UnsafeMutableRawPointer(base).withMemoryRebound(to: UInt32.self, capacity: addresses.count) {
            lookup(addresses, $0)
        }
    }

    /// The longest match for an address of either family.
    public func match(_ address: IPAddress) -> FIBMatch {
        switch address {
        case .v4(let a): match(a)
        case .v6(let a): match(a)
        }
    }

    /// The attributes of the matched route (its next hops shared, nothing allocated); nil
    /// when nothing matched.
    public func attributes(of match: FIBMatch) -> RouteAttributes? {
        match.found ? pool[(match.leaf >> 8) - 1] : nil
    }
}

/// The fast lookup entry point.
extension RouteTable {
    /// Table `number` for fast lookups (made empty if it does not exist yet).
    public func forwardingTable(_ number: UInt32) -> ForwardingTable {
        ForwardingTable(index: tableIndex(number), pool: attributePool)
    }
}
