import Foundation
import WireGuard

/// srouter's own configuration file, `srouter run --config FILE` — what a container image
/// mounts at `/etc/srouter/srouter.conf` instead of a command line. The syntax is the
/// wg-quick one operators already write (`[Section]`, `Key = Value`, `#` comments, keys
/// case-insensitive):
///
/// ```
/// [Router]
/// WireGuard = wg/*.conf        # paths or globs, comma separated; the key may repeat
/// Policy = policy.json         # an OCI/Docker seccomp profile
/// LogLevel = info              # trace, debug, info, notice, warning, error, critical
/// Name = edge1                 # as --name: the control socket is edge1.sock
/// Control = /run/srouter/edge1.sock   # as --control
/// Metrics = 172.20.0.1:9100    # as --metrics (an address of srouter's interfaces)
///
/// [Dummy]                      # repeatable: a dummy interface with the node's addresses
/// Name = node
/// Address = 172.20.0.1/32, fd42::1/128
/// ```
///
/// Relative paths are taken from the file's directory. A glob that matches no file is an
/// error (an empty mount would otherwise start a router without tunnels). Errors name the
/// file, the line and the key: `srouter.conf:4: Policy: given twice`.
public struct RouterConfiguration: Equatable, Sendable {
    /// Two configurations are equal when every setting is (tests compare them).
    public static func == (a: Self, b: Self) -> Bool {
        a.wireGuardFiles == b.wireGuardFiles && a.policy == b.policy && a.logLevel == b.logLevel
            && a.logLevelLine == b.logLevelLine && a.name?.value == b.name?.value && a.name?.line == b.name?.line
            && a.control == b.control && a.metrics?.value == b.metrics?.value && a.metrics?.line == b.metrics?.line
            && a.dummies == b.dummies
    }

    /// The wg-quick files, globs expanded (each glob's matches sorted), in order.
    public var wireGuardFiles: [String] = []
    /// The seccomp profile's path, if given.
    public var policy: String?
    /// The log level's name, if given (checked by the caller, which knows the levels).
    public var logLevel: String?
    /// The line of `LogLevel`, for the caller's error message.
    public var logLevelLine = 0
    /// `Name`: the router's name (checked by the caller, as `--name`), and its line.
    public var name: (value: String, line: Int)?
    /// `Control`: the control socket's path.
    public var control: String?
    /// `Metrics`: `ADDR:PORT` for the metrics listener (checked by the caller), and its line.
    public var metrics: (value: String, line: Int)?
    /// The dummy interfaces, in order.
    public var dummies: [DummyInterfaceSpec] = []

    /// A problem in the file: `FILE:LINE: KEY: MESSAGE`.
    public typealias ParseError = ConfigurationFileError

    /// An empty configuration.
    public init() {}

    /// Reads and parses `path`.
    public static func load(path: String) throws(ParseError) -> RouterConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ParseError(file: path, line: 0, key: nil, message: "cannot read the file")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    /// Parses the text of `file`; relative paths are resolved against `file`'s directory,
    /// globs against the file system.
    public static func parse(_ text: String, file: String) throws(ParseError) -> RouterConfiguration {
        var parser = ConfigurationParser(file: file)
        return try parser.parse(text)
    }
}

private struct ConfigurationParser {
    let file: String
    let directory: String
    var result = RouterConfiguration()
    var section: String?
    var dummyLine = 0
    var dummyName: (String, Int)?
    var dummyAddresses: (String, Int)?

    init(file: String) {
        self.file = file
        let parent = (file as NSString).deletingLastPathComponent
        directory = parent.isEmpty ? "." : parent
    }

    func error(_ line: Int, _ key: String?, _ message: String) -> RouterConfiguration.ParseError {
        .init(file: file, line: line, key: key, message: message)
    }

