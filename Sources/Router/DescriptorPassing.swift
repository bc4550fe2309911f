import CSRouterLinux
import Glibc

/// Sending descriptors over a unix socket (`unix(7)`, SCM_RIGHTS): how `srouter exec` hands
/// its standard input, output and error to the router with its request.
public enum DescriptorPassing {
    /// Sends `bytes` on `fd` in one sendmsg with `descriptors` attached as one SCM_RIGHTS
    /// message. Returns sendmsg's result (bytes sent, or -1 with errno).
    public static func send(_ bytes: [UInt8], on fd: Int32, descriptors: [Int32]) -> Int {
        let rightsLength = descriptors.count * MemoryLayout<Int32>.size
        var control = [UInt8](repeating: 0, count: srouter_cmsg_space(rightsLength))
        return bytes.withUnsafeBytes { payload in
            control.withUnsafeMutableBytes { controlBytes in
                var vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: payload.baseAddress), iov_len: payload.count)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                    var message = msghdr()
                    message.msg_iov = vectorPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBytes.baseAddress
                    message.msg_controllen = controlBytes.count
                    if let header = srouter_cmsg_firsthdr(&message), let data = srouter_cmsg_data(header) {
                        header.pointee.cmsg_level = SOL_SOCKET
                        header.pointee.cmsg_type = Int32(SCM_RIGHTS)
                        header.pointee.cmsg_len = srouter_cmsg_len(rightsLength)
                        descriptors.withUnsafeBytes {
                            UnsafeMutableRawPointer(data).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
                        }
                    }
                    return Glibc.sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
                }
            }
        }
    }
}
