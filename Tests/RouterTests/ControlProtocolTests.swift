import Foundation
import Testing
@testable import Router

/// The control socket's request line: what parses, what is refused and why, and the JSON
/// the server writes.
@Suite struct ControlProtocolTests {
    private func parse(_ text: String) -> ControlRequest.Parse { ControlRequest.parse(Array(text.utf8)) }

    @Test func parsesOneRequestLineAndIgnoresUnknownKeys() {
        #expect(parse("{\"command\":\"show\",\"report\":\"routes\",\"table\":\"all\",\"future\":[1]}\nrest")
            == .request(ControlRequest(command: "show", report: "routes", table: "all"), consumed: 64))
        #expect(parse(" {\"command\":\"capture\",\"interface\":\"wg0\",\"count\":3}\n")
            == .request(ControlRequest(command: "capture", interface: "wg0", count: 3), consumed: 51))
    }

    @Test func waitsForTheNewline() {
        #expect(parse("{\"command\":\"show\"") == .incomplete)
        #expect(parse("") == .incomplete)
    }

    @Test func refusesWhatIsNotARequest() {
        #expect(parse("garbage\n") == .invalid("request is not a JSON object"))
        #expect(parse("[1,2]\n") == .invalid("request is not a JSON object"))
        #expect(parse("{\"report\":\"x\"}\n") == .invalid("request has no \"command\""))
        #expect(parse("{\"command\":5}\n") == .invalid("request field command has the wrong type"))
        #expect(parse("{\"command\":\"show\",\"count\":\"x\"}\n") == .invalid("request field count has the wrong type"))
        #expect(parse("{\"command\":\n") == .invalid("request is not valid JSON"))
        #expect(ControlRequest.parse([0x7b, 0xff, 0xfe, 10]) == .invalid("request is not UTF-8"))
    }

    @Test func boundsTheRequestLength() {
        let long = [UInt8(ascii: "{")] + [UInt8](repeating: 0x61, count: ControlRequest.maximumLength)
        #expect(ControlRequest.parse(long) == .invalid("request longer than 65536 bytes"))
        #expect(ControlRequest.parse(long + [10]) == .invalid("request longer than 65536 bytes"))
        let justUnder = [UInt8](repeating: 0x20, count: ControlRequest.maximumLength - 1)
        #expect(ControlRequest.parse(justUnder) == .incomplete)
    }

    @Test func randomBytesNeverCrashTheParser() {
        var generator = SplitMix(seed: 10)
        for _ in 0..<3000 {
            var bytes = (0..<Int(generator.next() % 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            if generator.next() % 2 == 0 { bytes = Array("{\"command\":\"show\",\"report\":".utf8) + bytes + [10] }
            switch ControlRequest.parse(bytes) {
            case .incomplete: #expect(!bytes.contains(10))
            case .request(_, let consumed): #expect(consumed <= bytes.count && bytes[consumed - 1] == 10)
            case .invalid(let reason): #expect(!reason.isEmpty)
            }
        }
    }

    @Test func writesSortedOneLineJSON() {
        #expect(String(decoding: ControlRequest(command: "show", report: "peers").line, as: UTF8.self)
            == "{\"command\":\"show\",\"report\":\"peers\"}\n")
        #expect(String(decoding: ControlJSON.error("no \"x\""), as: UTF8.self)
            == "{\"error\":\"no \\\"x\\\"\",\"ok\":false,\"version\":1}\n")
        let header = ControlJSON.line(ControlHeader<ControlJSON.Empty>(ok: true, stream: "pcap"))
        #expect(String(decoding: header, as: UTF8.self) == "{\"ok\":true,\"stream\":\"pcap\",\"version\":1}\n")
    }

    @Test func routeTableArguments() throws {
        #expect(try RoutesReport.tables(for: nil).get() == [254])
        #expect(try RoutesReport.tables(for: "local").get() == [255])
        #expect(try RoutesReport.tables(for: "all").get() == nil)
        #expect(try RoutesReport.tables(for: "100").get() == [100])
        #expect(throws: RoutesReport.TableError.self) { try RoutesReport.tables(for: "mian").get() }
    }
}

/// A seeded generator (SplitMix64), so failures replay.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
