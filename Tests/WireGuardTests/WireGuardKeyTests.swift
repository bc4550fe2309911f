import Testing
import WireGuard

/// Key text forms, checked against a key pair `wg genkey`/`wg pubkey` printed.
@Suite struct WireGuardKeyTests {
    @Test func base64AndHexRoundTrip() throws {
        let key = try #require(WireGuardKey(base64: "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="))
        #expect(key.base64 == "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=")
        #expect(key.hex == "c809f3e5317e9575c9b5ed78b638b7ce530dabe85ddab614220241801ddf0669")
        #expect(WireGuardKey(hex: key.hex) == key)
        #expect(WireGuardKey(hex: key.hex.uppercased()) == key)
    }

    @Test func malformedKeysAreRejected() {
        #expect(WireGuardKey(base64: "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBm=") == nil)
        #expect(WireGuardKey(base64: "") == nil)
        #expect(WireGuardKey(base64: String(repeating: "A", count: 44)) == nil)
        #expect(WireGuardKey(hex: String(repeating: "g", count: 64)) == nil)
        #expect(WireGuardKey(hex: "00") == nil)
        #expect(WireGuardKey(bytes: [1, 2, 3]) == nil)
    }
}
