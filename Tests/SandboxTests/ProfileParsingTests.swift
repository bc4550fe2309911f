import Foundation
import Testing
@testable import Sandbox

/// Parsing the OCI/Docker profile format: what is accepted, and how errors are named.
@Suite struct ProfileParsingTests {
    let host = ProfileHost(architectureNames: ["amd64", "x86_64"], kernel: (6, 18))

    func parse(_ json: String) throws -> SeccompProfile {
        try SeccompProfile.parse(Data(json.utf8), host: host, isKnownSyscall: SyscallTable.isKnown)
    }

    func error(_ json: String) -> PolicyError? {
        do { _ = try parse(json); return nil } catch let e as PolicyError { return e } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func defaultPolicyParses() throws {
        let profile = try parse(DefaultPolicy.json)
        #expect(profile.defaultAction == .errno(1))
        #expect(profile.rules.contains { $0.names.contains("socket") && $0.action == .notify })
    }

    @Test func actionsAndErrnos() throws {
        let profile = try parse(#"""
            {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
             "syscalls": [
               {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
               {"names": ["write"], "action": "SCMP_ACT_LOG"},
               {"names": ["openat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
               {"names": ["close"], "action": "SCMP_ACT_ERRNO"},
               {"name": "kill", "action": "SCMP_ACT_KILL"},
               {"names": ["tkill"], "action": "SCMP_ACT_KILL_PROCESS"},
               {"names": ["tgkill"], "action": "SCMP_ACT_TRAP"},
               {"names": ["getpid"], "action": "SCMP_ACT_TRACE", "errnoRet": 1},
               {"names": ["socket"], "action": "SCMP_ACT_NOTIFY"}]}
            """#)
        #expect(profile.defaultAction == .errno(38))
        #expect(profile.rules.map(\.action) == [.allow, .log, .errno(13), .errno(1), .killThread,
                                                .killProcess, .trap, .trace(1), .notify])
        #expect(profile.rules[4].names == ["kill"])
    }

    /// An entry's errnoRet may be 0 (OCI's uint32): the call returns 0 without running. The
    /// built-in policy answers capset so; a default action of 0 stays refused.
    @Test func anEntryMayAnswerZero() throws {
        let profile = try parse(#"""
            {"defaultAction": "SCMP_ACT_ERRNO",
             "syscalls": [{"names": ["capset"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0}]}
            """#)
        #expect(profile.rules.map(\.action) == [.errno(0)])
        let builtIn = try parse(DefaultPolicy.json)
        #expect(builtIn.rules.filter { $0.names.contains("capset") }.map(\.action) == [.errno(0)])
    }

    @Test func argumentConditions() throws {
        let profile = try parse(#"""
            {"defaultAction": "SCMP_ACT_ERRNO",
             "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                           "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"},
                                    {"index": 1, "value": 255, "valueTwo": 8,
                                     "op": "SCMP_CMP_MASKED_EQ"}]}]}
            """#)
        #expect(profile.rules[0].arguments == [
            .init(index: 0, op: .equal, value: 4_294_967_295),
            .init(index: 1, op: .maskedEqual, value: 255, valueTwo: 8),
        ])
    }

    @Test func dockerIncludesAndExcludes() throws {
        let profile = try parse(#"""
            {"defaultAction": "SCMP_ACT_ERRNO",
             "syscalls": [
               {"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
               {"names": ["write"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["s390x"]}},
               {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
               {"names": ["close"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
               {"names": ["openat"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "7.1"}},
               {"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
               {"names": ["kill"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["x86_64"]}}]}
            """#)
        #expect(profile.rules.flatMap(\.names) == ["read", "close", "getpid"])
    }

    @Test func errorsNameTheJSONPath() {
        let cases: [(String, String, String)] = [
            (#"{"syscalls": []}"#, "defaultAction", "missing"),
            (#"{"defaultAction": "SCMP_ACT_NOPE"}"#, "defaultAction", "unknown action"),
            (#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read", "sokcet"], "action": "SCMP_ACT_ALLOW"}]}"#,
             "syscalls[0].names[1]", "unknown system call \"sokcet\""),
            (#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"]}]}"#,
             "syscalls[0].action", "missing"),
            (#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["read"], "acton": "SCMP_ACT_ALLOW"}]}"#,
             "syscalls[1].acton", "unknown field"),
            (#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
             "syscalls[0].args[0].index", "must be 0…5"),
            (#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]}"#,
             "syscalls[0].args[0].op", "unknown operator"),
            (#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 0}"#, "defaultErrnoRet", "errno number"),
            (#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}"#,
             "architectures[0]", "unknown architecture"),
            (#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {"names": []}}"#, "syscalls", "must be a list"),
            (#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]}"#,
             "syscalls[0]", "names no system call"),
            (#"[1, 2]"#, "", "must be an object"),
        ]
        for (json, path, fragment) in cases {
            let problem = error(json)
            #expect(problem?.path == path, "\(json)")
            #expect(problem?.message.contains(fragment) == true, "\(json): \(String(describing: problem))")
        }
    }

    @Test func syntaxErrorsGiveLineAndColumn() {
        let problem = error("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [1,,]\n}")
        #expect(problem?.message.contains("line 3") == true, "\(String(describing: problem))")
    }

    @Test func fileErrorsNameTheFile() throws {
        let path = NSTemporaryDirectory() + "srouter-policy-\(getpid()).json"
        try Data(#"{"defaultAction": 5}"#.utf8).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        do {
            _ = try SeccompProfile.load(contentsOf: path, host: host,
                                        isKnownSyscall: SyscallTable.isKnown)
            Issue.record("expected an error")
        } catch let error as PolicyError {
            #expect(error.description == "\(path): defaultAction: must be a string")
        }
        #expect(throws: PolicyError.self) {
            try SeccompProfile.load(contentsOf: path + ".missing", host: host,
                                    isKnownSyscall: SyscallTable.isKnown)
        }
    }

    /// Parsing is total: random bytes and mutated profiles give a profile or a PolicyError.
    @Test func parsingIsTotal() {
        var rng = SplitMix64(seed: 0x5eed)
        let seed = Array(DefaultPolicy.json.utf8)
        let alphabet = Array(#"{}[]":,0123456789-.eE truefalsnSCMP_ACT_ALLOWnamesargsop\#n"#.utf8)
        for round in 0..<3_000 {
            var bytes: [UInt8]
            switch round % 3 {
            case 0:
                bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            case 1:
                bytes = (0..<Int(rng.next() % 96)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            default:
                bytes = seed
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    let at = Int(rng.next() % UInt64(bytes.count))
                    bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                }
            }
            do {
                _ = try SeccompProfile.parse(Data(bytes), host: host, isKnownSyscall: SyscallTable.isKnown)
            } catch is PolicyError {
            } catch {
                Issue.record("non-PolicyError for input \(bytes.prefix(40)): \(error)")
            }
        }
    }
}

/// A small seeded generator (SplitMix64) so that random tests are repeatable.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
