import Testing
@testable import WireGuard

/// The Noise_IKpsk2 handshake between two instances of our implementation, step by step,
/// with seeded randomness. (Interoperability with wireguard-go is the integration tests'.)
@Suite struct HandshakeTests {
    struct Party {
        let privateKey: WireGuardKey
        let publicKey: WireGuardKey
        init(seed: UInt64) {
            privateKey = Curve25519.generatePrivateKey(using: SeededEntropy(seed: seed))
            publicKey = Curve25519.publicKey(of: privateKey)
        }
    }

    let alice = Party(seed: 1)
    let bob = Party(seed: 2)
    let psk = WireGuardKey(bytes: [UInt8](repeating: 0x42, count: 32))!
    let stamp = TAI64N(unixSeconds: 1_700_000_000, nanoseconds: 0)

    func initiation(psk: WireGuardKey? = nil, entropySeed: UInt64 = 10)
        -> (NoiseHandshake.Initiation, NoiseHandshake.InitiatorState)
    {
        NoiseHandshake.initiate(localPrivate: alice.privateKey, localPublic: alice.publicKey,
                                remoteStatic: bob.publicKey, timestamp: stamp, localIndex: 0x1111,
                                entropy: SeededEntropy(seed: entropySeed))!
    }

    @Test func completeHandshakeAgreesOnKeys() throws {
        let (message, state) = initiation()
        #expect(message.ephemeral.count == 32)
        #expect(message.encryptedStatic.count == 48)
        #expect(message.encryptedTimestamp.count == 28)

        let consumed = try #require(NoiseHandshake.consumeInitiation(
            message, localPrivate: bob.privateKey, localPublic: bob.publicKey))
        #expect(consumed.remoteStatic == alice.publicKey)
        #expect(consumed.timestamp == stamp)
        #expect(consumed.remoteIndex == 0x1111)

        let (response, bobKeys) = try #require(NoiseHandshake.respond(
            to: consumed, presharedKey: psk, localIndex: 0x2222, entropy: SeededEntropy(seed: 20)))
        #expect(response.encryptedNothing.count == 16)
        #expect(response.receiver == 0x1111)

        let aliceKeys = try #require(NoiseHandshake.consumeResponse(
            response, state: state, localPrivate: alice.privateKey, presharedKey: psk))
        #expect(aliceKeys.sending == bobKeys.receiving)
        #expect(aliceKeys.receiving == bobKeys.sending)
        #expect(aliceKeys.sending != aliceKeys.receiving)
        #expect(aliceKeys.localIndex == 0x1111 && aliceKeys.remoteIndex == 0x2222)
        #expect(bobKeys.localIndex == 0x2222 && bobKeys.remoteIndex == 0x1111)
        #expect(aliceKeys.isInitiator && !bobKeys.isInitiator)
    }

    @Test func sameRandomnessSameMessages() {
        #expect(initiation(entropySeed: 5).0 == initiation(entropySeed: 5).0)
        #expect(initiation(entropySeed: 5).0 != initiation(entropySeed: 6).0)
    }

    @Test func aWrongPresharedKeyFailsAtTheInitiator() throws {
        let (message, state) = initiation()
        let consumed = try #require(NoiseHandshake.consumeInitiation(
            message, localPrivate: bob.privateKey, localPublic: bob.publicKey))
        let (response, _) = try #require(NoiseHandshake.respond(
            to: consumed, presharedKey: .zero, localIndex: 2, entropy: SeededEntropy(seed: 3)))
        #expect(NoiseHandshake.consumeResponse(response, state: state, localPrivate: alice.privateKey,
                                               presharedKey: psk) == nil)
    }

    @Test func initiationsForSomeoneElseOrTamperedAreRejected() {
        let (message, _) = initiation()
        let carol = Party(seed: 3)
        #expect(NoiseHandshake.consumeInitiation(message, localPrivate: carol.privateKey,
                                                 localPublic: carol.publicKey) == nil)
        for field in 0..<3 {
            var tampered = message
            switch field {
            case 0: tampered.ephemeral[0] ^= 1
            case 1: tampered.encryptedStatic[10] ^= 1
            default: tampered.encryptedTimestamp[27] ^= 1
            }
            #expect(NoiseHandshake.consumeInitiation(tampered, localPrivate: bob.privateKey,
                                                     localPublic: bob.publicKey) == nil)
        }
        var lowOrder = message
        lowOrder.ephemeral = [UInt8](repeating: 0, count: 32)
        #expect(NoiseHandshake.consumeInitiation(lowOrder, localPrivate: bob.privateKey,
                                                 localPublic: bob.publicKey) == nil)
    }

    @Test func aResponseToAnotherInitiationIsRejected() throws {
        let (first, _) = initiation(entropySeed: 1)
        let (_, secondState) = initiation(entropySeed: 2)
        let consumed = try #require(NoiseHandshake.consumeInitiation(
            first, localPrivate: bob.privateKey, localPublic: bob.publicKey))
        let (response, _) = try #require(NoiseHandshake.respond(
            to: consumed, presharedKey: psk, localIndex: 9, entropy: SeededEntropy(seed: 4)))
        #expect(NoiseHandshake.consumeResponse(response, state: secondState,
                                               localPrivate: alice.privateKey, presharedKey: psk) == nil)
    }
}

