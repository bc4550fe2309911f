import Glibc
import LinuxABI
import Sandbox

/// setsockopt/getsockopt on a NETLINK_ROUTE socket: SOL_NETLINK (`netlink_setsockopt`,
/// `netlink_getsockopt`) and the SOL_SOCKET options netlink daemons set.
extension SocketService {
    /// SOL_NETLINK option names (<linux/netlink.h>).
    enum NetlinkOption {
        static let addMembership: Int32 = 1
        static let dropMembership: Int32 = 2
        static let packetInfo: Int32 = 3
        static let broadcastError: Int32 = 4
        static let noBufferErrors: Int32 = 5
        static let listenAllNamespaces: Int32 = 8
        static let listMemberships: Int32 = 9
        static let capAck: Int32 = 10
        static let extendedAck: Int32 = 11
        static let strictCheck: Int32 = 12
    }

    func setNetlinkOption(_ socket: GuestNetlinkSocket, _ n: SyscallNotification) throws(LinuxErrno) -> SyscallAnswer {
        let level = n.int32Argument(1), name = n.int32Argument(2), length = n.int32Argument(4)
        guard length >= 0 else { throw LinuxErrno.EINVAL }
        let bytes = length == 0 ? [] : try GuestMemory(tid: n.tid).read(at: n.arguments[3], count: min(Int(length), 64))
        if level == Self.netlinkLevel {
            // netlink_setsockopt: every option takes a u32 (shorter: EINVAL).
            guard bytes.count >= 4 else { throw LinuxErrno.EINVAL }
            let value = bytes.word32(at: 0)
            switch name {
            case NetlinkOption.addMembership, NetlinkOption.dropMembership:
                guard value >= 1, value <= Self.routeGroupLimit else { throw LinuxErrno.EINVAL }
                // netlink_setsockopt does not bind: a later bind with pid 0 still autobinds
                // (zebra joins its groups first, then binds).
                if name == NetlinkOption.addMembership { socket.groups.insert(value) } else { socket.groups.remove(value) }
            case NetlinkOption.packetInfo: socket.packetInfo = value != 0
            case NetlinkOption.broadcastError: socket.broadcastError = value != 0
            case NetlinkOption.noBufferErrors:
                socket.noBufferErrors = value != 0
                if value != 0 { socket.overrun = false }
            case NetlinkOption.listenAllNamespaces: socket.listenAllNamespaces = value != 0
            case NetlinkOption.capAck: socket.settings.capAck = value != 0
            case NetlinkOption.extendedAck: socket.settings.extendedAck = value != 0
            case NetlinkOption.strictCheck: socket.settings.strictCheck = value != 0
            default:
                logUnknownOption(level: level, name: name, set: true)
                throw LinuxErrno.ENOPROTOOPT
            }
            return .value(0)
        }
        guard level == Level.socket else {
            logUnknownOption(level: level, name: name, set: true)
            throw LinuxErrno.ENOPROTOOPT
        }
        switch name {
        case SO_RCVBUF, SO_SNDBUF:
            let value = try SocketOptionValue.integer(bytes, level: level, name: name)
            let doubled = Int32(max(2304, min(max(Int64(value), 0), 212_992) * 2))
            if name == SO_RCVBUF { socket.receiveBuffer = doubled } else { socket.sendBuffer = doubled }
        case 32, 33:  // SO_SNDBUFFORCE, SO_RCVBUFFORCE: CAP_NET_ADMIN
            throw LinuxErrno.EPERM
        case SO_PASSCRED: socket.passCredentials = try SocketOptionValue.integer(bytes, level: level, name: name) != 0
        case SO_RCVTIMEO, 66:  // SO_RCVTIMEO_OLD, SO_RCVTIMEO_NEW
            socket.receiveTimeout = try SocketOptionValue.timeout(bytes, newLayout: name == 66)
        case SO_SNDTIMEO, 67, SO_REUSEADDR, SO_PRIORITY, SO_TIMESTAMP, SO_KEEPALIVE:
            break  // accepted; nothing here depends on them
        default:
            logUnknownOption(level: level, name: name, set: true)
            throw LinuxErrno.ENOPROTOOPT
        }
        return .value(0)
    }

    func getNetlinkOption(_ socket: GuestNetlinkSocket, _ n: SyscallNotification) throws(LinuxErrno) -> SyscallAnswer {
        let level = n.int32Argument(1), name = n.int32Argument(2)
        let memory = GuestMemory(tid: n.tid)
        let length = try SocketOptionValue.readLength(memory, at: n.arguments[4])
        guard length >= 0 else { throw LinuxErrno.EINVAL }
        func flag(_ value: Bool) -> Int32 { value ? 1 : 0 }
        if level == Self.netlinkLevel {
            let value: Int32
            switch name {
            case NetlinkOption.listMemberships:
                // A u32 bitmap of groups, as many words as asked; the length says how many exist.
                var words = [UInt32](repeating: 0, count: Int(Self.routeGroupLimit + 31) / 32)
                for group in socket.groups where group >= 1 { words[Int(group - 1) / 32] |= 1 << ((group - 1) % 32) }
                let bytes = words.flatMap { littleEndianBytes($0) }
                let room = min(Int(length) / 4 * 4, bytes.count)
                if room > 0 { try memory.write(Array(bytes.prefix(room)), at: n.arguments[3]) }
                try memory.write(littleEndianBytes(UInt32(bytes.count)), at: n.arguments[4])
                return .value(0)
            case NetlinkOption.packetInfo: value = flag(socket.packetInfo)
            case NetlinkOption.broadcastError: value = flag(socket.broadcastError)
            case NetlinkOption.noBufferErrors: value = flag(socket.noBufferErrors)
            case NetlinkOption.listenAllNamespaces: value = flag(socket.listenAllNamespaces)
            case NetlinkOption.capAck: value = flag(socket.settings.capAck)
            case NetlinkOption.extendedAck: value = flag(socket.settings.extendedAck)
            case NetlinkOption.strictCheck: value = flag(socket.settings.strictCheck)
            default:
                logUnknownOption(level: level, name: name, set: false)
                throw LinuxErrno.ENOPROTOOPT
            }
            // netlink_getsockopt: a buffer under an int is EINVAL; the answer is an int.
            guard length >= 4 else { throw LinuxErrno.EINVAL }
            try memory.write(littleEndianBytes(value), at: n.arguments[3])
            try memory.write(littleEndianBytes(UInt32(4)), at: n.arguments[4])
            return .value(0)
        }
        guard level == Level.socket else {
            logUnknownOption(level: level, name: name, set: false)
            throw LinuxErrno.ENOPROTOOPT
        }
        let value: Int32
        switch name {
        case SO_TYPE: value = socket.type
        case SO_PROTOCOL: value = 0  // NETLINK_ROUTE
        case SO_DOMAIN: value = AF_NETLINK
        case SO_RCVBUF: value = socket.receiveBuffer
        case SO_SNDBUF: value = socket.sendBuffer
        case SO_PASSCRED: value = flag(socket.passCredentials)
        case SO_ERROR: value = 0
        case SO_ACCEPTCONN: value = 0
        default:
            logUnknownOption(level: level, name: name, set: false)
            throw LinuxErrno.ENOPROTOOPT
        }
        try SocketOptionValue.copyOutInteger(value, level: level, name: name, to: memory,
                                             valueAddress: n.arguments[3], lengthAddress: n.arguments[4])
        return .value(0)
    }
}
