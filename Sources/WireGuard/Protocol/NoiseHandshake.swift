/// WireGuard's handshake: Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, as in the WireGuard paper
/// §5.4.2–5.4.4. Each step is one line of the paper, annotated with its Noise token.
///
/// Pure functions over explicit state: time (the TAI64N timestamp) and randomness (the
/// ephemeral keys) are passed in, so tests can replay a handshake step by step. The message
/// bytes and their MACs (mac1, mac2) are the caller's: see `MessageAuthenticator`.
public enum NoiseHandshake {
    /// The Noise protocol name (`Construction`).
    public static let construction = Array("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s".utf8)
    /// WireGuard's prologue (`Identifier`).
    public static let identifier = Array("WireGuard v1 zx2c4 Jason@zx2c4.com".utf8)
    /// `C_i = Hash(Construction)`.
    public static let initialChainingKey = NoiseFunctions.hash(construction)
    /// `H_i = Hash(C_i ‖ Identifier)`.
    public static let initialHash = NoiseFunctions.hash(initialChainingKey, identifier)

    // MARK: - Messages (their fields; the wire layer lays them out)

    /// The fields of a handshake initiation that the handshake computes (paper §5.4.2).
    public struct Initiation: Equatable, Sendable {
        /// `I_i`: the initiator's session index.
        public var sender: UInt32
        /// `E^pub_i` (32 bytes).
        public var ephemeral: [UInt8]
        /// `Aead(κ, 0, S^pub_i, H_i)` (48 bytes).
        public var encryptedStatic: [UInt8]
        /// `Aead(κ, 0, Timestamp(), H_i)` (28 bytes).
        public var encryptedTimestamp: [UInt8]

        /// Creates the fields (parsed from the wire, or built by `initiate`).
        public init(sender: UInt32, ephemeral: [UInt8], encryptedStatic: [UInt8],
                    encryptedTimestamp: [UInt8]) {
            self.sender = sender
            self.ephemeral = ephemeral
            self.encryptedStatic = encryptedStatic
            self.encryptedTimestamp = encryptedTimestamp
        }
    }

    /// The fields of a handshake response (paper §5.4.3).
    public struct Response: Equatable, Sendable {
        /// `I_r`: the responder's session index.
        public var sender: UInt32
        /// `I_i`: the index from the initiation.
        public var receiver: UInt32
        /// `E^pub_r` (32 bytes).
        public var ephemeral: [UInt8]
        /// `Aead(κ, 0, ε, H_r)` (16 bytes: the tag alone).
        public var encryptedNothing: [UInt8]

        /// Creates the fields.
        public init(sender: UInt32, receiver: UInt32, ephemeral: [UInt8],
                    encryptedNothing: [UInt8]) {
            self.sender = sender
            self.receiver = receiver
            self.ephemeral = ephemeral
            self.encryptedNothing = encryptedNothing
        }
    }

    /// The transport keys a completed handshake yields (paper §5.4.5).
    public struct SessionKeys: Equatable, Sendable {
        /// `T^send`.
        public var sending: [UInt8]
        /// `T^recv`.
        public var receiving: [UInt8]
        /// Our index: the receiver field of the transport packets we accept.
        public var localIndex: UInt32
        /// The peer's index: the receiver field of the transport packets we send.
        public var remoteIndex: UInt32
        /// Whether we initiated (an initiator may send at once; a responder waits for the
        /// first transport packet before using the session, paper §5.4.6).
        public var isInitiator: Bool
    }

    /// What an initiator keeps between sending its initiation and receiving the response.
    public struct InitiatorState: Sendable {
        var chainingKey: [UInt8]
        var hash: [UInt8]
        var ephemeralPrivate: WireGuardKey
        /// The index sent in the initiation.
        public let localIndex: UInt32
        /// The peer the initiation was for.
        public let remoteStatic: WireGuardKey
    }

