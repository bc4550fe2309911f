import NetStack
import Wire

/// What a NETLINK_ROUTE socket has set that changes how requests are answered.
public struct NetlinkSocketSettings: Sendable, Equatable {
    /// The socket's port id (`nl_pid`), which replies and echoed notifications carry.
    public var portID: UInt32
    /// `NETLINK_GET_STRICT_CHK`: dump requests are checked and filtered strictly.
    public var strictCheck = false
    /// `NETLINK_EXT_ACK`: errors carry `NLMSGERR_ATTR_MSG`.
    public var extendedAck = false
    /// `NETLINK_CAP_ACK`: errors echo only the request's header.
    public var capAck = false

    /// Settings for a socket bound to `portID`.
    public init(portID: UInt32, strictCheck: Bool = false, extendedAck: Bool = false, capAck: Bool = false) {
        self.portID = portID
        self.strictCheck = strictCheck
        self.extendedAck = extendedAck
        self.capAck = capAck
    }
}

/// rtnetlink's multicast groups (`RTNLGRP_…`); a socket's `nl_groups` bit for group N is
/// `1 << (N - 1)` (`RTMGRP_…`).
public enum RouteNetlinkGroup: UInt32, Sendable, CaseIterable {
    /// `RTNLGRP_LINK`.
    case link = 1
    /// `RTNLGRP_IPV4_IFADDR`.
    case ipv4Address = 5
    /// `RTNLGRP_IPV4_ROUTE`.
    case ipv4Route = 7
    /// `RTNLGRP_IPV6_IFADDR`.
    case ipv6Address = 9
    /// `RTNLGRP_IPV6_ROUTE`.
    case ipv6Route = 11

    /// The group's bit in `sockaddr_nl.nl_groups`.
    public var legacyBit: UInt32 { 1 << (rawValue - 1) }
}

/// An rtnetlink error: the errno (positive) and, for `NETLINK_EXT_ACK`, the message Linux's
/// extended ack would carry.
struct NetlinkFailure: Error {
    /// The errno.
    var errno: Int32
    /// `NLMSGERR_ATTR_MSG`.
    var message: String?
    /// `NLMSGERR_ATTR_OFFS` and `NLMSGERR_ATTR_POLICY`: the attribute that failed its policy.
    var attributeOffset: UInt32?
    var policy: NetlinkAttributePolicy?

    init(_ errno: Int32, _ message: String? = nil, attributeOffset: UInt32? = nil,
         policy: NetlinkAttributePolicy? = nil) {
        self.errno = errno
        self.message = message
        self.attributeOffset = attributeOffset
        self.policy = policy
    }

    static let notSupported = NetlinkFailure(95)  // EOPNOTSUPP
    static func invalid(_ message: String? = nil) -> NetlinkFailure { NetlinkFailure(22, message) }  // EINVAL
    static func noDevice(_ message: String? = nil) -> NetlinkFailure { NetlinkFailure(19, message) }  // ENODEV
}

