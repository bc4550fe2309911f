/// Why bytes are not a valid packet. Every parser in this module returns one of these for
/// any input it cannot accept, and never traps.
///
/// The associated strings are literals naming the field (no allocation on the error path);
/// tests match on them.
public enum WireError: Error, Equatable, Sendable {
    /// Shorter than the format needs: the buffer ends before a header, or before the length
    /// a length field announces.
    case truncated
    /// A field holds a value the format forbids (the field is named, e.g. `"version"`).
    case malformed(String)
    /// The checksum does not verify.
    case badChecksum
    /// Valid, but a variant srouter does not handle (named, e.g. `"message type"`).
    case unsupported(String)
}
