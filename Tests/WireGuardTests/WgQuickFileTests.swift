import Testing
import Wire
@testable import WireGuard

/// wg-quick files: what DN42 operators write, and errors that name file, line and key.
@Suite struct WgQuickFileTests {
    let key = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
    let peerKey = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="

    @Test func aDN42StyleFile() throws {
        let text = """
            # DN42 peering with AS4242420002
            [Interface]
            PrivateKey = \(key)
            ListenPort = 51820
            Address = 172.20.1.1/32 peer 172.20.1.2/32
            Address = fe80::1/64, fd42:4242:1::1/128
            MTU = 1420
            Table = off
            PostUp = ip -6 addr add fe80::abcd/64 dev %i
            PostUp = iptables -A FORWARD -i %i -j ACCEPT

            [Peer]
            PublicKey = \(peerKey)
            Endpoint = [2001:db8::1]:51820
            AllowedIPs = 172.20.0.0/14, fd00::/8, fe80::/64
            PersistentKeepalive = 25
            """
        let file = try WgQuickFile.parse(text, file: "/etc/wireguard/wg-dn42.conf")
        #expect(file.name == "wg-dn42")
        #expect(file.listenPort == 51820)
        #expect(file.addresses.map(\.description)
                == ["172.20.1.1/32 peer 172.20.1.2/32", "fe80::1/64", "fd42:4242:1::1/128", "fe80::abcd/64"])
        #expect(file.peers.count == 1)
        #expect(file.peers[0].endpoint?.description == "[2001:db8::1]:51820")
        #expect(file.peers[0].allowedIPs.count == 3)
        #expect(file.peers[0].persistentKeepalive == 25)
        #expect(file.routeTable == nil) // Table = off: routes come from elsewhere (BIRD)
        #expect(file.warnings.count == 2)
        #expect(file.warnings.contains { $0.contains(":10: PostUp: ignored") })
    }

    @Test func errorsNameFileLineAndKey() {
        func error(_ body: String, file: String = "wg0.conf") -> String? {
            do { _ = try WgQuickFile.parse(body, file: file); return nil } catch { return "\(error)" }
        }
        #expect(error("[Interface]\nPrivateKey = \(key)\n\n[Peer]\nPublicKey = nope\n")
                == "wg0.conf:5: PublicKey: not a valid key (expected 44 characters of base64)")
        #expect(error("[Interface]\nListenPort = 1\n") == "wg0.conf:1: PrivateKey: missing from [Interface]")
        #expect(error("[Interface]\nPrivateKey = \(key)\n[Peer]\nEndpoint = 1.2.3.4:5\n")
                == "wg0.conf:3: PublicKey: missing from [Peer]")
        #expect(error("[Interface]\nPrivateKey = \(key)\nListenPort = 70000\n")
                == "wg0.conf:3: ListenPort: not a port number (0–65535)")
        #expect(error("[Interface]\nPrivateKey = \(key)\nAddres = 10.0.0.1\n")
                == "wg0.conf:3: Addres: unknown key in [Interface]")
        #expect(error("[Interface]\nPrivateKey = \(key)\n[Peer]\nPublicKey = \(peerKey)\nEndpoint = 2001:db8::1:51820\n")
                == "wg0.conf:5: Endpoint: expected HOST:PORT (IPv6 in brackets)")
        #expect(error("[Interface]\nPrivateKey = \(key)\n[Peer]\nPublicKey = \(peerKey)\nAllowedIPs = 10.0.0.0/33\n")
                == "wg0.conf:5: AllowedIPs: \"10.0.0.0/33\" is not an address or prefix")
        #expect(error("[Interface]\nPrivateKey = \(key)\nTable = fast\n")
                == "wg0.conf:3: Table: not a table (off, auto, main or a number)")
        #expect(error("[Interfaces]\n") == "wg0.conf:1: unknown section [Interfaces] (expected [Interface] or [Peer])")
        #expect(error("PrivateKey = \(key)\n") == "wg0.conf:1: PrivateKey: outside any section")
        #expect(error("[Interface]\nPrivateKey = \(key)\n", file: "a-name-that-is-far-too-long.conf")?
                .contains("must be 1–15 characters") == true)
    }

    @Test func endpointsResolve() throws {
        #expect(try WgQuickFile.EndpointSpec(host: "192.0.2.7", port: 1).resolve()
                == Endpoint(address: IPAddress("192.0.2.7")!, port: 1))
        #expect(try WgQuickFile.EndpointSpec(host: "localhost", port: 9).resolve().port == 9)
    }

    @Test func parsingIsTotal() {
        var state: UInt64 = 42
        let alphabet = Array("[]=#,:/ \n.peerPublicKeyAddressEndpoint0123456789abcdef+-".utf8)
        for round in 0..<100_000 {
            let length = round % 80
            let bytes = (0..<length).map { _ -> UInt8 in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let r = Int(truncatingIfNeeded: state >> 33)
                return round % 2 == 0 ? UInt8(truncatingIfNeeded: r) : alphabet[abs(r) % alphabet.count]
            }
            _ = try? WgQuickFile.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz.conf")
        }
    }
}
