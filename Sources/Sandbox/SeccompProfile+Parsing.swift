import Foundation
import Glibc
import LinuxABI

/// A policy file that cannot be used: which file, where in it (a JSON path such as
/// `syscalls[3].names[1]`), and what is wrong.
public struct PolicyError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file, when the profile came from one.
    public var file: String?
    /// The JSON path of the offending value; empty for the document as a whole.
    public var path: String
    /// What is wrong, in one sentence.
    public var message: String

    /// Creates an error at `path`.
    public init(file: String? = nil, path: String, message: String) {
        self.file = file
        self.path = path
        self.message = message
    }

    /// `FILE: PATH: MESSAGE`, leaving out the parts that are empty.
    public var description: String {
        [file, path.isEmpty ? nil : path, message].compactMap { $0 }.joined(separator: ": ")
    }
}

/// The facts about this machine that decide which Docker-style conditional entries apply.
public struct ProfileHost: Sendable {
    /// Docker's architecture names for this machine (`amd64` and `x86_64` on x86_64).
    public var architectureNames: Set<String>
    /// The running kernel's version as (major, minor).
    public var kernel: (Int, Int)

    /// The machine srouter is running on.
    public static var current: ProfileHost {
        var names = utsname()
        Glibc.uname(&names)
        let release = withUnsafeBytes(of: &names.release) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        #if arch(x86_64)
        let arch: Set<String> = ["amd64", "x86_64"]
        #else
        let arch: Set<String> = ["arm64", "aarch64"]
        #endif
        return ProfileHost(architectureNames: arch, kernel: parseKernel(release))
    }

    /// Creates a host description (tests use this to pin the architecture and kernel).
    public init(architectureNames: Set<String>, kernel: (Int, Int)) {
        self.architectureNames = architectureNames
        self.kernel = kernel
    }

    /// `"6.18.44-fc"` → (6, 18); anything unreadable → (0, 0).
    static func parseKernel(_ text: String) -> (Int, Int) {
        let parts = text.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return (parts.first ?? 0, parts.count > 1 ? parts[1] : 0)
    }
}

/// The `SCMP_ARCH_…` names srouter accepts in `architectures` (it filters only the native one).
let knownArchitectureNames: Set<String> = [
    "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
    "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
]

extension SeccompProfile {
    /// Reads and parses a profile file. Errors name the file.
    public static func load(contentsOf path: String, host: ProfileHost = .current,
                            isKnownSyscall: (String) -> Bool) throws -> SeccompProfile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? "\(error)"
            throw PolicyError(file: path, path: "", message: "cannot read the file: \(reason)")
        }
        do {
            return try parse(data, host: host, isKnownSyscall: isKnownSyscall)
        } catch var error as PolicyError {
            error.file = path
            throw error
        }
    }

    /// Parses a profile. `isKnownSyscall` says whether a name is a system call (libseccomp
    /// knows it, on any architecture); an unknown name is an error, as is an unknown action,
    /// operator or field.
    public static func parse(_ data: Data, host: ProfileHost = .current,
                             isKnownSyscall: (String) -> Bool) throws -> SeccompProfile {
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw PolicyError(path: "", message: "not valid JSON: \(syntaxErrorLocation(data))")
        }
        return try withoutActuallyEscaping(isKnownSyscall) { known in
            var parser = ProfileParser(host: host, isKnownSyscall: known)
            return try parser.profile(document)
        }
    }
}

/// Where JSON text stops being JSON, as `line L, column C: reason` (Foundation reports only a
/// character offset; the line and column are what an editor shows).
func syntaxErrorLocation(_ data: Data) -> String {
    let reason: String
    do {
        _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        return "unreadable document"
    } catch {
        reason = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String)
            ?? "\(error)"
    }
    // "Invalid value around character 46." → offset 46.
    guard let range = reason.range(of: "character "),
          let offset = Int(reason[range.upperBound...].prefix(while: \.isNumber)) else {
        return reason
    }
    var line = 1, column = 1
    for byte in data.prefix(offset) {
        if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
    }
    let what = reason.components(separatedBy: " around").first ?? reason
    return "line \(line), column \(column): \(what.lowercased())"
}

/// The recursive descent over the decoded JSON, keeping the JSON path for messages.
private struct ProfileParser {
    let host: ProfileHost
    let isKnownSyscall: (String) -> Bool