    mutating func parse(_ text: String) throws(RouterConfiguration.ParseError) -> RouterConfiguration {
        for item in try ConfigurationLine.split(text, file: file) {
            guard case .setting(let key, let value, let number) = item else {
                guard case .section(let written, let number) = item else { continue }
                try finishDummy()
                let name = written.lowercased()
                switch name {
                case "router":
                    break
                case "dummy":
                    dummyLine = number
                default:
                    throw error(number, nil, "unknown section [\(written)] (expected [Router] or [Dummy])")
                }
                section = name
                continue
            }
            guard let section else { throw error(number, key, "outside any section ([Router] or [Dummy])") }
            guard !value.isEmpty else { throw error(number, key, "no value") }
            if section == "router" {
                try routerKey(key, value, line: number)
            } else {
                try dummyKey(key, value, line: number)
            }
        }
        try finishDummy()
        return result
    }

    mutating func routerKey(_ key: String, _ value: String, line: Int) throws(RouterConfiguration.ParseError) {
        switch key.lowercased() {
        case "wireguard":
            for item in value.split(separator: ",") {
                let pattern = resolve(item.trimmingCharacters(in: .whitespaces))
                let matches = try expand(pattern, key: key, line: line)
                for match in matches where result.wireGuardFiles.contains(match) {
                    throw error(line, key, "\(match) is named twice")
                }
                result.wireGuardFiles += matches
            }
        case "policy":
            guard result.policy == nil else { throw error(line, key, "given twice") }
            result.policy = resolve(value)
        case "loglevel":
            guard result.logLevel == nil else { throw error(line, key, "given twice") }
            result.logLevel = value.lowercased()
            result.logLevelLine = line
        case "name":
            guard result.name == nil else { throw error(line, key, "given twice") }
            result.name = (value, line)
        case "control":
            guard result.control == nil else { throw error(line, key, "given twice") }
            result.control = resolve(value)
        case "metrics":
            guard result.metrics == nil else { throw error(line, key, "given twice") }
            result.metrics = (value, line)
        default:
            throw error(line, key, "unknown key in [Router] (expected WireGuard, Policy, LogLevel, Name, Control or Metrics)")
        }
    }

    mutating func dummyKey(_ key: String, _ value: String, line: Int) throws(RouterConfiguration.ParseError) {
        switch key.lowercased() {
        case "name":
            guard dummyName == nil else { throw error(line, key, "given twice in this [Dummy]") }
            dummyName = (value, line)
        case "address":
            if let (earlier, first) = dummyAddresses {
                dummyAddresses = (earlier + "," + value, first)
            } else {
                dummyAddresses = (value, line)
            }
        default:
            throw error(line, key, "unknown key in [Dummy] (expected Name or Address)")
        }
    }

    mutating func finishDummy() throws(RouterConfiguration.ParseError) {
        guard dummyLine > 0 else { return }
        defer { dummyLine = 0; dummyName = nil; dummyAddresses = nil }
        guard let (name, nameLine) = dummyName else { throw error(dummyLine, "Name", "missing from [Dummy]") }
        guard let (addresses, addressLine) = dummyAddresses else {
            throw error(dummyLine, "Address", "missing from [Dummy]")
        }
        let spec: DummyInterfaceSpec
        do {
            spec = try DummyInterfaceSpec(name: name, addresses: addresses)
        } catch {
            let blamesName = error.description.hasPrefix("'\(name)'")
            throw self.error(blamesName ? nameLine : addressLine, blamesName ? "Name" : "Address", error.description)
        }
        guard !result.dummies.contains(where: { $0.name == spec.name }) else {
            throw error(nameLine, "Name", "a second [Dummy] named \(spec.name)")
        }
        result.dummies.append(spec)
    }

    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : directory + "/" + path
    }

    /// A literal path must exist; a pattern (with `*`, `?` or `[`) must match something.
    func expand(_ pattern: String, key: String, line: Int) throws(RouterConfiguration.ParseError) -> [String] {
        guard pattern.contains(where: { "*?[".contains($0) }) else {
            guard FileManager.default.fileExists(atPath: pattern) else { throw error(line, key, "\(pattern): no such file") }
            return [pattern]
        }
        var found = glob_t()
        defer { globfree(&found) }
        let status = glob(pattern, 0, nil, &found)
        guard status == 0 else { throw error(line, key, "\(pattern) matches no file") }
        return (0..<Int(found.gl_pathc)).compactMap { found.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }
}
