import CSRouterLinux
import Glibc
import LinuxABI
import NetStack
import Sandbox
import Wire

/// getsockopt(2): the values Linux reports, with its length rules per level.
extension SocketService {
    /// A getsockopt answer: an integer (copied out with the level's rules) or raw bytes
    /// (`minimumLength`: a shorter buffer is EINVAL).
    enum OptionAnswer {
        case integer(Int32)
        case bytes([UInt8], minimumLength: Int32 = 0)
        /// EINVAL if the buffer is shorter than `minimumLength`, else the error.
        case failure(LinuxErrno, minimumLength: Int32)
    }

    /// getsockopt(2) of a served socket, dispatched as `__sys_getsockopt` → `sk_getsockopt`
    /// or the protocol's getsockopt. On an IPv4 socket a level that neither SOL_SOCKET nor
    /// its protocol serves reaches `do_ip_getsockopt`, which answers EOPNOTSUPP; IPv6's
    /// `ipv6_getsockopt` answers ENOPROTOOPT.
    func getOption(_ socket: GuestSocket, _ n: SyscallNotification) -> SyscallAnswer {
        let level = n.int32Argument(1), name = n.int32Argument(2)
        let memory = GuestMemory(tid: n.tid)
        do throws(LinuxErrno) {
            let answer: OptionAnswer?
            switch level {
            case Level.socket:
                answer = socketLevelValue(socket, name)
                if name == SO_ERROR { clearGuestError(socket, tid: n.tid, fd: n.int32Argument(0)) }
            case Level.ip:
                // ipv6_getsockopt passes SOL_IP on to ip_getsockopt except for raw sockets.
                answer = socket.isIPv6 && socket.type == .raw ? nil : try ipLevelValue(socket, name)
            case Level.tcp where socket.type == .stream: answer = try tcpLevelValue(socket, name)
            case Level.ipv6 where socket.isIPv6: answer = try ipv6LevelValue(socket, name)
            case Level.icmpv6 where socket.isIPv6 && socket.type == .raw:
                answer = name == 1 && socket.protocolNumber == Int32(IPPROTO_ICMPV6)
                    ? .bytes(SocketOptionValue.encodeICMP6Filter(socket.datagram?.icmp6Filter ?? [])) : nil
            case 17 where socket.type == .datagram && socket.protocolNumber == 17,  // SOL_UDP
                 Level.raw where socket.type == .raw:
                answer = nil
            default:
                if !socket.isIPv6 { throw LinuxErrno.EOPNOTSUPP }
                answer = nil
            }
            guard let answer else {
                logUnknownOption(level: level, name: name, set: false)
                return .error(.ENOPROTOOPT)
            }
            switch answer {
            case .integer(let value):
                try SocketOptionValue.copyOutInteger(value, level: level, name: name, to: memory,
                                                     valueAddress: n.arguments[3], lengthAddress: n.arguments[4])
            case .bytes(let bytes, let minimumLength):
                try SocketOptionValue.copyOutBytes(bytes, minimumLength: minimumLength, to: memory,
                                                   valueAddress: n.arguments[3], lengthAddress: n.arguments[4])
            case .failure(let error, let minimumLength):
                let length = try SocketOptionValue.readLength(memory, at: n.arguments[4])
                throw length < minimumLength ? LinuxErrno.EINVAL : error
            }
            return .value(0)
        } catch {
            return .error(error)
        }
    }

    private func flag(_ value: Bool) -> OptionAnswer { .integer(value ? 1 : 0) }

