import Wire

/// Errors of interface and address changes, as the errno rtnetlink returns.
public enum InterfaceError: Int32, Error, Sendable {
    /// The address is already on the interface (EEXIST).
    case addressExists = 17
    /// No such address (EADDRNOTAVAIL).
    case addressNotFound = 99
    /// No such interface (ENODEV).
    case noSuchInterface = 19
    /// A name already taken (EEXIST via the same code path as Linux's dev_get_by_name check).
    case nameTaken = 117
    /// A bad prefix length or address (EINVAL).
    case invalid = 22
}

/// The interfaces of one stack, by index and by name, and which addresses are local.
/// Changes are reported to `onChange` so routes and netlink notifications follow.
public final class InterfaceTable {
    /// What changed.
    public enum Change {
        /// A new interface.
        case added(NetworkInterface)
        /// An interface is gone.
        case removed(NetworkInterface)
        /// Up/down, MTU or name changed.
        case updated(NetworkInterface)
        /// An address was added.
        case addressAdded(NetworkInterface, InterfaceAddress)
        /// An address was removed.
        case addressRemoved(NetworkInterface, InterfaceAddress)
    }

    /// Interfaces by index, in index order.
    public private(set) var all: [NetworkInterface] = []
    /// Told after every change.
    public var onChange: ((Change) -> Void)?
    private var byIndex: [Int: NetworkInterface] = [:]
    private var localAddresses: [IPAddress: Int] = [:]
    private var nextIndex = 1

    /// An empty table; `lo` is usually added first so it gets index 1.
    public init() {}

    /// Adds an interface with the next free index.
    @discardableResult
    public func add(name: String, kind: InterfaceKind, mtu: Int, isUp: Bool = true) throws(InterfaceError) -> NetworkInterface {
        guard self[name] == nil else { throw .nameTaken }
        let interface = NetworkInterface(index: nextIndex, name: name, kind: kind, mtu: mtu, isUp: isUp)
        nextIndex += 1
        all.append(interface)
        byIndex[interface.index] = interface
        onChange?(.added(interface))
        return interface
    }

    /// Removes an interface and its addresses.
    public func remove(_ interface: NetworkInterface) {
        for address in interface.addresses { try? removeAddress(address, from: interface) }
        all.removeAll { $0 === interface }
        byIndex[interface.index] = nil
        onChange?(.removed(interface))
    }

    /// The interface with `index`.
    public subscript(index: Int) -> NetworkInterface? { byIndex[index] }
    /// The interface named `name`.
    public subscript(name: String) -> NetworkInterface? { all.first { $0.name == name } }

    /// Adds an address (`ip addr add`). EEXIST if the same address is already there.
    public func addAddress(_ address: InterfaceAddress, to interface: NetworkInterface) throws(InterfaceError) {
        guard address.prefixLength >= 0, address.prefixLength <= address.address.bitWidth else { throw .invalid }
        guard !interface.addresses.contains(where: { $0.address == address.address }) else { throw .addressExists }
        interface.addresses.append(address)
        localAddresses[address.address] = interface.index
        onChange?(.addressAdded(interface, address))
    }

    /// Removes an address (`ip addr del`).
    public func removeAddress(_ address: InterfaceAddress, from interface: NetworkInterface) throws(InterfaceError) {
        guard let at = interface.addresses.firstIndex(where: { $0.address == address.address }) else {
            throw .addressNotFound
        }
        let removed = interface.addresses.remove(at: at)
        if localAddresses[removed.address] == interface.index {
            localAddresses[removed.address] = all.first { $0.addresses.contains { $0.address == removed.address } }?.index
        }
        onChange?(.addressRemoved(interface, removed))
    }

    /// Sets up/down or the MTU and reports the change.
    public func update(_ interface: NetworkInterface, isUp: Bool? = nil, mtu: Int? = nil) {
        if let isUp { interface.isUp = isUp }
        if let mtu { interface.mtu = mtu }
        onChange?(.updated(interface))
    }

    /// The interface holding `address`, if it is one of ours (Linux's weak host model: a
    /// local address is accepted whatever interface the packet came in on).
    public func owner(of address: IPAddress) -> NetworkInterface? {
        localAddresses[address].flatMap { byIndex[$0] }
    }

    /// Whether `address` is local: assigned, or in 127.0.0.0/8 (Linux routes all of it to lo).
    public func isLocal(_ address: IPAddress) -> Bool {
        if localAddresses[address] != nil { return true }
        if case .v4(let a) = address, a.value >> 24 == 127 { return true }
        return false
    }
}
