// Classic BPF socket filters (`struct sock_filter`, <linux/filter.h>): what SO_ATTACH_FILTER
// attaches and `sk_filter` runs on every datagram a socket would queue. Checked when attached
// as `bpf_check_classic` checks (net/core/filter.c), run as Linux runs the program it
// converts it to: packet loads in network byte order, a load outside the datagram or a
// division by a zero X ends the program with 0 (drop).

/// One instruction: `struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; }`.
public struct ClassicBPFInstruction: Equatable, Sendable {
    /// The opcode: class, size or operation, mode or source.
    public var code: UInt16
    /// Forward jump when the condition holds.
    public var jumpTrue: UInt8
    /// Forward jump when it does not.
    public var jumpFalse: UInt8
    /// The constant operand.
    public var k: UInt32

    /// An instruction from its fields.
    public init(code: UInt16, jumpTrue: UInt8 = 0, jumpFalse: UInt8 = 0, k: UInt32 = 0) {
        self.code = code
        self.jumpTrue = jumpTrue
        self.jumpFalse = jumpFalse
        self.k = k
    }

    /// `sizeof(struct sock_filter)`.
    public static let size = 8
}

/// A checked classic BPF program, ready to run on datagrams.
public struct ClassicBPFProgram: Sendable {
    /// The instructions, as attached.
    public let instructions: [ClassicBPFInstruction]

    /// BPF_MAXINSNS.
    public static let maximumLength = 4096
    /// SKF_AD_OFF: `k` at or above it (as a negative offset) names ancillary data.
    static let ancillaryOffset: UInt32 = 0xffff_f000

    /// The ancillary loads srouter knows (`SKF_AD_*`); any other is EINVAL, as Linux refuses
    /// the ones it does not know.
    enum Ancillary: UInt32 {
        case proto = 0, packetType = 4, interfaceIndex = 8, netlinkAttribute = 12, netlinkNestedAttribute = 16
        case mark = 20, queue = 24, hardwareType = 28, receiveHash = 32, cpu = 36, xorX = 40, vlanTag = 44
        case vlanTagPresent = 48, payloadOffset = 52, random = 56, vlanProtocol = 60
    }

    /// Checks `instructions` as `bpf_check_classic` does: 1…4096 instructions, every opcode
    /// one Linux accepts, no constant division by zero or shift by 32 or more, scratch
    /// slots below 16 and stored before every load on every path, jumps inside the program,
    /// a return last. - Throws: EINVAL.
    public init(_ instructions: [ClassicBPFInstruction]) throws(ClassicBPFError) {
        guard !instructions.isEmpty, instructions.count <= Self.maximumLength else { throw .invalid }
        let count = instructions.count
        for (pc, instruction) in instructions.enumerated() {
            guard Self.acceptedCodes.contains(instruction.code) else { throw .invalid }
            let k = instruction.k
            switch instruction.code {
            case 0x34, 0x94: if k == 0 { throw .invalid }  // DIV|K, MOD|K
            case 0x64, 0x74: if k >= 32 { throw .invalid }  // LSH|K, RSH|K
            case 0x60, 0x61, 0x02, 0x03: if k >= 16 { throw .invalid }  // LD|MEM, LDX|MEM, ST, STX
            case 0x05: if k >= UInt32(count - pc - 1) { throw .invalid }  // JA
            case 0x20, 0x28, 0x30:  // LD|ABS: an ancillary load must be one Linux knows
                if k >= Self.ancillaryOffset && Ancillary(rawValue: k &- Self.ancillaryOffset) == nil { throw .invalid }
            default:
                if instruction.code & 0x07 == 0x05 {
                    if pc + Int(instruction.jumpTrue) + 1 >= count || pc + Int(instruction.jumpFalse) + 1 >= count {
                        throw .invalid
                    }
                }
            }
        }
        guard [0x06, 0x16].contains(instructions[count - 1].code) else { throw .invalid }
        guard Self.scratchIsStoredBeforeLoads(instructions) else { throw .invalid }
        self.instructions = instructions
    }

