import ArgumentParser
import Foundation
import Sandbox

/// `srouter policy default | check FILE`.
struct Policy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print or check a guest seccomp policy (OCI/Docker profile JSON).",
        discussion: """
            Whatever a policy says, srouter serves the guest's network calls itself and \
            refuses io_uring, ptrace, process_vm_readv/writev, pidfd_getfd, bpf, \
            perf_event_open, kexec, kernel modules, the keyring, userfaultfd, the mount \
            family, setns, namespace flags on clone/unshare, and foreign ABIs.
            """,
        subcommands: [PrintDefault.self, Check.self])

    struct PrintDefault: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "default", abstract: "Print the built-in policy.")

        func run() throws {
            print(DefaultPolicy.json)
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a policy file; errors name the JSON path of the bad entry.",
            discussion: "Exit status: 0 if srouter can run a guest under it, 2 if not.")

        @Argument(help: ArgumentHelp("The profile to check.", valueName: "file"))
        var file: String

        @Flag(help: "Print the result as JSON: {\"file\", \"valid\", \"error\", \"warnings\"}.")
        var json = false

        func run() throws {
            var warnings: [String] = []
            var problem: PolicyError?
            do {
                let profile = try PolicyLoader.load(path: file)
                warnings = try FilterCompiler(profile: profile).validate()
            } catch var error as PolicyError {
                if error.file == nil { error.file = file }
                problem = error
            }
            if json {
                var report: [String: Any] = ["file": file, "valid": problem == nil,
                                             "warnings": warnings]
                if let problem {
                    report["error"] = ["path": problem.path, "message": problem.message]
                }
                let data = try JSONSerialization.data(withJSONObject: report,
                                                      options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                for warning in warnings { print("\(file): warning: \(warning)") }
                if problem == nil { print("\(file): ok") }
            }
            if let problem {
                if !json { FileHandle.standardError.write(Data("srouter: \(problem)\n".utf8)) }
                throw ExitCode(2)
            }
        }
    }
}

/// Loads the policy named on the command line, or the built-in one.
enum PolicyLoader {
    static func load(path: String?) throws -> SeccompProfile {
        guard let path else {
            return try SeccompProfile.parse(Data(DefaultPolicy.json.utf8),
                                            isKnownSyscall: SyscallTable.isKnown)
        }
        return try SeccompProfile.load(contentsOf: path, isKnownSyscall: SyscallTable.isKnown)
    }
}
