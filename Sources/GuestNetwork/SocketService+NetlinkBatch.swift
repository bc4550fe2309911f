import CSRouterLinux
import Glibc
import LinuxABI
import Netlink

/// The pair of a guest netlink socket moved in batches: what waits for the pair goes in with
/// one sendmmsg, and a trapped recvmmsg takes what the pair holds with one recvmmsg of
/// srouter's own, so a batch of ACKs costs two system calls rather than two per ACK.
extension SocketService {
    /// Writes the datagrams at the head of `pending` into the pair
    /// while it takes them, up to `SROUTER_BATCH_MAX` a sendmmsg, recording each one's source;
    /// returns how many were written. `pending` is left to the caller.
    func writeNetlinkDatagrams(_ socket: GuestNetlinkSocket) -> Int {
        var written = 0
        while written < socket.pending.count {
            var batch: [([UInt8], NetlinkOrigin)] = []
            for item in socket.pending[written...] {
                guard batch.count < Int(SROUTER_BATCH_MAX) else { break }
                batch.append((item.bytes, item.origin))
            }
            guard !batch.isEmpty else { break }
            let sent = sendNetlinkBatch(socket.hostEnd, batch.map(\.0))
            for (bytes, origin) in batch.prefix(sent) {
                socket.queued.append(origin)
                socket.largestQueued = max(socket.largestQueued, bytes.count)
            }
            written += sent
            if sent < batch.count { break }  // the pair is full
        }
        return written
    }

    /// send (one datagram) or sendmmsg (several) without blocking: how many the pair took.
    private func sendNetlinkBatch(_ fd: Int32, _ datagrams: [[UInt8]]) -> Int {
        if datagrams.count == 1 {
            let n = datagrams[0].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            return n >= 0 ? 1 : 0
        }
        // The datagrams back to back in one buffer, for pointers that hold through the call.
        var flat = datagrams.flatMap { $0 }
        return flat.withUnsafeMutableBytes { raw -> Int in
            var batch = [srouter_datagram](repeating: srouter_datagram(), count: datagrams.count)
            var offset = 0
            for (i, datagram) in datagrams.enumerated() {
                batch[i].data = raw.baseAddress.map { ($0 + offset).assumingMemoryBound(to: UInt8.self) }
                batch[i].length = UInt32(datagram.count)
                batch[i].capacity = UInt32(datagram.count)
                batch[i].address_length = 0  // connected: no name
                offset += datagram.count
            }
            return max(0, Int(srouter_send_batch(fd, &batch, Int32(batch.count))))
        }
    }

    /// Takes, with one recvmmsg on `copy` (the guest's end), as many of the datagrams srouter
    /// wrote into the pair as there are receives offering `offered` bytes each, when that is
    /// more than one and they fit srouter's scratch buffer side by side; each goes through
    /// `dequeueOrigin` in turn, as a receive of its own would. Empty: take them one by one.
    func takeNetlinkDatagrams(_ socket: GuestNetlinkSocket, copy: Int32,
                              offered: [Int]) throws(LinuxErrno) -> [([UInt8], NetlinkOrigin)] {
        let inPair = socket.queued.count - socket.queuedHead
        let slot = max(socket.largestQueued, 1)
        let count = min(offered.count, inPair, Int(SROUTER_BATCH_MAX), scratch.count / slot)
        guard count > 1 else { return [] }
        var batch = [srouter_datagram](repeating: srouter_datagram(), count: count)
        for i in 0..<count {
            batch[i].data = (scratch.baseAddress! + i * slot).assumingMemoryBound(to: UInt8.self)
            batch[i].capacity = UInt32(slot)
        }
        let n = Int(srouter_receive_batch(copy, &batch, Int32(count)))
        guard n >= 0 else { throw LinuxErrno(rawValue: Int32(-n)) }
        // Out of the scratch buffer first: dequeueOrigin may wake other receives, which use it.
        let data = (0..<n).map { Array(UnsafeRawBufferPointer(start: batch[$0].data, count: Int(batch[$0].length))) }
        return data.enumerated().map { ($1, dequeueOrigin(socket, peek: false, offered: offered[$0])) }
    }
}