    static let topLevelFields: Set<String> = [
        "defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls", "flags",
        "listenerPath", "listenerMetadata",
    ]
    static let entryFields: Set<String> = [
        "names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes",
    ]
    static let argumentFields: Set<String> = ["index", "value", "valueTwo", "op"]
    static let filterFields: Set<String> = ["caps", "arches", "minKernel"]

    mutating func profile(_ document: JSONValue) throws -> SeccompProfile {
        let top = try object(document, at: "")
        try checkFields(top, allowed: Self.topLevelFields, at: "")
        let defaultErrno = try top["defaultErrnoRet"].map { try errno($0, at: "defaultErrnoRet") }
        guard let defaultValue = top["defaultAction"] else {
            throw PolicyError(path: "defaultAction", message: "missing (e.g. \"SCMP_ACT_ERRNO\")")
        }
        let defaultAction = try action(defaultValue, errno: defaultErrno ?? 1, at: "defaultAction")

        var architectures: [String] = []
        if let value = top["architectures"] {
            for (i, item) in try array(value, at: "architectures").enumerated() {
                let name = try string(item, at: "architectures[\(i)]")
                guard knownArchitectureNames.contains(name) else {
                    throw PolicyError(path: "architectures[\(i)]",
                                      message: "unknown architecture \"\(name)\"")
                }
                architectures.append(name)
            }
        }

        var rules: [SeccompRule] = []
        if let value = top["syscalls"] {
            for (i, item) in try array(value, at: "syscalls").enumerated() {
                if let rule = try entry(item, at: "syscalls[\(i)]") { rules.append(rule) }
            }
        }
        return SeccompProfile(defaultAction: defaultAction, architectures: architectures,
                              rules: rules)
    }

    /// One `syscalls` entry, or `nil` when its `includes`/`excludes` rule it out here.
    func entry(_ value: JSONValue, at path: String) throws -> SeccompRule? {
        let fields = try object(value, at: path)
        try checkFields(fields, allowed: Self.entryFields, at: path)

        var names: [String] = []
        if let list = fields["names"] {
            for (i, item) in try array(list, at: "\(path).names").enumerated() {
                names.append(try syscallName(item, at: "\(path).names[\(i)]"))
            }
        }
        if let single = fields["name"] { names.append(try syscallName(single, at: "\(path).name")) }
        if names.isEmpty {
            throw PolicyError(path: path, message: "names no system call (\"names\": [...])")
        }

        // An entry's errnoRet may be 0 (OCI's uint): SECCOMP_RET_ERRNO with 0, the call
        // returns 0 without running — a success the kernel grants nothing for.
        let entryErrno = try fields["errnoRet"].map { try errno($0, at: "\(path).errnoRet", allowingZero: true) }
        guard let actionValue = fields["action"] else {
            throw PolicyError(path: "\(path).action", message: "missing")
        }
        let action = try action(actionValue, errno: entryErrno ?? 1, at: "\(path).action")

        var arguments: [SeccompArgumentCondition] = []
        if let list = fields["args"], list != .null {
            for (i, item) in try array(list, at: "\(path).args").enumerated() {
                arguments.append(try argument(item, at: "\(path).args[\(i)]"))
            }
        }

        let included = try fields["includes"].map { try applies($0, at: "\(path).includes") }
        let excluded = try fields["excludes"].map { try matchesHost($0, at: "\(path).excludes") }
        if included == false || excluded == true { return nil }
        return SeccompRule(names: names, action: action, arguments: arguments, path: path)
    }

    func argument(_ value: JSONValue, at path: String) throws -> SeccompArgumentCondition {
        let fields = try object(value, at: path)
        try checkFields(fields, allowed: Self.argumentFields, at: path)
        guard let indexValue = fields["index"] else {
            throw PolicyError(path: "\(path).index", message: "missing")
        }
        let index = try unsigned(indexValue, at: "\(path).index")
        guard index <= 5 else {
            throw PolicyError(path: "\(path).index", message: "must be 0…5, not \(index)")
        }
        guard let opValue = fields["op"] else {
            throw PolicyError(path: "\(path).op", message: "missing")
        }
        let opName = try string(opValue, at: "\(path).op")
        guard let op = SeccompArgumentCondition.Operator(rawValue: opName) else {
            let known = SeccompArgumentCondition.Operator.allCases.map(\.rawValue)
            throw PolicyError(path: "\(path).op", message:
                "unknown operator \"\(opName)\" (one of \(known.joined(separator: ", ")))")
        }
        let first = try fields["value"].map { try unsigned($0, at: "\(path).value") } ?? 0
        let second = try fields["valueTwo"].map { try unsigned($0, at: "\(path).valueTwo") } ?? 0
        return SeccompArgumentCondition(index: UInt32(index), op: op, value: first,
                                        valueTwo: second)
    }

