import Wire

// The transport data path (WireGuard paper §5.4.6) through buffers the caller owns: `seal`
// writes a whole transport message into the caller's output buffer, `open` decrypts a
// received one in place. In steady state (a session up, no handshake due) neither allocates.
// The rare branches — no keypair yet, a rekey due, a keypair confirmed, a handshake or cookie
// message — go through the array path, and what they emit waits in the device's control
// queue (`takeControlOutputs`). Both paths share `sealTransport` and `openTransport`, so
// counters, replay window, timers and roaming behave the same whichever the caller uses.

/// What `WireGuardDevice.seal` did with an inner packet.
public enum TransportSend: Equatable, Sendable {
    /// `output[0..<length]` holds a transport message for `endpoint`.
    case transmit(length: Int, to: Endpoint)
    /// Nothing to send from `output`: the packet was staged until a handshake completes (the
    /// initiation is in the control queue), or dropped (unknown peer, no endpoint, keypair
    /// exhausted; counted where `DeviceCounters` has a reason).
    case none
}

/// What `WireGuardDevice.open` found in a datagram.
public enum TransportReceive: Equatable, Sendable {
    /// The inner IP packet, decrypted in place and its padding stripped, is
    /// `datagram[range]`; it came from the peer with this public key.
    case deliver(Range<Int>, from: WireGuardKey)
    /// Nothing to deliver: a keepalive, a handshake or cookie message (handled; any answer is
    /// in the control queue), or a drop counted in `counters`.
    case none
}

extension WireGuardDevice {
    /// The length of the transport message carrying a packet of `packetLength` bytes: the
    /// 16-byte header, the packet padded to a multiple of 16, the 16-byte tag (paper §5.4.6).
    /// A buffer given to `seal` must be at least this long.
    public static func transportLength(forPacketLength packetLength: Int) -> Int {
        WireGuardTransportMessage.headerLength + paddedLength(packetLength) + WireGuardTransportMessage.tagLength
    }

    /// The longest transport message: an IP packet of 65,535 bytes, padded, framed.
    public static let maximumTransportLength = transportLength(forPacketLength: 65_535)

    /// Whether `address` is inside one of `prefixes` (cryptokey routing's source check, paper
    /// §2). Indexed rather than `contains(where:)`, whose unspecialized form allocates in a
    /// debug build.
    static func allows(_ prefixes: [IPPrefix], _ address: IPAddress) -> Bool {
        var index = 0
        while index < prefixes.count {
            if prefixes[index].contains(address) { return true }
            index += 1
        }
        return false
    }

    /// `length` rounded up to a multiple of 16: `pad(P)` of paper §5.4.6.
    static func paddedLength(_ length: Int) -> Int { (length + 15) & ~15 }

    // MARK: - Fast path

    /// Seals the inner IP packet `packet` for `peerKey` into `output` (header, ciphertext of the
    /// padded packet, tag; paper §5.4.6) without allocating, in steady state. With no usable
    /// keypair the packet is staged and a handshake started, as `send` does; a rekey due after
    /// this packet (REKEY_AFTER_MESSAGES/TIME, paper §6.2) puts an initiation in the control
    /// queue. Traps if `output` is shorter than `transportLength(forPacketLength:)`.
    public func seal(_ packet: UnsafeRawBufferPointer, to peerKey: WireGuardKey,
                     into output: UnsafeMutableRawBufferPointer, at time: DeviceTime) -> TransportSend {
        guard let peer = peers[peerKey] else { return .none }
        guard let keypair = peer.current, keypair.isUsable(now: time.monotonic) else {
            controlOutputs += send(Array(packet), to: peerKey, at: time)  // staged: the rare path
            return .none
        }
        let sealed = sealTransport(packet, to: peer, into: output, at: time)
        if keypair.wantsRekeyOnSend(now: time.monotonic) && peer.initiation == nil {
            controlOutputs += initiateHandshake(peer, at: time)
        }
        guard let sealed else { return .none }
        return .transmit(length: sealed.length, to: sealed.endpoint)
    }

    /// Processes one UDP datagram from `source` in the caller's buffer. A transport message is
    /// authenticated and decrypted in place (replay window, roaming, keypair confirmation,
    /// rekey on receive, AllowedIPs source check: paper §5.4.6, §6) and its packet returned as
    /// a range of `datagram`, without allocating in steady state. Any other message goes
    /// through `receive`, its answers to the control queue.
    public func open(_ datagram: UnsafeMutableRawBufferPointer, from source: Endpoint,
                     at time: DeviceTime) -> TransportReceive {
        guard let message = try? WireGuardTransportMessage(checking: UnsafeRawBufferPointer(datagram)) else {
            controlOutputs += receive(Array(datagram), from: source, at: time)
            return .none
        }
        let header = WireGuardTransportMessage.headerLength
        let plaintext = UnsafeMutableRawBufferPointer(rebasing: datagram[header..<(datagram.count - AEAD.tagLength)])
        guard let (length, peer) = openTransport(message, into: plaintext, from: source, at: time,
                                                 outputs: &controlOutputs) else { return .none }
        return .deliver(header..<(header + length), from: peer.publicKey)
    }

