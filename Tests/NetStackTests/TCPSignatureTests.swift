import Testing
import Wire
@testable import NetStack

@Suite struct TCPSignatureTests {
    /// RFC 1321 §A.5's test suite.
    @Test(arguments: [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
        (String(repeating: "1234567890", count: 8), "57edf4a22be3c955ac49da2e2107b67a"),
    ])
    func md5TestSuite(input: String, expected: String) {
        var md5 = MD5()
        md5.update(Array(input.utf8))
        #expect(md5.finalize().map { String(format2: $0) }.joined() == expected)
    }

    @Test func signedSegmentsVerifyOnlyWithTheKey() {
        let source = IPAddress("10.0.0.1")!, destination = IPAddress("10.0.0.2")!
        var header = TCPRepr(sourcePort: 179, destinationPort: 40000, sequenceNumber: 1, acknowledgmentNumber: 2,
                             flags: [.ack], window: 100)
        header.options.md5Signature = .zero
        var bytes = header.emit(payload: [1, 2, 3], source: source, destination: destination)
        bytes.withUnsafeMutableBytes { TCPSignature.sign($0, source: source, destination: destination, key: Array("secret".utf8)) }
        bytes.withUnsafeBytes { raw in
            #expect(TCPSignature.verify(raw, source: source, destination: destination, key: Array("secret".utf8)))
            #expect(!TCPSignature.verify(raw, source: source, destination: destination, key: Array("Secret".utf8)))
            #expect((try? TCPPacket(checking: raw))?.checksumIsValid(source: source, destination: destination) == true)
        }
    }

    @Test func connectionsWithMatchingKeysOpenOthersDoNot() {
        for (clientKey, serverKey, opens) in [("pw", "pw", true), ("pw", "other", false), ("pw", nil, false)] as [(String, String?, Bool)] {
            let sim = TCPSimulation(seed: 11)
            let listener = sim.b.listen(address: nil, port: 179, acceptsIPv4: true, acceptsIPv6: true, backlog: 4,
                                        configuration: TCPConfiguration())
            if let serverKey { listener.md5Keys[sim.addressA] = Array(serverKey.utf8) }
            var configuration = TCPConfiguration()
            configuration.md5Key = Array(clientKey.utf8)
            let client = sim.a.connect(TCPFourTuple(localAddress: sim.addressA, localPort: 40000,
                                                    remoteAddress: sim.addressB, remotePort: 179),
                                       configuration: configuration, now: sim.now)
            sim.run(milliseconds: 3_000) { client.state == .established }
            #expect((client.state == .established) == opens, "client \(clientKey) server \(serverKey ?? "none") a=\(sim.a.counters) b=\(sim.b.counters) state \(client.state)")
            if !opens { #expect(sim.b.counters.badSignature > 0) }
        }
    }
}

extension String {
    /// Two lowercase hex digits.
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
    }
}
