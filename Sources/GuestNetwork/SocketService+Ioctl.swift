import Glibc

/// What the socket ioctls need to know of the sockets srouter serves.
extension SocketService {
    /// The family (AF_INET or AF_INET6) of the served socket whose guest file has `inode`;
    /// nil if srouter serves none there (the guest's own AF_UNIX sockets). The guest's end
    /// is an AF_UNIX socket, but Linux would route the socket's ioctls by the family the
    /// guest asked for: `inet_ioctl` answers SIOCGIFADDR and its kin, `inet6_ioctl` does
    /// not (InterfaceIoctlHandler).
    public func servedFamily(inode: UInt64) -> Int32? {
        sockets[inode]?.family
    }
}
