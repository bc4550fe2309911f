import CSRouterLinux
import Glibc
import LinuxABI
import NetStack
import Sandbox
import Wire

/// Moving datagrams between the stack and the guest's SOCK_SEQPACKET pair.
///
/// Network → guest: each datagram's payload becomes one message on srouter's end, so a
/// native `recv`/`read` gets it whole; what recvmsg reports besides the payload (source,
/// IP_PKTINFO, TTL) waits in `GuestSocket.delivered`, in the same order, for a trapped
/// recvmsg to take with the message. Guest → network: what the guest sends natively on a
/// connected socket arrives as messages on srouter's end and goes to the connected peer.
extension SocketService {
    /// Runs a datagram socket's pumps.
    func pumpDatagrams(_ socket: GuestSocket) {
        guard let d = socket.datagram, socket.hostEnd >= 0 else { return }
        // Guest → network.
        var guestWentAway = socket.guestClosed
        for _ in 0..<256 {
            let n = recv(socket.hostEnd, scratch.baseAddress, scratch.count, Int32(MSG_DONTWAIT))
            if n < 0 {
                if errno != EAGAIN { guestWentAway = true }
                break
            }
            if n == 0 && socket.guestClosed { break }
            if d.remote != nil {
                _ = stack.send(d, UnsafeRawBufferPointer(rebasing: scratch[0..<n]), to: nil,
                               now: EventLoop.monotonicNow())
            } else {
                droppedUnconnectedSends += 1
            }
        }
        if guestWentAway {
            retire(socket)
            return
        }
        // An ICMP error for a connected socket (ECONNREFUSED…): Linux makes the socket
        // readable with POLLERR. An empty message stands in for it, so poll wakes the guest;
        // its trapped recvmsg then reports the error (a native recv sees an empty datagram).
        // A later error needs a new marker once the guest has read the old one natively.
        if d.pendingError != nil && socket.errorMarkerQueued && d.errorCount != socket.errorMarkerCount {
            settleErrorMarker(socket)
        }
        if d.pendingError != nil && !socket.errorMarkerQueued {
            if send(socket.hostEnd, scratch.baseAddress, 0, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) == 0 {
                socket.errorMarkerQueued = true
                socket.errorMarkerCount = d.errorCount
                socket.delivered.append(DeliveredDatagram(info: ReceivedPacketInfo(
                    source: .v4(.any), destination: .v4(.any), interfaceIndex: 0, timeToLive: 0, typeOfService: 0),
                    sourcePort: 0, length: 0, isErrorMarker: true))
            }
        }
        // Network → guest.
        var blocked = false
        while let datagram = d.receive(peek: true) {
            let written = datagram.data.withUnsafeBytes {
                send(socket.hostEnd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EAGAIN || errno == ENOBUFS { blocked = true } else { retire(socket); return }
                break
            }
            _ = d.receive()
            socket.delivered.append(DeliveredDatagram(info: datagram.info, sourcePort: datagram.sourcePort,
                                                      length: datagram.data.count, isErrorMarker: false))
        }
        watch(socket, events: EPOLLIN.rawValue | (blocked ? EPOLLOUT.rawValue : 0))
    }

    /// TIOCOUTQ (SIOCOUTQ): on an AF_UNIX socket, the memory of the messages it sent that
    /// its peer has not read yet (`unix_outq_len`).
    private static let outputQueueRequest: UInt = 0x5411

    /// Whether the guest has read everything srouter wrote to its end of the pair (natively,
    /// so srouter was not told): srouter's end has nothing in flight.
    func guestReadEverything(_ socket: GuestSocket) -> Bool {
        var pending: Int32 = 0
        return ioctl(socket.hostEnd, Self.outputQueueRequest, &pending) == 0 && pending == 0
    }

    /// Notices an error marker the guest read natively (its recv got an empty datagram where
    /// Linux gives the error and clears it). Every message written was read, so every record
    /// is stale. If no ICMP error came since the marker, the error counts as reported (Linux's
    /// recv cleared sk_err); a newer one stays pending for the next marker or call.
    func settleErrorMarker(_ socket: GuestSocket) {
        guard socket.errorMarkerQueued, let d = socket.datagram, guestReadEverything(socket) else { return }
        socket.errorMarkerQueued = false
        socket.deliveredHead = socket.delivered.count
        compactDelivered(socket)
        if d.errorCount == socket.errorMarkerCount { d.pendingError = nil }
    }

    /// Takes the oldest delivered-datagram record (for a message of `length` bytes just
    /// taken from the pair). Records of messages the guest read natively are skipped by
    /// length: the pair and the records stay in step.
    func takeDelivered(_ socket: GuestSocket, length: Int, peek: Bool) -> DeliveredDatagram? {
        var index = socket.deliveredHead
        while index < socket.delivered.count {
            let record = socket.delivered[index]
            if record.length == length || index == socket.delivered.count - 1 {
                if !peek {
                    socket.deliveredHead = index + 1
                    compactDelivered(socket)
                }
                return record
            }
            index += 1
        }
        return nil
    }

    private func compactDelivered(_ socket: GuestSocket) {
        if socket.deliveredHead == socket.delivered.count {
            socket.delivered.removeAll(keepingCapacity: true)
            socket.deliveredHead = 0
        } else if socket.deliveredHead > 64 && socket.deliveredHead * 2 > socket.delivered.count {
            socket.delivered.removeFirst(socket.deliveredHead)
            socket.deliveredHead = 0
        }
    }
}
