import Wire

/// Converts between the handshake's message fields and the wire layer's `WireGuardMessage`
/// (which alone knows the byte layout, paper §5.4.2–5.4.7).
enum MessageLayout {
    /// A handshake initiation's bytes with zero macs (stamped afterwards).
    static func encode(_ m: NoiseHandshake.Initiation) -> [UInt8] {
        WireGuardMessage.initiation(sender: m.sender, ephemeral: m.ephemeral, encryptedStatic: m.encryptedStatic,
                                    encryptedTimestamp: m.encryptedTimestamp, mac1: [], mac2: []).emit()
    }

    /// A handshake response's bytes with zero macs.
    static func encode(_ m: NoiseHandshake.Response) -> [UInt8] {
        WireGuardMessage.response(sender: m.sender, receiver: m.receiver, ephemeral: m.ephemeral,
                                  encryptedNothing: m.encryptedNothing, mac1: [], mac2: []).emit()
    }

    /// The initiation's fields, if `datagram` is one.
    static func decodeInitiation(_ datagram: [UInt8]) -> NoiseHandshake.Initiation? {
        guard case .initiation(let sender, let ephemeral, let encryptedStatic, let encryptedTimestamp, _, _)?
                = try? WireGuardMessage.parse(datagram[...]) else { return nil }
        return .init(sender: sender, ephemeral: ephemeral, encryptedStatic: encryptedStatic,
                     encryptedTimestamp: encryptedTimestamp)
    }

    /// The response's fields, if `datagram` is one.
    static func decodeResponse(_ datagram: [UInt8]) -> NoiseHandshake.Response? {
        guard case .response(let sender, let receiver, let ephemeral, let encryptedNothing, _, _)?
                = try? WireGuardMessage.parse(datagram[...]) else { return nil }
        return .init(sender: sender, receiver: receiver, ephemeral: ephemeral, encryptedNothing: encryptedNothing)
    }
}