/// srouter's rtnetlink (NETLINK_ROUTE): requests from a guest's socket answered from the
/// stack's interfaces, addresses and FIB, which the guest's writes change (DESIGN §4).
///
/// Linux's `netlink_rcv_skb` and `rtnetlink_rcv_msg` are the model: each message of a
/// datagram is handled in turn; messages without `NLM_F_REQUEST` and control messages are
/// only acknowledged; a GET with `NLM_F_DUMP` (either bit) is a dump, answered with a
/// `NetlinkDump` whose `NLM_F_MULTI` messages are packed into datagrams as the reader takes
/// them, sized by `NetlinkDumpSizing` as `netlink_dump` sizes its skbs, then an `NLMSG_DONE`
/// datagram; errors, and successes with `NLM_F_ACK`, get an `NLMSG_ERROR`.
/// Requests srouter does not serve get EOPNOTSUPP, as from a kernel without that handler.
/// Every change, whoever made it, is reported to `broadcast` for the subscribed sockets.
public final class RouteNetlinkServer {
    /// The interfaces and their addresses.
    public let interfaces: InterfaceTable
    /// The FIB and its rules.
    public let routing: RoutingPolicy
    /// Delivers a notification (one message) to every socket subscribed to the group.
    public var broadcast: ((_ group: RouteNetlinkGroup, _ message: [UInt8]) -> Void)?
    /// Whether any socket is subscribed to the group (`netlink_has_listeners`): a change
    /// nobody listens for is not encoded. nil: assume someone does.
    public var hasListeners: ((_ group: RouteNetlinkGroup) -> Bool)?
    /// Hundredths of a second since srouter started (`IFA_CACHEINFO`'s time stamps).
    let clock: () -> UInt32
    /// The request being handled: notifications of its changes carry its port id and sequence
    /// number, as Linux's `nl_info` does.
    var origin: (portID: UInt32, sequence: UInt32, flags: NetlinkFlags)?
    /// When each address was added (`ifa_cacheinfo.cstamp`), by interface index and address.
    var addressStamps: [AddressKey: UInt32] = [:]
    /// Route changes held back while an address change runs, to be reported in Linux's order.
    var heldRouteChanges: [RouteChange]?
    /// Whether the requesting socket's dump is running (`nlk->cb_running`), while a datagram
    /// is handled.
    var dumpRunning = false
    /// A warning of the request being handled (`NL_SET_ERR_MSG` without an error): the
    /// extended ack's message of its ACK, or of its error if that sets none.
    var parseWarning: String?

    /// Serves `interfaces` and `routing`, and starts following their changes for
    /// notifications. `clock` gives hundredths of a second since start.
    public init(interfaces: InterfaceTable, routing: RoutingPolicy, clock: @escaping () -> UInt32) {
        self.interfaces = interfaces
        self.routing = routing
        self.clock = clock
        for interface in interfaces.all {
            for address in interface.addresses { addressStamps[AddressKey(interface.index, address.address)] = clock() }
        }
        let previousInterfaceHook = interfaces.onChange
        interfaces.onChange = { [weak self] change in
            guard let self else { previousInterfaceHook?(change); return }
            self.interfaceChanged(change) { previousInterfaceHook?(change) }
        }
        let previousRouteHook = routing.onChange
        routing.onChange = { [weak self] change in
            previousRouteHook?(change)
            self?.routeChanged(change)
        }
    }

    /// Handles one datagram a socket sent and returns the datagrams to queue for it, in order,
    /// every dump packed as for a reader that never offered more than `NLMSG_GOODSIZE` (a
    /// fresh socket read with small buffers).
    public func handle(_ datagram: UnsafeRawBufferPointer, settings: NetlinkSocketSettings) -> [[UInt8]] {
        respond(to: datagram, settings: settings).flatMap { reply -> [[UInt8]] in
            switch reply {
            case .datagram(let bytes): return [bytes]
            case .dump(let dump):
                var datagrams: [[UInt8]] = []
                while let next = dump.nextDatagram(size: NetlinkDumpSizing.goodSize) { datagrams.append(next) }
                return datagrams
            }
        }
    }

    /// Handles one datagram a socket sent and returns what to queue for it, in order: answers
    /// and ACKs as datagrams, dumps to be packed as the reader takes them (`netlink_dump`).
    /// A dump request while `dumpRunning` (the socket's dump has not ended), or after a dump
    /// request earlier in the datagram, fails with EBUSY (`__netlink_dump_start`); a dump
    /// that starts gets no ACK, even with `NLM_F_ACK` (its start returns -EINTR, which
    /// `netlink_rcv_skb` does not acknowledge).
    public func respond(to datagram: UnsafeRawBufferPointer, settings: NetlinkSocketSettings,
                        dumpRunning: Bool = false) -> [NetlinkReply] {
        var replies: [NetlinkReply] = []
        respond(to: datagram, settings: settings, dumpRunning: dumpRunning, into: &replies)
        return replies
    }