/// The receive window: each counter once, old ones refused, Linux's window size.
@Suite struct ReplayWindowTests {
    @Test func inOrderAndDuplicates() {
        var window = ReplayWindow()
        for counter in UInt64(0)..<5000 {
            let accepted = window.accept(counter)
            #expect(accepted)
        }
        do { let accepted = window.accept(4999); #expect(!accepted) }
        do { let accepted = window.accept(0); #expect(!accepted) }
    }

    @Test func windowEdges() {
        var window = ReplayWindow()
        do { let accepted = window.accept(10_000); #expect(accepted) }
        do { let accepted = window.accept(10_000 - ReplayWindow.windowSize); #expect(accepted) }
        do { let accepted = window.accept(10_000 - ReplayWindow.windowSize - 1); #expect(!accepted) }
        do { let accepted = window.accept(20_000); #expect(accepted) }
        do { let accepted = window.accept(10_000); #expect(!accepted) }
        do { let accepted = window.accept(ReplayWindow.rejectAfterMessages); #expect(!accepted) }
        #expect(ReplayWindow.windowSize >= 2048)
    }

    /// Against a slow reference (a set plus the greatest counter), with seeded random
    /// counters clustered near the front, as reordering networks produce them.
    @Test func matchesAReferenceModel() {
        var window = ReplayWindow()
        var seen = Set<UInt64>()
        var greatest: UInt64? = nil
        let rng = SeededEntropy(seed: 99)
        var front: UInt64 = 0
        for _ in 0..<200_000 {
            var raw = [UInt8](repeating: 0, count: 4)
            raw.withUnsafeMutableBytes { rng.fill($0) }
            let r = UInt64(raw[0]) | UInt64(raw[1]) << 8 | UInt64(raw[2]) << 16
            front += r % 3
            let counter = front >= r % 9000 ? front - r % 9000 : 0
            let expected: Bool
            if let g = greatest, counter < g, g - counter > ReplayWindow.windowSize {
                expected = false
            } else {
                expected = !seen.contains(counter)
            }
            let accepted = window.accept(counter)
            #expect(accepted == expected, "counter \(counter)")
            if expected {
                seen.insert(counter)
                greatest = max(greatest ?? 0, counter)
            }
        }
    }
}

/// mac1, mac2 and cookie replies between a generator (initiator) and a checker (responder).
@Suite struct CookieTests {
    let responder = Curve25519.publicKey(of: Curve25519.generatePrivateKey(using: SeededEntropy(seed: 7)))

    @Test func mac1ProvesTheMessageIsForUs() {
        var generator = CookieGenerator(remotePublic: responder)
        let checker = CookieChecker(localPublic: responder)
        let message = [UInt8](repeating: 0xab, count: 116) + [UInt8](repeating: 0, count: 32)
        let (mac1, mac2) = generator.macs(for: message, now: 0)
        #expect(mac2 == [UInt8](repeating: 0, count: 16))
        #expect(checker.isValidMac1(messageBeforeMac1: Array(message.prefix(116)), mac1: mac1))
        let someoneElse = CookieChecker(localPublic: WireGuardKey(bytes: [UInt8](repeating: 9, count: 32))!)
        #expect(!someoneElse.isValidMac1(messageBeforeMac1: Array(message.prefix(116)), mac1: mac1))
    }

    @Test func cookieReplyEnablesMac2UntilItExpires() {
        let entropy = SeededEntropy(seed: 11)
        var generator = CookieGenerator(remotePublic: responder)
        var checker = CookieChecker(localPublic: responder)
        let source: [UInt8] = [198, 18, 1, 1, 0xca, 0x6c]
        let message = [UInt8](repeating: 0x5a, count: 116) + [UInt8](repeating: 0, count: 32)
        let (mac1, _) = generator.macs(for: message, now: 1)
        let reply = checker.makeReply(mac1: mac1, source: source, now: 1, entropy: entropy)
        let consumed = generator.consumeReply(nonce: reply.nonce, encryptedCookie: reply.encryptedCookie, now: 2)
        #expect(consumed)
        let (mac1b, mac2) = generator.macs(for: message, now: 3)
        let beforeMac2 = Array(message.prefix(116)) + mac1b
        let valid = checker.isValidMac2(messageBeforeMac2: beforeMac2, mac2: mac2, source: source, now: 3, entropy: entropy)
        #expect(valid)
        let otherSource = checker.isValidMac2(messageBeforeMac2: beforeMac2, mac2: mac2,
                                              source: [198, 18, 1, 9, 0xca, 0x6c], now: 3, entropy: entropy)
        #expect(!otherSource)
        // After COOKIE_REFRESH_TIME the generator stops using it and the checker's secret moved.
        let later = CookieMechanism.refreshNanoseconds + 10
        let expiredMac2 = generator.macs(for: message, now: later).mac2
        #expect(expiredMac2 == [UInt8](repeating: 0, count: 16))
        let stale = checker.isValidMac2(messageBeforeMac2: beforeMac2, mac2: mac2, source: source, now: later, entropy: entropy)
        #expect(!stale)
    }

    @Test func aForgedReplyIsRejected() {
        var generator = CookieGenerator(remotePublic: responder)
        let beforeSending = generator.consumeReply(nonce: [UInt8](repeating: 0, count: 24),
                                                   encryptedCookie: [UInt8](repeating: 0, count: 32), now: 0)
        #expect(!beforeSending)
        _ = generator.macs(for: [UInt8](repeating: 1, count: 148), now: 0)
        let forged = generator.consumeReply(nonce: [UInt8](repeating: 0, count: 24),
                                            encryptedCookie: [UInt8](repeating: 0, count: 32), now: 0)
        #expect(!forged)
    }
}
