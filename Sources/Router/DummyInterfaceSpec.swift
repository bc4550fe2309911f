import NetStack
import Wire

/// A dummy interface as `srouter run --dummy NAME=ADDRESS/LENGTH[,ADDRESS/LENGTH…]` gives it:
/// the node's own addresses (a DN42 node's, an anycast service's), as `ip link add NAME type
/// dummy` and `ip addr add` would hold them. Packets routed to it are dropped; its addresses
/// answer.
public struct DummyInterfaceSpec: Equatable, Sendable {
    /// The interface's name (1…15 bytes, as IFNAMSIZ allows; no '/', ':' or whitespace).
    public var name: String
    /// Its addresses, in the order given.
    public var addresses: [InterfaceAddress]

    /// Why an option value is not a dummy interface.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        /// The message, naming the option and the part at fault.
        public var description: String
    }

    /// Parses `NAME=ADDRESS/LENGTH[,ADDRESS/LENGTH…]` (a bare address is a host route: /32 or
    /// /128).
    public init(parsing text: String) throws(ParseError) {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw ParseError(description: "--dummy \(text): expected NAME=ADDRESS/LENGTH[,ADDRESS/LENGTH…]")
        }
        do {
            try self.init(name: String(parts[0]), addresses: String(parts[1]))
        } catch {
            throw ParseError(description: "--dummy \(text): \(error.description)")
        }
    }

    /// A dummy interface from its name and a comma-separated address list (`ADDRESS/LENGTH`,
    /// a bare address being a host address), as a configuration file's `[Dummy]` section
    /// gives them. The error names the part at fault, without a prefix.
    public init(name: String, addresses list: String) throws(ParseError) {
        guard !name.isEmpty, name.utf8.count <= 15, name != ".", name != "..",
              !name.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace }) else {
            throw ParseError(description: "'\(name)' is not an interface name (1–15 characters, no '/', ':' or spaces)")
        }
        var addresses: [InterfaceAddress] = []
        for item in list.split(separator: ",").map({ String($0.filter { !$0.isWhitespace }) }) where !item.isEmpty {
            let pieces = item.split(separator: "/", maxSplits: 1)
            guard let address = IPAddress(String(pieces[0])) else {
                throw ParseError(description: "'\(item)' is not an address")
            }
            let length = pieces.count == 2 ? Int(pieces[1]) : address.bitWidth
            guard let length, length >= 0, length <= address.bitWidth else {
                throw ParseError(description: "'\(item)' has no valid prefix length")
            }
            addresses.append(InterfaceAddress(address: address, prefixLength: length))
        }
        guard !addresses.isEmpty else {
            throw ParseError(description: "no address (ADDRESS/LENGTH[,…])")
        }
        self.name = name
        self.addresses = addresses
    }
}
