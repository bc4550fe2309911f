import ArgumentParser
import Foundation
import Logging

/// Log levels as `--log-level` accepts them.
extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Writes one line per event to stderr: `srouter: info: guest started pid=42 command=bird`.
///
/// Short and grep-friendly, like a daemon's syslog lines; metadata sorted by key.
struct LineLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    let label: String

    init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let fields = merged.keys.sorted().map { "\($0)=\(merged[$0]!)" }.joined(separator: " ")
        let text = "\(label): \(event.level): \(event.message)\(fields.isEmpty ? "" : " " + fields)\n"
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// Creates srouter's logger at `level`.
func makeLogger(level: Logger.Level) -> Logger {
    Logger(label: "srouter") { label in LineLogHandler(label: label, level: level) }
}

/// Prints an error the way the rest of srouter's messages look and exits with `status`.
func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("srouter: \(message)\n".utf8))
    exit(status)
}
