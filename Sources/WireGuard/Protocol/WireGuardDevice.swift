import Wire

/// The time a device call happens at: monotonic for timers, wall-clock for TAI64N timestamps
/// and `latest handshake`. Passed in, never read from a hidden clock.
public struct DeviceTime: Sendable {
    /// CLOCK_MONOTONIC in nanoseconds.
    public var monotonic: UInt64
    /// Seconds since the Unix epoch.
    public var wallSeconds: UInt64
    /// Nanoseconds within the second.
    public var wallNanoseconds: UInt32

    /// Creates a time.
    public init(monotonic: UInt64, wallSeconds: UInt64, wallNanoseconds: UInt32 = 0) {
        self.monotonic = monotonic
        self.wallSeconds = wallSeconds
        self.wallNanoseconds = wallNanoseconds
    }
}

/// What the device asks its caller to do.
public enum DeviceOutput: Equatable, Sendable {
    /// Send this UDP datagram to the endpoint.
    case transmit([UInt8], to: Endpoint)
    /// An inner IP packet arrived from the peer with this public key.
    case deliver([UInt8], from: WireGuardKey)
}

/// Why datagrams were dropped: counted, never fatal ("bad input is counted and dropped").
public struct DeviceCounters: Sendable, Equatable {
    /// All zero.
    public init() {}
    /// Not a WireGuard message (bad type, reserved bytes or length).
    public var malformed = 0
    /// A handshake message with a wrong mac1 (not for us).
    public var invalidMac1 = 0
    /// An initiation that decrypts to a static key we have no peer for, or does not decrypt.
    public var unknownPeer = 0
    /// An initiation whose timestamp is not newer than the last one (a replay).
    public var replayedInitiation = 0
    /// An initiation within 1/50 s of the previous one from the same peer.
    public var initiationFlood = 0
    /// Handshake messages answered with a cookie reply because we are under load.
    public var cookieRepliesSent = 0
    /// Handshake messages with a valid cookie dropped by the per-address rate limit.
    public var rateLimited = 0
    /// A response or transport packet for an index we do not know.
    public var unknownIndex = 0
    /// A response that does not authenticate.
    public var invalidResponse = 0
    /// A cookie reply that does not decrypt.
    public var invalidCookieReply = 0
    /// A transport packet that does not authenticate, or on an expired keypair.
    public var invalidTransport = 0
    /// A transport packet whose counter was seen before or is behind the window.
    public var replayedTransport = 0
    /// An inner packet from a source outside the peer's AllowedIPs.
    public var disallowedSource = 0
    /// A packet to send to a peer with no known endpoint.
    public var noEndpoint = 0
}

/// A WireGuard interface's protocol engine: peers, handshakes (with cookies under load),
/// transport encryption, timers and roaming. No sockets and no clock: datagrams, packets and
/// time come in as arguments, and what must go out comes back as `DeviceOutput`s — or, for
/// transport data, through the caller's buffers (`seal`, `open`: WireGuardDevice+Transport).
public final class WireGuardDevice {
    /// The interface's private key.
    public private(set) var privateKey: WireGuardKey
    /// Its public key.
    public private(set) var publicKey: WireGuardKey
    /// The peers by public key.
    public private(set) var peers: [WireGuardKey: WireGuardPeer] = [:]
    /// Drop counters.
    public internal(set) var counters = DeviceCounters()
    /// Handshake messages per second above which mac2 (a cookie) is required.
    public var underLoadThreshold = 64

    private let entropy: EntropySource
    private var cookieChecker: CookieChecker
    /// Our session indices (the receiver field of messages to us, paper §5.4.2–5.4.6).
    var indices: [UInt32: IndexEntry] = [:]
    /// What the transport fast path (`seal`, `open`) produced on its rare branches —
    /// handshake messages, staged packets flushed — for the caller to take
    /// (`takeControlOutputs`); empty in steady state.
    var controlOutputs: [DeviceOutput] = []
    private var rateLimiter = HandshakeRateLimiter()
    private var handshakeWindowStart: UInt64 = 0
    private var handshakesInWindow = 0

    /// What a local session index names: a handshake in flight or a keypair.
    enum IndexEntry {
        /// Our initiation to this peer, awaiting its response (paper §5.4.3).
        case handshake(WireGuardPeer)
        /// A keypair of this peer (paper §5.4.5).
        case keypair(WireGuardPeer, Keypair)
    }

