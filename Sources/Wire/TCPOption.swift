/// A TCP option (RFC 9293 §3.2): the kinds srouter's TCP speaks, and the rest kept as bytes.
public enum TCPOption: Equatable, Sendable {
    /// Kind 2: maximum segment size (RFC 9293 §3.7.1).
    case maximumSegmentSize(UInt16)
    /// Kind 3: window scale shift (RFC 7323 §2).
    case windowScale(UInt8)
    /// Kind 4: SACK permitted (RFC 2018 §2).
    case sackPermitted
    /// Kind 5: SACK blocks, 1–4 (left, right) edges (RFC 2018 §3).
    case sack([(UInt32, UInt32)])
    /// Kind 8: timestamps value and echo reply (RFC 7323 §3).
    case timestamps(value: UInt32, echoReply: UInt32)
    /// Kind 19: MD5 signature, 16 bytes (RFC 2385).
    case md5Signature([UInt8])
    /// Any other kind, with its data.
    case unknown(kind: UInt8, data: [UInt8])

    public static func == (a: Self, b: Self) -> Bool {
        switch (a, b) {
        case (.maximumSegmentSize(let x), .maximumSegmentSize(let y)): x == y
        case (.windowScale(let x), .windowScale(let y)): x == y
        case (.sackPermitted, .sackPermitted): true
        case (.sack(let x), .sack(let y)): x.count == y.count && zip(x, y).allSatisfy { $0 == $1 }
        case (.timestamps(let v1, let e1), .timestamps(let v2, let e2)): v1 == v2 && e1 == e2
        case (.md5Signature(let x), .md5Signature(let y)): x == y
        case (.unknown(let k1, let d1), .unknown(let k2, let d2)): k1 == k2 && d1 == d2
        default: false
        }
    }

    /// Parses the options area of a header. End-of-list stops; NOP is skipped; a length that
    /// is too short for its kind or runs past the area is malformed.
    public static func parseList(_ bytes: ArraySlice<UInt8>) throws(WireError) -> [TCPOption] {
        var options: [TCPOption] = []
        var offset = 0
        while offset < bytes.count {
            let kind = bytes.u8(offset)
            if kind == 0 { break }
            if kind == 1 { offset += 1; continue }
            guard offset + 1 < bytes.count else { throw .truncated }
            let length = Int(bytes.u8(offset + 1))
            guard length >= 2, offset + length <= bytes.count else { throw .malformed("option length") }
            let data = bytes.dropFirst(offset + 2).prefix(length - 2)
            switch (kind, length) {
            case (2, 4): options.append(.maximumSegmentSize(data.u16(0)))
            case (3, 3): options.append(.windowScale(data.u8(0)))
            case (4, 2): options.append(.sackPermitted)
            case (5, _) where (length - 2) % 8 == 0 && length >= 10:
                options.append(.sack((0..<((length - 2) / 8)).map { (data.u32($0 * 8), data.u32($0 * 8 + 4)) }))
            case (8, 10): options.append(.timestamps(value: data.u32(0), echoReply: data.u32(4)))
            case (19, 18): options.append(.md5Signature(Array(data)))
            case (2, _), (3, _), (4, _), (5, _), (8, _), (19, _): throw .malformed("option \(kind) length")
            default: options.append(.unknown(kind: kind, data: Array(data)))
            }
            offset += length
        }
        return options
    }

    /// Encodes options, padded with NOPs to a multiple of 4 bytes.
    public static func emitList(_ options: [TCPOption]) -> [UInt8] {
        var out: [UInt8] = []
        for option in options {
            switch option {
            case .maximumSegmentSize(let mss): out += [2, 4]; out.appendBigEndian(mss)
            case .windowScale(let shift): out += [3, 3, shift]
            case .sackPermitted: out += [4, 2]
            case .sack(let blocks):
                out += [5, UInt8(2 + 8 * blocks.count)]
                for (left, right) in blocks { out.appendBigEndian(left); out.appendBigEndian(right) }
            case .timestamps(let value, let echo): out += [8, 10]; out.appendBigEndian(value); out.appendBigEndian(echo)
            case .md5Signature(let digest): out += [19, 18] + digest.prefix(16)
            case .unknown(let kind, let data): out += [kind, UInt8(2 + data.count)] + data
            }
        }
        while out.count % 4 != 0 { out.insert(1, at: 0) }
        return out
    }
}