    /// Decodes `count` instructions from their bytes (host order, as `struct sock_filter`
    /// lies in memory) and checks them. - Throws: EINVAL.
    public init(bytes: [UInt8]) throws(ClassicBPFError) {
        var list: [ClassicBPFInstruction] = []
        list.reserveCapacity(bytes.count / ClassicBPFInstruction.size)
        var offset = 0
        while offset + ClassicBPFInstruction.size <= bytes.count {
            list.append(ClassicBPFInstruction(
                code: UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8, jumpTrue: bytes[offset + 2],
                jumpFalse: bytes[offset + 3],
                k: UInt32(bytes[offset + 4]) | UInt32(bytes[offset + 5]) << 8 | UInt32(bytes[offset + 6]) << 16
                    | UInt32(bytes[offset + 7]) << 24))
            offset += ClassicBPFInstruction.size
        }
        try self.init(list)
    }

    /// The opcodes `bpf_check_classic` accepts (its `codes[]` table).
    static let acceptedCodes: Set<UInt16> = [
        0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x94, 0x9c, 0x54, 0x5c, 0x44, 0x4c, 0xa4, 0xac,
        0x64, 0x6c, 0x74, 0x7c, 0x84,  // ALU
        0x20, 0x28, 0x30, 0x80, 0x40, 0x48, 0x50, 0x00, 0x60,  // LD
        0x81, 0xb1, 0x01, 0x61,  // LDX
        0x02, 0x03,  // ST, STX
        0x07, 0x87,  // TAX, TXA
        0x06, 0x16,  // RET K, RET A
        0x05, 0x15, 0x1d, 0x35, 0x3d, 0x25, 0x2d, 0x45, 0x4d,  // JMP
    ]

    /// `check_load_and_stores`: every load of a scratch slot is preceded, on every path to
    /// it, by a store to that slot.
    private static func scratchIsStoredBeforeLoads(_ program: [ClassicBPFInstruction]) -> Bool {
        // The slots known stored on entry to each instruction (all, until a path reaches it).
        var stored = [UInt16](repeating: 0xffff, count: program.count)
        var valid: UInt16 = 0
        for (pc, instruction) in program.enumerated() {
            valid &= stored[pc]
            switch instruction.code {
            case 0x02, 0x03: valid |= 1 << instruction.k
            case 0x60, 0x61: if valid & (1 << instruction.k) == 0 { return false }
            case 0x05: stored[pc + 1 + Int(instruction.k)] &= valid; valid = 0xffff
            default:
                if instruction.code & 0x07 == 0x05 {
                    stored[pc + 1 + Int(instruction.jumpTrue)] &= valid
                    stored[pc + 1 + Int(instruction.jumpFalse)] &= valid
                    valid = 0xffff
                }
            }
        }
        return true
    }