    /// Creates a device with `privateKey`, drawing ephemeral keys, indices and jitter from
    /// `entropy`.
    public init(privateKey: WireGuardKey, entropy: EntropySource) {
        self.privateKey = privateKey
        publicKey = Curve25519.publicKey(of: privateKey)
        self.entropy = entropy
        cookieChecker = CookieChecker(localPublic: publicKey)
    }

    /// Adds a peer or replaces its configuration (keeping its sessions).
    @discardableResult
    public func configure(peer configuration: PeerConfiguration) -> WireGuardPeer {
        if let existing = peers[configuration.publicKey] {
            existing.configuration = configuration
            existing.timers.persistentKeepaliveInterval = configuration.persistentKeepalive
            return existing
        }
        let peer = WireGuardPeer(configuration: configuration)
        peers[configuration.publicKey] = peer
        return peer
    }

    /// Changes the interface's static key (UAPI `private_key=`, `wg set IFACE private-key`),
    /// as wireguard-go's SetPrivateKey does: a peer whose public key is the new one is removed,
    /// every session and handshake in flight is forgotten (they were made with the old key),
    /// and mac1/cookie checks follow the new public key (WireGuard paper §5.4.4). The next
    /// packet to a peer starts a handshake with the new key.
    public func setPrivateKey(_ key: WireGuardKey) {
        guard key != privateKey else { return }
        privateKey = key
        publicKey = Curve25519.publicKey(of: key)
        cookieChecker = CookieChecker(localPublic: publicKey)
        removePeer(publicKey)
        for peer in peers.values { forgetKeys(of: peer) }
    }

    /// Removes a peer and forgets its sessions.
    public func removePeer(_ key: WireGuardKey) {
        guard let peer = peers.removeValue(forKey: key) else { return }
        forgetKeys(of: peer)
    }

    // MARK: - Receiving

    /// Processes one UDP datagram from `source`.
    public func receive(_ datagram: [UInt8], from source: Endpoint, at time: DeviceTime) -> [DeviceOutput] {
        switch WireGuardMessage.type(of: datagram) {
        case 1 where datagram.count == WireGuardMessage.initiationLength:
            return receiveInitiation(datagram, from: source, at: time)
        case 2 where datagram.count == WireGuardMessage.responseLength:
            return receiveResponse(datagram, from: source, at: time)
        case 3 where datagram.count == WireGuardMessage.cookieReplyLength:
            receiveCookieReply(datagram, at: time)
            return []
        case 4 where datagram.count >= WireGuardMessage.transportMinimumLength:
            return receiveTransport(datagram, from: source, at: time)
        default:
            counters.malformed += 1
            return []
        }
    }

    /// mac1, then (under load) mac2 or a cookie reply. Returns the outputs to send instead
    /// when the message must not be processed.
    private func admitHandshake(_ datagram: [UInt8], senderIndex: UInt32, from source: Endpoint,
                                at time: DeviceTime) -> [DeviceOutput]? {
        guard let regions = HandshakeMacRegions(datagram),
              cookieChecker.isValidMac1(messageBeforeMac1: regions.beforeMac1, mac1: regions.mac1) else {
            counters.invalidMac1 += 1
            return []
        }
        if time.monotonic &- handshakeWindowStart >= ProtocolConstants.second {
            handshakeWindowStart = time.monotonic
            handshakesInWindow = 0
        }
        handshakesInWindow += 1
        guard handshakesInWindow > underLoadThreshold else { return nil }
        if cookieChecker.isValidMac2(messageBeforeMac2: regions.beforeMac2, mac2: regions.mac2,
                                     source: source.cookieSource, now: time.monotonic,
                                     entropy: entropy) {
            // A proven source address, still limited per address (paper §5.3).
            guard rateLimiter.allow(source.address, now: time.monotonic) else {
                counters.rateLimited += 1
                return []
            }
            return nil
        }
        let reply = cookieChecker.makeReply(mac1: regions.mac1,
                                            source: source.cookieSource, now: time.monotonic,
                                            entropy: entropy)
        counters.cookieRepliesSent += 1
        return [.transmit(WireGuardMessage.cookieReply(receiver: senderIndex, nonce: reply.nonce,
                                                       encryptedCookie: reply.encryptedCookie).emit(),
                          to: source)]
    }