    /// As `respond(to:settings:dumpRunning:)`, appending the replies to `replies`: a caller
    /// that keeps one array for every request answers a route write without allocating one.
    public func respond(to datagram: UnsafeRawBufferPointer, settings: NetlinkSocketSettings,
                        dumpRunning: Bool = false, into replies: inout [NetlinkReply]) {
        var messages = NetlinkMessages(datagram)
        self.dumpRunning = dumpRunning
        while let message = messages.next() {
            var failure: NetlinkFailure?
            parseWarning = nil
            if message.flags.contains(.request) && message.type >= NetlinkControlType.minimumFamilyType {
                origin = (settings.portID, message.sequence, message.flags)
                defer { origin = nil }
                do {
                    if let answer = try serve(message, settings: settings) {
                        replies.append(answer)
                        if case .dump = answer { continue }
                    }
                } catch let error as NetlinkFailure {
                    failure = error
                } catch let error as InterfaceError {
                    failure = NetlinkFailure(error.rawValue)
                } catch let error as RouteError {
                    failure = NetlinkFailure(error.rawValue)
                } catch {
                    failure = NetlinkFailure.invalid()  // no other error is thrown; never trap on a request
                }
            }
            if message.flags.contains(.ack) || failure != nil {
                var writer = NetlinkWriter()
                acknowledgement(of: message, error: failure, settings: settings).append(
                    to: &writer, portID: settings.portID, capAcknowledgements: settings.capAck)
                replies.append(.datagram(writer.bytes))
            }
        }
    }

    private func acknowledgement(of message: NetlinkMessage, error: NetlinkFailure?,
                                 settings: NetlinkSocketSettings) -> NetlinkErrorRepr {
        var repr = NetlinkErrorRepr(error: -(error?.errno ?? 0), request: message.header, requestLength: message.length,
                                    message: settings.extendedAck ? error?.message ?? parseWarning : nil,
                                    attributeOffset: settings.extendedAck ? error?.attributeOffset : nil,
                                    policy: settings.extendedAck ? error?.policy : nil)
        // A capped answer (every ACK) echoes only the header: no copy of the payload.
        if !repr.isCapped(capAcknowledgements: settings.capAck) { repr.requestPayload = Array(message.payload) }
        return repr
    }

    /// `rtnetlink_rcv_msg`: the handler for the message's type and family. Returns a dump or
    /// a GET's answer, nil when only the ACK (if asked) follows.
    private func serve(_ message: NetlinkMessage, settings: NetlinkSocketSettings) throws -> NetlinkReply? {
        // "All the messages must have at least 1 byte length": shorter ones are ignored.
        guard let family = message.family else { return nil }
        let isDump = !message.flags.intersection(.dump).isEmpty
        switch message.type {
        case RouteNetlinkType.getLink:
            if isDump { return try dump(message, settings: settings) { try dumpLinks(message, settings: settings, into: &$0) } }
            return .datagram(try getLink(message, settings: settings))
        case RouteNetlinkType.newLink, RouteNetlinkType.setLink:
            try setLink(message)
            return nil
        case RouteNetlinkType.getAddress where isDump:
            guard [Family.unspecified, Family.inet, Family.inet6].contains(family) else { throw NetlinkFailure.notSupported }
            return try dump(message, settings: settings) { try dumpAddresses(message, settings: settings, into: &$0) }
        case RouteNetlinkType.newAddress, RouteNetlinkType.deleteAddress:
            guard family == Family.inet || family == Family.inet6 else { throw NetlinkFailure.notSupported }
            try changeAddress(message, add: message.type == RouteNetlinkType.newAddress)
            return nil
        case RouteNetlinkType.getRoute:
            if isDump {
                guard [Family.unspecified, Family.inet, Family.inet6].contains(family) else { throw NetlinkFailure.notSupported }
                return try dump(message, settings: settings) { try dumpRoutes(message, settings: settings, into: &$0) }
            }
            guard family == Family.inet || family == Family.inet6 else { throw NetlinkFailure.notSupported }
            return .datagram(try getRoute(message, settings: settings))
        case RouteNetlinkType.newRoute, RouteNetlinkType.deleteRoute:
            guard family == Family.inet || family == Family.inet6 else { throw NetlinkFailure.notSupported }
            try changeRoute(message, add: message.type == RouteNetlinkType.newRoute)
            return nil
        case RouteNetlinkType.getNeighbour where isDump:
            // Layer-3 tunnels have no neighbours.
            return try dump(message, settings: settings) { _ in }
        case RouteNetlinkType.getRule where isDump:
            guard [Family.unspecified, Family.inet, Family.inet6].contains(family) else { throw NetlinkFailure.notSupported }
            return try dump(message, settings: settings) { dumpRules(message, settings: settings, into: &$0) }
        case RouteNetlinkType.getNamespaceID:
            if isDump { return try dump(message, settings: settings) { _ in } }
            return .datagram(namespaceID(message, settings: settings))
        case RouteNetlinkType.getNetworkConfiguration:
            if isDump && family == Family.unspecified {
                // rtnl_dump_all: every family's dump in turn, in one dump (FRR's zebra asks so).
                return try dump(message, settings: settings) {
                    for each in [Family.inet, Family.inet6] { dumpNetworkConfiguration(family: each, into: &$0) }
                }
            }
            guard family == Family.inet || family == Family.inet6 else { throw NetlinkFailure.notSupported }
            if isDump {
                return try dump(message, settings: settings) { dumpNetworkConfiguration(family: family, into: &$0) }
            }
            return .datagram(try networkConfiguration(message, settings: settings))
        case let type where RouteNetlinkServer.isTrafficControl(type):
            if isDump && type % 4 == 2 { return try dump(message, settings: settings) { _ in } }
            try trafficControl(message)
            return nil
        default:
            throw NetlinkFailure.notSupported
        }
    }

