/// The node indices on one address's path through a `Poptrie`, top first, held inline so
/// that an update walking down and back up allocates nothing. A path is at most one node per
/// stride below the direct bits: 19 for IPv6 from 16 bits, 3 for IPv4.
struct TriePath {
    /// Nodes a path can hold: more than any family's width allows.
    static var capacity: Int { 24 }

    private var indices = InlineArray<24, Int32>(repeating: 0)
    /// Nodes on the path.
    private(set) var count = 0

    /// An empty path.
    init() {}

    /// Adds the next node down.
    mutating func append(_ index: Int) {
        precondition(count < Self.capacity)
        indices[count] = Int32(truncatingIfNeeded: index)
        count += 1
    }

    /// The deepest node, nil if the path is empty.
    var last: Int? { count > 0 ? Int(indices[count - 1]) : nil }

    /// Drops the deepest node.
    mutating func removeLast() { count -= 1 }
}
