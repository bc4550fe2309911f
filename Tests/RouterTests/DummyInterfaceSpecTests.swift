import NetStack
import Router
import Testing
import Wire

/// `srouter run --dummy NAME=ADDRESS/LENGTH[,…]`.
@Suite struct DummyInterfaceSpecTests {
    @Test func parsesNameAndAddresses() throws {
        let spec = try DummyInterfaceSpec(parsing: "dn42=172.20.0.1/32, fd00:1234::1/128,10.9.0.1/24")
        #expect(spec.name == "dn42")
        #expect(spec.addresses == [
            InterfaceAddress(address: IPAddress("172.20.0.1")!, prefixLength: 32),
            InterfaceAddress(address: IPAddress("fd00:1234::1")!, prefixLength: 128),
            InterfaceAddress(address: IPAddress("10.9.0.1")!, prefixLength: 24),
        ])
        // A bare address is a host address.
        #expect(try DummyInterfaceSpec(parsing: "a=192.0.2.1").addresses.map(\.prefixLength) == [32])
    }

    @Test func refusesWhatIsNotADummyInterface() {
        for bad in ["dn42", "=172.20.0.1/32", "sixteen-chars-xx=10.0.0.1/32", "a b=10.0.0.1/32", "x=",
                    "x=10.0.0.1/33", "x=fd00::1/129", "x=not-an-address", "x=10.0.0.1/-1"] {
            #expect(throws: DummyInterfaceSpec.ParseError.self, "\(bad)") { try DummyInterfaceSpec(parsing: bad) }
        }
    }
}