    /// Runs the program on `packet` (the datagram from its first byte) and returns what it
    /// returns: 0 drops the datagram, a smaller length cuts it (`sk_filter_trim_cap`).
    /// `random` answers SKF_AD_RANDOM.
    public func run(_ packet: UnsafeRawBufferPointer, random: () -> UInt32) -> UInt32 {
        var a: UInt32 = 0
        var x: UInt32 = 0
        var scratch = (UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0),
                       UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0))
        var pc = 0
        // Every jump goes forward and the last instruction returns: at most one pass.
        while pc < instructions.count {
            let instruction = instructions[pc]
            let k = instruction.k
            pc += 1
            switch instruction.code {
            case 0x00: a = k  // LD|IMM
            case 0x80: a = UInt32(packet.count)  // LD|W|LEN
            case 0x20, 0x28, 0x30:  // LD|ABS
                if k >= Self.ancillaryOffset {
                    guard let value = ancillary(k &- Self.ancillaryOffset, a: a, x: x, packet, random: random) else { return a }
                    a = value
                } else {
                    guard let value = Self.load(packet, at: UInt64(k), size: instruction.code) else { return 0 }
                    a = value
                }
            case 0x40, 0x48, 0x50:  // LD|IND
                // X + k in 32 bits, as a signed offset: a negative one (SKF_NET_OFF, SKF_LL_OFF)
                // names headers a netlink datagram does not have.
                let offset = Int32(bitPattern: x &+ k)
                guard offset >= 0, let value = Self.load(packet, at: UInt64(offset), size: instruction.code & 0x18)
                else { return 0 }
                a = value
            case 0x60: a = withUnsafeBytes(of: scratch) { $0.load(fromByteOffset: Int(k) * 4, as: UInt32.self) }
            case 0x01: x = k  // LDX|IMM
            case 0x81: x = UInt32(packet.count)  // LDX|W|LEN
            case 0x61: x = withUnsafeBytes(of: scratch) { $0.load(fromByteOffset: Int(k) * 4, as: UInt32.self) }
            case 0xb1:  // LDX|B|MSH: the IPv4 header length
                guard let byte = Self.load(packet, at: UInt64(k), size: 0x10) else { return 0 }
                x = (byte & 0xf) << 2
            case 0x02: withUnsafeMutableBytes(of: &scratch) { $0.storeBytes(of: a, toByteOffset: Int(k) * 4, as: UInt32.self) }
            case 0x03: withUnsafeMutableBytes(of: &scratch) { $0.storeBytes(of: x, toByteOffset: Int(k) * 4, as: UInt32.self) }
            case 0x07: x = a  // TAX
            case 0x87: a = x  // TXA
            case 0x06: return k
            case 0x16: return a
            case 0x05: pc += Int(k)
            default:
                let operand = instruction.code & 0x08 != 0 ? x : k
                if instruction.code & 0x07 == 0x04 {
                    switch instruction.code & 0xf0 {
                    case 0x00: a = a &+ operand
                    case 0x10: a = a &- operand
                    case 0x20: a = a &* operand
                    case 0x30: if operand == 0 { return 0 }; a /= operand
                    case 0x90: if operand == 0 { return 0 }; a %= operand
                    case 0x40: a |= operand
                    case 0x50: a &= operand
                    case 0xa0: a ^= operand
                    case 0x60: a = a << (operand & 31)
                    case 0x70: a = a >> (operand & 31)
                    default: a = 0 &- a  // NEG
                    }
                } else {
                    let holds: Bool
                    switch instruction.code & 0xf0 {
                    case 0x10: holds = a == operand
                    case 0x20: holds = a > operand
                    case 0x30: holds = a >= operand
                    default: holds = a & operand != 0  // JSET
                    }
                    pc += Int(holds ? instruction.jumpTrue : instruction.jumpFalse)
                }
            }
        }
        return 0
    }

    /// A big-endian load of `size` (BPF_W, BPF_H, BPF_B) at `offset`; nil outside the packet.
    private static func load(_ packet: UnsafeRawBufferPointer, at offset: UInt64, size: UInt16) -> UInt32? {
        let width: UInt64 = size & 0x18 == 0 ? 4 : (size & 0x18 == 0x08 ? 2 : 1)
        guard offset + width <= UInt64(packet.count) else { return nil }
        var value: UInt32 = 0
        for i in 0..<Int(width) { value = value << 8 | UInt32(packet[Int(offset) + i]) }
        return value
    }

    /// An ancillary load for a netlink datagram (no device, no VLAN, no hash); nil ends the
    /// program with A as it is, as Linux's converted program exits where a datagram has no
    /// device.
    private func ancillary(_ code: UInt32, a: UInt32, x: UInt32, _ packet: UnsafeRawBufferPointer,
                           random: () -> UInt32) -> UInt32? {
        switch Ancillary(rawValue: code) {
        case .interfaceIndex, .hardwareType: return nil
        case .netlinkAttribute: return Self.findAttribute(packet, from: a, type: x, nested: false)
        case .netlinkNestedAttribute: return Self.findAttribute(packet, from: a, type: x, nested: true)
        case .xorX: return a ^ x
        case .random: return random()
        default: return 0
        }
    }

    /// `bpf_skb_get_nlattr` (`nested`: `_nest`): the offset of the first attribute of `type`
    /// among those from `start` (for `nested`, inside the attribute at `start`), 0 if none.
    static func findAttribute(_ packet: UnsafeRawBufferPointer, from start: UInt32, type: UInt32, nested: Bool) -> UInt32 {
        guard packet.count >= 4, Int(start) <= packet.count - 4 else { return 0 }
        var offset = Int(start)
        var end = packet.count
        if nested {
            let length = Int(UInt16(packet[offset]) | UInt16(packet[offset + 1]) << 8)
            guard length <= packet.count - offset else { return 0 }
            end = offset + length
            offset += 4
        }
        while end - offset >= 4 {
            let length = Int(UInt16(packet[offset]) | UInt16(packet[offset + 1]) << 8)
            guard length >= 4, length <= end - offset else { return 0 }
            let attributeType = (UInt16(packet[offset + 2]) | UInt16(packet[offset + 3]) << 8) & 0x3fff
            if UInt32(attributeType) == type { return UInt32(offset) }
            offset += (length + 3) & ~3
        }
        return 0
    }
}

/// Why a program was refused: Linux's answer to such a SO_ATTACH_FILTER is EINVAL.
public enum ClassicBPFError: Error, Equatable {
    /// A check of `bpf_check_classic` failed (EINVAL).
    case invalid
}
