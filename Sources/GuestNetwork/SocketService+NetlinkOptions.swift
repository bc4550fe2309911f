import Glibc
import LinuxABI
import Sandbox
import Wire

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
        // copy_bpf_fprog_from_user: a struct sock_fprog exactly, before it is read.
        if level == Level.socket && name == SocketFilterOption.attach && length != 16 { throw LinuxErrno.EINVAL }
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
        case SocketFilterOption.attach: try attachNetlinkFilter(socket, bytes, tid: n.tid)
        case SocketFilterOption.detach:
            // sk_detach_filter.
            if socket.filterLocked { throw LinuxErrno.EPERM }
            guard socket.filter != nil else { throw LinuxErrno.ENOENT }
            socket.filter = nil
        case SocketFilterOption.lock:
            let on = try SocketOptionValue.integer(bytes, level: level, name: name) != 0
            if socket.filterLocked && !on { throw LinuxErrno.EPERM }
            socket.filterLocked = on
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
        case SocketFilterOption.lock: value = flag(socket.filterLocked)
        case SocketFilterOption.attach:  // SO_GET_FILTER
            return try copyOutNetlinkFilter(socket, n, memory: memory, length: length)
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

    /// SO_ATTACH_FILTER, SO_DETACH_FILTER and SO_LOCK_FILTER (<asm-generic/socket.h>); the
    /// first is SO_GET_FILTER for getsockopt.
    enum SocketFilterOption {
        static let attach: Int32 = 26
        static let detach: Int32 = 27
        static let lock: Int32 = 44
    }

    /// SO_ATTACH_FILTER with `fprog` (`struct sock_fprog`: u16 len, a pointer): `__get_filter`'s
    /// order — EPERM when locked, EINVAL for no program or 0 or over 4096 instructions,
    /// EFAULT for instructions it cannot read, EINVAL for a program `bpf_check_classic` refuses.
    private func attachNetlinkFilter(_ socket: GuestNetlinkSocket, _ fprog: [UInt8], tid: pid_t) throws(LinuxErrno) {
        guard fprog.count >= 16 else { throw LinuxErrno.EFAULT }
        if socket.filterLocked { throw LinuxErrno.EPERM }
        let count = Int(fprog.word16(at: 0))
        let address = fprog.word64(at: 8)
        guard address != 0, count > 0, count <= ClassicBPFProgram.maximumLength else { throw LinuxErrno.EINVAL }
        let code = try GuestMemory(tid: tid).read(at: address, count: count * ClassicBPFInstruction.size)
        do throws(ClassicBPFError) {
            socket.filter = try ClassicBPFProgram(bytes: code)
        } catch {
            throw LinuxErrno.EINVAL
        }
    }

    /// SO_GET_FILTER (`sk_get_filter`): the length is in instructions; 0 asks how many (none
    /// attached: 0); a shorter buffer is EINVAL; else the program is copied out.
    private func copyOutNetlinkFilter(_ socket: GuestNetlinkSocket, _ n: SyscallNotification, memory: GuestMemory,
                                      length: Int32) throws(LinuxErrno) -> SyscallAnswer {
        let instructions = socket.filter?.instructions ?? []
        if length != 0 && !instructions.isEmpty {
            guard Int(length) >= instructions.count else { throw LinuxErrno.EINVAL }
            let bytes = instructions.flatMap { i in
                littleEndianBytes(i.code) + [i.jumpTrue, i.jumpFalse] + littleEndianBytes(i.k)
            }
            try memory.write(bytes, at: n.arguments[3])
        }
        try memory.write(littleEndianBytes(UInt32(instructions.count)), at: n.arguments[4])
        return .value(0)
    }
}
