/// One meaningful line of an INI-style configuration file in wg-quick's syntax
/// (`wg-quick(8)`, `wg(8)` CONFIGURATION FILE FORMAT): `[Section]` headers and `Key = Value`
/// settings; `#` starts a comment; blank lines are skipped.
public enum ConfigurationLine: Equatable, Sendable {
    /// `[Name]`: the name as written (trimmed), and its 1-based line.
    case section(String, line: Int)
    /// `Key = Value`: both trimmed (the value may be empty), and the 1-based line.
    case setting(key: String, value: String, line: Int)

    /// Splits `text` (the contents of `file`) into its lines. A header without its `]`, or a
    /// line that is neither header nor setting, is an error naming the line.
    public static func split(_ text: String, file: String) throws(ConfigurationFileError) -> [ConfigurationLine] {
        var lines: [ConfigurationLine] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]") else {
                    throw ConfigurationFileError(file: file, line: number, key: nil, message: "a section header needs a closing ]")
                }
                lines.append(.section(trimmed.dropFirst().dropLast().trimmingCharacters(in: .whitespaces), line: number))
                continue
            }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw ConfigurationFileError(file: file, line: number, key: nil, message: "expected Key = Value")
            }
            lines.append(.setting(key: trimmed[..<equals].trimmingCharacters(in: .whitespaces),
                                  value: trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces),
                                  line: number))
        }
        return lines
    }
}
