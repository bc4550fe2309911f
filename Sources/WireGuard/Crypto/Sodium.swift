import CSodium

/// libsodium's one-time initialisation (`sodium_init`), safe to call from anywhere.
enum Sodium {
    static let ready: Bool = sodium_init() >= 0
}

/// X25519 (RFC 7748) from libsodium: WireGuard's DH.
public enum Curve25519 {
    /// A new private key from `entropy`, clamped as RFC 7748 §5 and `wg genkey` do.
    public static func generatePrivateKey(using entropy: EntropySource) -> WireGuardKey {
        var bytes = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeMutableBytes { entropy.fill($0) }
        bytes[0] &= 248
        bytes[31] = (bytes[31] & 127) | 64
        return WireGuardKey(bytes: bytes)!
    }

    /// The public key of `privateKey` (`wg pubkey`).
    public static func publicKey(of privateKey: WireGuardKey) -> WireGuardKey {
        precondition(Sodium.ready)
        var output = [UInt8](repeating: 0, count: 32)
        _ = crypto_scalarmult_curve25519_base(&output, privateKey.bytes)
        return WireGuardKey(bytes: output)!
    }

    /// `DH(private, public)`; `nil` when the result is all zeros (a low-order point), which
    /// WireGuard must reject.
    public static func sharedSecret(_ privateKey: WireGuardKey,
                                    _ publicKey: WireGuardKey) -> [UInt8]? {
        precondition(Sodium.ready)
        var output = [UInt8](repeating: 0, count: 32)
        let rc = crypto_scalarmult_curve25519(&output, privateKey.bytes, publicKey.bytes)
        return rc == 0 ? output : nil
    }
}

/// ChaCha20-Poly1305 (RFC 8439, IETF variant) and XChaCha20-Poly1305 from libsodium, as
/// WireGuard uses them (paper §5.4: the nonce is 32 zero bits then a 64-bit little-endian
/// counter).
public enum AEAD {
    /// The Poly1305 tag length.
    public static let tagLength = 16

    /// `Aead(key, counter, plaintext, authtext)`.
    public static func seal(key: [UInt8], counter: UInt64, plaintext: [UInt8],
                            authenticating aad: [UInt8]) -> [UInt8] {
        precondition(Sodium.ready && key.count == 32)
        var output = [UInt8](repeating: 0, count: plaintext.count + tagLength)
        var length: UInt64 = 0
        let nonce = counterNonce(counter)
        _ = crypto_aead_chacha20poly1305_ietf_encrypt(
            &output, &length, plaintext, UInt64(plaintext.count), aad, UInt64(aad.count), nil,
            nonce, key)
        return output
    }

    /// Opens what `seal` made; `nil` if the tag does not verify.
    public static func open(key: [UInt8], counter: UInt64, ciphertext: [UInt8],
                            authenticating aad: [UInt8]) -> [UInt8]? {
        precondition(Sodium.ready && key.count == 32)
        guard ciphertext.count >= tagLength else { return nil }
        var output = [UInt8](repeating: 0, count: ciphertext.count - tagLength)
        var length: UInt64 = 0
        let nonce = counterNonce(counter)
        let rc = crypto_aead_chacha20poly1305_ietf_decrypt(
            &output, &length, nil, ciphertext, UInt64(ciphertext.count), aad, UInt64(aad.count),
            nonce, key)
        return rc == 0 ? output : nil
    }