    private func receiveInitiation(_ datagram: [UInt8], from source: Endpoint,
                                   at time: DeviceTime) -> [DeviceOutput] {
        guard let message = MessageLayout.decodeInitiation(datagram) else { return [] }
        if let refusal = admitHandshake(datagram, senderIndex: message.sender, from: source, at: time) {
            return refusal
        }
        guard let consumed = NoiseHandshake.consumeInitiation(message, localPrivate: privateKey,
                                                             localPublic: publicKey),
              let peer = peers[consumed.remoteStatic] else {
            counters.unknownPeer += 1
            return []
        }
        guard consumed.timestamp > peer.greatestTimestamp else {
            counters.replayedInitiation += 1
            return []
        }
        if let last = peer.lastInitiationConsumed,
           time.monotonic &- last < ProtocolConstants.handshakeInitiationRate {
            counters.initiationFlood += 1
            return []
        }
        peer.greatestTimestamp = consumed.timestamp
        peer.lastInitiationConsumed = time.monotonic
        peer.configuration.endpoint = source  // roaming
        let localIndex = newIndex()
        guard let (response, keys) = NoiseHandshake.respond(
            to: consumed, presharedKey: peer.configuration.presharedKey, localIndex: localIndex,
            entropy: entropy) else { return [] }
        let keypair = Keypair(keys: keys, created: time.monotonic)
        if let stale = peer.next { indices[stale.localIndex] = nil }
        peer.next = keypair
        indices[localIndex] = .keypair(peer, keypair)
        peer.timers.sessionDerived(now: time.monotonic)
        var bytes = MessageLayout.encode(response)
        let macs = peer.cookies.macs(for: bytes, now: time.monotonic)
        bytes = WireGuardMessage.stampMacs(bytes, mac1: macs.mac1, mac2: macs.mac2)
        return transmit(bytes, to: peer, at: time)
    }

    private func receiveResponse(_ datagram: [UInt8], from source: Endpoint,
                                 at time: DeviceTime) -> [DeviceOutput] {
        guard let message = MessageLayout.decodeResponse(datagram) else { return [] }
        if let refusal = admitHandshake(datagram, senderIndex: message.sender, from: source, at: time) {
            return refusal
        }
        guard case .handshake(let peer)? = indices[message.receiver],
              let state = peer.initiation else {
            counters.unknownIndex += 1
            return []
        }
        guard let keys = NoiseHandshake.consumeResponse(
            message, state: state, localPrivate: privateKey,
            presharedKey: peer.configuration.presharedKey) else {
            counters.invalidResponse += 1
            return []
        }
        peer.initiation = nil
        let keypair = Keypair(keys: keys, created: time.monotonic)
        indices[keys.localIndex] = .keypair(peer, keypair)
        install(keypair, for: peer, at: time)
        peer.configuration.endpoint = source
        peer.receivedBytes += UInt64(datagram.count)
        peer.timers.anyAuthenticatedPacketReceived()
        peer.timers.anyAuthenticatedPacketTraversal(now: time.monotonic)
        peer.timers.sessionDerived(now: time.monotonic)
        // The responder may use the session only once it hears from us: send what waited, or
        // a keepalive to confirm it.
        var outputs = flushStaged(peer, at: time)
        if outputs.isEmpty { outputs += sendTransport([], to: peer, at: time) }
        return outputs
    }

    private func receiveCookieReply(_ datagram: [UInt8], at time: DeviceTime) {
        guard case .cookieReply(let receiver, let nonce, let encryptedCookie)? = try? WireGuardMessage.parse(datagram[...])
        else { return }
        let peer: WireGuardPeer
        switch indices[receiver] {
        case .handshake(let p)?: peer = p
        case .keypair(let p, _)?: peer = p
        case nil:
            counters.unknownIndex += 1
            return
        }
        if !peer.cookies.consumeReply(nonce: nonce, encryptedCookie: encryptedCookie, now: time.monotonic) {
            counters.invalidCookieReply += 1
        }
    }

    /// The array path's transport receive: decrypts into the delivered packet's own array
    /// (one allocation), through the same steps as the fast path (`openTransport`).
    private func receiveTransport(_ datagram: [UInt8], from source: Endpoint,
                                  at time: DeviceTime) -> [DeviceOutput] {
        var outputs: [DeviceOutput] = []
        var from: WireGuardPeer?
        let packet = datagram.withUnsafeBytes { raw -> [UInt8] in
            guard let message = try? WireGuardTransportMessage(checking: raw) else { return [] }
            return [UInt8](unsafeUninitializedCapacity: max(1, message.encryptedPacket.count - AEAD.tagLength)) {
                output, count in
                let opened = openTransport(message, into: UnsafeMutableRawBufferPointer(output), from: source,
                                           at: time, outputs: &outputs)
                from = opened?.peer
                count = opened?.length ?? 0
            }
        }
        if let from { outputs.append(.deliver(packet, from: from.publicKey)) }
        return outputs
    }