    private func socketLevelValue(_ socket: GuestSocket, _ name: Int32) -> OptionAnswer? {
        let o = socket.options
        switch name {
        case SO_TYPE: return .integer(socket.type.linuxType)
        case SO_DOMAIN: return .integer(socket.family)
        case SO_PROTOCOL: return .integer(socket.protocolNumber)
        case SO_ACCEPTCONN: return flag(socket.isListening)
        case SO_ERROR:
            // Reading SO_ERROR clears it (sock_error).
            if let d = socket.datagram, let error = d.pendingError {
                d.pendingError = nil
                return .integer(error)
            }
            let error = socket.pendingError?.rawValue ?? 0
            socket.pendingError = nil
            return .integer(error)
        case SO_REUSEADDR: return flag(o.reuseAddress)
        case SO_REUSEPORT: return flag(o.reusePort)
        case SO_KEEPALIVE: return flag(o.keepAlive)
        case SO_DONTROUTE: return flag(o.dontRoute)
        case SO_BROADCAST: return flag(o.broadcast)
        case SO_OOBINLINE: return flag(o.outOfBandInline)
        case SO_PRIORITY: return .integer(o.priority)
        case SO_RCVBUF: return .integer(o.receiveBuffer)
        case SO_SNDBUF: return .integer(o.sendBuffer)
        case SO_RCVLOWAT: return .integer(o.receiveLowWater)
        case SO_SNDLOWAT: return .integer(1)
        case SO_LINGER:
            // l_linger is sk_lingertime / HZ: the forever value depends on HZ.
            let seconds = o.lingerForever ? Self.foreverLingerSeconds : (o.linger ?? 0)
            return .bytes(SocketOptionValue.encodeLinger(onoff: o.linger != nil ? 1 : 0, seconds: seconds))
        case SO_RCVTIMEO, 66: return .bytes(SocketOptionValue.encodeTimeout(o.receiveTimeout, newLayout: name == 66))
        case SO_SNDTIMEO, 67: return .bytes(SocketOptionValue.encodeTimeout(o.sendTimeout, newLayout: name == 67))
        case SO_BINDTODEVICE:
            // sock_getbindtodevice: unbound is an empty answer whatever the room; bound needs
            // IFNAMSIZ bytes and gives the name with its NUL.
            guard o.boundInterface != 0 else { return .bytes([]) }
            guard let interface = stack.interfaces[o.boundInterface] else { return .failure(.ENODEV, minimumLength: 16) }
            return .bytes(Array(interface.name.utf8) + [0], minimumLength: 16)
        case 62: return .integer(Int32(o.boundInterface))  // SO_BINDTOIFINDEX
        default: return nil
        }
    }

    /// `do_ip_getsockopt`.
    private func ipLevelValue(_ socket: GuestSocket, _ name: Int32) throws(LinuxErrno) -> OptionAnswer? {
        let o = socket.options
        switch name {
        case 1: return .integer(Int32(socket.isIPv6 ? o.mappedTypeOfService : o.typeOfService))  // IP_TOS
        case 2: return .integer(Int32((socket.isIPv6 ? o.mappedTimeToLive : o.timeToLive) ?? 64))  // IP_TTL
        case 3: return flag(o.includesHeader || (socket.type == .raw && socket.protocolNumber == Int32(IPPROTO_RAW)))
        case 8: return flag(o.receivePacketInfo)                     // IP_PKTINFO
        case 12: return flag(o.receiveTimeToLive)                    // IP_RECVTTL
        case 13: return flag(o.receiveTypeOfService)                 // IP_RECVTOS
        case 10: return .integer(o.mtuDiscover)                      // IP_MTU_DISCOVER
        case 11: return flag(o.receiveErrors)                        // IP_RECVERR
        case 14:                                                     // IP_MTU: the route's, once connected
            guard let mtu = pathMTU(socket) else { throw LinuxErrno.ENOTCONN }
            return .integer(Int32(mtu))
        case 15: return flag(o.freeBind)                             // IP_FREEBIND
        case 21: return .integer(Int32(o.minimumTimeToLive))         // IP_MINTTL
        case 32: return .bytes(o.multicastInterfaceAddress.octets)   // IP_MULTICAST_IF: the in_addr
        case 33: return .integer(Int32(o.multicastTimeToLive))       // IP_MULTICAST_TTL
        case 34: return flag(o.multicastLoop)                        // IP_MULTICAST_LOOP
        default: return nil
        }
    }

    /// `do_ipv6_getsockopt` (and `rawv6_getsockopt` for IPV6_CHECKSUM).
    private func ipv6LevelValue(_ socket: GuestSocket, _ name: Int32) throws(LinuxErrno) -> OptionAnswer? {
        let o = socket.options
        switch name {
        case 26: return flag(o.v6Only)                               // IPV6_V6ONLY
        case 16: return .integer(Int32(o.timeToLive ?? 64))          // IPV6_UNICAST_HOPS
        case 18: return .integer(Int32(o.multicastTimeToLive))       // IPV6_MULTICAST_HOPS
        case 19: return flag(o.multicastLoop)                        // IPV6_MULTICAST_LOOP
        case 17: return .integer(Int32(o.multicastInterface))        // IPV6_MULTICAST_IF
        case 67: return .integer(Int32(o.typeOfService))             // IPV6_TCLASS
        case 73: return .integer(Int32(o.minimumTimeToLive))         // IPV6_MINHOPCOUNT
        case 49: return flag(o.receiveIPv6PacketInfo)                // IPV6_RECVPKTINFO
        case 51: return flag(o.receiveHopLimit)                      // IPV6_RECVHOPLIMIT
        case 66: return flag(o.receiveTrafficClass)                  // IPV6_RECVTCLASS
        case 23: return .integer(o.mtuDiscover)                      // IPV6_MTU_DISCOVER
        case 24:                                                     // IPV6_MTU: the route's, once connected
            guard let mtu = pathMTU(socket) else { throw LinuxErrno.ENOTCONN }
            return .integer(Int32(mtu))
        case 25: return flag(o.receiveErrorsIPv6)                    // IPV6_RECVERR
        case 7:                                                      // IPV6_CHECKSUM
            guard socket.type == .raw else { return nil }
            return .integer(Int32(socket.datagram?.checksumOffset ?? -1))
        default: return nil
        }
    }

