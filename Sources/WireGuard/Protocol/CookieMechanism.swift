import Wire

/// mac1, mac2 and cookie replies (WireGuard paper §5.4.4 and §5.4.7): DoS mitigation.
///
/// Every handshake message carries `mac1 = Mac(Hash(Label-Mac1 ‖ S^pub_receiver), msg_α)`, so
/// a responder can drop messages not meant for it before any DH. Under load it also demands
/// `mac2 = Mac(cookie, msg_β)`, where the cookie is `Mac(R_m, source address)` for a secret
/// `R_m` that changes every two minutes; a sender without one gets a cookie reply instead of
/// a handshake, which proves it owns its source address.
public enum CookieMechanism {
    /// `Label-Mac1`.
    public static let mac1Label = Array("mac1----".utf8)
    /// `Label-Cookie`.
    public static let cookieLabel = Array("cookie--".utf8)
    /// How long a cookie (and the responder's secret) lives: COOKIE_REFRESH_TIME.
    public static let refreshNanoseconds: UInt64 = 120 * 1_000_000_000

    /// The key for mac1 of messages sent to `receiver`.
    public static func mac1Key(for receiver: WireGuardKey) -> [UInt8] {
        NoiseFunctions.hash(mac1Label, receiver.bytes)
    }

    /// The key that encrypts cookies in replies from `sender`.
    public static func cookieKey(for sender: WireGuardKey) -> [UInt8] {
        NoiseFunctions.hash(cookieLabel, sender.bytes)
    }

    /// `Mac(key, msg_α)`: `messageBeforeMac1` is the message up to its mac1 field.
    public static func mac1(key: [UInt8], messageBeforeMac1: [UInt8]) -> [UInt8] {
        NoiseFunctions.mac(key: key, messageBeforeMac1)
    }

    /// `Mac(cookie, msg_β)`: `messageBeforeMac2` is the message up to its mac2 field.
    public static func mac2(cookie: [UInt8], messageBeforeMac2: [UInt8]) -> [UInt8] {
        NoiseFunctions.mac(key: cookie, messageBeforeMac2)
    }
}

/// The responder's side: checks mac1 and mac2 of incoming handshake messages and makes
/// cookie replies. Time and randomness are passed in.
public struct CookieChecker {
    private let mac1Key: [UInt8]
    private let cookieKey: [UInt8]
    private var secret: [UInt8] = []
    private var secretCreated: UInt64 = 0

    /// Checks messages sent to the device whose static public key is `localPublic`.
    public init(localPublic: WireGuardKey) {
        mac1Key = CookieMechanism.mac1Key(for: localPublic)
        cookieKey = CookieMechanism.cookieKey(for: localPublic)
    }

    /// Whether `mac1` is right for this message (constant-time comparison).
    public func isValidMac1(messageBeforeMac1: [UInt8], mac1: [UInt8]) -> Bool {
        constantTimeEqual(CookieMechanism.mac1(key: mac1Key, messageBeforeMac1: messageBeforeMac1), mac1)
    }

    /// Whether `mac2` proves the sender holds a current cookie for `source` (its IP address
    /// and port bytes, as wireguard-go forms them).
    public mutating func isValidMac2(messageBeforeMac2: [UInt8], mac2: [UInt8], source: [UInt8],
                                     now: UInt64, entropy: EntropySource) -> Bool {
        let cookie = currentCookie(for: source, now: now, entropy: entropy)
        return constantTimeEqual(CookieMechanism.mac2(cookie: cookie, messageBeforeMac2: messageBeforeMac2), mac2)
    }

    /// A cookie reply's fields for a message with `mac1` from `source` (paper §5.4.7):
    /// a random 24-byte nonce and `Xaead(cookieKey, nonce, cookie, mac1)`.
    public mutating func makeReply(mac1: [UInt8], source: [UInt8], now: UInt64,
                                   entropy: EntropySource) -> (nonce: [UInt8], encryptedCookie: [UInt8]) {
        let cookie = currentCookie(for: source, now: now, entropy: entropy)
        var nonce = [UInt8](repeating: 0, count: 24)
        nonce.withUnsafeMutableBytes { entropy.fill($0) }
        return (nonce, AEAD.xseal(key: cookieKey, nonce: nonce, plaintext: cookie, authenticating: mac1))
    }

    /// `Mac(R_m, A_m)`, with `R_m` renewed every COOKIE_REFRESH_TIME.
    private mutating func currentCookie(for source: [UInt8], now: UInt64,
                                        entropy: EntropySource) -> [UInt8] {
        if secret.isEmpty || now &- secretCreated >= CookieMechanism.refreshNanoseconds {
            secret = [UInt8](repeating: 0, count: 32)
            secret.withUnsafeMutableBytes { entropy.fill($0) }
            secretCreated = now
        }
        return NoiseFunctions.mac(key: secret, source)
    }
}

/// The initiator's side: stamps mac1 and mac2 on outgoing handshake messages and keeps the
/// cookie from the peer's last cookie reply.
public struct CookieGenerator {
    private let mac1Key: [UInt8]
    private let cookieKey: [UInt8]
    private var cookie: [UInt8] = []
    private var cookieReceived: UInt64 = 0
    /// The mac1 of the last message sent: a cookie reply must authenticate it.
    public private(set) var lastMac1: [UInt8] = []

    /// Stamps messages sent to the peer whose static public key is `remotePublic`.
    public init(remotePublic: WireGuardKey) {
        mac1Key = CookieMechanism.mac1Key(for: remotePublic)
        cookieKey = CookieMechanism.cookieKey(for: remotePublic)
    }

    /// mac1 and mac2 for a message (mac2 all zeros without a fresh cookie).
    /// - Parameter message: the whole message with zeroed mac fields (its last 32 bytes).
    public mutating func macs(for message: [UInt8], now: UInt64) -> (mac1: [UInt8], mac2: [UInt8]) {
        let before = HandshakeMacRegions(message)?.beforeMac1 ?? []
        let mac1 = CookieMechanism.mac1(key: mac1Key, messageBeforeMac1: before)
        lastMac1 = mac1
        guard !cookie.isEmpty, now &- cookieReceived < CookieMechanism.refreshNanoseconds else {
            return (mac1, [UInt8](repeating: 0, count: 16))
        }
        // msg_β: everything before mac2, with mac1 in place.
        let mac2 = CookieMechanism.mac2(cookie: cookie,
                                        messageBeforeMac2: before + mac1)
        return (mac1, mac2)
    }

    /// Takes the cookie from a cookie reply; `false` if it does not decrypt against the mac1
    /// we last sent (a forged or stale reply).
    public mutating func consumeReply(nonce: [UInt8], encryptedCookie: [UInt8], now: UInt64) -> Bool {
        guard !lastMac1.isEmpty,
              let opened = AEAD.xopen(key: cookieKey, nonce: nonce, ciphertext: encryptedCookie,
                                      authenticating: lastMac1), opened.count == 16 else { return false }
        cookie = opened
        cookieReceived = now
        return true
    }
}

/// Compares two byte strings in time that depends only on their lengths.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in a.indices { difference |= a[i] ^ b[i] }
    return difference == 0
}
