import Testing
import Wire

/// Address and prefix text forms, as inet_pton/inet_ntop and `ip` write them.
@Suite struct IPAddressTests {
    @Test func ipv4() {
        #expect(IPv4Address("192.0.2.1")?.value == 0xc000_0201)
        #expect(IPv4Address("192.0.2.1")?.description == "192.0.2.1")
        #expect(IPv4Address("192.0.2") == nil)
        #expect(IPv4Address("256.0.0.1") == nil)
        #expect(IPv4Address(" 1.2.3.4") == nil)
    }

    @Test func ipv6() {
        let a = IPv6Address("fe80::1")
        #expect(a?.isLinkLocal == true)
        #expect(a?.description == "fe80::1")
        #expect(IPv6Address("2001:db8:0:0:1:0:0:1")?.description == "2001:db8::1:0:0:1")
        #expect(IPv6Address("fd00::1")?.isLinkLocal == false)
        #expect(IPv6Address("ff02::1")?.isMulticast == true)
        #expect(IPv6Address("fe80::1%wg0") == nil)
        #expect(IPv6Address(bytes: IPv6Address("2001:db8::42")!.bytes) == IPv6Address("2001:db8::42"))
    }

    @Test func prefixes() {
        #expect(IPPrefix("10.0.0.0/8")?.length == 8)
        #expect(IPPrefix("192.0.2.7/24")?.masked.description == "192.0.2.0/24")
        #expect(IPPrefix("2001:db8::7/64")?.masked.description == "2001:db8::/64")
        #expect(IPPrefix("2001:db8::7/100")?.masked.description == "2001:db8::/100")
        #expect(IPPrefix("192.0.2.1")?.length == 32)
        #expect(IPPrefix("::/0")?.contains(IPAddress("2001:db8::1")!) == true)
        #expect(IPPrefix("0.0.0.0/0")?.contains(IPAddress("2001:db8::1")!) == false)
        #expect(IPPrefix("172.20.0.0/14")?.contains(IPAddress("172.23.255.1")!) == true)
        #expect(IPPrefix("172.20.0.0/14")?.contains(IPAddress("172.24.0.1")!) == false)
        #expect(IPPrefix("10.0.0.0/33") == nil)
        #expect(IPPrefix("10.0.0.0/") == nil)
        #expect(IPPrefix("10.0.0.0/+8") == nil)
    }
}