    /// Whether the fast path left datagrams to send in the control queue.
    public var hasControlOutputs: Bool { !controlOutputs.isEmpty }

    /// Takes what the fast path's rare branches produced (handshake messages, cookie replies,
    /// flushed staged packets, keepalives), oldest first, emptying the queue.
    public func takeControlOutputs() -> [DeviceOutput] {
        defer { controlOutputs = [] }
        return controlOutputs
    }

    // MARK: - The steps both paths share

    /// Writes the transport message for `payload` into `output` on the peer's current keypair
    /// (paper §5.4.6: header, `Aead(T^send, counter, P ‖ pad, ε)`), with the data-sent timer
    /// hook (paper §6) and the accounting of `accountSent`. `nil` when the keypair may no
    /// longer send (REJECT_AFTER_MESSAGES/TIME) or the peer has no endpoint (counted).
    func sealTransport(_ payload: UnsafeRawBufferPointer, to peer: WireGuardPeer,
                       into output: UnsafeMutableRawBufferPointer,
                       at time: DeviceTime) -> (length: Int, endpoint: Endpoint)? {
        guard let keypair = peer.current, let counter = keypair.nextSendingCounter(now: time.monotonic)
        else { return nil }
        let header = WireGuardTransportMessage.headerLength
        let padded = Self.paddedLength(payload.count)
        let length = Self.transportLength(forPacketLength: payload.count)
        precondition(output.count >= length, "WireGuardDevice.seal: output shorter than transportLength")
        WireGuardTransportRepr(receiver: keypair.remoteIndex, counter: counter,
                               payloadLength: padded + AEAD.tagLength).emit(into: output)
        let body = UnsafeMutableRawBufferPointer(rebasing: output[header..<(length - AEAD.tagLength)])
        if payload.count > 0 { body.copyMemory(from: payload) }
        UnsafeMutableRawBufferPointer(rebasing: body[payload.count...]).initializeMemory(as: UInt8.self, repeating: 0)
        keypair.sendingKey.withUnsafeBytes { key in
            AEAD.sealInPlace(key: key, counter: counter,
                             buffer: UnsafeMutableRawBufferPointer(rebasing: output[header..<length]),
                             plaintextLength: padded)
        }
        if !payload.isEmpty { peer.timers.dataSent(now: time.monotonic) }
        guard let endpoint = accountSent(length, to: peer, at: time) else { return nil }
        return (length, endpoint)
    }

    /// Authenticates and decrypts a transport message into `plaintext` (at least the
    /// ciphertext's length; it may be the ciphertext's own bytes), then applies what an
    /// authenticated packet means (paper §5.4.6, §6): replay window, roaming to `source`, byte
    /// count, confirmation of a responder's next keypair (flushing staged packets into
    /// `outputs`), timer hooks, rekey on receive (an initiation into `outputs`), and the
    /// AllowedIPs check of the inner source. Returns the inner packet's length (padding
    /// stripped) and its peer, or `nil` for a keepalive, a non-IP payload or a drop (counted).
    func openTransport(_ message: WireGuardTransportMessage, into plaintext: UnsafeMutableRawBufferPointer,
                       from source: Endpoint, at time: DeviceTime,
                       outputs: inout [DeviceOutput]) -> (length: Int, peer: WireGuardPeer)? {
        let repr = WireGuardTransportRepr.parse(message)
        guard case .keypair(let peer, let keypair)? = indices[repr.receiver] else {
            counters.unknownIndex += 1
            return nil
        }
        guard keypair.isUsable(now: time.monotonic) else {
            counters.invalidTransport += 1
            return nil
        }
        let opened = keypair.receivingKey.withUnsafeBytes { key in
            AEAD.open(key: key, counter: repr.counter, ciphertext: message.encryptedPacket, into: plaintext)
        }
        guard let decrypted = opened else {
            counters.invalidTransport += 1
            return nil
        }
        guard keypair.replayWindow.accept(repr.counter) else {
            counters.replayedTransport += 1
            return nil
        }
        peer.configuration.endpoint = source  // roaming: the source of an authenticated packet
        peer.receivedBytes += UInt64(message.buffer.count)
        if keypair === peer.next {
            // The initiator used our new keypair: it is confirmed (paper §5.4.6).
            peer.next = nil
            install(keypair, for: peer, at: time)
            outputs += flushStaged(peer, at: time)
        }
        peer.timers.anyAuthenticatedPacketReceived()
        peer.timers.anyAuthenticatedPacketTraversal(now: time.monotonic)
        if keypair === peer.current && keypair.wantsRekeyOnReceive(now: time.monotonic)
            && peer.initiation == nil {
            outputs += initiateHandshake(peer, at: time)
        }
        guard let (length, sourceAddress) = InnerPacket.inspect(
            UnsafeRawBufferPointer(rebasing: plaintext[..<decrypted])) else {
            return nil  // a keepalive (empty) or padding only
        }
        guard Self.allows(peer.configuration.allowedIPs, sourceAddress) else {
            counters.disallowedSource += 1
            return nil
        }
        peer.timers.dataReceived(now: time.monotonic)
        return (length, peer)
    }
}