    // MARK: - Sending

    /// Sends an inner IP packet to `peerKey` (the caller routed it there).
    public func send(_ packet: [UInt8], to peerKey: WireGuardKey, at time: DeviceTime) -> [DeviceOutput] {
        guard let peer = peers[peerKey] else { return [] }
        guard let keypair = peer.current, keypair.isUsable(now: time.monotonic) else {
            peer.stage(packet)
            // A responder's fresh keypair is confirmed by the initiator's next packet; until
            // then packets wait rather than starting a competing handshake.
            if let next = peer.next, next.isUsable(now: time.monotonic) { return [] }
            return initiateHandshake(peer, at: time)
        }
        var outputs = sendTransport(packet, to: peer, at: time)
        if keypair.wantsRekeyOnSend(now: time.monotonic) && peer.initiation == nil {
            outputs += initiateHandshake(peer, at: time)
        }
        return outputs
    }

    /// Starts a handshake with `peerKey` now (e.g. at start-up for peers with an endpoint).
    public func initiate(to peerKey: WireGuardKey, at time: DeviceTime) -> [DeviceOutput] {
        guard let peer = peers[peerKey] else { return [] }
        return initiateHandshake(peer, at: time)
    }

    /// Encrypts `payload` (padded to 16 bytes; empty: a keepalive) on the current keypair,
    /// into a new array (the array path; the fast path seals into the caller's buffer).
    func sendTransport(_ payload: [UInt8], to peer: WireGuardPeer,
                       at time: DeviceTime) -> [DeviceOutput] {
        guard peer.current != nil else { return [] }
        var endpoint: Endpoint?
        let datagram = [UInt8](unsafeUninitializedCapacity: Self.transportLength(forPacketLength: payload.count)) {
            output, count in
            let sealed = payload.withUnsafeBytes {
                sealTransport($0, to: peer, into: UnsafeMutableRawBufferPointer(output), at: time)
            }
            endpoint = sealed?.endpoint
            count = sealed?.length ?? 0
        }
        guard let endpoint else { return [] }
        return [.transmit(datagram, to: endpoint)]
    }

    /// Sends a handshake initiation (paper §5.4.2), unless one is in flight within
    /// REKEY_TIMEOUT (the retransmit timer resends it, paper §6.4).
    func initiateHandshake(_ peer: WireGuardPeer, at time: DeviceTime) -> [DeviceOutput] {
        if let last = peer.lastInitiationSent, time.monotonic &- last < ProtocolConstants.rekeyTimeout,
           peer.timers.isArmed(.retransmitHandshake) {
            return []  // one in flight; the retransmit timer will resend it
        }
        if let stale = peer.initiation { indices[stale.localIndex] = nil }
        let localIndex = newIndex()
        let stamp = TAI64N(unixSeconds: time.wallSeconds, nanoseconds: time.wallNanoseconds)
        guard let (message, state) = NoiseHandshake.initiate(
            localPrivate: privateKey, localPublic: publicKey, remoteStatic: peer.publicKey,
            timestamp: stamp, localIndex: localIndex, entropy: entropy) else { return [] }
        peer.initiation = state
        peer.lastInitiationSent = time.monotonic
        indices[localIndex] = .handshake(peer)
        var bytes = MessageLayout.encode(message)
        let macs = peer.cookies.macs(for: bytes, now: time.monotonic)
        bytes = WireGuardMessage.stampMacs(bytes, mac1: macs.mac1, mac2: macs.mac2)
        peer.timers.handshakeInitiated(now: time.monotonic, jitter: randomJitter())
        return transmit(bytes, to: peer, at: time)
    }

    /// The datagram for the peer's endpoint; nothing (counted) if it has none yet.
    private func transmit(_ datagram: [UInt8], to peer: WireGuardPeer, at time: DeviceTime) -> [DeviceOutput] {
        guard let endpoint = accountSent(datagram.count, to: peer, at: time) else { return [] }
        return [.transmit(datagram, to: endpoint)]
    }