    /// The MTU of the route a connected socket uses (`dst_mtu(sk_dst_get(sk))`); nil without
    /// a peer.
    private func pathMTU(_ socket: GuestSocket) -> Int? {
        let remote: IPAddress
        switch socket.state {
        case .connecting(let c), .connected(let c): remote = c.tuple.remoteAddress
        case .datagram(let d):
            guard let peer = d.remote else { return nil }
            remote = peer.address
        default: return nil
        }
        return stack.pathMTU(toward: DatagramSocket.unmapped(remote))
    }

    private func tcpLevelValue(_ socket: GuestSocket, _ name: Int32) throws(LinuxErrno) -> OptionAnswer? {
        let t = socket.options.tcp
        switch name {
        case 1: return flag(t.noDelay)                                              // TCP_NODELAY
        case 2:                                                                      // TCP_MAXSEG
            if let c = socket.connection, c.state.isSynchronized { return .integer(Int32(c.currentMSS)) }
            return .integer(Int32(t.maximumSegmentSizeClamp ?? 536))
        case 4: return .integer(Int32(t.keepAliveIdle / StackDuration.second))      // TCP_KEEPIDLE
        case 5: return .integer(Int32(t.keepAliveInterval / StackDuration.second))  // TCP_KEEPINTVL
        case 6: return .integer(Int32(t.keepAliveCount))                            // TCP_KEEPCNT
        case 7: return .integer(Int32(t.synRetries))                                // TCP_SYNCNT
        case 18: return .integer(Int32(t.userTimeout / StackDuration.millisecond))  // TCP_USER_TIMEOUT
        case 13:                                                                     // TCP_CONGESTION
            var name = Array(t.congestionControl.utf8)
            name += [UInt8](repeating: 0, count: max(0, 16 - name.count))
            return .bytes(name)
        case 11: return .bytes(tcpInfo(socket).encode())                            // TCP_INFO
        default: return nil
        }
    }

    /// TCP_INFO: the connection's state and the figures monitoring tools read.
    func tcpInfo(_ socket: GuestSocket) -> TCPInfoValues {
        var info = TCPInfoValues()
        switch socket.state {
        case .listening(let l):
            info.state = TCPState.listen.linuxNumber
            info.unacked = UInt32(l.pendingAcceptCount)
            info.sacked = UInt32(l.backlog)
        case .connecting(let c), .connected(let c):
            let s = c.infoSnapshot
            // A user socket never shows TIME-WAIT: Linux hands that to a timewait sock and
            // the socket itself is TCP_CLOSE.
            info.state = c.state == .timeWait ? TCPState.closed.linuxNumber : c.state.linuxNumber
            info.sendMSS = UInt32(s.sendMSS)
            info.receiveMSS = UInt32(s.receiveMSS)
            info.advertisedMSS = UInt32(s.advertisedMSS)
            info.rtt = UInt32(s.smoothedRTTMicroseconds)
            info.rttVariance = UInt32(s.rttVarianceMicroseconds)
            info.rto = UInt32(s.rtoMicroseconds)
            info.sendCongestionWindow = UInt32(s.congestionWindowSegments)
            info.sendSlowStartThreshold = UInt32(min(s.slowStartThresholdSegments, Int(UInt32.max)))
            info.unacked = UInt32(s.segmentsUnacknowledged)
            info.totalRetransmissions = UInt32(c.statistics.retransmittedSegments)
            info.segmentsOut = UInt32(truncatingIfNeeded: c.statistics.segmentsOut)
            info.segmentsIn = UInt32(truncatingIfNeeded: c.statistics.segmentsIn)
            info.bytesAcked = UInt64(c.statistics.bytesAcked)
            info.bytesReceived = UInt64(c.statistics.bytesReceived)
            info.sendWindowScale = UInt8(s.sendWindowScale)
            info.receiveWindowScale = UInt8(s.receiveWindowScale)
            info.options = UInt8(s.optionsMask)
            info.pathMTU = UInt32(s.pathMTU)
        default:
            info.state = TCPState.closed.linuxNumber
        }
        if case .connecting(let c) = socket.state, c.state == .synSent {
            info.deliveryRateAppLimited = true
        } else if case .idle = socket.state {
            info.deliveryRateAppLimited = true
        }
        return info
    }
}
