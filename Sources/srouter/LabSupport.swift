import Foundation
import Glibc

/// Small pieces `srouter lab` needs from the host: programs on PATH, files, ports, signals.
enum LabSupport {
    /// Prints a line on stdout at once.
    static func say(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// The full path of `program` on PATH, as a shell finds it.
    static func which(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// This srouter's executable (/proc/self/exe).
    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The lab's templates: `given`, else $SROUTER_EXAMPLES/lab, else Guest/examples/lab of the
    /// source tree srouter was built in (.build/…/srouter), else /usr/share/srouter/examples/lab.
    static func templateDirectory(_ given: String?) -> String? {
        var candidates: [String] = []
        if let given { candidates.append(given) }
        if let root = ProcessInfo.processInfo.environment["SROUTER_EXAMPLES"] { candidates.append("\(root)/lab") }
        var directory = URL(fileURLWithPath: executablePath()).deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(directory.appendingPathComponent("Guest/examples/lab").path)
            directory = directory.deletingLastPathComponent()
        }
        candidates.append("/usr/share/srouter/examples/lab")
        return candidates.first { FileManager.default.fileExists(atPath: "\($0)/bird.conf.in") }
    }

    /// A new private directory under $TMPDIR (or /tmp).
    static func temporaryDirectory() throws -> String {
        var template = Array("\(ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp")/srouter-lab.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw LabError("cannot make a directory under /tmp") }
        return String(cString: made)
    }

    /// Writes `text` to `path` with `mode`.
    static func write(_ text: String, to path: String, mode: mode_t) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8),
                                             attributes: [.posixPermissions: Int(mode)]) else {
            throw LabError("cannot write \(path)")
        }
    }

    /// The contents of `path`, or "" if it cannot be read.
    static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// Copies an executable's bytes to a new file (no extended attributes, so no file
    /// capabilities), mode 0755.
    static func copyWithoutCapabilities(_ source: String, to destination: String) throws {
        guard let bytes = FileManager.default.contents(atPath: source),
              FileManager.default.createFile(atPath: destination, contents: bytes,
                                             attributes: [.posixPermissions: 0o755]) else {
            throw LabError("cannot copy \(source) to \(destination)")
        }
    }

    /// A UDP port on 127.0.0.1 nobody uses now (the kernel's choice for a bind to port 0).
    static func freeUDPPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw LabError("cannot open a UDP socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                Glibc.bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else { throw LabError("cannot find a free UDP port on 127.0.0.1") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// What `arguments` prints on stdout ("" if it cannot run).
    static func output(_ arguments: [String]) -> String {
        guard let program = which(arguments[0]) else { return "" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = Array(arguments.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return "" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// BIRD's version ("2.0.12"), from `bird --version`.
    static func version(of bird: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bird)
        process.arguments = ["--version"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return "?" }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? "?"
    }

    /// Runs `action` on SIGINT or SIGTERM, then exits with 128 + the signal's number.
    static func onTerminationSignal(_ action: @escaping @Sendable () -> Void) -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                action()
                exit(128 + number)
            }
            source.resume()
            return source
        }
    }
}

/// Why the lab could not be set up.
struct LabError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