    /// A datagram of `length` bytes is going to the peer: its endpoint, with the byte count
    /// and timer hooks of an authenticated packet sent (paper §6); `nil` (counted) when the
    /// peer has no endpoint yet.
    func accountSent(_ length: Int, to peer: WireGuardPeer, at time: DeviceTime) -> Endpoint? {
        guard let endpoint = peer.endpoint else {
            counters.noEndpoint += 1
            return nil
        }
        peer.sentBytes += UInt64(length)
        peer.timers.anyAuthenticatedPacketSent()
        peer.timers.anyAuthenticatedPacketTraversal(now: time.monotonic)
        return endpoint
    }

    /// Sends what waited for a session, on the current keypair.
    func flushStaged(_ peer: WireGuardPeer, at time: DeviceTime) -> [DeviceOutput] {
        let packets = peer.staged
        peer.staged.removeAll()
        return packets.flatMap { sendTransport($0, to: peer, at: time) }
    }

    // MARK: - Timers

    /// The earliest time `tick` has work to do.
    public var nextDeadline: UInt64? {
        var earliest: UInt64?
        for peer in peers.values {
            if let deadline = peer.timers.nextDeadline, earliest.map({ deadline < $0 }) ?? true { earliest = deadline }
        }
        return earliest
    }

    /// Runs the timers that have expired (paper §6).
    public func tick(at time: DeviceTime) -> [DeviceOutput] {
        var outputs: [DeviceOutput] = []
        for peer in peers.values {
            for kind in peer.timers.expire(now: time.monotonic) {
                switch kind {
                case .retransmitHandshake:
                    if peer.timers.handshakeAttempts > PeerTimers.maximumHandshakeAttempts {
                        peer.timers.handshakeAbandoned()
                        peer.staged.removeAll()
                        if let stale = peer.initiation { indices[stale.localIndex] = nil }
                        peer.initiation = nil
                    } else {
                        peer.lastInitiationSent = nil
                        outputs += initiateHandshake(peer, at: time)
                    }
                case .sendKeepalive:
                    outputs += sendTransport([], to: peer, at: time)
                case .newHandshake:
                    peer.lastInitiationSent = nil
                    outputs += initiateHandshake(peer, at: time)
                case .zeroKeyMaterial:
                    forgetKeys(of: peer)
                case .persistentKeepalive:
                    outputs += peer.current == nil ? initiateHandshake(peer, at: time)
                                                   : sendTransport([], to: peer, at: time)
                }
            }
        }
        return outputs
    }

    // MARK: - Helpers

    /// Makes `keypair` the current one, the current the previous (paper §5.4.6: the old one
    /// still decrypts packets in flight).
    func install(_ keypair: Keypair, for peer: WireGuardPeer, at time: DeviceTime) {
        if let old = peer.previous { indices[old.localIndex] = nil }
        peer.previous = peer.current
        peer.current = keypair
        peer.timers.handshakeComplete()
        peer.lastHandshake = (time.wallSeconds, time.wallNanoseconds)
    }

    private func forgetKeys(of peer: WireGuardPeer) {
        for keypair in peer.keypairs { indices[keypair.localIndex] = nil }
        if let state = peer.initiation { indices[state.localIndex] = nil }
        peer.current = nil
        peer.previous = nil
        peer.next = nil
        peer.initiation = nil
        peer.timers.keysZeroed()
    }

    private func newIndex() -> UInt32 {
        while true {
            var raw: UInt32 = 0
            withUnsafeMutableBytes(of: &raw) { entropy.fill($0) }
            if raw != 0 && indices[raw] == nil { return raw }
        }
    }

    private func randomJitter() -> UInt64 {
        var raw: UInt64 = 0
        withUnsafeMutableBytes(of: &raw) { entropy.fill($0) }
        return raw % (ProtocolConstants.rekeyTimeoutJitterMax + 1)
    }
}

/// The inner packet of a transport message: its length (padding stripped) and its source
/// address, from the Wire layer's views (nothing allocated).
enum InnerPacket {
    /// The packet's length and source, or `nil` for an empty payload (a keepalive) or one
    /// that is not an IPv4 (RFC 791) or IPv6 (RFC 8200) packet whole within `plaintext`.
    static func inspect(_ plaintext: UnsafeRawBufferPointer) -> (length: Int, source: IPAddress)? {
        if let packet = try? IPv4Packet(checking: plaintext) {
            guard (try? packet.validate()) != nil else { return nil }
            return (packet.payloadEnd, .v4(packet.source))
        }
        if let packet = try? IPv6Packet(checking: plaintext) {
            return (packet.payloadEnd, .v6(packet.source))
        }
        return nil
    }
}