    /// `includes`: the entry applies when every listed condition holds here.
    func applies(_ value: JSONValue, at path: String) throws -> Bool {
        let fields = try object(value, at: path)
        try checkFields(fields, allowed: Self.filterFields, at: path)
        if let caps = fields["caps"], !(try array(caps, at: "\(path).caps")).isEmpty {
            return false  // the guest holds no capabilities
        }
        if let arches = fields["arches"] {
            let names = try array(arches, at: "\(path).arches").enumerated().map {
                try string($0.element, at: "\(path).arches[\($0.offset)]")
            }
            if !names.isEmpty && host.architectureNames.isDisjoint(with: names) { return false }
        }
        if let minKernel = fields["minKernel"] {
            let text = try string(minKernel, at: "\(path).minKernel")
            let wanted = ProfileHost.parseKernel(text)
            if host.kernel < wanted { return false }
        }
        return true
    }

    /// `excludes`: the entry is left out when any listed condition holds here.
    func matchesHost(_ value: JSONValue, at path: String) throws -> Bool {
        let fields = try object(value, at: path)
        try checkFields(fields, allowed: Self.filterFields, at: path)
        if let arches = fields["arches"] {
            let names = try array(arches, at: "\(path).arches").enumerated().map {
                try string($0.element, at: "\(path).arches[\($0.offset)]")
            }
            if !host.architectureNames.isDisjoint(with: names) { return true }
        }
        if let caps = fields["caps"] { _ = try array(caps, at: "\(path).caps") }
        if let minKernel = fields["minKernel"] {
            let text = try string(minKernel, at: "\(path).minKernel")
            if host.kernel >= ProfileHost.parseKernel(text) { return true }
        }
        return false
    }

    // MARK: - Scalars

    func syscallName(_ value: JSONValue, at path: String) throws -> String {
        let name = try string(value, at: path)
        guard isKnownSyscall(name) else {
            throw PolicyError(path: path, message: "unknown system call \"\(name)\"")
        }
        return name
    }

    func action(_ value: JSONValue, errno: Int32, at path: String) throws -> SeccompAction {
        let name = try string(value, at: path)
        guard let action = SeccompAction(ociName: name, errno: errno) else {
            throw PolicyError(path: path, message: "unknown action \"\(name)\"")
        }
        return action
    }

    func errno(_ value: JSONValue, at path: String, allowingZero: Bool = false) throws -> Int32 {
        let number = try unsigned(value, at: path)
        let lowest: UInt64 = allowingZero ? 0 : 1
        guard number >= lowest && number <= 4095 else {
            throw PolicyError(path: path, message: "must be an errno number \(lowest)…4095, not \(number)")
        }
        return Int32(number)
    }

    func unsigned(_ value: JSONValue, at path: String) throws -> UInt64 {
        switch value {
        case .integer(let n) where n >= 0: return UInt64(n)
        case .unsigned(let n): return n
        default: throw PolicyError(path: path, message: "must be a non-negative integer")
        }
    }

    func string(_ value: JSONValue, at path: String) throws -> String {
        guard case .string(let text) = value else {
            throw PolicyError(path: path, message: "must be a string")
        }
        return text
    }

    func array(_ value: JSONValue, at path: String) throws -> [JSONValue] {
        guard case .array(let items) = value else {
            throw PolicyError(path: path, message: "must be a list")
        }
        return items
    }

    func object(_ value: JSONValue, at path: String) throws -> [String: JSONValue] {
        guard case .object(let fields) = value else {
            throw PolicyError(path: path, message: "must be an object")
        }
        return fields
    }

    func checkFields(_ fields: [String: JSONValue], allowed: Set<String>, at path: String) throws {
        for key in fields.keys.sorted() where !allowed.contains(key) {
            throw PolicyError(path: path.isEmpty ? key : "\(path).\(key)",
                              message: "unknown field \"\(key)\"")
        }
    }
}

/// A decoded JSON value that keeps booleans, integers and floating point apart.
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case unsigned(UInt64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(UInt64.self) {
            self = .unsigned(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}
