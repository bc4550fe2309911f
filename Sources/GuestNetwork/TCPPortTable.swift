import CSRouterLinux
import NetStack
import Wire

/// The TCP ports the guest's sockets hold, and Linux's rules for sharing them
/// (`inet_csk_get_port` → `inet_csk_bind_conflict`).
///
/// Two sockets on one port conflict when their addresses overlap — equal, or either a
/// wildcard of a family that covers the other (an IPv6 wildcard without IPV6_V6ONLY covers
/// IPv4 too) — unless both set SO_REUSEADDR and the one already there is not listening, or
/// both set SO_REUSEPORT. A connection accepted from a listener holds the listener's port
/// with the listener's SO_REUSEADDR, so re-binding a port whose listener closed succeeds at
/// once with SO_REUSEADDR, as BIRD expects, and fails with EADDRINUSE without it.
struct TCPPortTable {
    /// Sockets by the port they hold.
    private(set) var holders: [UInt16: [GuestSocket]] = [:]

    /// Whether `socket` may hold `port` on `address` (nil: wildcard).
    func isFree(_ port: UInt16, address: IPAddress?, for socket: GuestSocket) -> Bool {
        for other in holders[port] ?? [] where other !== socket {
            guard Self.overlap(address, socket, other.boundAddress, other) else { continue }
            let bothReuseAddress = socket.options.reuseAddress && other.options.reuseAddress && !other.isListening
            let bothReusePort = socket.options.reusePort && other.options.reusePort
            if !bothReuseAddress && !bothReusePort { return false }
        }
        return true
    }

    /// Records that `socket` holds its bound port.
    mutating func hold(_ socket: GuestSocket) {
        guard socket.boundPort != 0 else { return }
        if holders[socket.boundPort]?.contains(where: { $0 === socket }) == true { return }
        holders[socket.boundPort, default: []].append(socket)
    }

    /// Frees whatever port `socket` holds.
    mutating func release(_ socket: GuestSocket) {
        guard socket.boundPort != 0 else { return }
        holders[socket.boundPort]?.removeAll { $0 === socket }
        if holders[socket.boundPort]?.isEmpty == true { holders[socket.boundPort] = nil }
    }

    /// Frees the ports of closed sockets whose connection `isFinished` (gone from the stack:
    /// the FIN exchange and TIME-WAIT are over, as Linux frees a timewait socket's port).
    mutating func releaseLingering(where isFinished: (TCPConnection) -> Bool) {
        for (port, sockets) in holders {
            let kept = sockets.filter { socket in socket.lingering.map { !isFinished($0) } ?? true }
            guard kept.count != sockets.count else { continue }
            for socket in sockets where !kept.contains(where: { $0 === socket }) { socket.lingering = nil }
            holders[port] = kept.isEmpty ? nil : kept
        }
    }

    /// Whether any socket holds `port` (the ephemeral port search skips those).
    func isHeld(_ port: UInt16) -> Bool { holders[port] != nil }

    /// Linux's address overlap for binds on one port (`inet_rcv_saddr_equal` with wildcards).
    static func overlap(_ a: IPAddress?, _ socketA: GuestSocket, _ b: IPAddress?, _ socketB: GuestSocket) -> Bool {
        let a4 = covers(a, socketA, v4: true), a6 = covers(a, socketA, v4: false)
        let b4 = covers(b, socketB, v4: true), b6 = covers(b, socketB, v4: false)
        // Families that do not meet never conflict.
        guard (a4 && b4) || (a6 && b6) else { return false }
        guard let a = a.map(DatagramSocket.unmapped), let b = b.map(DatagramSocket.unmapped) else { return true }
        if isWildcard(a) || isWildcard(b) { return true }
        return a == b
    }

    /// Whether a binding to `address` on `socket` takes IPv4 (`v4`) or IPv6 traffic.
    private static func covers(_ address: IPAddress?, _ socket: GuestSocket, v4: Bool) -> Bool {
        guard let address else {
            return v4 ? (!socket.isIPv6 || !socket.options.v6Only) : socket.isIPv6
        }
        switch DatagramSocket.unmapped(address) {
        case .v4: return v4
        case .v6(let a): return v4 ? (a == .any && !socket.options.v6Only) : true
        }
    }

    private static func isWildcard(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let a): a.value == 0
        case .v6(let a): a == .any
        }
    }
}
