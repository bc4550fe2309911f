import Foundation
import NetStack
import Router
import Testing
import Wire

/// `srouter run --config FILE`: the [Router] and [Dummy] sections, paths and globs, errors by
/// file, line and key.
@Suite struct RouterConfigurationTests {
    /// A scratch directory with `wg/a.conf`, `wg/b.conf` and `policy.json` (contents unread).
    private func scratch() throws -> String {
        let directory = NSTemporaryDirectory() + "srouter-config-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory + "/wg", withIntermediateDirectories: true)
        for name in ["wg/b.conf", "wg/a.conf", "policy.json", "other.conf"] {
            FileManager.default.createFile(atPath: "\(directory)/\(name)", contents: Data())
        }
        return directory
    }

    @Test func readsEverySettingWithPathsFromTheFilesDirectory() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let text = """
            # srouter.conf
            [Router]
            WireGuard = wg/*.conf
            wireguard = \(directory)/other.conf   # absolute, and the key repeats
            Policy = policy.json
            LogLevel = Info
            Name = edge1
            Control = run/edge1.sock
            Metrics = 172.20.0.1:9100

            [Dummy]
            Name = node
            Address = 172.20.0.1/32, fd42::1/128
            Address = 10.1.0.1
            [dummy]
            name = anycast
            address = 192.0.2.53/32
            """
        let config = try RouterConfiguration.parse(text, file: directory + "/srouter.conf")
        #expect(config.wireGuardFiles == ["\(directory)/wg/a.conf", "\(directory)/wg/b.conf", "\(directory)/other.conf"])
        #expect(config.policy == "\(directory)/policy.json")
        #expect(config.logLevel == "info")
        #expect(config.logLevelLine == 6)
        #expect(config.name?.value == "edge1" && config.name?.line == 7)
        #expect(config.control == "\(directory)/run/edge1.sock")
        #expect(config.metrics?.value == "172.20.0.1:9100" && config.metrics?.line == 9)
        #expect(config.dummies.map(\.name) == ["node", "anycast"])
        #expect(config.dummies[0].addresses == [
            InterfaceAddress(address: IPAddress("172.20.0.1")!, prefixLength: 32),
            InterfaceAddress(address: IPAddress("fd42::1")!, prefixLength: 128),
            InterfaceAddress(address: IPAddress("10.1.0.1")!, prefixLength: 32),
        ])
    }

    @Test func anEmptyFileIsAnEmptyConfiguration() throws {
        #expect(try RouterConfiguration.parse("# nothing\n\n", file: "/x/srouter.conf") == RouterConfiguration())
    }

    @Test func errorsNameFileLineAndKey() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/srouter.conf"
        let cases: [(String, Int, String?, String)] = [
            ("WireGuard = a.conf", 1, "WireGuard", "outside any section"),
            ("[Router]\nWireGuard = nothing/*.conf", 2, "WireGuard", "matches no file"),
            ("[Router]\nWireGuard = missing.conf", 2, "WireGuard", "no such file"),
            ("[Router]\nWireGuard = wg/a.conf, wg/*.conf", 2, "WireGuard", "named twice"),
            ("[Router]\nPolicy = a\nPolicy = b", 3, "Policy", "given twice"),
            ("[Router]\nColour = blue", 2, "Colour", "unknown key"),
            ("[Router]\nName = a\nName = b", 3, "Name", "given twice"),
            ("[Router]\nPolicy =", 2, "Policy", "no value"),
            ("[Router]\njust words", 2, nil, "expected Key = Value"),
            ("[Interface]", 1, nil, "unknown section"),
            ("[Router", 1, nil, "closing ]"),
            ("[Dummy]\nAddress = 10.0.0.1/32", 1, "Name", "missing"),
            ("[Dummy]\nName = d", 1, "Address", "missing"),
            ("[Dummy]\nName = a/b\nAddress = 10.0.0.1/32", 2, "Name", "not an interface name"),
            ("[Dummy]\nName = d\nAddress = 10.0.0.1/33", 3, "Address", "no valid prefix length"),
            ("[Dummy]\nName = d\nAddress = 10.0.0.1\n[Dummy]\nName = d\nAddress = 10.0.0.2", 5, "Name", "a second [Dummy]"),
        ]
        for (text, line, key, message) in cases {
            do {
                _ = try RouterConfiguration.parse(text, file: file)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.file == file, "\(text)")
                #expect(error.line == line, "\(text): \(error)")
                #expect(error.key == key, "\(text): \(error)")
                #expect(error.message.contains(message), "\(text): \(error)")
                #expect(error.description.hasPrefix(line > 0 ? "\(file):\(line)" : file))
            }
        }
    }

    @Test func anUnreadableFileIsNamed() {
        #expect(throws: RouterConfiguration.ParseError(file: "/nonexistent/srouter.conf", line: 0, key: nil,
                                                        message: "cannot read the file")) {
            try RouterConfiguration.load(path: "/nonexistent/srouter.conf")
        }
    }

    @Test func randomTextNeverCrashesTheParser() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("[]=#,/.*?\n \tRouterDummyNameAddressWireGuardPolicy10.0.0.1fd::")
        for _ in 0..<2000 {
            let text = String((0..<Int.random(in: 0...80, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            _ = try? RouterConfiguration.parse(text, file: "/nonexistent/dir/srouter.conf")
        }
    }
}