    /// What a responder learned from a valid initiation.
    public struct ConsumedInitiation: Sendable {
        /// `S^pub_i`: who initiated (the caller looks the peer up by it).
        public let remoteStatic: WireGuardKey
        /// The decrypted timestamp (the caller rejects one not greater than the last).
        public let timestamp: TAI64N
        /// `I_i`.
        public let remoteIndex: UInt32
        let remoteEphemeral: WireGuardKey
        let chainingKey: [UInt8]
        let hash: [UInt8]
    }

    // MARK: - Initiator

    /// Builds a handshake initiation for `remoteStatic` (paper §5.4.2).
    /// - Returns: `nil` if a DH result is zero (a low-order public key).
    public static func initiate(localPrivate: WireGuardKey, localPublic: WireGuardKey,
                                remoteStatic: WireGuardKey, timestamp: TAI64N,
                                localIndex: UInt32, entropy: EntropySource)
        -> (Initiation, InitiatorState)?
    {
        var c = initialChainingKey
        var h = NoiseFunctions.hash(initialHash, remoteStatic.bytes)  // ← s (pre-message)
        let ephemeral = Curve25519.generatePrivateKey(using: entropy)
        let ephemeralPublic = Curve25519.publicKey(of: ephemeral)
        c = NoiseFunctions.kdf1(key: c, input: ephemeralPublic.bytes)  // e
        h = NoiseFunctions.hash(h, ephemeralPublic.bytes)
        guard let es = Curve25519.sharedSecret(ephemeral, remoteStatic) else { return nil }  // es
        var (c1, key) = NoiseFunctions.kdf2(key: c, input: es)
        c = c1
        let encryptedStatic = AEAD.seal(key: key, counter: 0, plaintext: localPublic.bytes,
                                        authenticating: h)  // s
        h = NoiseFunctions.hash(h, encryptedStatic)
        guard let ss = Curve25519.sharedSecret(localPrivate, remoteStatic) else { return nil }  // ss
        (c1, key) = NoiseFunctions.kdf2(key: c, input: ss)
        c = c1
        let encryptedTimestamp = AEAD.seal(key: key, counter: 0, plaintext: timestamp.bytes,
                                           authenticating: h)
        h = NoiseFunctions.hash(h, encryptedTimestamp)
        let message = Initiation(sender: localIndex, ephemeral: ephemeralPublic.bytes,
                                 encryptedStatic: encryptedStatic,
                                 encryptedTimestamp: encryptedTimestamp)
        let state = InitiatorState(chainingKey: c, hash: h, ephemeralPrivate: ephemeral,
                                   localIndex: localIndex, remoteStatic: remoteStatic)
        return (message, state)
    }

    /// Completes the handshake with the peer's response (paper §5.4.3, initiator side).
    /// - Returns: `nil` if the response does not authenticate (wrong peer, key or psk).
    public static func consumeResponse(_ message: Response, state: InitiatorState,
                                       localPrivate: WireGuardKey,
                                       presharedKey: WireGuardKey) -> SessionKeys? {
        guard message.receiver == state.localIndex,
              let remoteEphemeral = WireGuardKey(bytes: message.ephemeral) else { return nil }
        var c = NoiseFunctions.kdf1(key: state.chainingKey, input: message.ephemeral)  // e
        var h = NoiseFunctions.hash(state.hash, message.ephemeral)
        guard let ee = Curve25519.sharedSecret(state.ephemeralPrivate, remoteEphemeral),
              let se = Curve25519.sharedSecret(localPrivate, remoteEphemeral) else { return nil }
        c = NoiseFunctions.kdf1(key: c, input: ee)  // ee
        c = NoiseFunctions.kdf1(key: c, input: se)  // se
        let (c3, tau, key) = NoiseFunctions.kdf3(key: c, input: presharedKey.bytes)  // psk
        c = c3
        h = NoiseFunctions.hash(h, tau)
        guard AEAD.open(key: key, counter: 0, ciphertext: message.encryptedNothing,
                        authenticating: h) != nil else { return nil }
        let (send, receive) = NoiseFunctions.kdf2(key: c, input: [])
        return SessionKeys(sending: send, receiving: receive, localIndex: state.localIndex,
                           remoteIndex: message.sender, isInitiator: true)
    }