    /// Encrypts `buffer[0..<plaintextLength]` in place and writes the tag after it, without
    /// allocating: the transport data path. `buffer` needs 16 bytes of room past the plaintext.
    public static func sealInPlace(key: UnsafeRawBufferPointer, counter: UInt64,
                                   buffer: UnsafeMutableRawBufferPointer, plaintextLength: Int) {
        precondition(key.count == 32 && buffer.count >= plaintextLength + tagLength)
        var nonce = counterNonceWords(counter)
        let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        withUnsafeBytes(of: &nonce) { nonceBytes in
            _ = crypto_aead_chacha20poly1305_ietf_encrypt_detached(
                base, base + plaintextLength, nil, base, UInt64(plaintextLength), nil, 0, nil,
                nonceBytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                key.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Decrypts `buffer` (ciphertext then tag) in place; returns the plaintext length, or
    /// `nil` if the tag does not verify (the buffer is then left unspecified).
    public static func openInPlace(key: UnsafeRawBufferPointer, counter: UInt64,
                                   buffer: UnsafeMutableRawBufferPointer) -> Int? {
        precondition(key.count == 32)
        guard buffer.count >= tagLength else { return nil }
        let length = buffer.count - tagLength
        var nonce = counterNonceWords(counter)
        let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let rc = withUnsafeBytes(of: &nonce) { nonceBytes in
            crypto_aead_chacha20poly1305_ietf_decrypt_detached(
                base, nil, base, UInt64(length), base + length, nil, 0,
                nonceBytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                key.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return rc == 0 ? length : nil
    }

    /// Decrypts `ciphertext` (ciphertext then tag) into `output` (at least the plaintext's
    /// length); returns the plaintext length, or `nil` if the tag does not verify. The receive
    /// path: one buffer for the packet, nothing else.
    public static func open(key: UnsafeRawBufferPointer, counter: UInt64, ciphertext: UnsafeRawBufferPointer,
                            into output: UnsafeMutableRawBufferPointer) -> Int? {
        precondition(key.count == 32)
        guard ciphertext.count >= tagLength, output.count >= ciphertext.count - tagLength else { return nil }
        let length = ciphertext.count - tagLength
        var nonce = counterNonceWords(counter)
        let source = ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let rc = withUnsafeBytes(of: &nonce) { nonceBytes in
            crypto_aead_chacha20poly1305_ietf_decrypt_detached(
                output.baseAddress!.assumingMemoryBound(to: UInt8.self), nil, source, UInt64(length),
                source + length, nil, 0, nonceBytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                key.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return rc == 0 ? length : nil
    }

    /// `Xaead(key, nonce, plaintext, authtext)`: XChaCha20-Poly1305 (cookie replies).
    public static func xseal(key: [UInt8], nonce: [UInt8], plaintext: [UInt8],
                             authenticating aad: [UInt8]) -> [UInt8] {
        precondition(Sodium.ready && key.count == 32 && nonce.count == 24)
        var output = [UInt8](repeating: 0, count: plaintext.count + tagLength)
        var length: UInt64 = 0
        _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
            &output, &length, plaintext, UInt64(plaintext.count), aad, UInt64(aad.count), nil,
            nonce, key)
        return output
    }

    /// Opens what `xseal` made; `nil` if the tag does not verify.
    public static func xopen(key: [UInt8], nonce: [UInt8], ciphertext: [UInt8],
                             authenticating aad: [UInt8]) -> [UInt8]? {
        precondition(Sodium.ready && key.count == 32 && nonce.count == 24)
        guard ciphertext.count >= tagLength else { return nil }
        var output = [UInt8](repeating: 0, count: ciphertext.count - tagLength)
        var length: UInt64 = 0
        let rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
            &output, &length, nil, ciphertext, UInt64(ciphertext.count), aad, UInt64(aad.count),
            nonce, key)
        return rc == 0 ? output : nil
    }

    /// The same nonce as three 32-bit words, laid out without padding, for the in-place path
    /// (no allocation).
    @inline(__always)
    static func counterNonceWords(_ counter: UInt64) -> (UInt32, UInt32, UInt32) {
        (0, UInt32(truncatingIfNeeded: counter).littleEndian,
         UInt32(truncatingIfNeeded: counter >> 32).littleEndian)
    }

    /// 32 zero bits, then the counter little-endian (paper §5.4).
    static func counterNonce(_ counter: UInt64) -> [UInt8] {
        [0, 0, 0, 0] + (0..<8).map { UInt8(truncatingIfNeeded: counter >> (8 * UInt64($0))) }
    }
}

/// Where randomness comes from: passed in, so that handshakes and key generation can be
/// replayed step by step in tests.
public protocol EntropySource: AnyObject {
    /// Fills `buffer` with random bytes.
    func fill(_ buffer: UnsafeMutableRawBufferPointer)
}

/// The system's randomness (libsodium's `randombytes_buf`: getrandom(2)).
public final class SystemEntropy: EntropySource {
    /// Creates the source.
    public init() { precondition(Sodium.ready) }

    public func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        randombytes_buf(base, buffer.count)
    }
}