    /// RTM_GETNSID (`rtnl_net_getid`): the guest's network is srouter's alone, so no other
    /// namespace has an id in it: RTM_NEWNSID with NETNSA_NSID -1 (NETNSA_NSID_NOT_ASSIGNED),
    /// as Linux answers for a namespace without one (iproute2's `ip monitor` asks for each
    /// namespace in /var/run/netns).
    private func namespaceID(_ request: NetlinkMessage, settings: NetlinkSocketSettings) -> [UInt8] {
        var writer = NetlinkWriter()
        writer.begin(NetlinkHeader(type: RouteNetlinkType.newNamespaceID, sequence: request.sequence,
                                   portID: settings.portID))
        writer.appendBytes([0, 0, 0, 0])  // struct rtgenmsg, padded
        writer.appendAttribute(1, uint32: UInt32.max)  // NETNSA_NSID
        writer.end()
        return writer.bytes
    }

    /// Runs a dump: `fill` adds entries to a `DumpWriter`; the dump ends with an
    /// `NLMSG_DONE` datagram of its own, as `netlink_dump` sends it for a route dump. An error of the dump callback
    /// itself (the strict checks of `rtnl_valid_dump_ifinfo_req`, `ip_valid_fib_dump_req`,
    /// `inet_valid_dump_ifaddr_req` run inside it) is not an NLMSG_ERROR but the status of
    /// that NLMSG_DONE (`netlink_dump_done`: `nlk->dump_done_errno`, with NLM_F_ACK_TLVS and
    /// NLMSGERR_ATTR_MSG under NETLINK_EXT_ACK).
    private func dump(_ request: NetlinkMessage, settings: NetlinkSocketSettings,
                      _ fill: (inout DumpWriter) throws -> Void) throws -> NetlinkReply {
        if dumpRunning { throw NetlinkFailure(16) }  // EBUSY
        dumpRunning = true
        var writer = DumpWriter(sequence: request.sequence, portID: settings.portID)
        do {
            try fill(&writer)
        } catch let failure as NetlinkFailure {
            return .dump(writer.finish(failedWith: failure.errno, message: settings.extendedAck ? failure.message : nil))
        }
        return .dump(writer.finish())
    }

    /// Address families as rtnetlink numbers them.
    enum Family {
        static let unspecified: UInt8 = 0
        static let inet: UInt8 = 2
        static let inet6: UInt8 = 10
    }
}

/// A key for an address on an interface.
struct AddressKey: Hashable {
    var index: Int
    var address: IPAddress
    init(_ index: Int, _ address: IPAddress) {
        self.index = index
        self.address = address
    }
}

/// What a request is answered with: a datagram (an answer, an ACK or an error), or a dump
/// whose datagrams are made one at a time as the reader takes them (`netlink_dump`).
public enum NetlinkReply {
    /// One datagram, queued as it is.
    case datagram([UInt8])
    /// A dump: `NetlinkDump.nextDatagram(size:)` gives its datagrams in turn.
    case dump(NetlinkDump)
}
