/// The functions of WireGuard's Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s construction, named as
/// in the WireGuard paper §5.4 ("Hash", "Mac", "Hmac", "Kdf_n").
public enum NoiseFunctions {
    /// `Hash(input)`: BLAKE2s-256 of the concatenation of `parts`.
    public static func hash(_ parts: [UInt8]...) -> [UInt8] {
        var state = BLAKE2s()
        for part in parts { state.update(part) }
        return state.finalize()
    }

    /// `Mac(key, input)`: keyed BLAKE2s with a 16-byte digest (mac1, mac2, cookies).
    public static func mac(key: [UInt8], _ parts: [UInt8]...) -> [UInt8] {
        var state = BLAKE2s(outputLength: 16, key: key)
        for part in parts { state.update(part) }
        return state.finalize()
    }

    /// `Hmac(key, input)`: HMAC (RFC 2104) over BLAKE2s-256, 64-byte blocks.
    public static func hmac(key: [UInt8], _ parts: [UInt8]...) -> [UInt8] {
        var block = key.count > BLAKE2s.blockSize ? hash(key) : key
        block += [UInt8](repeating: 0, count: BLAKE2s.blockSize - block.count)
        var inner = BLAKE2s()
        inner.update(block.map { $0 ^ 0x36 })
        for part in parts { inner.update(part) }
        let innerDigest = inner.finalize()
        var outer = BLAKE2s()
        outer.update(block.map { $0 ^ 0x5c })
        outer.update(innerDigest)
        return outer.finalize()
    }

    /// `Kdf_n(key, input)`: HKDF (RFC 5869) with HMAC-BLAKE2s; returns `count` 32-byte
    /// outputs: τ0 = Hmac(key, input), τ1 = Hmac(τ0, 0x1), τi = Hmac(τ0, τi-1 ‖ i).
    public static func kdf(_ count: Int, key: [UInt8], input: [UInt8]) -> [[UInt8]] {
        precondition((1...3).contains(count))
        let secret = hmac(key: key, input)
        var outputs: [[UInt8]] = []
        var previous: [UInt8] = []
        for i in 1...count {
            previous = hmac(key: secret, previous, [UInt8(i)])
            outputs.append(previous)
        }
        return outputs
    }

    /// `Kdf_1`.
    public static func kdf1(key: [UInt8], input: [UInt8]) -> [UInt8] {
        kdf(1, key: key, input: input)[0]
    }

    /// `Kdf_2`.
    public static func kdf2(key: [UInt8], input: [UInt8]) -> ([UInt8], [UInt8]) {
        let out = kdf(2, key: key, input: input)
        return (out[0], out[1])
    }

    /// `Kdf_3`.
    public static func kdf3(key: [UInt8], input: [UInt8]) -> ([UInt8], [UInt8], [UInt8]) {
        let out = kdf(3, key: key, input: input)
        return (out[0], out[1], out[2])
    }
}
