import Foundation

/// The control socket's protocol (`srouter show`, `srouter capture`, `srouter metrics`).
///
/// A client connects to the unix stream socket and writes **one request**: a JSON object on
/// one line, ended by `\n`, at most `ControlRequest.maximumLength` bytes. The server answers
/// with **one header line** — a JSON object ended by `\n` — and then, if the header names a
/// `stream`, the stream's bytes until the server closes the connection:
///
/// ```
/// → {"command":"show","report":"routes","table":"all"}
/// ← {"ok":true,"result":{"routes":[…]},"version":1}
///
/// → {"command":"capture","interface":"wg0","count":10}
/// ← {"ok":true,"stream":"pcap","version":1}
/// ← <pcap file bytes, until count packets or the client closes>
///
/// → {"arguments":["ping","-c","1","10.0.0.1"],"command":"exec","directory":"/","environment":[…]}
///   with the client's descriptors 0, 1 and 2 (SCM_RIGHTS)
/// ← {"ok":true,"stream":"exec","version":1}
/// ← {"pid":4242}                      (the command runs, on the client's descriptors)
/// ← {"exit":0}                        (or {"error":"ping: command not found","exit":127})
///
/// → {"command":"nonsense"}
/// ← {"error":"unknown command \"nonsense\"","ok":false,"version":1}
/// ```
///
/// Keys are written sorted, so the output is stable. A request that is not one JSON object
/// on one line within the bound, or is not UTF-8, gets an error header and the connection is
/// closed. Unknown keys are ignored, so requests can grow fields; a command that needs
/// descriptors (`exec`) sends them with SCM_RIGHTS on the request's `sendmsg`, and the
/// server hands them to the command's handler (`ControlSession.descriptors`).
public enum ControlProtocol {
    /// The protocol version in every header.
    public static let version = 1
}

/// One request: the command and its arguments. Fields a command does not use are ignored.
public struct ControlRequest: Codable, Sendable, Equatable {
    /// `show`, `capture`, `metrics` or `exec`.
    public var command: String
    /// `show`: `interfaces`, `peers`, `routes`, `sockets`, `stats`, `metrics`.
    public var report: String?
    /// `show routes`: a table number, `main`, `local`, `default` or `all` (default: main).
    public var table: String?
    /// `capture`: the interface.
    public var interface: String?
    /// `capture`: stop after this many packets (nil: until the client closes).
    public var count: Int?
    /// `exec`: the command and its arguments. Its standard input, output and error come
    /// with the request as SCM_RIGHTS descriptors, in that order.
    public var arguments: [String]?
    /// `exec`: the command's environment, `NAME=value` (its PATH finds the command).
    public var environment: [String]?
    /// `exec`: the command's working directory.
    public var directory: String?

    /// The longest request line, newline included.
    public static let maximumLength = 64 * 1024

    /// Creates a request.
    public init(command: String, report: String? = nil, table: String? = nil, interface: String? = nil,
                count: Int? = nil, arguments: [String]? = nil, environment: [String]? = nil,
                directory: String? = nil) {
        self.command = command
        self.report = report
        self.table = table
        self.interface = interface
        self.count = count
        self.arguments = arguments
        self.environment = environment
        self.directory = directory
    }

    /// What reading a request from buffered bytes gave.
    public enum Parse: Equatable {
        /// No newline yet, and the bound is not reached: read more.
        case incomplete
        /// A request, and how many bytes it took (the line and its newline).
        case request(ControlRequest, consumed: Int)
        /// Not a request: the reason, for the error header.
        case invalid(String)
    }

    /// Reads the request line at the start of `bytes`.
    public static func parse(_ bytes: [UInt8]) -> Parse {
        guard let newline = bytes.firstIndex(of: 10) else {
            return bytes.count >= maximumLength ? .invalid("request longer than \(maximumLength) bytes") : .incomplete
        }
        guard newline < maximumLength else { return .invalid("request longer than \(maximumLength) bytes") }
        let line = bytes[..<newline]
        guard String(validating: line, as: UTF8.self) != nil else { return .invalid("request is not UTF-8") }
        guard line.first(where: { $0 != 32 && $0 != 9 && $0 != 13 }) == UInt8(ascii: "{") else {
            return .invalid("request is not a JSON object")
        }
        do {
            let request = try JSONDecoder().decode(ControlRequest.self, from: Data(line))
            return .request(request, consumed: newline + 1)
        } catch DecodingError.keyNotFound(let key, _) {
            return .invalid("request has no \"\(key.stringValue)\"")
        } catch DecodingError.typeMismatch(_, let context) {
            return .invalid("request field \(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type")
        } catch {
            return .invalid("request is not valid JSON")
        }
    }

    /// The request as a line to send.
    public var line: [UInt8] { ControlJSON.line(self) }
}

/// The header line of every answer.
public struct ControlHeader<Result: Codable>: Codable {
    /// Whether the request was served.
    public var ok: Bool
    /// Why not, when `ok` is false.
    public var error: String?
    /// The report (`show`).
    public var result: Result?
    /// What follows the header until the connection closes: `pcap` (a pcap file), `text`
    /// (Prometheus text); nil when nothing follows.
    public var stream: String?
    /// `ControlProtocol.version`.
    public var version: Int

    /// Creates a header.
    public init(ok: Bool, error: String? = nil, result: Result? = nil, stream: String? = nil) {
        self.ok = ok
        self.error = error
        self.result = result
        self.stream = stream
        version = ControlProtocol.version
    }
}

/// A header without a result (errors, streams), and the one a client decodes first.
public struct ControlStatus: Codable, Sendable {
    /// Whether the request was served.
    public var ok: Bool
    /// Why not.
    public var error: String?
    /// What follows the header.
    public var stream: String?
    /// The server's protocol version.
    public var version: Int?
}

/// One line of an `exec` stream: the command's pid once it runs, then its exit status (with
/// the reason when it could not be run).
public struct ControlExecEvent: Codable, Sendable, Equatable {
    /// The command's process id (its first line).
    public var pid: Int32?
    /// The shell-style exit status: the command's, 128+N for signal N, 126 not executable,
    /// 127 not found, 125 could not be started (the last line).
    public var exit: Int32?
    /// Why the command did not run.
    public var error: String?

    /// Creates an event.
    public init(pid: Int32? = nil, exit: Int32? = nil, error: String? = nil) {
        self.pid = pid
        self.exit = exit
        self.error = error
    }
}

/// JSON as the control socket writes it: sorted keys, one line, no escaped slashes.
public enum ControlJSON {
    /// `value` as one JSON line ended by `\n`.
    public static func line<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain reports cannot fail; an empty object keeps the framing if it did.
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Array(data) + [10]
    }

    /// An error header line.
    public static func error(_ message: String) -> [UInt8] {
        line(ControlHeader<Empty>(ok: false, error: message))
    }

    /// No result.
    public struct Empty: Codable, Sendable {}
}
