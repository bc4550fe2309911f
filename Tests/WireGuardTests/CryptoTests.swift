import Testing
@testable import WireGuard

/// Hex helpers for vectors.
func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
func bytes(hex text: String) -> [UInt8] {
    var out: [UInt8] = []
    var chars = Array(text.utf8)[...]
    while chars.count >= 2 {
        out.append(UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16)!)
        chars = chars.dropFirst(2)
    }
    return out
}

/// A deterministic entropy source for replayable handshakes.
final class SeededEntropy: EntropySource {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        for i in 0..<buffer.count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            buffer[i] = UInt8(truncatingIfNeeded: z ^ (z >> 31))
        }
    }
}

/// BLAKE2s against RFC 7693 and Python's hashlib; the Noise functions against HMAC/HKDF
/// computed independently (Python's hmac over hashlib.blake2s).
@Suite struct CryptoTests {
    @Test func blake2sRFC7693AppendixB() {
        #expect(hex(BLAKE2s.hash(Array("abc".utf8)))
                == "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982")
    }

    /// RFC 7693 Appendix E: the self-test over digest lengths, input lengths and keys.
    @Test func blake2sRFC7693SelfTest() {
        func sequence(_ count: Int, seed: UInt32) -> [UInt8] {
            var a = 0xDEAD_4BAD &* seed, b: UInt32 = 1
            return (0..<count).map { _ in
                let t = a &+ b
                a = b
                b = t
                return UInt8(t >> 24)
            }
        }
        var grand = BLAKE2s()
        for outputLength in [16, 20, 28, 32] {
            for inputLength in [0, 3, 64, 65, 255, 1024] {
                let input = sequence(inputLength, seed: UInt32(inputLength))
                grand.update(BLAKE2s.hash(input, outputLength: outputLength))
                let key = sequence(outputLength, seed: UInt32(outputLength))
                grand.update(BLAKE2s.hash(input, outputLength: outputLength, key: key))
            }
        }
        #expect(hex(grand.finalize())
                == "6a411f08ce25adcdfb02aba641451cec53c598b24f4fc787fbdc88797f4c1dfe")
    }

    @Test func blake2sStreamingMatchesOneShot() {
        let input = (0..<200).map { UInt8($0) }
        #expect(hex(BLAKE2s.hash(input))
                == "6d244e1a06ce4ef578dd0f63aff0936706735119ca9c8d22d86c801414ab9741")
        for split in [0, 1, 63, 64, 65, 128, 199, 200] {
            var state = BLAKE2s()
            state.update(input.prefix(split))
            state.update(input.dropFirst(split))
            #expect(hex(state.finalize()) == hex(BLAKE2s.hash(input)), "split \(split)")
        }
        #expect(hex(BLAKE2s.hash([], outputLength: 16, key: [UInt8](repeating: 0x6b, count: 32)))
                == "9881f5423279891d5742261a168c1aa2")
    }

    @Test func noiseFunctions() {
        let key = (0..<32).map { UInt8($0) }
        let input = Array("WireGuard".utf8)
        #expect(hex(NoiseFunctions.hmac(key: key, input))
                == "5415924543576b3f5ee867c94e1aab70586d33b32fae3fccd2c635b3e1d7198d")
        let (t1, t2, t3) = NoiseFunctions.kdf3(key: key, input: input)
        #expect(hex(t1) == "7e615ce2573f4139b960d562ec463daf7164bd86a0a64c0adc374ff2655769f3")
        #expect(hex(t2) == "42dbbd4438e101cd2c2ea8d05ed6716bf87489aea47ece2f06358835670130bf")
        #expect(hex(t3) == "5c58c1d9808a5bfdf8f38f6487248985c04f4b6d0fe427516935a0f6903b0157")
        #expect(hex(NoiseFunctions.mac(key: key, input)) == "c44bc1a201f2ff374d10eda15244ad8a")
        // wireguard-go's precomputed initial chaining key and hash.
        #expect(hex(NoiseHandshake.initialChainingKey)
                == "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36")
        #expect(hex(NoiseHandshake.initialHash)
                == "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3")
    }

    /// RFC 7748 §6.1's Diffie-Hellman example, and `wg pubkey` on a known key.
    @Test func curve25519() throws {
        let alice = try #require(WireGuardKey(bytes: bytes(hex: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")))
        let bob = try #require(WireGuardKey(bytes: bytes(hex: "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")))
        #expect(Curve25519.publicKey(of: alice).hex == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        #expect(Curve25519.publicKey(of: bob).hex == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        let shared = Curve25519.sharedSecret(alice, Curve25519.publicKey(of: bob))
        #expect(shared.map(hex) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
        #expect(Curve25519.sharedSecret(alice, .zero) == nil)  // low-order point
        let generated = Curve25519.generatePrivateKey(using: SeededEntropy(seed: 1))
        #expect(generated.bytes[0] & 7 == 0 && generated.bytes[31] & 0xc0 == 0x40)
    }

    /// Seal/open round trips, tamper detection, and the in-place (transport) form agreeing
    /// with the copying one — including counters above 2^32, where the nonce layout matters.
    @Test func aeadRoundTripsAndDetectsTampering() {
        let key = (0..<32).map { UInt8($0 * 7 & 0xff) }
        let plaintext = Array("a transport packet".utf8)
        let aad = Array("hash".utf8)
        let sealed = AEAD.seal(key: key, counter: 42, plaintext: plaintext, authenticating: aad)
        #expect(sealed.count == plaintext.count + 16)
        #expect(AEAD.open(key: key, counter: 42, ciphertext: sealed, authenticating: aad) == plaintext)
        #expect(AEAD.open(key: key, counter: 43, ciphertext: sealed, authenticating: aad) == nil)
        #expect(AEAD.open(key: key, counter: 42, ciphertext: sealed, authenticating: []) == nil)
        var tampered = sealed
        tampered[3] ^= 1
        #expect(AEAD.open(key: key, counter: 42, ciphertext: tampered, authenticating: aad) == nil)

        let counter: UInt64 = 0x1_0000_0007
        let unauthenticated = AEAD.seal(key: key, counter: counter, plaintext: plaintext, authenticating: [])
        var buffer = plaintext + [UInt8](repeating: 0, count: 16)
        key.withUnsafeBytes { k in
            buffer.withUnsafeMutableBytes { AEAD.sealInPlace(key: k, counter: counter, buffer: $0, plaintextLength: plaintext.count) }
        }
        #expect(buffer == unauthenticated)
        let length = key.withUnsafeBytes { k in
            buffer.withUnsafeMutableBytes { AEAD.openInPlace(key: k, counter: counter, buffer: $0) }
        }
        #expect(length == plaintext.count)
        #expect(Array(buffer.prefix(plaintext.count)) == plaintext)

        let nonce = [UInt8](repeating: 9, count: 24)
        let x = AEAD.xseal(key: key, nonce: nonce, plaintext: plaintext, authenticating: aad)
        #expect(AEAD.xopen(key: key, nonce: nonce, ciphertext: x, authenticating: aad) == plaintext)
        #expect(AEAD.xopen(key: key, nonce: [UInt8](repeating: 8, count: 24), ciphertext: x, authenticating: aad) == nil)
    }

    @Test func tai64n() {
        let a = TAI64N(unixSeconds: 1_700_000_000, nanoseconds: 999_999_999)
        #expect(hex(a.bytes) == "400000006553f10a" + "3b000000")  // ns rounded down (whitened)
        let b = TAI64N(unixSeconds: 1_700_000_001, nanoseconds: 0)
        #expect(a < b)
        #expect(TAI64N.zero < a)
        #expect(TAI64N(bytes: [1, 2]) == nil)
    }
}
