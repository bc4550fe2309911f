/// A problem in a configuration file — a wg-quick file or srouter's own — reported as
/// `FILE:LINE: KEY: MESSAGE`, so the operator can go straight to the line.
public struct ConfigurationFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file.
    public var file: String
    /// The 1-based line (0: the file as a whole).
    public var line: Int
    /// The key at fault, if the problem is a key's value.
    public var key: String?
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(file: String, line: Int, key: String?, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `FILE:LINE: KEY: MESSAGE` (the line left out when it is 0, the key when absent).
    public var description: String {
        let place = line > 0 ? "\(file):\(line)" : file
        return [place, key, message].compactMap { $0 }.joined(separator: ": ")
    }
}