    // MARK: - Responder

    /// Decrypts an initiation addressed to us (paper §5.4.2, responder side).
    /// - Returns: `nil` if it is not for our static key or does not authenticate.
    public static func consumeInitiation(_ message: Initiation, localPrivate: WireGuardKey,
                                         localPublic: WireGuardKey) -> ConsumedInitiation? {
        guard let remoteEphemeral = WireGuardKey(bytes: message.ephemeral) else { return nil }
        var c = initialChainingKey
        var h = NoiseFunctions.hash(initialHash, localPublic.bytes)  // ← s
        c = NoiseFunctions.kdf1(key: c, input: message.ephemeral)  // e
        h = NoiseFunctions.hash(h, message.ephemeral)
        guard let es = Curve25519.sharedSecret(localPrivate, remoteEphemeral) else { return nil }
        var (c1, key) = NoiseFunctions.kdf2(key: c, input: es)  // es
        c = c1
        guard let staticBytes = AEAD.open(key: key, counter: 0, ciphertext: message.encryptedStatic,
                                          authenticating: h),
              let remoteStatic = WireGuardKey(bytes: staticBytes) else { return nil }  // s
        h = NoiseFunctions.hash(h, message.encryptedStatic)
        guard let ss = Curve25519.sharedSecret(localPrivate, remoteStatic) else { return nil }
        (c1, key) = NoiseFunctions.kdf2(key: c, input: ss)  // ss
        c = c1
        guard let stamp = AEAD.open(key: key, counter: 0, ciphertext: message.encryptedTimestamp,
                                    authenticating: h),
              let timestamp = TAI64N(bytes: stamp) else { return nil }
        h = NoiseFunctions.hash(h, message.encryptedTimestamp)
        return ConsumedInitiation(remoteStatic: remoteStatic, timestamp: timestamp,
                                  remoteIndex: message.sender, remoteEphemeral: remoteEphemeral,
                                  chainingKey: c, hash: h)
    }

    /// Answers a consumed initiation (paper §5.4.3, responder side).
    /// - Returns: `nil` if a DH result is zero.
    public static func respond(to initiation: ConsumedInitiation, presharedKey: WireGuardKey,
                               localIndex: UInt32, entropy: EntropySource)
        -> (Response, SessionKeys)?
    {
        let ephemeral = Curve25519.generatePrivateKey(using: entropy)
        let ephemeralPublic = Curve25519.publicKey(of: ephemeral)
        var c = NoiseFunctions.kdf1(key: initiation.chainingKey, input: ephemeralPublic.bytes)  // e
        var h = NoiseFunctions.hash(initiation.hash, ephemeralPublic.bytes)
        guard let ee = Curve25519.sharedSecret(ephemeral, initiation.remoteEphemeral),
              let se = Curve25519.sharedSecret(ephemeral, initiation.remoteStatic) else {
            return nil
        }
        c = NoiseFunctions.kdf1(key: c, input: ee)  // ee
        c = NoiseFunctions.kdf1(key: c, input: se)  // se
        let (c3, tau, key) = NoiseFunctions.kdf3(key: c, input: presharedKey.bytes)  // psk
        c = c3
        h = NoiseFunctions.hash(h, tau)
        let encryptedNothing = AEAD.seal(key: key, counter: 0, plaintext: [], authenticating: h)
        // The initiator's first output is its sending key: our receiving key.
        let (receive, send) = NoiseFunctions.kdf2(key: c, input: [])
        let response = Response(sender: localIndex, receiver: initiation.remoteIndex,
                                ephemeral: ephemeralPublic.bytes,
                                encryptedNothing: encryptedNothing)
        let keys = SessionKeys(sending: send, receiving: receive, localIndex: localIndex,
                               remoteIndex: initiation.remoteIndex, isInitiator: false)
        return (response, keys)
    }
}
